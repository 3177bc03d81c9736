"""The nets under concurrent use, on bad targets, and through pickle / skops."""

import pickle
import threading
import time

import numpy as np
import pytest
import skops.io  # a test requirement: a missing install fails instead of skipping
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from torch import nn

from skreg import RegularizedNetClassifier, RegularizedNetRegressor


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=64, n_features=5, n_informative=3, random_state=0)
    return X.astype(np.float32), y


def test_regressor_on_string_targets_is_a_clear_error(data):
    X, _ = data
    y = np.array(["low", "high"] * 32)
    with pytest.raises(ValueError, match="needs numeric targets.*'low'.*RegularizedNetClassifier"):
        RegularizedNetRegressor(max_iter=1).fit(X, y)


class WaitsInPrediction(nn.Module):
    """Dropout after a layer; a prediction (evaluation mode, in the main thread) waits there
    up to ``patience`` seconds for the module to be switched to training mode, as another
    thread's training step does: without protection of the shared mode it then predicts
    with dropout on."""

    patience = 0.3

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.layer = nn.Linear(n_features, 32)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(32, n_outputs)

    def forward(self, X):
        hidden = self.layer(X)
        if not self.training and threading.current_thread() is threading.main_thread():
            deadline = time.monotonic() + self.patience
            while not self.dropout.training and time.monotonic() < deadline:
                time.sleep(0.001)
        return self.out(self.dropout(hidden))


def test_prediction_is_not_affected_by_training_in_another_thread(data):
    X, y = data
    # An SGD step of 1e-30 leaves float32 weights unchanged: only the mode can change outputs.
    clf = RegularizedNetClassifier(module=WaitsInPrediction, optimizer="sgd", momentum=0.0,
                                   learning_rate_init=1e-30, batch_size=8, max_iter=1,
                                   random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    done = threading.Event()
    errors = []

    def train():
        try:
            while not done.is_set():
                clf.partial_fit(X, y)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    trainer = threading.Thread(target=train)
    trainer.start()
    try:
        time.sleep(0.05)  # training is under way
        predictions = [clf.predict_proba(X) for _ in range(2)]
    finally:
        done.set()
        trainer.join()
    assert not errors
    for proba in predictions:
        assert_array_equal(proba, expected)  # never with dropout on
    assert clf.n_iter_ > 1  # the other thread did train meanwhile


# ---- persistence without torch.load(weights_only=False) ---------------------------------------

class Stored(nn.Module):
    """Keeps its constructor arguments as attributes, as scikit-learn estimators do."""

    def __init__(self, n_features, n_outputs, width=6):
        super().__init__()
        self.n_features, self.n_outputs, self.width = n_features, n_outputs, width
        self.body = nn.Sequential(nn.Linear(n_features, width), nn.ReLU(),
                                  nn.Linear(width, n_outputs))

    def forward(self, X):
        return self.body(X)


class Opaque(nn.Module):
    """Does not keep its arguments: rebuilt from its structure, weights tied."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.inner = nn.Linear(n_features, n_features)
        self.out = nn.Linear(n_features, n_outputs)
        self.alias = self.inner  # the same layer twice
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, X):
        return self.out(self.alias(self.inner(X)) * self.scale)


@pytest.fixture
def torch_loads(monkeypatch):
    """The weights_only argument of every torch.load call."""
    calls, load = [], torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    return calls


def _module_param(kind):
    torch.manual_seed(0)
    return {"built-in": {}, "class": {"module": Stored, "module__width": 4},
            "instance": {"module": Stored(5, 2)}, "opaque instance": {"module": Opaque(5, 2)},
            "vq": {"vq_codes": 4}}[kind]


@pytest.mark.parametrize("kind", ["built-in", "class", "instance", "opaque instance", "vq"])
def test_pickles_of_the_estimator_and_its_net_never_load_unsafely(data, torch_loads, kind):
    X, y = data
    clf = RegularizedNetClassifier(max_iter=2, random_state=0, **_module_param(kind)).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    net = pickle.loads(pickle.dumps(clf.net_))
    pickle.loads(pickle.dumps(restored.net_))  # a rebuilt net pickles too, before any use
    assert all(weights_only is True for weights_only in torch_loads)
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(net.predict_proba(X), clf.net_.predict_proba(X))
    if kind in ("instance", "opaque instance"):
        original, loaded = clf.module, restored.module
        assert type(loaded) is type(original) and loaded is restored.get_params()["module"]
        for (name, a), (_, b) in zip(original.state_dict().items(),
                                     loaded.state_dict().items(), strict=True):
            assert torch.equal(a, b), name
    if kind == "opaque instance":
        assert restored.module.alias is restored.module.inner  # tied layers stay tied
    restored.partial_fit(X, y)  # and it trains on
    assert restored.n_iter_ == clf.n_iter_ + 1


def test_skops_saves_a_net_with_a_module_instance_trusting_only_its_classes(data, tmp_path):
    X, y = data
    clf = RegularizedNetClassifier(max_iter=2, random_state=0, **_module_param("instance"))
    clf.fit(X, y)
    path = tmp_path / "net.skops"
    skops.io.dump(clf, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert sorted(untrusted) == sorted([
        "skreg.neural._estimators.RegularizedNetClassifier", f"{__name__}.Stored",
    ])
    loaded = skops.io.load(path, trusted=untrusted)
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
