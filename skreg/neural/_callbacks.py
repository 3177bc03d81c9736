"""skorch callbacks the estimators compose: validation score, early stopping, divergence, progress.

Each one reads or writes the net's ``history`` and nothing else, so a new per-epoch metric is
one more small callback in this style (see :class:`ValidationScore`).
"""

import math

import numpy as np
import torch
from skorch.callbacks import Callback
from tqdm import tqdm


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


class EarlyStopping(Callback):
    """Stop when the validation loss stops improving; restore the weights of the best epoch.

    Like scikit-learn's MLP: an epoch counts as no improvement when its loss is not below the
    best loss so far minus ``tol``; training stops after ``n_iter_no_change`` such epochs in a
    row. The module's weights from the epoch with the lowest validation loss are restored at
    the end of training, whether it stopped early or ran out of epochs.
    """

    def __init__(self, n_iter_no_change, tol, monitor="valid_loss"):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.monitor = monitor

    def on_train_begin(self, net, **kwargs):
        self.best_loss_ = math.inf
        self.best_epoch_ = None
        self.best_state_ = None
        self.n_no_improvement_ = 0
        self.stopped_epoch_ = None

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, self.monitor]
        epoch = net.history[-1, "epoch"]
        if loss > self.best_loss_ - self.tol:
            self.n_no_improvement_ += 1
        else:
            self.n_no_improvement_ = 0
        if loss < self.best_loss_:
            self.best_loss_, self.best_epoch_ = loss, epoch
            self.best_state_ = {
                key: value.detach().clone() for key, value in net.module_.state_dict().items()
            }
        if self.n_no_improvement_ >= self.n_iter_no_change:
            self.stopped_epoch_ = epoch
            # skorch's way to end fit_loop early: partial_fit catches it and runs on_train_end.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None and self.best_epoch_ != net.history[-1, "epoch"]:
            net.module_.load_state_dict(self.best_state_)
        # The weights are in the module now; do not carry a second copy into pickles.
        self.best_state_ = None


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
    """A tqdm bar over epochs showing the latest loss and validation score."""

    def __init__(self, keys=("train_loss", "valid_loss")):
        self.keys = keys

    def on_train_begin(self, net, **kwargs):
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


class LearningRateSchedule(Callback):
    """Set the learning rate before each training batch from the share of training done.

    With ``t`` the fraction of the ``total_steps`` optimizer steps taken and ``lr`` the
    optimizer's initial learning rate:

    - ``"cosine"``: ``lr · (1 + cos(π t)) / 2``, from ``lr`` down to 0;
    - ``"onecycle"`` (Smith & Topin 2019, the shape of ``torch.optim.lr_scheduler.OneCycleLR``
      without its momentum cycling): cosine warm-up from ``lr / 25`` to ``lr`` over the first
      30% of the steps, then cosine annealing down to ``lr / 25e4``.

    The learning rate of the last batch of each epoch is recorded in ``history`` as ``"lr"``.
    """

    def __init__(self, kind, total_steps):
        self.kind = kind
        self.total_steps = total_steps

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]

    def factor(self, t):
        """Multiplier of the initial learning rate at training fraction ``t`` in [0, 1]."""
        t = min(max(t, 0.0), 1.0)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * t))
        warmup, start, end = 0.3, 1.0 / 25.0, 1.0 / 25e4
        if t < warmup:
            return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * t / warmup))
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * (t - warmup) / (1 - warmup)))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        factor = self.factor(self.step_ / max(self.total_steps - 1, 1))
        for group, base_lr in zip(net.optimizer_.param_groups, self.base_lrs_, strict=True):
            group["lr"] = base_lr * factor
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])

    def on_train_end(self, net, **kwargs):
        # Leave the optimizer as configured, so a later partial_fit starts from lr again.
        for group, base_lr in zip(net.optimizer_.param_groups, self.base_lrs_, strict=True):
            group["lr"] = base_lr
