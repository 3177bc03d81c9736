"""skorch callbacks the estimators compose: validation score, early stopping, divergence, progress.

Each one reads or writes the net's ``history`` and nothing else, so a new per-epoch metric is
one more small callback in this style (see :class:`ValidationScore`).
"""

import math

import numpy as np
import skorch.callbacks
import torch
from skorch.callbacks import Callback


class ValidationScore(Callback):
    """Record a score of the validation predictions in ``history`` at each epoch.

    Uses the predictions the validation step already made (no second forward pass).

    Parameters
    ----------
    name : str
        History key, e.g. ``"valid_acc"``.
    score : callable
        ``score(y_true, y_pred, sample_weight)`` on numpy arrays, higher is better.
    """

    def __init__(self, name, score):
        self.name = name
        self.score = score

    def on_epoch_begin(self, net, **kwargs):
        self.outputs_ = []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self.outputs_.append((batch.y, y_pred.detach(), batch.sample_weight))

    def on_epoch_end(self, net, **kwargs):
        if not self.outputs_:
            return
        y_true, y_pred, weights = zip(*self.outputs_, strict=True)
        weights = None if weights[0] is None else torch.cat(weights).cpu().numpy()
        value = self.score(
            torch.cat(y_true).cpu().numpy(), torch.cat(y_pred).cpu().numpy(), weights
        )
        net.history.record(self.name, float(value))
        self.outputs_ = []


class EarlyStopping(skorch.callbacks.EarlyStopping):
    """Stop when the validation loss stops improving; restore the weights of the best epoch.

    skorch's :class:`~skorch.callbacks.EarlyStopping` (``load_best=True`` keeps and restores
    the best weights) with scikit-learn's MLP rule for counting epochs without improvement,
    which skorch's differs from: an epoch counts as no improvement when its loss is not below
    the *lowest loss so far* minus ``threshold`` (skorch compares with the loss of the last
    epoch that improved by more than ``threshold``), and the restored epoch is the one with the
    lowest loss, even when it improved by less than ``threshold`` (skorch keeps the last one
    that improved by more). ``n_iter_no_change`` and ``tol`` of the estimators mean what they
    mean for :class:`~sklearn.neural_network.MLPClassifier`.
    """

    def __init__(self, monitor="valid_loss", patience=10, threshold=1e-4, sink=print):
        super().__init__(
            monitor=monitor, patience=patience, threshold=threshold, threshold_mode="abs",
            lower_is_better=True, sink=sink, load_best=True,
        )

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_loss_ = math.inf
        self.best_epoch_ = None
        self.stopped_epoch_ = None

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, self.monitor]
        epoch = net.history[-1, "epoch"]
        self.misses_ = self.misses_ + 1 if loss > self.best_loss_ - self.threshold else 0
        if loss < self.best_loss_:
            self.best_loss_, self.best_epoch_ = loss, epoch
            self.best_model_weights_ = {
                key: value.detach().clone() for key, value in net.module_.state_dict().items()
            }
        if self.misses_ >= self.patience:
            self.stopped_epoch_ = epoch
            # skorch's way to end fit_loop early: partial_fit catches it and runs on_train_end.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_epoch_ is not None:
            super().on_train_end(net, **kwargs)
        # The weights are in the module now; do not keep a second copy alive.
        self.best_model_weights_ = None


class DivergenceGuard(Callback):
    """Raise a clear error as soon as training diverges.

    The rule, checked after every training batch: the batch's training loss is NaN or
    infinite, or above ``factor · max(L₀, 1)``, where ``L₀`` is the loss of the first training
    batch the net ever recorded (before any step, so the loss of the initial network; the 1
    keeps a near-zero start from flagging ordinary noise). A loss a thousand times its starting
    value means the steps overshoot: the weights are on their way to overflow, and a model
    trained on past that point predicts nothing useful. A non-finite validation loss is an
    error too. The estimator then keeps its previous model.
    """

    def __init__(self, factor=1e3):
        self.factor = factor

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        first = net.history[0, "batches", 0, "train_loss"]
        limit = self.factor * max(first, 1.0) if math.isfinite(first) else math.inf
        if not math.isfinite(loss) or loss > limit:
            epoch = net.history[-1, "epoch"]
            batch = len(net.history[-1, "batches"])
            cause = (
                "became " + str(loss) if not math.isfinite(loss)
                else f"rose to {loss:.3g}, over {self.factor:.0e} times its first value "
                f"{first:.3g}"
            )
            lr = getattr(net, "lr", None)
            raise ValueError(_divergence_message("training", cause, epoch, lr, batch))

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("valid_loss")
        if loss is not None and not math.isfinite(loss):
            raise ValueError(_divergence_message(
                "validation", f"became {loss}", net.history[-1, "epoch"], getattr(net, "lr", None)
            ))


def _divergence_message(kind, cause, epoch, lr, batch=None):
    where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "")
    now = "" if lr is None else f" (now {lr:g})"
    return (
        f"Training diverged: the {kind} loss {cause} at {where}. Lower learning_rate_init"
        f"{now} or standardize the inputs (e.g. with StandardScaler); the estimator keeps "
        "its previous state."
    )


