"""Extending the neural estimators: custom modules, extra skorch callbacks, sklearn callbacks."""

import copy
import pickle
import re

import numpy as np
import pytest
import torch
from callback_helpers import StopAfter
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from torch import nn

from skreg import RegularizedNetClassifier, RegularizedNetRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:260]), y[:260]
    return X[:200], y[:200], X[200:], y[200:]


def small(cls=RegularizedNetClassifier, **params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, learning_rate_init=0.01,
                    random_state=0)
    return cls(**{**defaults, **params})


class TwoLayer(nn.Module):
    """A user's module: the estimator passes the data's sizes, module__hidden the width."""

    def __init__(self, n_features, n_outputs, hidden=8):
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.out = nn.Linear(hidden, n_outputs)

    def forward(self, X):
        return self.out(torch.tanh(self.hidden(X)))


# ---- custom modules -------------------------------------------------------------------------

def test_custom_module_class_is_built_with_the_data_sizes_and_module_params(digits):
    X, y, X_test, y_test = digits
    clf = small(module=TwoLayer, max_iter=15, module__hidden=12)  # in __init__, as skorch
    assert clf.get_params()["module__hidden"] == 12
    assert clf.get_params(deep=False)["module__hidden"] == 12  # what clone rebuilds from
    assert "module__hidden=12" in repr(clf)
    clf.fit(X, y)
    module = clf.net_.module_
    assert isinstance(module, TwoLayer)
    assert module.hidden.weight.shape == (12, 64) and module.out.weight.shape == (10, 12)
    assert clf.n_parameters_ == 64 * 12 + 12 + 12 * 10 + 10
    assert clf.score(X_test, y_test) > 0.75
    # clone carries module__* over; the same seed builds and trains the same network
    twin = clone(clf)
    assert twin.get_params() == {**clf.get_params(), "module__hidden": 12}
    assert not hasattr(twin, "net_")
    assert_allclose(twin.fit(X, y).predict_proba(X_test), clf.predict_proba(X_test))


