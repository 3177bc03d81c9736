"""How users extend the neural estimators without subclassing them.

- ``module=``: their own ``torch.nn.Module`` class (built with the data's sizes and the
  ``module__<name>`` parameters, see :class:`ModuleParameters`) or instance (deep-copied at
  each fit). The loss-level regularizers apply to it; the options that build the default
  network raise a clear error (:func:`custom_module`).
- ``callbacks=``: extra skorch callbacks, cloned for each fit (:func:`user_callbacks`).
- ``set_callbacks(...)``: scikit-learn's callbacks (``sklearn.callback``), which see the fit as
  a root task with one subtask per epoch (:func:`begin_epoch_tasks`,
  :class:`~skreg.neural._callbacks.EpochTasks`).
"""

import copy
import inspect

import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from skreg.neural._callbacks import EpochTasks
from skreg.utils._callbacks import FitTask

MODULE_PREFIX = "module__"

# The options that build the default network, with their defaults: a custom module is its
# own architecture, so any other value is an error rather than silently ignored.
ARCHITECTURE_OPTIONS = {
    "architecture": "mlp", "dropout": 0.0, "batch_norm": False, "share_hidden_layers": False,
    "vq_codes": None,
}


class ModuleParameters:
    """``module__<name>`` parameters: the constructor arguments of a custom ``module`` class.

    As in skorch, they are accepted by ``__init__`` (``RegularizedNetClassifier(module=M,
    module__hidden=32)``) and by ``set_params(module__hidden=32)``, and ``get_params`` lists
    them (``deep`` or not), so that ``clone`` rebuilds the estimator with them, GridSearchCV
    tunes them and the repr shows them. Each is stored as an attribute of its prefixed name.
    ``__init__`` takes no other extra keyword: a misspelt parameter is still a TypeError.
    """

    def _store_module_params(self, module_params):
        """``__init__``'s ``**module__params``: bind them as Python binds keyword arguments.

        The catch-all is named ``module__params`` so that its own name is a module parameter
        too: scikit-learn's checks pass every name of the signature as a keyword.
        """
        for key, value in module_params.items():
            if not key.startswith(MODULE_PREFIX) or key == MODULE_PREFIX:
                raise TypeError(
                    f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                    f"{key!r} (the only extra keywords are module__<name>, the constructor "
                    "arguments of a custom module class)."
                )
            setattr(self, key, value)

    def _module_params(self):
        """``{name: value}`` of the ``module__<name>`` parameters, prefix removed."""
        return {
            key[len(MODULE_PREFIX):]: value for key, value in vars(self).items()
            if key.startswith(MODULE_PREFIX)
        }

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update({MODULE_PREFIX + k: v for k, v in self._module_params().items()})
        return params

    def set_params(self, **params):
        module_params = {
            key: params.pop(key) for key in list(params) if key.startswith(MODULE_PREFIX)
        }
        if MODULE_PREFIX in module_params:
            raise ValueError("A module parameter needs a name: module__<name>=value.")
        super().set_params(**params)
        for key, value in module_params.items():
            setattr(self, key, value)
        return self


def custom_module(estimator, n_features, n_outputs):
    """The estimator's ``module``, ready to train.

    A class is called as ``module(n_features=..., n_outputs=..., **module_params)`` (inside
    the fit's seeded generator, so ``random_state`` fixes its initialization); an instance is
    deep-copied, so that the user's instance is never trained in place.
    """
    module = estimator.module
    params = estimator._module_params()
    if module is None:
        raise ValueError(
            f"module__* parameters ({', '.join(sorted(params))}) are constructor arguments of "
            "a custom module, but module=None: set module to your torch.nn.Module class."
        )
    changed = [
        f"{name}={getattr(estimator, name)!r}" for name, default in ARCHITECTURE_OPTIONS.items()
        if getattr(estimator, name) != default
    ]
    if changed:
        raise ValueError(
            f"{', '.join(changed)} builds layers into the default network and cannot be "
            f"combined with module={module!r}: put such layers into the module itself. "
            "The loss-level regularizers (weight_decay, l1, label_smoothing, mixup_alpha, "
            "noise_std, adversarial, early_stopping) do apply to a custom module."
        )
    if not isinstance(module, type):
        if params:
            raise ValueError(
                f"module__* parameters ({', '.join(sorted(params))}) are constructor "
                "arguments of a module class, but module is an instance: pass the class."
            )
        return copy.deepcopy(module)
    if not issubclass(module, torch.nn.Module):
        raise ValueError(
            f"module must be a torch.nn.Module subclass or instance, got {module!r}."
        )
    for name in ("n_features", "n_outputs"):
        if name in params:
            raise ValueError(f"module__{name} cannot be set: the data gives {name}.")
    arguments = {"n_features": n_features, "n_outputs": n_outputs, **params}
    missing = _unaccepted_arguments(module, arguments)
    if missing:
        raise ValueError(
            f"{module.__name__}.__init__ does not accept {', '.join(missing)}. skreg builds "
            f"module={module.__name__} (a class) as {module.__name__}(n_features=<columns of "
            "X>, n_outputs=<classes or targets>, **module__* parameters), here "
            f"{module.__name__}({', '.join(f'{k}={v!r}' for k, v in arguments.items())}). "
            "Accept these arguments in its constructor, or build the module yourself and "
            f"pass the instance (module={module.__name__}(...)), of which each fit trains a copy."
        )
    return module(**arguments)


