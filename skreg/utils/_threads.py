"""How many torch threads one training or prediction call uses, set for the call and restored.

Why a policy: PyTorch's CPU intra-op pool (OpenMP; MKL's GEMM runs in the same pool) defaults to
one thread per core and its threads spin while they wait for each other. On layers of a few
hundred units a mini-batch step is a few milliseconds, too little work for a second thread to
pay for its synchronization; and when other processes keep the cores busy, a spinning thread
that loses its core stalls the whole step. Fitting a (100,) MLP on digits measured 5-11 s with
torch's default two threads next to other jobs on 2 cores, against 0.7-1.3 s with one thread
(MLPClassifier: 4-8 s, its OpenBLAS threads collapse the same way).

The count for a call is therefore:

1. ``n_threads`` when the user gives one;
2. otherwise 1 when a batch is too small to share (fewer than two
   ``MIN_FLOPS_PER_THREAD`` multiply-adds per batch in the forward pass);
3. otherwise one thread per ``MIN_FLOPS_PER_THREAD`` of work, at most the cores this process may
   use (``os.sched_getaffinity``, cgroup CPU quotas as joblib counts them) shared among the
   calls running at the same time, at most ``torch.get_num_threads()`` as the caller set it
   (``torch.set_num_threads``, ``threadpoolctl.threadpool_limits`` and joblib's limit in a
   worker of a parallel search all show there), and at most the cores that other runnable
   tasks leave idle right now (Linux: the running-task count of ``/proc/loadavg`` less this
   process's own running threads, read from ``/proc/self/task``; elsewhere the 1-minute load
   average), looked at again at each epoch of a training call
   (:func:`retune_threads`), since other processes come and go during a long fit.

``torch.set_num_threads`` changes the calling thread's OpenMP setting and the value threads
started later inherit, so the count is set inside the call and the caller's value is put back
on every exit path, exceptions and KeyboardInterrupt included. Calls running at once in several
Python threads are counted under a lock; a thread started during another call inherits that
call's count, which is not the user's choice, so it is bounded by (and restored to) the value
the first call found instead.
"""

import functools
import os
import threading
from contextlib import contextmanager

import torch

# Forward multiply-adds per batch each extra thread needs before it pays. An estimate, not a
# fit: at 2**23 (8.4e6) a training step takes about a millisecond on one core (measured: 1.5e6
# multiply-adds ~1 ms, 2.4e7 ~3 ms per step), the scale at which OpenMP's fork/join and spinning
# cost as much as a second thread saves. benchmarks/bench_neural.py (section 4) prints the
# 1- vs 2-thread crossover of the machine at hand; on the shared 2-core machine this was
# written on (load average 4 to 24) two threads never won, at any layer size.
MIN_FLOPS_PER_THREAD = 2**23

_lock = threading.Lock()
_n_active = 0  # Python threads inside torch_threads right now
_first_value = None  # torch.get_num_threads() found by the first of the active calls
_value_set = None  # the count the latest active call set
# .depth: active calls of this Python thread (nested ones count); .policy: (work, limit) of
# its innermost call that follows the policy, for retune_threads.
_local = threading.local()


@functools.lru_cache(maxsize=1)
def _quota_cores():
    # joblib's count honours cgroup CPU quotas (containers); reading them costs ~0.5 ms.
    import joblib

    return joblib.cpu_count()


def available_cores():
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, _quota_cores()))


def own_runnable_threads():
    """Threads of this process running or waiting for a core now (Linux), else None.

    Besides the caller: torch's pool threads spinning between parallel regions, and BLAS
    threads that keep spinning for a while after a numpy or scikit-learn call (OpenBLAS's
    for up to a fraction of a second). They are ours, and idle soon: not other work.
    """
    try:
        n_running = 0
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/stat", "rb") as file:
                stat = file.read()
            # The state follows the command name, which is in parentheses and may hold spaces.
            n_running += stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] == b"R"
        return n_running
    except (OSError, ValueError):  # a thread ended while we read: counted or not, no matter
        return None


