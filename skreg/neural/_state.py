"""What a training call may change, kept aside so that a failure or Ctrl-C can undo it.

- :class:`TrainingState`: copies of a net's module tensors and attributes, optimizer state and
  history length, taken before a ``partial_fit`` (restored if it fails) and after each completed
  epoch of a ``fit`` (restored when Ctrl-C lands in the middle of the next one).
- :func:`raised_by_statement`: tells skorch's way of ending training early (a callback executes
  ``raise KeyboardInterrupt``) from a real Ctrl-C.
- :func:`tensors_to_numpy` / :func:`numpy_to_tensors`: nested states with numpy arrays in place
  of tensors, the form the estimators pickle (and ``skops.io`` can load without trusting torch).
"""

import dis
import warnings
from contextlib import contextmanager

import numpy as np
import torch

from skreg.utils._interrupts import sigint_deferred

# Inputs or targets above this magnitude overflow float32 once squared (3.4e38) or multiplied by
# a weight of order one and summed: an error before training. Far from order one (above
# _LARGE_SCALE or below its inverse): a warning, since the initialization assumes unit scale.
_OVERFLOW_SCALE = 1e18
_LARGE_SCALE = 1e6
_RAISE = dis.opmap["RAISE_VARARGS"]
_PLAIN_TYPES = (bool, int, float, str, type(None))


def raised_by_statement(exc):
    """Whether ``exc`` came from a ``raise`` statement rather than from a signal.

    Python raises a signal handler's KeyboardInterrupt where its evaluation loop checks for
    pending signals (function entry, backward jumps, after calls), never on a ``raise``
    instruction: the instruction that was executing in the innermost frame tells them apart.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE


def _module_attributes(module):
    """Tensors (parameters, buffers, tensor attributes) and plain attributes of every submodule."""
    state = {}
    for name, submodule in module.named_modules():
        tensors = {**submodule._parameters, **submodule._buffers}
        plain = {key: value for key, value in vars(submodule).items()
                 if isinstance(value, _PLAIN_TYPES + (torch.Tensor,))}
        state[name] = (
            {key: None if t is None else t.detach().clone() for key, t in tensors.items()},
            {key: value.detach().clone() if isinstance(value, torch.Tensor) else value
             for key, value in plain.items()},
        )
    return state


class TrainingState:
    """A copy of what training changes in ``net``; :meth:`restore` puts it back in place.

    Restoring copies values into the live tensors, so the optimizer keeps pointing at the
    module's parameters. Costs one copy of the parameters, buffers and optimizer state.
    """

    def __init__(self, net):
        self.module = _module_attributes(net.module_)
        self.optimizer = _clone_tensors(net.optimizer_.state_dict())
        self.n_epochs = len(net.history)

    @torch.no_grad()
    def restore(self, net):
        modules = dict(net.module_.named_modules())
        for name, (tensors, plain) in self.module.items():
            submodule = modules[name]
            for key, saved in tensors.items():
                live = getattr(submodule, key)
                if saved is None or live is None or live.shape != saved.shape:
                    setattr(submodule, key, saved)
                else:
                    live.copy_(saved)
            for key, value in plain.items():
                setattr(submodule, key, value)
        net.optimizer_.load_state_dict(self.optimizer)
        del net.history[self.n_epochs:]


def _clone_tensors(obj):
    """A copy of nested dicts / lists with every tensor cloned (cheaper than deepcopy)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {key: _clone_tensors(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_clone_tensors(value) for value in obj)
    return obj


def tensors_to_numpy(obj):
    """``obj`` (nested dicts, lists, tuples) with every tensor replaced by a numpy array."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {key: tensors_to_numpy(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(tensors_to_numpy(value) for value in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def numpy_to_tensors(obj, device):
    """Inverse of :func:`tensors_to_numpy`: numpy arrays become tensors on ``device``."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.array(obj)).to(device)
    if isinstance(obj, dict):
        return {key: numpy_to_tensors(value, device) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(numpy_to_tensors(value, device) for value in obj)
    return obj


@contextmanager
def seeded_torch_rng(seed, device):
    """Run the block with torch's generator (of ``device``) seeded, then restore its state.

    Dropout and weight initialization draw from torch's global generator; forking it keeps
    training reproducible without reseeding the user's generator.
    """
    if device.type != "cuda":
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            yield
        return
    index = torch.cuda.current_device() if device.index is None else device.index
    with torch.random.fork_rng(devices=[index]), torch.cuda.device(index):
        torch.default_generator.manual_seed(seed)
        torch.cuda.manual_seed(seed)  # seeds the current device, the one training uses
        yield


def _close_callbacks(net):
    for _, callback in net.callbacks_:
        if hasattr(callback, "close"):
            callback.close()


def _train(net, train):
    """Train a fresh net; keep a copy of each completed epoch for an interrupted fit."""
    net.epoch_snapshots = net.max_epochs > 1
    try:
        net.partial_fit(train)
    finally:
        net.epoch_snapshots = False
        _close_callbacks(net)


def _train_in_place(net, train, callbacks):
    """One more epoch of a fitted net; any failure or interrupt restores it as it was.

    Returns ``undo()``, which puts the net back as it was before this call: for a failure
    after training (a callback raising at the end of the fit).
    """
    state = TrainingState(net)
    saved = net.max_epochs, net.callbacks, net.callbacks_

    def undo():
        with sigint_deferred():  # a second Ctrl-C must not leave the restore half done
            state.restore(net)
            net.max_epochs, net.callbacks, net.callbacks_ = saved

    try:
        net.max_epochs = 1
        net.callbacks = callbacks
        net.initialize_callbacks()
        net.partial_fit(train)
    except BaseException:
        undo()
        raise
    finally:
        _close_callbacks(net)
    return undo


def check_scale(values, name):
    """Error if float32 arithmetic overflows on ``values``; warn if far from order one."""
    if values.size == 0:
        return
    largest = max(float(values.max()), -float(values.min()))  # no temporary copy of X
    if largest > _OVERFLOW_SCALE:
        raise ValueError(
            f"{name} has values up to {largest:.3g} in magnitude: the network computes in "
            f"float32, where products of such values overflow (above "
            f"{np.finfo(np.float32).max:.3g}). Standardize {name} (e.g. with StandardScaler)."
        )
    if largest > _LARGE_SCALE or 0 < largest < 1 / _LARGE_SCALE:
        warnings.warn(
            f"{name}'s largest magnitude is {largest:.3g}: the network's initialization and "
            f"learning rate assume inputs of order one. Standardize {name} (e.g. with "
            "StandardScaler).", UserWarning, stacklevel=4,
        )
