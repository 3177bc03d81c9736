"""
====================================================
Regularizers of a neural network on the digits data
====================================================

An unregularized multi-layer perceptron with two layers of 512 hidden units memorizes the
1,000 or so training images of the bundled digits data: its training loss falls towards zero
while the validation loss stops falling after a few dozen epochs, orders of magnitude higher.
Each regularizer of :class:`~skreg.RegularizedNetClassifier` is one hyperparameter; here each
is switched on alone, and the train / validation log-loss curves show how it changes the gap.

The curves are measured the same way for every network: after each epoch (one
``partial_fit`` call), the log-loss of the predicted probabilities on the training part and on
a held-out validation part, with the network in evaluation mode (no dropout). Early stopping
is shown on the unregularized network: it restores the weights of the epoch with the lowest
validation loss of its own held-out split.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedNetClassifier, smooth_labels

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_EPOCHS = 4 if QUICK else 100

X, y = load_digits(return_X_y=True)
X_train_full, X_test, y_train_full, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
X_train, X_valid, y_train, y_valid = train_test_split(
    X_train_full, y_train_full, test_size=0.2, stratify=y_train_full, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_valid, X_test = (
    scaler.transform(part) for part in (X_train, X_valid, X_test)
)
print(f"{len(y_train)} training, {len(y_valid)} validation, {len(y_test)} test images")

# %%
# Train each network epoch by epoch
# ---------------------------------
BASE = dict(
    hidden_layer_sizes=(512, 512), batch_size=64, learning_rate_init=1e-3,
    random_state=0,
)
REGULARIZERS = {
    "unregularized": {},
    "dropout=0.5": {"dropout": 0.5},
    "weight_decay=0.1 (AdamW)": {"optimizer": "adamw", "weight_decay": 0.1},
    "l1=3e-4": {"l1": 3e-4},
    "label_smoothing=0.1": {"label_smoothing": 0.1},
    "batch_norm": {"batch_norm": True},
}


def train_curves(params):
    net = RegularizedNetClassifier(**BASE, **params)
    curves = {"train": [], "valid": []}
    for _ in range(N_EPOCHS):
        net.partial_fit(X_train, y_train, classes=np.arange(10))
        for part, X_part, y_part in (
            ("train", X_train, y_train), ("valid", X_valid, y_valid)
        ):
            proba = net.predict_proba(X_part)
            curves[part].append(log_loss(y_part, proba, labels=net.classes_))
    return net, curves


results = {}
for name, params in REGULARIZERS.items():
    net, curves = train_curves(params)
    results[name] = dict(curves, accuracy=net.score(X_test, y_test))

# Early stopping holds out 10% of the training part itself and restores the best epoch.
stopped = RegularizedNetClassifier(
    **BASE, max_iter=N_EPOCHS, early_stopping=True, n_iter_no_change=10
).fit(X_train, y_train)

# %%
# Train and validation loss curves
# --------------------------------
# Grey: the unregularized network, for reference. On this log scale the gap between the solid
# (train) and dashed (validation) curves is a ratio: without regularization the training loss
# ends several orders of magnitude below the validation loss. L1 and label smoothing hold the
# training loss up and close most of that gap; dropout lowers the validation loss itself;
# weight decay (at this strength) and batch normalization change the curves less. Label
# smoothing lifts the validation curve by design: its predicted probabilities stop at
# 1 - 0.1 + 0.1 / 10 = 0.91, which plain log-loss charges for even when they are right, so
# judge it by its test accuracy.
fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True, sharey=True)
reference = results["unregularized"]
epochs = np.arange(1, N_EPOCHS + 1)
for ax, (name, result) in zip(axes.ravel(), results.items(), strict=True):
    if name != "unregularized":
        ax.plot(epochs, reference["train"], color="0.7", lw=1)
        ax.plot(epochs, reference["valid"], color="0.7", lw=1, ls="--")
    ax.plot(epochs, result["train"], color="C0", label="train")
    ax.plot(epochs, result["valid"], color="C1", ls="--", label="validation")
    ax.set_title(
        f"{name}\nvalidation loss {result['valid'][-1]:.3f}, test accuracy "
        f"{result['accuracy']:.3f}", fontsize=10,
    )
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
axes[0, 0].axvline(
    stopped.best_epoch_, color="C2", ls=":", label="early stopping: best epoch"
)
axes[0, 0].legend(fontsize=8)
for ax in axes[1]:
    ax.set_xlabel("epoch")
for ax in axes[:, 0]:
    ax.set_ylabel("log-loss")
fig.suptitle("Digits, MLP with hidden layers (512, 512): one regularizer at a time")
fig.tight_layout()

# %%
# What the text says of these curves, checked at the full number of epochs (the test suite's
# quick mode trains a few epochs only, too few for any of it): dropout lowers the validation
# loss itself, and L1 closes most of the unregularized network's train / validation gap (more
# than half of it on this log scale).
best_valid = {name: min(result["valid"]) for name, result in results.items()}
log_gap = {
    name: np.log(result["valid"][-1] / result["train"][-1])
    for name, result in results.items()
}
print("best validation loss:", ", ".join(f"{n} {v:.3f}" for n, v in best_valid.items()))
if not QUICK:
    assert best_valid["dropout=0.5"] < best_valid["unregularized"], best_valid
    assert log_gap["l1=3e-4"] < 0.5 * log_gap["unregularized"], log_gap

# %%
# The targets that ``label_smoothing=0.1`` trains against, for the first three training
# images (:func:`~skreg.smooth_labels`, the convention of PyTorch's ``CrossEntropyLoss``):
# the true class gets 1 - 0.1 + 0.1 / 10 = 0.91 and each of the nine others 0.01.
targets = smooth_labels(y_train[:3], 0.1, n_classes=10)
print(targets.round(3))
assert np.allclose(targets[np.arange(3), y_train[:3]], 0.91)

# %%
# Test accuracy
# -------------
# On held-out test images. Early stopping's network saw 10% fewer training images.
accuracies = {name: result["accuracy"] for name, result in results.items()}
accuracies["early_stopping"] = stopped.score(X_test, y_test)
for name, accuracy in accuracies.items():
    if name in results:
        train_loss, valid_loss = results[name]["train"][-1], results[name]["valid"][-1]
        losses = f"train loss {train_loss:.4f}, validation loss {valid_loss:.3f}"
    else:
        losses = (f"stopped after {stopped.n_iter_} epochs, "
                  f"restored epoch {stopped.best_epoch_}")
    print(f"{name:<26s} test accuracy {accuracy:.3f}   {losses}")

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(list(accuracies), list(accuracies.values()), color="C0")
ax.set_xlim(min(accuracies.values()) - 0.02, 1.0)
ax.set_xlabel("test accuracy")
ax.invert_yaxis()
fig.tight_layout()
plt.show()
# sphinx_gallery_start_ignore
# Run as a script without a display (MPLBACKEND=Agg), save the figures instead of showing them:
# into the folder $SKREG_FIGURE_DIR, or next to this script. The docs build collects them itself.
import sys
from pathlib import Path

if "sphinx_gallery" not in sys.modules and plt.get_backend().lower() == "agg":
    folder = Path(os.environ.get("SKREG_FIGURE_DIR") or Path(__file__).parent)
    for number in plt.get_fignums():
        plt.figure(number).savefig(folder / f"{Path(__file__).stem}_{number}.png", dpi=100)
# sphinx_gallery_end_ignore
