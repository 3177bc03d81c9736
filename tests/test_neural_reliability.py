"""The nets under concurrent use, on bad targets, and through pickle / skops."""

import threading
import time

import numpy as np
import pytest
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
