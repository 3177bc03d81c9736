"""Persistence of the neural estimators without pickling torch objects.

``__getstate__`` stores the net's module state, optimizer state and history as numpy arrays and
builtins, and ``__setstate__`` rebuilds the skorch net from the hyperparameters it was fitted
with. Pickles and joblib files then hold no torch object (nothing for ``torch.load`` to
unpickle), and ``skops.io`` loads an estimator trusting only its own class.
"""

import torch
from skorch.history import History
from torch.nn import Module

from skreg.neural._module_state import decode_module, encode_module
from skreg.neural._state import numpy_to_tensors, seeded_torch_rng, tensors_to_numpy

# _fit_params["module"] when it is the module= parameter itself (one object, stored once).
_SAME_MODULE = "<the module parameter>"


class PersistentNetMixin:
    """``__getstate__`` / ``__setstate__`` for an estimator holding a fitted skorch ``net_``."""

    def __getstate__(self):
        # The skorch net is not pickled: its module's state, its optimizer's state and its
        # history go in as numpy arrays and builtins, and __setstate__ rebuilds the net from
        # the hyperparameters it was fitted with. So a pickle holds no torch object, and
        # skops.io loads an estimator trusting only its own class.
        state = dict(super().__getstate__())
        # A module instance (the module= parameter, also among the fit's parameters) goes in
        # as class, constructor arguments and numpy weights (see _module_state).
        module = state.get("module")
        state["module"] = encode_module(module)
        fit_params = state.get("_fit_params")
        if isinstance(fit_params, dict) and isinstance(fit_params.get("module"), Module):
            fitted_module = fit_params["module"]
            state["_fit_params"] = {**fit_params, "module": _SAME_MODULE if fitted_module is module
                                    else encode_module(fitted_module)}
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)
            state["net_state_"] = {
                "module": tensors_to_numpy(net.module_.state_dict()),
                "optimizer": tensors_to_numpy(net.optimizer_.state_dict()),
                "history": tensors_to_numpy(list(net.history_)),
                "batch_size": int(net.batch_size),
            }
        return state

    def __setstate__(self, state):
        net_state = state.pop("net_state_", None)
        state["module"] = decode_module(state.get("module"))
        fit_params = state.get("_fit_params")
        if isinstance(fit_params, dict) and "module" in fit_params:
            fitted_module = fit_params["module"]
            state["_fit_params"] = {**fit_params, "module": state["module"]
                                    if isinstance(fitted_module, str)
                                    and fitted_module == _SAME_MODULE
                                    else decode_module(fitted_module)}
        super().__setstate__(state)
        if net_state is not None:
            self._restore_net(net_state)
        elif "net_" in self.__dict__:
            self.device_ = str(self.net_.device)

    def _restore_net(self, net_state):
        builder = self._scratch_copy()
        builder.set_params(**self._fit_params)
        device = torch.device(self.device_)
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")  # trained on a GPU, loaded where there is none
        with seeded_torch_rng(0, device):  # the initial weights are overwritten anyway
            module = builder._build_module(self.n_features_in_, self._n_outputs())
            net = builder._build_net(
                module, device, epochs=1, batch_size=net_state["batch_size"], valid=None,
                n_train=net_state["batch_size"], incremental=True,
            )
            net.initialize()
        net.module_.load_state_dict(numpy_to_tensors(net_state["module"], device))
        net.optimizer_.load_state_dict(numpy_to_tensors(net_state["optimizer"], device))
        net.history_ = History(net_state["history"])
        self.net_ = net
        self.history_ = net.history_
        self.device_ = str(device)
