"""Bad inputs, failing calls and Ctrl-C over every public estimator.

The matrix (``skreg/utils/_robustness.py``) runs each case on every public estimator found by
``all_estimators()``, so estimators added later are covered: each cell must end in a clear
error naming the problem, a clear warning or a correct result, never in a silently wrong
result or an unhelpful failure. ``benchmarks/audit_robustness.py`` prints the same matrix's
counts. The tests below the matrix pin the neural estimators' reliability features.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from skreg import (
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    robust_accuracy,
    smooth_labels,
)
from skreg.utils import _robustness
from skreg.utils._test_common import CHECK_PARAMS
from skreg.utils.discovery import all_estimators

ESTIMATORS = {name: cls(**CHECK_PARAMS.get(name, {})) for name, cls in all_estimators()}
FAST_CASES = [case for case in _robustness.CASES if case not in _robustness.SLOW_CASES]


@pytest.mark.parametrize(
    "name, case", list(_robustness.cells(ESTIMATORS.items(), FAST_CASES)),
    ids=lambda value: value.replace(" ", "_"),
)
def test_bad_input_matrix(name, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, detail = _robustness.run_cell(ESTIMATORS[name], case)
    assert kind in _robustness.GOOD_OUTCOMES, f"{name} / {case}: {kind}: {detail}"


# A real SIGINT sent from this process to a child that trains: the costly cells, one each.
@pytest.mark.parametrize("name, mode", [("RegularizedNetClassifier", "fit"),
                                        ("RegularizedNetRegressor", "partial_fit")])
def test_ctrl_c_reaches_the_caller_and_keeps_a_consistent_model(name, mode):
    params = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01}
    kind, detail = _robustness.sigint_outcome(name, params, mode)
    assert kind == "correct", detail


def _data(n_samples=120, seed=0):
    X, y = make_classification(n_samples, 5, n_informative=3, random_state=seed)
    return X.astype(np.float32), y


def _net(cls=RegularizedNetClassifier, **params):
    return cls(**{"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0, **params})


def test_failed_partial_fit_restores_weights_optimizer_state_and_history():
    X, y = _data()
    clf = _net(batch_norm=True).fit(X, y)
    clf.partial_fit(X, y)
    weights = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    moments = [s["exp_avg"].clone() for s in clf.net_.optimizer_.state.values()]
    history = [dict(epoch) for epoch in clf.history_]
    with pytest.raises(ValueError, match="batch_norm=True .* at least 2 samples per batch"):
        clf.partial_fit(X[:1], y[:1])
    # a failure inside the epoch (a non-finite loss) is undone in place too
    clf.net_.set_params(lr=1e9)
    with pytest.raises(ValueError, match="Training diverged"):
        for _ in range(20):
            clf.partial_fit(X, y)
            weights = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
            moments = [s["exp_avg"].clone() for s in clf.net_.optimizer_.state.values()]
            history = [dict(epoch) for epoch in clf.history_]
    for key, value in clf.net_.module_.state_dict().items():
        assert torch.equal(value, weights[key]), key
    for state, moment in zip(clf.net_.optimizer_.state.values(), moments, strict=True):
        assert torch.equal(state["exp_avg"], moment)
    assert [epoch["epoch"] for epoch in clf.history_] == [epoch["epoch"] for epoch in history]
    assert clf.n_iter_ == len(history)


def test_failed_refit_keeps_classes_and_feature_names():
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    clf = _net().fit(frame, np.array(["a", "b"])[y])
    expected = clf.predict_proba(frame)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X[:, :3], np.zeros(len(X)))
    with pytest.raises(ValueError, match="vq_ema=True .* set vq_codes"):
        clf.set_params(vq_ema=True).fit(X, y)
    assert_array_equal(clf.classes_, ["a", "b"])
    assert_array_equal(clf.feature_names_in_, frame.columns)
    assert_array_equal(clf.predict_proba(frame), expected)


def test_divergence_is_an_error_for_a_huge_learning_rate():
    X, y = _data()
    for cls, target in [(RegularizedNetClassifier, y), (RegularizedNetRegressor, X[:, 0])]:
        est = _net(cls, learning_rate_init=1e6, max_iter=20)
        with pytest.raises(ValueError, match=r"diverged.*learning_rate_init \(now 1e\+06"):
            est.fit(X, target)
        assert not hasattr(est, "net_")


def test_scales_that_overflow_float32_are_errors_before_training():
    X, y = _data()
    with pytest.raises(ValueError, match=r"y has values up to 1e\+30 in magnitude.*squared error"):
        _net(RegularizedNetRegressor).fit(X, np.full(len(X), 1e30))
    with pytest.raises(ValueError, match=r"X has values up to .* in magnitude.*overflow"):
        _net().fit(X * 1e30, y)
    with pytest.warns(UserWarning, match="X's largest magnitude is .*e-30.*Standardize"):
        _net().fit(X * 1e-30, y)
    reg = _net(RegularizedNetRegressor, hidden_layer_sizes=(), activation="identity").fit(X, y)
    with torch.no_grad():  # the sum of five inputs of 3e38 overflows float32
        for parameter in reg.net_.module_.parameters():
            parameter.fill_(1.0)
    with pytest.raises(ValueError, match="not finite .* largest magnitude in X there is 3e\\+38"):
        reg.predict(np.full((3, 5), 3e38, dtype=np.float32))


def test_predictions_match_a_single_forward_pass_across_batches():
    X, y = _data(n_samples=9000)
    clf = _net(max_iter=1).fit(X, y)
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = module(torch.from_numpy(X)).double()
    assert_allclose(clf.predict_proba(X), torch.softmax(logits, 1).numpy(), rtol=1e-5)
    assert_allclose(clf.predict_log_proba(X), torch.log_softmax(logits, 1).numpy(), rtol=1e-5,
                    atol=1e-6)
    assert_array_equal(clf.predict(X), logits.argmax(1).numpy())


@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_skops_and_pickle_hold_no_torch_object_and_keep_training(cls, tmp_path):
    X, y = _data()
    y = y if cls is RegularizedNetClassifier else X[:, 0]
    est = _net(cls, batch_norm=True, dropout=0.1, vq_codes=4).fit(X, y)
    sio.dump(est, tmp_path / "net.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "net.skops")
    assert untrusted == [f"skreg.neural._estimators.{cls.__name__}"]
    loaded = sio.load(tmp_path / "net.skops", trusted=untrusted)
    pickled = pickle.loads(pickle.dumps(est))
    assert b"torch" not in pickle.dumps(est)
    for copy in (loaded, pickled):
        assert_array_equal(copy.predict(X), est.predict(X))
        assert copy.history_[:, "train_loss"] == est.history_[:, "train_loss"]
    # the optimizer state travels too: continued training is the same as the original's
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-6)
    assert loaded.n_iter_ == est.n_iter_ == 4


def test_smooth_labels_rejects_labels_that_are_not_class_indices():
    with pytest.raises(ValueError, match="class indices .* dtype <U1.*LabelEncoder"):
        smooth_labels(["a", "b"], 0.1)
    with pytest.raises(ValueError, match="n_classes=1000000000001 .* GiB"):
        smooth_labels([0, 10**12], 0.1)
    with pytest.raises(ValueError, match="n_classes=10000000000000 .* GiB"):
        smooth_labels([0, 1], 0.1, n_classes=10**13)


def test_robust_accuracy_needs_a_skreg_neural_classifier():
    X, y = _data()
    with pytest.raises(TypeError, match="RegularizedNetRegressor, which is not a classifier"):
        robust_accuracy(_net(RegularizedNetRegressor).fit(X, y), X, y, eps=0.1)
    with pytest.raises(TypeError, match="LogisticRegression, which is a classifier without"):
        robust_accuracy(LogisticRegression().fit(X, y), X, y, eps=0.1)
