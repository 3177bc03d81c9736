"""The skorch net behind the estimators, its training step as a composition of small pieces.

:class:`RegularizedNet` is a ``skorch.NeuralNet`` whose training step is::

    batch = transform(... transform(batch))        # batch_transforms: training only
    loss = data_loss(module(batch.X), batch)        # criterion, per-sample weights
    if adversary:                                   # adversarial step, mixed in
        loss = (1 - a) * loss + a * data_loss(module(adv.X), adv)   with adv = adversary(net, batch)
    loss = loss + sum(penalty(net) for penalty in penalties)
    loss.backward(); optimizer.step()

Extension points (each regularizer is one small piece; the estimator only wires them together,
see the ``_build_*`` methods in ``_building.py``, which ``_BaseRegularizedNet`` inherits):

- **Batch transforms** (input noise, mixup, image shifts): callables ``transform(X, y,
  generator) -> (X, y)`` applied in order to training batches only, before the forward pass;
  ``generator`` is None: randomness comes from torch's global generator, which the estimator
  seeds (in a fork) for each fit. Sample weights stay with their rows. A classifier's ``y``
  arrives as class indices (int64); a transform may return a float matrix of class
  probabilities instead (one-hot, then mixup): the criterion, ``CrossEntropyLoss``, accepts
  both, and label smoothing applies to either.
- **Penalties** (L1 now, a VQ layer's codebook and commitment losses later): callables
  ``penalty(net) -> scalar tensor`` added to the training loss after the forward pass; they may
  read what the module stored during that forward pass.
- **Adversary**: a callable ``adversary(net, batch) -> batch`` returning perturbed inputs; its
  loss is mixed with the clean loss with weight ``adversarial_weight`` (1 skips the clean pass).
- **Per-epoch metrics**: skorch callbacks that write into ``net.history`` at ``on_epoch_end``
  (see :mod:`skreg.neural._callbacks`).
- **Architecture**: the module is built by the estimator's ``_build_module`` from its
  hyperparameters; the net only needs it to map a batch of X to logits / outputs.

``valid_loss`` is the data loss alone (no penalty, no transform); ``train_loss`` is the whole
training objective of each batch, penalties included.

Ctrl-C: skorch's ``partial_fit`` swallows every KeyboardInterrupt, since its callbacks end
training early by raising one. :meth:`RegularizedNet.partial_fit` swallows only those raised by
a ``raise`` statement and lets a real interrupt reach the caller; with ``epoch_snapshots=True``
the net keeps a copy of its state after each completed epoch (``last_epoch_``), so that an
interrupted ``fit`` can keep a consistent network (see ``_BaseRegularizedNet._fit``). A
callback's stop in the middle of an epoch rewinds to that copy, or is an error when no epoch
of the call completed (:meth:`RegularizedNet._stopped_in_epoch`).

Threads: training steps, validation steps and prediction batches set the module's mode and
run under the net's ``mode_lock`` (see :meth:`RegularizedNet.train_step`).
"""

import threading

import torch
from skorch import NeuralNet
from skorch.callbacks import PrintLog
from skorch.utils import is_dataset, to_tensor

from skreg.neural._bottleneck import CODEBOOK_LR_FACTOR, gradient_codebooks
from skreg.neural._data import Batch, BatchIterator, TensorDataset, as_tensor
from skreg.neural._modules import penalized_parameters
from skreg.neural._state import TrainingState, raised_by_statement
from skreg.utils._threads import retune_threads

_MIN_EVAL_ROWS = 8


