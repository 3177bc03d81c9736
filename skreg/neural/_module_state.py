"""A user's module instance (the ``module=`` parameter) as plain data, for pickles and skops.

Pickled as is, a module's tensors go through ``torch.load(weights_only=False)`` when loaded,
which can run any code; and ``skops.io`` cannot save tensors at all. Like skorch's
``save_params``, the instance is stored as its class, its constructor arguments and its
weights (numpy arrays), and rebuilt from them on loading:

- ``{"class": cls, "arguments": {...}, "tensors": {...}}`` when the constructor arguments can
  be read back, as scikit-learn reads an estimator's parameters: each argument stored as an
  attribute of the same name holding a plain value (numbers, strings, tuples...). The class
  is then the only object of the user's in the file (skops: the only type to trust).
- ``{"class": cls, "skeleton": module, "tensors": {...}}`` otherwise: the module object with
  every tensor taken out (set to None) and kept, as numpy, in ``tensors``. No tensor is
  pickled, so nothing loads through ``torch.load``; skops then also asks to trust the
  torch layer types inside the module.
"""

import copy
import inspect

import numpy as np
import torch

_MARK = "skreg_module_instance"
_PLAIN = (bool, int, float, str, bytes, type(None))


def _plain(value):
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _tensor_slots(module):
    """``(path, kind, name, tensor)`` of every tensor of every submodule: parameters, buffers
    (non-persistent ones included) and tensor attributes."""
    slots = []
    for path, submodule in module.named_modules():
        for kind in ("_parameters", "_buffers"):
            for name, tensor in getattr(submodule, kind).items():
                if tensor is not None:
                    slots.append((path, kind, name, tensor))
        for name, value in vars(submodule).items():
            if isinstance(value, torch.Tensor):
                slots.append((path, "attribute", name, value))
    return slots


def _constructor_arguments(module):
    """The arguments ``type(module)(**arguments)`` was built with, or None if unknown."""
    cls = type(module)
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    arguments = {}
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        value = vars(module).get(parameter.name, inspect.Parameter.empty)
        if value is inspect.Parameter.empty or not _plain(value):
            return None
        arguments[parameter.name] = value
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: not the user's
        try:
            rebuilt = cls(**arguments)
        except Exception:
            return None
    shapes = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    if shapes != {key: tuple(value.shape) for key, value in rebuilt.state_dict().items()}:
        return None  # the attributes are not (all) the constructor's arguments
    return arguments


def encode_module(module):
    """``module`` as plain data (see the module docstring); anything else as it is."""
    if not isinstance(module, torch.nn.Module):
        return module
    state = {"class": type(module)}
    arguments = _constructor_arguments(module)
    if arguments is not None:
        state["arguments"] = arguments
        state["tensors"] = {key: _to_numpy(value) for key, value in module.state_dict().items()}
    else:
        slots = {f"{path}|{kind}|{name}": tensor for path, kind, name, tensor in
                 _tensor_slots(module)}
        held = {id(tensor): None for tensor in slots.values()}  # the copy holds no tensor
        state["skeleton"] = copy.deepcopy(module, memo=held)
        first = {}  # a tensor held in several places (tied weights) is stored once
        state["aliases"] = {key: first.setdefault(id(tensor), key)
                            for key, tensor in slots.items()}
        state["tensors"] = {key: _to_numpy(slots[key]) for key in first.values()}
        state["requires_grad"] = [key for key in first.values() if slots[key].requires_grad]
    return {_MARK: state}


def decode_module(value):
    """Inverse of :func:`encode_module`."""
    if not (isinstance(value, dict) and set(value) == {_MARK}):
        return value
    state = value[_MARK]
    if "arguments" in state:
        with torch.random.fork_rng(devices=[]):
            module = state["class"](**state["arguments"])
        module.load_state_dict({key: torch.from_numpy(np.array(array))
                                for key, array in state["tensors"].items()})
        return module
    module = state["skeleton"]
    submodules = dict(module.named_modules())
    requires_grad = set(state["requires_grad"])
    tensors = {}
    for key, original in state["aliases"].items():
        path, kind, name = key.split("|")
        if original not in tensors:
            tensor = torch.from_numpy(np.array(state["tensors"][original]))
            if original.split("|")[1] == "_parameters":
                tensor = torch.nn.Parameter(tensor, requires_grad=original in requires_grad)
            tensors[original] = tensor
        tensor = tensors[original]
        if kind == "attribute":
            setattr(submodules[path], name, tensor)
        else:
            getattr(submodules[path], kind)[name] = tensor
    return module


def _to_numpy(tensor):
    return tensor.detach().cpu().numpy().copy()