def _unaccepted_arguments(cls, arguments):
    """The keyword ``arguments`` that ``cls(...)`` does not accept (none if it cannot tell)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call tell
        return []
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return []
    accepted = {p.name for p in parameters
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return [name for name in arguments if name not in accepted]


def module_output_check(module, n_outputs, is_classifier):
    """``check(outputs, n_rows)``: error unless ``outputs`` is what the loss needs.

    Run on the first forward pass of a fit, it turns a custom module's mistakes (a tuple, a
    vector for one target, one column for three classes) into an error naming the module,
    the shape it returned and the shape expected, instead of an error (or, for a vector
    against one target, a silent broadcast) deep inside the loss.
    """
    name = type(module).__name__
    what = f"{n_outputs} logits per sample, one per class" if is_classifier else (
        f"{n_outputs} output(s) per sample, one per target"
    )

    def check(outputs, n_rows):
        expected = (n_rows, n_outputs)
        if not isinstance(outputs, torch.Tensor):
            raise ValueError(
                f"The module {name} returned a {type(outputs).__name__}, but the loss needs "
                f"one tensor of shape {expected} ({what}). Return only that tensor from "
                "forward (e.g. a tuple's first element)."
            )
        if tuple(outputs.shape) != expected or not outputs.is_floating_point():
            hint = ""
            if outputs.ndim == 1 and n_outputs == 1:
                hint = " For one target return shape (batch, 1), e.g. out.unsqueeze(1)."
            elif is_classifier and outputs.ndim == 2 and outputs.shape[1] == 1:
                hint = (" A classifier's module returns one logit per class, also for two "
                        "classes (n_outputs is passed to its constructor).")
            raise ValueError(
                f"The module {name} returned a {outputs.dtype} tensor of shape "
                f"{tuple(outputs.shape)} for a batch of {n_rows} samples; the loss needs a "
                f"floating tensor of shape {expected} ({what}).{hint}"
            )

    return check


def user_callbacks(callbacks):
    """Fresh copies (``sklearn.base.clone``) of the ``callbacks`` parameter, for one fit."""
    copies = []
    for item in callbacks or ():
        named = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
        callback = item[1] if named else item
        if not isinstance(callback, Callback):
            raise ValueError(
                "callbacks must hold skorch callbacks (skorch.callbacks.Callback instances) "
                f"or (name, callback) pairs, got {item!r}."
            )
        callback = clone(callback, safe=False)
        copies.append((item[0], callback) if named else callback)
    return copies


def begin_epoch_tasks(estimator, X, y, sample_weight, n_epochs, fitted_attributes):
    """Begin a fit as a task of scikit-learn's callbacks, with up to ``n_epochs`` subtasks.

    Returns ``(task, reporter)``: the fit's :class:`~skreg.utils._callbacks.FitTask` (call
    ``task.end()`` once fitted) and the skorch callback reporting each epoch, or None when no
    callback is set: a fit without callbacks runs no per-epoch hook. ``fitted_attributes(net)``
    gives the attributes that make a copy of ``estimator`` predict with ``net``.
    """
    task = FitTask(estimator, X, y, sample_weight, max_subtasks=n_epochs)
    return task, (EpochTasks(task, fitted_attributes) if task.active else None)


def with_epoch_tasks(callbacks, tasks):
    """``callbacks`` with the per-epoch reporter added (if any), early stopping still last."""
    if tasks is None:
        return callbacks
    # Early stopping ends an epoch by raising: it stays last.
    return sorted(
        [*callbacks, ("sklearn_callbacks", tasks)],
        key=lambda named: isinstance(named, tuple) and named[0] == "early_stopping",
    )


def add_epoch_tasks(net, tasks):
    """Add the per-epoch reporter to the net's callbacks (before ``net.initialize()``)."""
    net.callbacks = with_epoch_tasks(net.callbacks, tasks)