class RegularizedNet(NeuralNet):
    """``skorch.NeuralNet`` with composable training-step pieces (see the module docstring).

    The criterion must return one loss per sample (``reduction="none"``); :meth:`get_loss`
    averages it, weighted by ``sample_weight`` when given (weights normalized to mean one over
    the training set, so the average stays on the scale of the unweighted loss).
    """

    def __init__(
        self, *args, batch_transforms=(), penalties=(), adversary=None, adversarial_weight=0.5,
        epoch_snapshots=False, output_check=None, **kwargs,
    ):
        # Whole-tensor batches by default, and no silent validation split.
        kwargs.setdefault("iterator_train", BatchIterator)
        kwargs.setdefault("iterator_valid", BatchIterator)
        kwargs.setdefault("dataset", TensorDataset)
        kwargs.setdefault("train_split", None)
        super().__init__(*args, **kwargs)
        self.batch_transforms = batch_transforms
        self.penalties = penalties
        self.adversary = adversary
        self.adversarial_weight = adversarial_weight
        self.epoch_snapshots = epoch_snapshots
        self.output_check = output_check
        self.mode_lock = threading.RLock()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that a real Ctrl-C propagates (see module docstring)."""
        if not self.initialized_:
            self.initialize()
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        self.last_epoch_ = None
        n_before = len(self.history)
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, _routing_method=routing_method, **fit_params)
        except KeyboardInterrupt as exc:
            if not raised_by_statement(exc):
                raise
            self._stopped_in_epoch(n_before)
        self.notify("on_train_end", X=X, y=y)
        return self

    def _stopped_in_epoch(self, n_before):
        """A callback stopped training: go back to the last completed epoch of this call.

        A stop raised from ``on_epoch_end`` (early stopping) comes after a whole epoch; one
        raised from a batch or ``on_epoch_begin`` leaves an epoch half done (some steps
        taken, no ``train_loss``): the net returns to the state after the epoch before it
        (``epoch_snapshots``), or, with no completed epoch in this call, it is an error.
        """
        started = len(self.history) > n_before
        if started and "train_loss" in self.history[-1]:
            return  # stopped after a whole epoch
        if started and self.rewind_to_last_epoch():
            return
        epoch = max(len(self.history) - n_before, 1)
        raise ValueError(
            f"A callback stopped training (raise KeyboardInterrupt, skorch's way to end "
            f"training early) during epoch {epoch} of this call, before any epoch of it "
            "completed: there is no trained network to keep. The estimator keeps its "
            "previous state; stop from on_epoch_end to keep whole epochs."
        )

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_epoch_end" and self.epoch_snapshots:
            self.last_epoch_ = TrainingState(self)

    def rewind_to_last_epoch(self):
        """Restore the state after the last completed epoch; return whether there was one."""
        snapshot = getattr(self, "last_epoch_", None)
        if snapshot is None:
            return False
        snapshot.restore(self)
        return True

    @property
    def _default_callbacks(self):
        return [(name, _PrintLog() if name == "print_log" else callback)
                for name, callback in super()._default_callbacks]

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        retune_threads()  # the machine's load may have changed since the last epoch

    def _zero_grad_optimizer(self, set_to_none=None):
        # What optimizer.zero_grad() does by default (set_to_none=True), without the profiler
        # and torch.compile wrappers around it: they cost ~5% of a small MLP's step.
        if set_to_none is False:
            return super()._zero_grad_optimizer(set_to_none)
        for name in self._optimizers:
            for group in getattr(self, name + "_").param_groups:
                for parameter in group["params"]:
                    parameter.grad = None

    def get_dataset(self, X, y=None):
        if is_dataset(X):
            return X
        X = as_tensor(X, self.device, dtype=torch.float32)
        return TensorDataset(X, None if y is None else as_tensor(y, self.device))

    def initialize_optimizer(self, triggered_directly=None):
        # weight_decay goes to weight matrices only: biases and normalization parameters are
        # not shrunk (decaying a BatchNorm scale fights the normalization).
        kwargs = self.get_params_for("optimizer")
        weight_decay = kwargs.pop("weight_decay", 0.0)
        fused = kwargs.pop("fused", False)
        params = [p for _, p in self.get_all_learnable_params()]
        # Codebooks learned by gradient take larger steps than the rest (see
        # CODEBOOK_LR_FACTOR) and are never decayed. Without weight decay or such codebooks
        # there is one group: the optimizer step then runs one kernel over all parameters.
        codebooks = {id(p) for p in gradient_codebooks(self.module_)}
        penalized = {id(p) for p in penalized_parameters(self.module_)} if weight_decay else set()
        groups = [
            {"params": [p for p in params if id(p) in penalized], "weight_decay": weight_decay},
            {"params": [p for p in params if id(p) not in penalized | codebooks],
             "weight_decay": 0.0},
            {"params": [p for p in params if id(p) in codebooks], "weight_decay": 0.0,
             "lr": self.lr * CODEBOOK_LR_FACTOR},
        ]
        groups = [group for group in groups if group["params"]]
        if fused:
            try:
                self.optimizer_ = self.optimizer(groups, lr=self.lr, fused=True, **kwargs)
                return self
            except (RuntimeError, TypeError, ValueError):
                pass  # no fused kernel for this optimizer / device / torch version
        self.optimizer_ = self.optimizer(groups, lr=self.lr, **kwargs)
        return self

    def infer(self, x, **fit_params):
        outputs = super().infer(x, **fit_params)
        if self.output_check is not None:  # a custom module's first forward pass
            self.output_check(outputs, len(x))
            self.output_check = None
        return outputs

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; walking the module tree each time costs
        # ~2% of a small MLP's step, so only switch when the mode changes.
        if self.module_.training != training:
            super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        y_true = to_tensor(y_true, device=self.device)
        if sample_weight is None:
            mean_loss = _unweighted_mean_loss(self.criterion_, y_pred, y_true)
            if mean_loss is not None:
                return mean_loss
        loss = self.criterion_(y_pred, y_true)
        if loss.ndim > 1:  # one loss per output: average them per sample
            loss = loss.flatten(1).mean(dim=1)
        if sample_weight is not None:
            loss = loss * sample_weight
        return loss.mean()

    def transform_batch(self, batch):
        """Apply the training-only batch transforms in order."""
        if not self.batch_transforms:
            return batch
        X, y = batch.X, batch.y
        for transform in self.batch_transforms:
            X, y = transform(X, y, None)
        return batch._replace(X=X, y=y)

    def add_penalties(self, loss):
        """``loss`` plus every penalty term."""
        for penalty in self.penalties:
            loss = loss + penalty(self)
        return loss

    def _data_loss(self, batch, **fit_params):
        y_pred = self.infer(batch.X, **fit_params)
        loss = self.get_loss(
            y_pred, batch.y, X=batch.X, training=True, sample_weight=batch.sample_weight
        )
        return loss, y_pred

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        batch = self.transform_batch(Batch(*batch))
        weight = self.adversarial_weight if self.adversary is not None else 0.0
        if weight < 1.0:
            loss, y_pred = self._data_loss(batch, **fit_params)
        if self.adversary is not None:
            adversarial_loss, adversarial_pred = self._data_loss(
                self.adversary(self, batch), **fit_params
            )
            if weight < 1.0:
                loss = (1.0 - weight) * loss + weight * adversarial_loss
            else:
                loss, y_pred = adversarial_loss, adversarial_pred
        loss = self.add_penalties(loss)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def _validation_step(self, batch, **fit_params):
        self._set_training(False)
        batch = Batch(*batch)
        with torch.no_grad():
            y_pred = self.infer(batch.X, **fit_params)
            loss = self.get_loss(
                y_pred, batch.y, X=batch.X, training=False, sample_weight=batch.sample_weight
            )
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        self.check_is_fitted()
        X = batch[0]
        n_rows = len(X)
        if n_rows < _MIN_EVAL_ROWS:
            # BLAS takes another code path for 1-3 rows, whose float32 results differ in the
            # last bit from the same rows inside a larger batch: pad so that a sample's
            # prediction does not depend on what it is predicted with.
            X = torch.cat([X, X.new_zeros((_MIN_EVAL_ROWS - n_rows, *X.shape[1:]))])
        with self.mode_lock, torch.set_grad_enabled(training):
            self._set_training(training)
            return self.infer(X)[:n_rows]

    # The module's training / evaluation mode is one flag, shared by every thread using the
    # net: a step sets it and then runs the forward pass, and another thread's prediction
    # could switch it in between (a prediction with dropout on, or a training step with
    # batch-norm statistics frozen). Each training step, validation step and prediction
    # batch sets the mode and runs under ``mode_lock``: a prediction waits for the current
    # training step (milliseconds) and sees the weights between two optimizer steps, never
    # half-updated ones. Uncontended, the lock costs well under a microsecond per batch.

    def train_step(self, batch, **fit_params):
        with self.mode_lock:
            return super().train_step(batch, **fit_params)

    def validation_step(self, batch, **fit_params):
        with self.mode_lock:
            return self._validation_step(batch, **fit_params)

    def __getstate__(self):
        # skorch pickles module_, criterion_ and optimizer_ so that their tensors load with
        # torch.load(weights_only=True); the ``module`` parameter, the same object as
        # module_ once initialized, would go in with plain pickle, whose tensors load
        # through torch.load(weights_only=False). __setstate__ points it at module_ again.
        module = self.__dict__.get("module")
        shared_module = module is not None and module is self.__dict__.get("module_")
        state = super().__getstate__()  # "module" is not among its torch-saved attributes
        if shared_module:
            state["module"] = None
        state["module_is_module_"] = shared_module
        state.pop("mode_lock", None)  # a lock does not pickle; __setstate__ makes a new one
        state["output_check"] = None  # a closure, for the first training batch only
        return state

    def __setstate__(self, state):
        shared_module = state.pop("module_is_module_", False)
        super().__setstate__(state)
        if shared_module:
            self.module = self.module_
        self.mode_lock = threading.RLock()


def _unweighted_mean_loss(criterion, y_pred, y_true):
    """The mean loss reduced inside the loss kernel, or None for other criteria.

    Equal (up to float rounding) to the mean of the per-sample losses that ``get_loss``
    otherwise averages, but without the per-sample tensor and its backward node: ~20% of the
    forward and backward pass of a small MLP. Only for the criteria the estimators build,
    whose mean over all elements is the mean over samples of the per-sample mean.
    """
    if type(criterion) is torch.nn.CrossEntropyLoss and criterion.weight is None:
        return torch.nn.functional.cross_entropy(
            y_pred, y_true, ignore_index=criterion.ignore_index,
            label_smoothing=criterion.label_smoothing,
        )
    if type(criterion) is torch.nn.MSELoss and y_pred.shape == y_true.shape:
        return torch.nn.functional.mse_loss(y_pred, y_true)
    return None


class _PrintLog(PrintLog):
    """skorch's per-epoch table, built only when it is shown: tabulating every epoch of a quiet
    fit (``verbose=0``, where nothing is printed) cost ~5% of a small fit."""

    def on_epoch_end(self, net, **kwargs):
        if net.verbose or self.sink is not print:
            super().on_epoch_end(net, **kwargs)


class L1Penalty:
    """``strength * sum(|w|)`` over the module's weight matrices (not biases, not norms)."""

    def __init__(self, strength):
        self.strength = strength

    def __call__(self, net):
        weights = penalized_parameters(net.module_)
        return self.strength * torch.stack([w.abs().sum() for w in weights]).sum()

