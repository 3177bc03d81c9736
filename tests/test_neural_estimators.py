"""Behaviour of RegularizedNetClassifier / RegularizedNetRegressor that users rely on."""

import pickle
import random

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from skorch.callbacks import Callback

import skreg.neural._base
from skreg import RegularizedNetClassifier, RegularizedNetRegressor, smooth_labels
from skreg.neural._modules import Dropout


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:400]), y[:400]
    return X[:300], y[:300], X[300:], y[300:]


def small(cls=RegularizedNetClassifier, **params):
    defaults = dict(hidden_layer_sizes=(32,), max_iter=15, learning_rate_init=0.01,
                    random_state=0)
    return cls(**{**defaults, **params})


def test_classifier_learns_digits_and_exposes_fitted_attributes(digits):
    X, y, X_test, y_test = digits
    clf = small().fit(X, y)
    assert clf.score(X_test, y_test) > 0.85
    proba = clf.predict_proba(X_test)
    assert proba.shape == (100, 10) and proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    assert_allclose(clf.predict_log_proba(X_test), np.log(proba), rtol=1e-9, atol=1e-12)
    assert_array_equal(clf.classes_, np.arange(10))
    assert clf.n_features_in_ == 64 and clf.device_ == "cpu"
    assert clf.n_iter_ == len(clf.history_) == 15 and clf.best_epoch_ is None
    assert clf.loss_curve_ == list(clf.history_[:, "train_loss"])
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 5
    assert isinstance(clf.net_.module_, torch.nn.Module)
    # the skorch net works as skorch documents it
    logits = clf.net_.forward(X_test.astype(np.float32))
    assert_allclose(clf.net_.predict_proba(X_test.astype(np.float32)), proba, rtol=1e-5)
    loss = clf.net_.get_loss(logits, torch.as_tensor(y_test))
    assert_allclose(loss.item(), -np.mean(np.log(proba[np.arange(100), y_test])), rtol=1e-4)


@pytest.mark.parametrize(
    "to_labels",
    [
        lambda y: np.array(["zero", "one", "two"])[y % 3],
        lambda y: y % 2 == 0,
        lambda y: np.array([-5, 7])[y % 2],
    ],
    ids=["str", "bool", "int"],
)
def test_labels_of_any_type_are_predicted_as_given(digits, to_labels):
    X, y, X_test, y_test = digits
    labels, labels_test = to_labels(y), to_labels(y_test)
    clf = small().fit(X, labels)
    assert_array_equal(clf.classes_, np.unique(labels))
    predicted = clf.predict(X_test)
    assert predicted.dtype == clf.classes_.dtype
    assert np.mean(predicted == labels_test) > 0.8
    assert_array_equal(clf._encode_y(labels_test), np.searchsorted(clf.classes_, labels_test))


def test_pandas_input_and_feature_names(digits):
    pd = pytest.importorskip("pandas")
    X, y, X_test, _ = digits
    columns = [f"pixel_{i}" for i in range(64)]
    clf = small().fit(pd.DataFrame(X, columns=columns), pd.Series(y))
    assert_array_equal(clf.feature_names_in_, columns)
    from_frame = clf.predict_proba(pd.DataFrame(X_test, columns=columns))
    assert_allclose(from_frame, small().fit(X, y).predict_proba(X_test))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(pd.DataFrame(X_test, columns=columns[::-1]))


def test_float64_input_is_converted_to_float32_once(digits, monkeypatch):
    X, y, _, _ = digits
    created = []

    class RecordingDataset(skreg.neural._base.TensorDataset):
        def __init__(self, X, y=None, sample_weight=None):
            created.append(X)
            super().__init__(X, y, sample_weight)

    monkeypatch.setattr(skreg.neural._base, "TensorDataset", RecordingDataset)
    batch_dtypes = set()

    class RecordBatches(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            batch_dtypes.add(batch.X.dtype)

    class Recording(RegularizedNetClassifier):
        def _build_callbacks(self, validation):
            return super()._build_callbacks(validation) + [("record", RecordBatches())]

    assert X.dtype == np.float64
    small(Recording, max_iter=3, early_stopping=True).fit(X, y)
    assert len(created) == 2  # the training part and the validation part, once each
    assert all(t.dtype == torch.float32 for t in created)
    assert batch_dtypes == {torch.float32}


def test_same_random_state_same_predictions_and_different_otherwise(digits):
    X, y, X_test, _ = digits
    params = dict(dropout=0.3, early_stopping=True, max_iter=5)
    first = small(**params).fit(X, y).predict_proba(X_test)
    assert_array_equal(first, small(**params).fit(X, y).predict_proba(X_test))
    other = small(**params, random_state=1).fit(X, y).predict_proba(X_test)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_does_not_reseed_or_advance_global_generators(digits, random_state):
    X, y, _, _ = digits
    torch_state, numpy_state, python_state = (
        torch.get_rng_state(), np.random.get_state(), random.getstate()  # noqa: NPY002
    )
    small(max_iter=2, dropout=0.2, early_stopping=True, random_state=random_state).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    numpy_state_after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state_after, numpy_state, strict=True))
    assert random.getstate() == python_state


