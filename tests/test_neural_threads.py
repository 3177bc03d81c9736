"""Thread policy of the neural estimators: the count chosen per call and the caller's restored."""

import threading
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import skreg.utils._threads as threads
from skreg import RegularizedNetClassifier, RegularizedNetRegressor
from skreg.neural._net import RegularizedNet
from skreg.neural._threads import flops_per_sample
from skreg.utils._threads import (
    MIN_FLOPS_PER_THREAD,
    available_cores,
    choose_n_threads,
    torch_threads,
)


@pytest.fixture
def user_threads():
    """The caller's torch thread count, put back after the test whatever it did."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16.0).astype(np.float32), y[:200]


@pytest.fixture
def counts_in_training(monkeypatch):
    """torch.get_num_threads() seen by each training step."""
    seen = []
    step = RegularizedNet.train_step_single

    def recording_step(net, batch, **fit_params):
        seen.append(torch.get_num_threads())
        return step(net, batch, **fit_params)

    monkeypatch.setattr(RegularizedNet, "train_step_single", recording_step)
    return seen


def small(**params):
    return RegularizedNetClassifier((16,), max_iter=2, random_state=0, **params)


def test_fit_and_predict_restore_the_callers_count(digits, user_threads, counts_in_training):
    X, y = digits
    for caller in (3, 1):
        torch.set_num_threads(caller)
        clf = small(n_threads=2).fit(X, y)
        assert set(counts_in_training) == {2}  # the override is used as given
        assert torch.get_num_threads() == caller
        clf.partial_fit(X, y)
        clf.predict_proba(X)
        assert torch.get_num_threads() == caller
        counts_in_training.clear()


def test_tiny_layers_train_on_one_thread(digits, user_threads, counts_in_training):
    torch.set_num_threads(max(2, available_cores()))
    small().fit(*digits)
    assert set(counts_in_training) == {1}
    assert torch.get_num_threads() == max(2, available_cores())


def test_count_restored_after_an_error_inside_fit(digits, user_threads, monkeypatch):
    torch.set_num_threads(3)

    def failing_step(net, batch, **fit_params):
        assert torch.get_num_threads() == 2
        raise RuntimeError("boom inside a training step")

    monkeypatch.setattr(RegularizedNet, "train_step_single", failing_step)
    with pytest.raises(RuntimeError, match="boom"):
        small(n_threads=2).fit(*digits)
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_context_restores_on_interrupts_and_errors(user_threads, error):
    torch.set_num_threads(3)
    with pytest.raises(error):
        with torch_threads(0, n_threads=1):
            assert torch.get_num_threads() == 1
            raise error
    assert torch.get_num_threads() == 3


def test_users_lower_count_bounds_the_policy(user_threads, monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(threads, "other_runnable_tasks", lambda own_threads=1: 0)
    big = 100 * MIN_FLOPS_PER_THREAD
    assert choose_n_threads(big, limit=8) == 8
    torch.set_num_threads(3)
    with torch_threads(big) as chosen:
        assert chosen == torch.get_num_threads() == 3
    assert choose_n_threads(3 * MIN_FLOPS_PER_THREAD, limit=8) == 3  # one per unit of work
    assert choose_n_threads(big, limit=8, n_concurrent=2) == 4  # concurrent calls share
    monkeypatch.setattr(threads, "other_runnable_tasks", lambda own_threads=1: 7)
    assert choose_n_threads(big, limit=8) == 1  # other processes hold the cores


def test_count_follows_the_load_between_epochs(digits, user_threads, monkeypatch,
                                               counts_in_training):
    others = [0]
    monkeypatch.setattr(threads, "MIN_FLOPS_PER_THREAD", 1)  # every layer is "large"
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "other_runnable_tasks", lambda own_threads=1: others[0])

    class LoadArrives(RegularizedNet):
        def on_epoch_end(self, net, **kwargs):
            super().on_epoch_end(net, **kwargs)
            others[0] = 10  # other processes take the cores after the first epoch

    monkeypatch.setattr("skreg.neural._building.RegularizedNet", LoadArrives)
    torch.set_num_threads(4)
    RegularizedNetClassifier((16,), batch_size=200, max_iter=3).fit(*digits)
    assert counts_in_training == [4, 1, 1]
    assert torch.get_num_threads() == 4
    counts_in_training.clear()
    RegularizedNetClassifier((16,), batch_size=200, max_iter=2, n_threads=3).fit(*digits)
    assert counts_in_training == [3, 3]  # an explicit count is kept


def test_count_never_exceeds_available_cores_and_is_one_for_tiny_work(monkeypatch):
    monkeypatch.setattr(threads, "other_runnable_tasks", lambda own_threads=1: 0)
    assert 1 <= choose_n_threads(1e15, limit=1000) <= available_cores()
    assert choose_n_threads(MIN_FLOPS_PER_THREAD - 1, limit=1000) == 1
    # digits with the default (100,) layer and batch 200: about 1.5 million multiply-adds
    digits_work = 200 * flops_per_sample(RegularizedNetClassifier(), 64, 10)
    assert digits_work == 200 * (64 * 100 + 100 * 10)
    assert choose_n_threads(digits_work, limit=1000) == 1


def test_concurrent_fits_in_two_threads_restore_every_count(digits, user_threads, monkeypatch):
    torch.set_num_threads(3)
    both_training = threading.Barrier(2, timeout=60)
    step = RegularizedNet.train_step_single
    inside, after, errors = {}, {}, []

    def overlapping_step(net, batch, **fit_params):
        name = threading.current_thread().name
        if name not in inside:  # both fits are in training at once from here on
            inside[name] = torch.get_num_threads()
            both_training.wait()
        return step(net, batch, **fit_params)

    monkeypatch.setattr(RegularizedNet, "train_step_single", overlapping_step)

    def fit(n_threads):
        try:
            small(n_threads=n_threads).fit(*digits)
            after[threading.current_thread().name] = torch.get_num_threads()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=fit, args=(n,), name=f"fit-{n}") for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert inside == {"fit-1": 1, "fit-2": 2}
    # Each thread ends with what it had before (threads started during a fit inherit that
    # fit's count; the one the caller set is restored), and so does the caller.
    assert after == {"fit-1": 3, "fit-2": 3}
    assert torch.get_num_threads() == 3
    assert threads._n_active == 0


def test_work_estimate_counts_the_built_layers(digits):
    X, y = digits
    multiply_adds = []

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Linear):
            multiply_adds.append(module.in_features * module.out_features)
        else:  # Conv2d: every output position of every output channel
            multiply_adds.append(output[0].numel() * module.in_channels * 9)

    for estimator in [
        RegularizedNetRegressor((12, 7), max_iter=1),
        RegularizedNetClassifier((9,), architecture="cnn", image_shape=(8, 8),
                                 conv_channels=(4, 6, 3), max_iter=1, vq_codes=None),
    ]:
        target = y if isinstance(estimator, RegularizedNetClassifier) else y / 10.0
        estimator.fit(X, target)
        multiply_adds.clear()
        for layer in estimator.net_.module_.modules():
            if isinstance(layer, torch.nn.Linear | torch.nn.Conv2d):
                layer.register_forward_hook(count)
        estimator.net_.module_.eval()(torch.as_tensor(X[:1]))
        n_outputs = len(getattr(estimator, "classes_", [0]))
        assert flops_per_sample(estimator, 64, n_outputs) == sum(multiply_adds)
    custom = torch.nn.Sequential(torch.nn.Linear(64, 12), torch.nn.ReLU(), torch.nn.Linear(12, 10))
    work = flops_per_sample(RegularizedNetClassifier(module=custom), 64, 10)
    assert work == 64 * 12 + 12 + 12 * 10 + 10  # its parameters, biases included


@pytest.mark.skipif(
    threads.own_runnable_threads() is None,
    reason="reads this process's threads from /proc/self/task, which only Linux has",
)
def test_threads_of_this_process_are_not_counted_as_other_work(monkeypatch):
    # Two threads of ours doing numpy work (BLAS threads spinning after a call look the same).
    stop = threading.Event()

    def work():
        a = np.random.default_rng(0).random((800, 800))
        while not stop.is_set():
            a @ a  # releases the GIL for tens of milliseconds

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        # The two workers and the reader (a worker between two products may be waiting for
        # the GIL, asleep: the most seen over reads for up to 5 s; 20 reads were once not
        # enough on a machine at load 11).
        seen, deadline = 0, time.monotonic() + 5
        while seen < 3 and time.monotonic() < deadline:
            seen = max(seen, threads.own_runnable_threads())
            time.sleep(0.001)
        assert seen >= 3
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    # The arithmetic, with the machine's counts fixed: 5 tasks running, 3 of them ours.
    loadavg = "0.5 0.4 0.3 5/200 1234\n"
    monkeypatch.setattr(threads, "open", lambda *a, **k: __import__("io").StringIO(loadavg),
                        raising=False)
    monkeypatch.setattr(threads, "own_runnable_threads", lambda: 3)
    assert threads.other_runnable_tasks() == 2
    assert threads.other_runnable_tasks(own_threads=4) == 1  # torch's pool counted as ours
    monkeypatch.setattr(threads, "own_runnable_threads", lambda: None)  # /proc unreadable
    assert threads.other_runnable_tasks() == 4
    loadavg = "0.5 0.4 0.3 1/200 1234\n"
    assert threads.other_runnable_tasks() == 0
