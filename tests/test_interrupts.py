"""A second Ctrl-C while a failed or interrupted call puts the model back never leaves half a
model: the restore finishes, then KeyboardInterrupt reaches the caller."""

import signal

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skreg import RegularizedNetClassifier
from skreg.neural import _net, _state
from skreg.utils._interrupts import sigint_deferred


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler, as in a script or notebook (test runners may change it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_in_the_block_is_raised_after_it(default_sigint):
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_deferred():
            steps.append("before")
            signal.raise_signal(signal.SIGINT)
            steps.append("after")
    assert steps == ["before", "after"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_ctrl_c_nothing_is_raised(default_sigint):
    with sigint_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_of_the_users_own_is_left_alone():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with sigint_deferred():
            signal.raise_signal(signal.SIGINT)
            assert calls == [signal.SIGINT]  # handled at once, by the user's handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_second_ctrl_c_during_the_restore_of_a_partial_fit_keeps_the_model(
    default_sigint, monkeypatch
):
    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16).astype(np.float32)
    y = y[:300]
    net = RegularizedNetClassifier((16,), max_iter=2, random_state=0).fit(X, y)
    before = net.predict_proba(X)

    def interrupted_epoch(self, *args, **kwargs):
        with torch.no_grad():
            for parameter in self.module_.parameters():
                parameter.add_(1.0)  # half an epoch of training changed the weights
        raise KeyboardInterrupt  # the first Ctrl-C

    restore = _state.TrainingState.restore

    def restore_with_second_ctrl_c(self, target):
        signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, as the restore starts
        restore(self, target)

    monkeypatch.setattr(_net.RegularizedNet, "partial_fit", interrupted_epoch)
    monkeypatch.setattr(_state.TrainingState, "restore", restore_with_second_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        net.partial_fit(X, y)
    monkeypatch.undo()
    np.testing.assert_array_equal(net.predict_proba(X), before)
    assert net.n_iter_ == 2