def test_verbose_shows_a_progress_bar_with_losses_and_validation_score(digits, capsys):
    X, y, _, _ = digits
    small(max_iter=3, early_stopping=True, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err
    assert "train_loss=" in err and "valid_loss=" in err and "valid_acc=" in err
    small(max_iter=3, early_stopping=True).fit(X, y)
    assert capsys.readouterr() == ("", "")


# overflowing float32 sums in the input validation of the last case
def test_divergence_raises_and_keeps_the_previous_model(digits):
    X, y, _, _ = digits
    exploding = dict(optimizer="sgd", learning_rate_init=1.0, momentum=0.0,
                     activation="identity", max_iter=5)
    reg = small(RegularizedNetRegressor, **exploding)
    with pytest.raises(ValueError, match="Training diverged: the training loss rose to"):
        reg.fit(X, y * 1000.0)
    with pytest.raises(NotFittedError):
        reg.predict(X)
    # a partial_fit that diverges restores the model it trained in place
    reg = small(RegularizedNetRegressor, **{**exploding, "learning_rate_init": 1e-4})
    reg.partial_fit(X, y * 1000.0)
    before, n_iter = reg.predict(X), reg.n_iter_
    reg.set_params(learning_rate_init=1.0)
    reg.net_.set_params(lr=1.0)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        for _ in range(5):
            reg.partial_fit(X, y * 1000.0)
            before, n_iter = reg.predict(X), reg.n_iter_
    assert reg.n_iter_ == n_iter == len(reg.history_)
    assert_array_equal(reg.predict(X), before)
    # inputs whose products overflow float32: an error before training
    with pytest.raises(ValueError, match=r"X has values up to .* in magnitude.*overflow"):
        small().fit(X * 1e25, y)


def test_clone_pickle_and_joblib_round_trips(digits, tmp_path):
    X, y, X_test, _ = digits
    clf = small(dropout=0.1, batch_norm=True, max_iter=3).fit(X, y)
    expected = clf.predict_proba(X_test)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_test), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X_test), expected)
    restored.partial_fit(X, y)  # a restored model keeps training
    assert restored.n_iter_ == 4
    unfitted = clone(clf)
    assert unfitted.get_params() == clf.get_params() and not hasattr(unfitted, "net_")


class _ThreadRecordingClassifier(RegularizedNetClassifier):
    def fit(self, X, y, sample_weight=None):
        self.torch_threads_ = torch.get_num_threads()
        return super().fit(X, y, sample_weight)


def test_parallel_cross_validation_limits_torch_threads_per_worker(digits):
    X, y, _, _ = digits
    result = cross_validate(small(_ThreadRecordingClassifier, max_iter=3), X, y, cv=2,
                            n_jobs=2, return_estimator=True)
    limit = max(1, joblib.cpu_count() // 2)
    assert all(est.torch_threads_ <= limit for est in result["estimator"])
    assert np.all(result["test_score"] > 0.5)


def test_grid_search_tunes_every_regularizer(digits):
    X, y, _, _ = digits
    grid = [
        {"dropout": [0.3]}, {"weight_decay": [1e-3]}, {"l1": [1e-4]},
        {"label_smoothing": [0.1]}, {"batch_norm": [True]}, {"early_stopping": [True]},
        {"class_weight": ["balanced"]}, {"optimizer": ["adamw"]},
        {"optimizer": ["sgd"], "learning_rate_init": [0.1]},
        {"activation": ["tanh"]}, {"hidden_layer_sizes": [(32, 32)]},
    ]
    search = GridSearchCV(small(max_iter=8), grid, cv=2, error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 11 and np.all(scores > 0.6)
    assert search.best_estimator_.n_iter_ >= 1


def test_partial_fit_trains_one_epoch_per_call(digits):
    X, y, X_test, y_test = digits
    clf = small()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    first_half = y < 5
    clf.partial_fit(X[first_half], y[first_half], classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.predict_proba(X_test).shape == (100, 10)
    for _ in range(14):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 15
    assert clf.score(X_test, y_test) > 0.85
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:5], np.full(5, 11))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=np.arange(11))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :10], y)


