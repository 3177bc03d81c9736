"""
===================================================================
Weight sharing and data augmentation: a small CNN on the 8x8 digits
===================================================================

Each row of the bundled digits data is an 8x8 grey-level image, flattened to 64 features. A
multi-layer perceptron (MLP) ignores that: it has one weight per input pixel and hidden unit,
and a digit shifted by one pixel is, for it, a new input. A convolutional network (CNN) shares
its 3x3 kernels across all positions of the image, so a pattern learnt at one place is
recognised everywhere; augmenting the training batches with small shifts and rotations of the
images goes one step further and shows the network the variations it should ignore.

This example compares, with :class:`~skreg.RegularizedNetClassifier`:

- an MLP with three hidden layers of 256 units,
- the same MLP with ``share_hidden_layers=True`` (the third hidden layer reuses the weight
  matrix of the second: weight sharing across depth rather than across positions),
- a CNN (``architecture="cnn"``, ``image_shape=(8, 8)``),
- the same CNN trained on randomly shifted and rotated images (``augment_shift``,
  ``augment_rotation``). Digits are never flipped: a mirrored 2 or 7 is not a digit.

For each network, the test accuracy and the number of free parameters, ``n_parameters_``
(a shared tensor is counted once).
"""

# %%
import os

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skreg import RegularizedNetClassifier
from skreg.neural._augmentation import ImageAugmentation

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_EPOCHS = 3 if QUICK else 60

X, y = load_digits(return_X_y=True)
X = X / 16  # grey levels 0..16 -> 0..1
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(f"{len(y_train)} training and {len(y_test)} test images of 8x8 pixels")

# %%
# What the augmentation shows the network
# ---------------------------------------
# ``augment_shift=1`` moves each training image by -1, 0 or +1 pixel along each axis (the
# uncovered border becomes 0) and ``augment_rotation=10`` rotates it by an angle drawn
# uniformly in [-10, 10] degrees; a new draw for every image of every batch. The augmentation
# behind these options can be called on a batch directly. The top row shows the original
# training images; each row below is one random draw.
augment = ImageAugmentation((8, 8), shift=1, rotation=10)
generator = torch.Generator().manual_seed(0)
originals = torch.as_tensor(X_train[:8], dtype=torch.float32)
n_draws = 3
labels = torch.as_tensor(y_train[:8])
draws = [augment(originals, labels, generator)[0] for _ in range(n_draws)]

fig, axes = plt.subplots(1 + n_draws, len(originals), figsize=(8, 4.4))
for row, images in enumerate([originals, *draws]):
    for col, image in enumerate(images):
        ax = axes[row, col]
        ax.imshow(image.reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title(f"label {y_train[col]}", fontsize=9)
    axes[row, 0].set_ylabel("original" if row == 0 else f"draw {row}", fontsize=9)
fig.suptitle("Training digits and three random shifts (±1 pixel) and rotations (±10°)")
fig.tight_layout()

# %%
# Train the four networks
# -----------------------
# The CNN has two convolution blocks (3x3 convolution, ReLU, 2x2 max-pooling) with 32 and 64
# channels, then one dense layer of 256 units. Both CNNs use the same optimizer settings; the
# MLPs use the estimator's defaults. Every network is trained for the same number of epochs
# with the same seed.
CNN = dict(
    architecture="cnn", image_shape=(8, 8), conv_channels=(32, 64),
    hidden_layer_sizes=(256,), dropout=0.3, optimizer="adamw", learning_rate_init=3e-3,
    learning_rate_schedule="onecycle", batch_size=64,
)
NETWORKS = {
    "MLP (256, 256, 256)": dict(hidden_layer_sizes=(256, 256, 256)),
    "MLP, shared hidden layers": dict(hidden_layer_sizes=(256, 256, 256),
                                      share_hidden_layers=True),
    "CNN": CNN,
    "CNN + shifts, rotations": dict(CNN, augment_shift=1, augment_rotation=10.0),
}

results = {}
for name, params in NETWORKS.items():
    net = RegularizedNetClassifier(max_iter=N_EPOCHS, random_state=0, **params)
    net.fit(X_train, y_train)
    results[name] = dict(
        accuracy=net.score(X_test, y_test), n_parameters=net.n_parameters_
    )
    print(f"{name:<27s} {net.n_parameters_:>9,d} parameters   "
          f"test accuracy {results[name]['accuracy']:.4f}")
# At the full number of epochs (not in the test suite's quick mode, 3 epochs), weight
# sharing across positions beats the MLPs, and augmentation gives the most accurate
# network.
if not QUICK:
    accuracy = {name: result["accuracy"] for name, result in results.items()}
    assert max(accuracy, key=accuracy.get) == "CNN + shifts, rotations", accuracy
    assert accuracy["CNN"] > accuracy["MLP (256, 256, 256)"], accuracy

# %%
# Parameters saved by sharing the hidden layers
# ---------------------------------------------
# Without sharing, each of the two 256x256 hidden-to-hidden layers has its own weight matrix;
# with ``share_hidden_layers=True`` they hold one tensor, counted once (each layer keeps its own
# bias), which saves 256 x 256 = 65,536 parameters.
unshared = results["MLP (256, 256, 256)"]["n_parameters"]
shared = results["MLP, shared hidden layers"]["n_parameters"]
print(f"share_hidden_layers=True saves {unshared - shared:,d} parameters "
      f"({unshared:,d} -> {shared:,d}, {1 - shared / unshared:.0%} fewer)")

# %%
# Test accuracy and size of each network
# --------------------------------------
# Bars: test accuracy on the held-out quarter of the images; the label of each bar gives the
# network's number of free parameters.
names = list(results)
accuracies = [results[name]["accuracy"] for name in names]
fig, ax = plt.subplots(figsize=(8, 3.6))
bars = ax.barh(names, accuracies, color=["C0", "C0", "C1", "C2"])
for bar, name in zip(bars, names, strict=True):
    label = (f"{results[name]['accuracy']:.3f}  "
             f"({results[name]['n_parameters']:,d} parameters)")
    ax.text(bar.get_width() + 0.002, bar.get_y() + bar.get_height() / 2, label,
            va="center", fontsize=9)
ax.set_xlim(max(0.0, min(accuracies) - 0.05), 1.08)  # room for the labels
ax.set_xticks([tick for tick in ax.get_xticks() if tick <= 1.0])
ax.set_xlabel("test accuracy")
ax.invert_yaxis()
ax.set_title(f"Digits, {N_EPOCHS} epochs of training")
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