def other_runnable_tasks(own_threads=1):
    """Tasks of other processes that want a core now (Linux), else the 1-minute load average.

    ``own_threads``: this call's threads that may be running (the reader, and torch's pool
    threads that spin between parallel regions during training), counted when this process's
    own running threads cannot be read.
    """
    try:
        with open("/proc/loadavg") as file:
            running = int(file.read().split()[3].split("/")[0])
        if running <= own_threads:
            return 0  # the common quiet case: no need to read our threads (~0.2 ms)
        own = own_runnable_threads()
        return max(0, running - (own_threads if own is None else max(own, own_threads)))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)
    except (OSError, AttributeError):
        return 0


def choose_n_threads(flops_per_batch, *, limit, n_concurrent=1, own_threads=1):
    """Thread count for ``flops_per_batch`` forward multiply-adds per batch (policy above).

    Parameters
    ----------
    flops_per_batch : float
        Multiply-adds of one batch's forward pass (``batch_size * sum(in * out)`` of the
        layers).
    limit : int
        Upper bound set by the caller (their ``torch.get_num_threads()``).
    n_concurrent : int, default=1
        Calls training or predicting at the same time in this process: they share the cores.
    own_threads : int, default=1
        Threads of this call already running (see :func:`other_runnable_tasks`).

    Returns
    -------
    n_threads : int
        At least 1.
    """
    by_work = int(flops_per_batch // MIN_FLOPS_PER_THREAD)
    n_threads = min(by_work, limit, available_cores() // max(1, n_concurrent))
    if n_threads <= 1:
        return 1
    idle = available_cores() - other_runnable_tasks(own_threads)
    return max(1, min(n_threads, int(idle)))


@contextmanager
def torch_threads(flops_per_batch, n_threads=None):
    """Run the block with the chosen number of torch threads, then restore the caller's.

    Parameters
    ----------
    flops_per_batch : float
        Forward multiply-adds per batch, the work estimate of :func:`choose_n_threads`.
    n_threads : int or None, default=None
        The user's override: exactly this many threads. None applies the policy.

    Yields
    ------
    n_threads : int
        The count in effect inside the block.
    """
    global _n_active, _first_value, _value_set
    entered, outer_policy = False, getattr(_local, "policy", None)
    try:
        with _lock:
            before = torch.get_num_threads()
            depth = getattr(_local, "depth", 0)
            if not depth:  # nested calls of one thread (predict inside fit) count once
                if not _n_active:
                    _first_value = before
                elif before == _value_set:
                    before = _first_value  # inherited from another thread's call
                _n_active += 1
            _local.depth = depth + 1
            entered = True
            n_concurrent = _n_active
        _local.policy = (flops_per_batch, before) if n_threads is None else None
        if n_threads is None:
            n_threads = choose_n_threads(flops_per_batch, limit=before,
                                         n_concurrent=n_concurrent)
        with _lock:
            _value_set = n_threads
            if n_threads != torch.get_num_threads():
                torch.set_num_threads(n_threads)
        yield n_threads
    finally:
        if entered:
            _local.policy = outer_policy
            with _lock:
                _local.depth -= 1
                if not _local.depth:
                    _n_active -= 1
                if torch.get_num_threads() != before:
                    torch.set_num_threads(before)


def retune_threads():
    """Choose again for the running call of this thread (training calls it at each epoch).

    Other processes come and go during a long fit; threads that kept spinning after the
    machine turned busy would stall every remaining step. Does nothing outside a call that
    follows the policy (``n_threads=None``).
    """
    global _value_set
    policy = getattr(_local, "policy", None)
    if policy is None:
        return
    flops_per_batch, limit = policy
    current = torch.get_num_threads()
    n_threads = choose_n_threads(flops_per_batch, limit=limit, n_concurrent=_n_active,
                                 own_threads=current)
    if n_threads != current:
        with _lock:
            _value_set = n_threads
            torch.set_num_threads(n_threads)