def test_warm_start_continues_from_the_previous_weights(digits):
    X, y, _, _ = digits
    clf = small(max_iter=5, warm_start=True).fit(X, y)
    loss_after_first_fit = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < 2 * loss_after_first_fit < clf.loss_curve_[0]
    clf.set_params(dropout=0.5)  # regularizers can change between warm starts
    clf.fit(X, y)
    assert clf.n_iter_ == 15
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 5], y[y < 5])
    with pytest.raises(ValueError, match="different architecture"):
        clf.set_params(hidden_layer_sizes=(8,)).fit(X, y)


class _WeightRecorder(Callback):
    def on_train_begin(self, net, **kwargs):
        self.weights_ = {}

    def on_epoch_end(self, net, **kwargs):
        self.weights_[len(net.history)] = net.module_.output.weight.detach().clone()


class _RecordingClassifier(RegularizedNetClassifier):
    def _build_callbacks(self, validation):
        return super()._build_callbacks(validation) + [("weights", _WeightRecorder())]


def test_early_stopping_restores_the_weights_of_the_best_epoch(digits):
    X, y, _, _ = digits
    clf = small(_RecordingClassifier, early_stopping=True, n_iter_no_change=3, max_iter=200,
                learning_rate_init=0.05).fit(X, y)
    valid_loss = clf.history_[:, "valid_loss"]
    assert clf.n_iter_ < 200
    assert clf.best_epoch_ == int(np.argmin(valid_loss)) + 1
    # stopped after 3 epochs in a row that did not beat the best loss so far by tol
    for epoch in range(clf.n_iter_ - 3, clf.n_iter_):
        assert valid_loss[epoch] > min(valid_loss[:epoch]) - clf.tol
    assert valid_loss[clf.n_iter_ - 4] <= min(valid_loss[: clf.n_iter_ - 4]) - clf.tol
    assert len(clf.history_[:, "valid_acc"]) == clf.n_iter_
    recorded = dict(clf.net_.callbacks_)["weights"].weights_
    assert torch.equal(clf.net_.module_.output.weight, recorded[clf.best_epoch_])
    assert not torch.equal(recorded[clf.best_epoch_], recorded[clf.n_iter_])


def test_class_weight_is_a_per_class_sample_weight(digits):
    X, y, X_test, _ = digits
    by_class = small(class_weight="balanced", max_iter=5).fit(X, y).predict_proba(X_test)
    by_sample = small(max_iter=5).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    ).predict_proba(X_test)
    assert_allclose(by_class, by_sample, rtol=1e-6)
    uneven = {label: 1.0 + label for label in range(10)}
    assert not np.allclose(small(class_weight=uneven, max_iter=5).fit(X, y)
                           .predict_proba(X_test), by_sample)


@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_integer_sample_weights_equal_repeated_rows(cls):
    # Full-batch steps (batch_size="auto" covers all rows): the objectives are equal.
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 5), rng.randint(0, 3, 40)
    weights = rng.randint(0, 4, 40)
    weighted = small(cls, max_iter=20).fit(X, y, sample_weight=weights)
    repeated = small(cls, max_iter=20).fit(X.repeat(weights, axis=0), y.repeat(weights))
    method = "predict_proba" if cls is RegularizedNetClassifier else "predict"
    assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X), rtol=1e-4,
                    atol=1e-6)


def test_label_smoothing_trains_toward_the_smoothed_targets(digits):
    X, y, _, _ = digits
    binary = y < 2
    X, y = X[binary], y[binary]
    sharp = small(max_iter=60).fit(X, y)
    smoothed = small(max_iter=60, label_smoothing=0.2).fit(X, y)
    assert sharp.predict_proba(X).max(axis=1).mean() > 0.99
    # the optimum of the smoothed loss is p = (1 - 0.2) * onehot + 0.2 / 2
    assert_allclose(smoothed.predict_proba(X).max(axis=1).mean(), 0.9, atol=0.02)
    logits = smoothed.net_.forward(X.astype(np.float32)).double()
    targets = torch.as_tensor(smooth_labels(y, 0.2, n_classes=2))
    expected = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    assert_allclose(smoothed.net_.get_loss(logits.float(), torch.as_tensor(y)).item(),
                    expected.item(), rtol=1e-5)