def test_custom_module_instance_is_copied_never_trained_in_place(digits):
    X, y, X_test, _ = digits
    torch.manual_seed(0)
    instance = TwoLayer(64, 1, hidden=6)
    initial = copy.deepcopy(instance.state_dict())
    reg = small(RegularizedNetRegressor, module=instance).fit(X, y / 10)
    assert reg.net_.module_ is not instance
    for key, value in instance.state_dict().items():
        assert torch.equal(value, initial[key])
    assert reg.predict(X_test).shape == (len(X_test),)
    assert not np.allclose(reg.net_.module_.out.weight.detach(), initial["out.weight"])


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_weight_decay_and_l1_act_on_the_custom_module_weights(digits, optimizer):
    X, y, _, _ = digits
    X, y = X[:50].astype(np.float32), (y[:50] / 10).astype(np.float32)
    torch.manual_seed(0)
    instance = TwoLayer(64, 1, hidden=5)
    lr, weight_decay, l1 = 0.1, 0.3, 0.01
    reg = RegularizedNetRegressor(
        module=instance, optimizer=optimizer, momentum=0.0, learning_rate_init=lr,
        weight_decay=weight_decay, l1=l1, batch_size=len(X), max_iter=1, random_state=0,
    ).fit(X, y)
    # One full-batch step by hand: mean squared error + l1 * sum|W| over the weight matrices
    # (biases are not penalized); SGD adds weight_decay * W to their gradient, AdamW shrinks
    # them by lr * weight_decay * W besides its normalized step.
    hand = copy.deepcopy(instance)
    out = hand(torch.from_numpy(X)).ravel()
    loss = ((out - torch.from_numpy(y)) ** 2).mean()
    loss = loss + l1 * (hand.hidden.weight.abs().sum() + hand.out.weight.abs().sum())
    loss.backward()
    with torch.no_grad():
        for name, param in hand.named_parameters():
            decayed = name.endswith("weight")
            if optimizer == "sgd":
                param -= lr * (param.grad + (weight_decay * param if decayed else 0.0))
            else:  # AdamW's first step: grad / (|grad| + eps), times lr
                step = lr * param.grad / (param.grad.abs() + 1e-8)
                param.mul_(1 - lr * weight_decay if decayed else 1.0).sub_(step)
    for (name, expected), (_, fitted) in zip(hand.named_parameters(),
                                             reg.net_.module_.named_parameters(), strict=True):
        assert_allclose(fitted.detach(), expected.detach(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_grid_search_tunes_module_params(digits):
    X, y, _, _ = digits
    search = GridSearchCV(small(module=TwoLayer, max_iter=3), {"module__hidden": [3, 9]}, cv=2)
    search.fit(X, y)
    assert [p["module__hidden"] for p in search.cv_results_["params"]] == [3, 9]
    best = search.best_estimator_
    assert best.net_.module_.hidden.out_features == search.best_params_["module__hidden"]


@pytest.mark.parametrize("option", [
    {"dropout": 0.2}, {"batch_norm": True}, {"vq_codes": 4}, {"share_hidden_layers": True},
    {"architecture": "cnn", "image_shape": (8, 8)},
])
def test_architecture_options_with_a_custom_module_are_an_error(digits, option):
    X, y, _, _ = digits
    name = next(iter(option))
    with pytest.raises(ValueError, match=rf"{name}=.*cannot be combined with module="):
        small(module=TwoLayer, **option).fit(X, y)


def test_bad_module_and_callbacks_values_are_clear_errors(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="module is an instance: pass the class"):
        small(module=TwoLayer(64, 10)).set_params(module__hidden=4).fit(X, y)
    with pytest.raises(ValueError, match="but module=None"):
        small().set_params(module__hidden=4).fit(X, y)
    with pytest.raises(ValueError, match="torch.nn.Module subclass or instance"):
        small(module=dict).fit(X, y)
    with pytest.raises(ValueError, match="module__n_features cannot be set"):
        small(module=TwoLayer).set_params(module__n_features=3).fit(X, y)
    with pytest.raises(InvalidParameterError, match="module"):
        small(module="mlp").fit(X, y)
    with pytest.raises(ValueError, match="callbacks must hold skorch callbacks"):
        small(callbacks=[print]).fit(X, y)


# ---- extra skorch callbacks -----------------------------------------------------------------

class EpochRecorder(Callback):
    def __init__(self, tag="epochs"):
        self.tag = tag

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = []

    def on_epoch_end(self, net, **kwargs):
        self.epochs_.append((net.history[-1, "epoch"], net.history[-1].get("valid_loss")))


def test_user_skorch_callbacks_see_every_epoch_and_are_copied(digits):
    X, y, _, _ = digits
    recorder = EpochRecorder()
    clf = small(max_iter=40, early_stopping=True, n_iter_no_change=2, learning_rate_init=0.05,
                callbacks=[("recorder", recorder), EpochRecorder(tag="unnamed")]).fit(X, y)
    assert clf.n_iter_ < 40  # stopped early: the callback saw every epoch trained
    callbacks = dict(clf.net_.callbacks_)
    for name in ("recorder", "EpochRecorder"):
        seen = callbacks[name].epochs_
        assert [epoch for epoch, _ in seen] == list(range(1, clf.n_iter_ + 1))
        assert_allclose([loss for _, loss in seen], clf.history_[:, "valid_loss"])
    assert callbacks["EpochRecorder"].tag == "unnamed"
    assert not hasattr(recorder, "epochs_")  # the user's instance is not the one run
    clf.partial_fit(X, y)  # partial_fit runs a fresh copy over its one epoch
    assert [epoch for epoch, _ in dict(clf.net_.callbacks_)["recorder"].epochs_] == [
        clf.n_iter_
    ]


# ---- scikit-learn callbacks -----------------------------------------------------------------

def _epoch_rows(monitor):
    return [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]


@pytest.mark.parametrize("cls, scoring", [
    (RegularizedNetClassifier, "neg_log_loss"),
    (RegularizedNetRegressor, "neg_mean_squared_error"),
])
def test_scoring_monitor_scores_the_net_after_each_epoch(digits, cls, scoring):
    X, y, _, _ = digits
    y = y if cls is RegularizedNetClassifier else y / 10
    monitor = ScoringMonitor(scoring=scoring)
    # Full-batch steps without dropout: epoch k + 1's training loss is the loss of the net
    # as it is after epoch k, which the monitor scores on the same data.
    est = small(cls, batch_size=len(X), max_iter=6).set_callbacks(monitor).fit(X, y)
    rows = _epoch_rows(monitor)
    assert [row["task_id"] for row in rows] == list(range(6))
    assert all(row["estimator_name"] == cls.__name__ for row in rows)
    scores = [row[scoring] for row in rows]
    assert_allclose(scores[:-1], -np.asarray(est.history_[1:, "train_loss"]), rtol=1e-5)
    assert scores[-1] == pytest.approx(get_scorer(scoring)(est, X, y))


def test_sklearn_callbacks_under_pipeline_and_grid_search(digits, capsys):
    X, y, _, _ = digits
    monitor = ScoringMonitor(scoring="accuracy")
    net = small(max_iter=3).set_callbacks(monitor)
    pipe = make_pipeline(StandardScaler(), net)
    search = GridSearchCV(pipe, {"regularizednetclassifier__l1": [0.0, 1e-4]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"GridSearchCV - fit", out)
    assert re.search(r"Pipeline - fit-final-estimator \| RegularizedNetClassifier - fit", out)
    assert "100%" in out and not re.search(r"\b[0-9]{1,2}%", out)
    rows = _epoch_rows(monitor)
    assert len(rows) == (2 * 2 + 1) * 3  # 2 candidates x 2 folds + the refit, 3 epochs each
    refit = [row for row in rows if row["task_id_path"][:2] == (0, 1)]  # the search's task 1
    assert [row["task_id"] for row in refit] == [0, 1, 2]
    assert refit[-1]["accuracy"] == pytest.approx(search.best_estimator_.score(X, y))


def test_sklearn_callbacks_count_the_epochs_actually_trained(digits):
    X, y, _, _ = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = small(max_iter=100, early_stopping=True, n_iter_no_change=2, learning_rate_init=0.05)
    clf.set_callbacks(monitor).fit(X, y)
    assert clf.n_iter_ < 100 and len(_epoch_rows(monitor)) == clf.n_iter_
    clf = small().set_callbacks(monitor)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.arange(10))
        assert len(_epoch_rows(monitor)) == 1  # one epoch task per partial_fit


def test_an_sklearn_callback_can_stop_training(digits):
    X, y, _, _ = digits
    clf = small(max_iter=10).set_callbacks(StopAfter(3)).fit(X, y)
    assert clf.n_iter_ == 3 and clf.predict(X).shape == (len(X),)


def test_set_callbacks_survives_clone_and_pickle(digits):
    X, y, X_test, _ = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = small(max_iter=2).set_callbacks(monitor).fit(X, y)
    assert clone(clf)._skl_callbacks == [monitor]
    restored = pickle.loads(pickle.dumps(clf))  # the epoch reporter holds nothing of the fit
    assert_allclose(restored.predict_proba(X_test), clf.predict_proba(X_test))
    tasks = dict(clf.net_.callbacks_)["sklearn_callbacks"]
    assert tasks.task is None  # nothing of the fit (estimator, data, task tree) kept


def test_thread_policy_counts_the_work_of_a_custom_module(digits):
    from skreg.neural._threads import flops_per_sample

    X, y, _, _ = digits
    instance = TwoLayer(64, 10, hidden=50)
    clf = small(module=instance)
    # a dense layer's multiply-adds per sample are its weights: 64*50 + 50*10 (+ biases)
    assert flops_per_sample(clf, 64, 10) == 64 * 50 + 50 + 50 * 10 + 10
    assert flops_per_sample(small(module=TwoLayer), 64, 10) == 0  # not built yet: one thread
    fitted = small(module=TwoLayer, max_iter=1).set_params(module__hidden=50).fit(X, y)
    assert flops_per_sample(fitted, 64, 10) == 64 * 50 + 50 + 50 * 10 + 10