class EpochProgressBar(Callback):
    """One ``tqdm.auto`` bar over all epochs showing the latest losses and validation score.

    Kept instead of skorch's :class:`~skorch.callbacks.ProgressBar`, which counts the batches
    of one epoch and opens a new bar every epoch (a notebook would get one widget per epoch);
    ``tqdm.auto`` gives a notebook one widget and a terminal one line.
    """

    def __init__(self, keys=("train_loss", "valid_loss")):
        self.keys = keys

    def on_train_begin(self, net, **kwargs):
        # Imported when a bar is wanted, not with skreg: tqdm.auto warns (TqdmWarning) at
        # import in a Jupyter kernel without ipywidgets.
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        self.bar_.set_postfix(
            {key: f"{last[key]:.4g}" for key in self.keys if key in last}, refresh=False
        )
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()


def accuracy_of_logits(y_true, logits, sample_weight=None):
    """Accuracy of the argmax of ``logits`` against class indices ``y_true``."""
    return np.average(logits.argmax(axis=1) == y_true, weights=sample_weight)


def r2_of_outputs(y_true, y_pred, sample_weight=None):
    """Coefficient of determination, averaged uniformly over outputs."""
    from sklearn.metrics import r2_score

    return r2_score(y_true, y_pred, sample_weight=sample_weight)


def _one_cycle(optimizer, total_steps, last_epoch=-1):
    # Each parameter group peaks at its own configured rate (a VQ codebook's is larger).
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[group["lr"] for group in optimizer.param_groups],
        total_steps=total_steps, cycle_momentum=False, last_epoch=last_epoch,
    )


def _cosine(optimizer, total_steps, last_epoch=-1):
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(total_steps - 1, 1), last_epoch=last_epoch
    )


SCHEDULES = {"cosine": _cosine, "onecycle": _one_cycle}


class LRScheduler(skorch.callbacks.LRScheduler):
    """A ``torch.optim.lr_scheduler`` stepped after every training batch of one ``fit``.

    skorch's :class:`~skorch.callbacks.LRScheduler` with ``step_every="batch"``, over

    - ``"cosine"``: :class:`~torch.optim.lr_scheduler.CosineAnnealingLR` from the optimizer's
      rate down to 0 at the last of ``total_steps`` steps;
    - ``"onecycle"``: :class:`~torch.optim.lr_scheduler.OneCycleLR` (Smith & Topin 2019) with
      its defaults (warm-up from rate / 25 over 30% of the steps, cosine annealing down to
      rate / 25e4), peaking at each parameter group's configured rate, without momentum
      cycling.

    Build it with :func:`learning_rate_scheduler`. Two additions: the rate of each epoch's
    last batch is recorded in ``history`` as ``"lr"``, and the optimizer's rates are restored
    at the end of training, so that a later ``partial_fit`` starts from
    ``learning_rate_init`` again.
    """

    def on_train_begin(self, net, **kwargs):
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        super().on_train_begin(net, **kwargs)

    def on_batch_end(self, net, training, **kwargs):
        if training:  # the rate this batch was trained with, before the scheduler steps
            self.last_lr_ = net.optimizer_.param_groups[0]["lr"]
        super().on_batch_end(net, training, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", self.last_lr_)

    def on_train_end(self, net, **kwargs):
        for group, base_lr in zip(net.optimizer_.param_groups, self.base_lrs_, strict=True):
            group["lr"] = base_lr
            for key in ("initial_lr", "max_lr", "min_lr"):  # left there by the scheduler
                group.pop(key, None)


def learning_rate_scheduler(kind, total_steps):
    """The :class:`LRScheduler` of ``learning_rate_schedule=kind`` over ``total_steps`` steps."""
    # last_epoch=-1: the schedule spans this fit's steps, whatever the history holds (skorch
    # would otherwise resume from the number of epochs in a warm-started history).
    return LRScheduler(
        policy=SCHEDULES[kind], step_every="batch", total_steps=total_steps, last_epoch=-1
    )


class EpochTasks(Callback):
    """Report each epoch to scikit-learn's callbacks (``set_callbacks``) as one task of the fit.

    ``task`` (a :class:`skreg.utils._callbacks.FitTask`) is the fit's root task; each epoch is
    one subtask below it, begun at ``on_epoch_begin`` and ended at ``on_epoch_end`` with a
    ``fitted_estimator``: a copy of the estimator holding the net as it is after that epoch,
    built from ``fitted_attributes(net)`` only if a callback asks for it (``ScoringMonitor``
    scores it; ``ProgressBar`` only counts). A callback whose ``on_fit_task_end`` returns
    True ends training after that epoch, as early stopping does.
    """

    def __init__(self, task, fitted_attributes):
        self.task = task
        self.fitted_attributes = fitted_attributes

    def on_epoch_begin(self, net, **kwargs):
        self.epoch_ = self.task.subtask("epoch")

    def on_epoch_end(self, net, **kwargs):
        epoch = self.__dict__.pop("epoch_")
        if epoch.end(lambda: self.fitted_attributes(net)):
            raise KeyboardInterrupt  # skorch's way to end fit_loop early, as EarlyStopping

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        # The net outlives the fit (it is the fitted model): drop the estimator, its task tree
        # and the training data, so that they are neither kept alive nor pickled with it.
        self.task = self.fitted_attributes = self.epoch_ = None