def test_weight_decay_and_l1_shrink_the_weights(digits):
    X, y, _, _ = digits

    def weights(clf):
        return torch.cat([clf.net_.module_.features[0][0].weight.flatten(),
                          clf.net_.module_.output.weight.flatten()]).detach()

    plain = weights(small().fit(X, y))
    coupled = weights(small(optimizer="adam", weight_decay=0.1).fit(X, y))
    decoupled = weights(small(optimizer="adamw", weight_decay=2.0).fit(X, y))
    sparse = weights(small(l1=3e-3).fit(X, y))
    assert coupled.norm() < 0.5 * plain.norm()
    assert decoupled.norm() < 0.8 * plain.norm()
    assert sparse.abs().sum() < 0.7 * plain.abs().sum()
    assert (sparse.abs() < 1e-2).float().mean() > 5 * (plain.abs() < 1e-2).float().mean()


def test_dropout_and_batch_norm_layers_train_and_predict_deterministically(digits):
    X, y, X_test, y_test = digits
    # 201 rows in batches of 50: the single trailing row joins the previous batch
    clf = small(dropout=0.2, batch_norm=True, batch_size=50).fit(X[:201], y[:201])
    layers = [type(m) for m in clf.net_.module_.modules()]
    assert Dropout in layers and torch.nn.BatchNorm1d in layers
    assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))
    assert clf.score(X_test, y_test) > 0.8


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_every_optimizer_trains(digits, optimizer):
    X, y, X_test, y_test = digits
    clf = small(optimizer=optimizer, learning_rate_init=0.1 if optimizer == "sgd" else 0.01)
    assert clf.fit(X, y).score(X_test, y_test) > 0.8
    assert type(clf.net_.optimizer_).__name__.lower() == optimizer


def test_device_errors_are_clear(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="device must be"):
        small(device="gpu0").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            small(device="cuda").fit(X, y)
        assert small(device="auto", max_iter=1).fit(X, y).device_ == "cpu"


@pytest.mark.parametrize("sizes", [(0,), (10, -1), (3.5,)])
def test_bad_hidden_layer_sizes_are_rejected(digits, sizes):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        small(hidden_layer_sizes=sizes).fit(X, y)


def test_one_class_is_rejected(digits):
    X, _, _, _ = digits
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().fit(X, np.zeros(len(X)))


def test_prepare_X_is_what_predict_sees(digits):
    X, y, X_test, _ = digits
    clf = small(max_iter=1).fit(X, y)
    prepared = clf._prepare_X(X_test.tolist())
    assert isinstance(prepared, np.ndarray) and prepared.dtype == np.float32
    assert_allclose(prepared, X_test, rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        clf._prepare_X(X_test[:, :5])
    with pytest.raises(ValueError, match="not in classes_"):
        clf._encode_y([3, 12])


def test_regressor_single_and_multi_output():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    Y = np.column_stack([np.sin(2 * X[:, 0]) + X[:, 1], X[:, 2] ** 2])
    reg = small(RegularizedNetRegressor, max_iter=60, early_stopping=True, n_iter_no_change=60)
    single = reg.fit(X, Y[:, 0])
    assert single.predict(X).shape == (300,) and single.n_outputs_ == 1
    assert single.score(X, Y[:, 0]) > 0.9
    assert len(single.history_[:, "valid_r2"]) == single.n_iter_
    multi = clone(reg).fit(X, Y)
    assert multi.predict(X).shape == (300, 2) and multi.score(X, Y) > 0.8
    with pytest.raises(ValueError, match="outputs"):
        multi.partial_fit(X, Y[:, :1])


class _SoftTargetClassifier(RegularizedNetClassifier):
    """Extension point: a batch transform that turns class indices into probabilities."""

    def _build_batch_transforms(self):
        n_classes = len(self.classes_)
        return [lambda X, y, generator: (X, torch.nn.functional.one_hot(y, n_classes).float())]


class _EpochMetric(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("weight_norm", net.module_.output.weight.norm().item())


class _MetricClassifier(RegularizedNetClassifier):
    """Extension point: a per-epoch metric written into history_ by a callback."""

    def _build_callbacks(self, validation):
        return super()._build_callbacks(validation) + [("weight_norm", _EpochMetric())]


def test_extension_points_soft_targets_and_epoch_metrics(digits):
    X, y, X_test, _ = digits
    params = dict(max_iter=5, label_smoothing=0.1)
    with_indices = small(**params).fit(X, y).predict_proba(X_test)
    with_soft = small(_SoftTargetClassifier, **params).fit(X, y).predict_proba(X_test)
    assert_allclose(with_soft, with_indices, rtol=1e-4, atol=1e-6)
    clf = small(_MetricClassifier, **params).fit(X, y)
    norms = clf.history_[:, "weight_norm"]
    assert len(norms) == 5
    assert norms[-1] == pytest.approx(clf.net_.module_.output.weight.norm().item())
