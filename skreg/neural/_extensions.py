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

    They behave like the parameters of a nested estimator (``pipeline__step__param``):
    ``set_params(module__hidden=32)`` sets one, ``get_params()`` (``deep=True``) lists them,
    so that GridSearchCV can tune them, and ``clone`` carries them over. ``get_params(deep=
    False)`` leaves them out: ``__init__`` does not take them (a scikit-learn estimator has
    no ``**kwargs`` constructor, and ``clone`` rebuilds it from those parameters). Each is
    stored as an attribute of its prefixed name, as skorch does.
    """

    def _module_params(self):
        """``{name: value}`` of the ``module__<name>`` parameters, prefix removed."""
        return {
            key[len(MODULE_PREFIX):]: value for key, value in vars(self).items()
            if key.startswith(MODULE_PREFIX)
        }

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if deep:
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

    def __sklearn_clone__(self):
        new = super().__sklearn_clone__()
        for key, value in self._module_params().items():
            setattr(new, MODULE_PREFIX + key, clone(value, safe=False))
        return new


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
    return module(n_features=n_features, n_outputs=n_outputs, **params)


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
