"""
=======================================================
Adversarial training: robustness to small perturbations
=======================================================

A network that classifies the digits well can often be fooled by a perturbation of its input
that is small in every pixel: the perturbation follows the gradient of the loss with respect
to the input. Two such attacks, both within an L∞ ball of radius ``eps`` around each image:

- FGSM (fast gradient sign method): one step ``x + eps * sign(∇ₓ loss)``;
- PGD (projected gradient descent): several smaller signed-gradient steps from a random start
  in the ball, each projected back into it; a stronger attack than FGSM.

Adversarial training (``adversarial="pgd"`` in :class:`~skreg.RegularizedNetClassifier`)
attacks every training batch with PGD and trains on a mix of the clean and the adversarial
loss (``adversarial_weight=0.5``). :func:`~skreg.robust_accuracy` measures the test accuracy
on attacked test images; with ``eps=0`` it is the clean accuracy.

``eps`` is in the units of the inputs the network sees, so the digits are standardized first
(a :class:`~sklearn.preprocessing.StandardScaler` fitted on the training part) and the attack
is run on the fitted classifier itself, not on a pipeline.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedNetClassifier, robust_accuracy

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_EPOCHS = 4 if QUICK else 100
EPSILONS = [0.0, 0.3] if QUICK else [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
TRAIN_EPS = 0.3

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(y_train)} training and {len(y_test)} test images, standardized")
# In grey levels (0 to 16), eps = 0.3 standardized units is 0.3 times each pixel's
# standard deviation: this many grey levels for the median pixel that is not constant.
pixel_std = scaler.scale_[scaler.var_ > 0]
print(f"eps={TRAIN_EPS} is {TRAIN_EPS * np.median(pixel_std):.2f} grey levels of 16 "
      f"for the median pixel")

# %%
# Standard and adversarial training
# ---------------------------------
# The same network (one hidden layer of 256 units), the same seed and number of epochs; the
# second is trained against a 3-step PGD attack of radius 0.3 (``adversarial_steps=3``, the
# default). Each of its training steps costs the forward and backward passes of the attack on
# top of the usual ones.
NETWORKS = {
    "standard training": dict(),
    f"PGD training, eps={TRAIN_EPS}": dict(
        adversarial="pgd", adversarial_eps=TRAIN_EPS
    ),
}
nets = {}
for name, params in NETWORKS.items():
    nets[name] = RegularizedNetClassifier(
        hidden_layer_sizes=(256,), max_iter=N_EPOCHS, random_state=0, **params
    ).fit(X_train, y_train)

# %%
# Accuracy under attack
# ---------------------
# Test accuracy of each network against PGD (10 steps of size 2.5 * eps / 10) and FGSM, for
# growing radii ``eps``. The attacks are computed against each network's own gradients.
curves = {}
for name, net in nets.items():
    for attack in ("pgd", "fgsm"):
        curves[name, attack] = [
            robust_accuracy(net, X_test, y_test, attack=attack, eps=eps, random_state=0)
            for eps in EPSILONS
        ]

header = "".join(f"  eps={eps:<4}" for eps in EPSILONS)
print(f"{'test accuracy under attack':<36s}{header}")
for (name, attack), accuracies in curves.items():
    print(f"{name + ', ' + attack.upper():<36s}"
          + "".join(f"  {accuracy:<8.3f}" for accuracy in accuracies))

# At the full number of epochs (not in the test suite's quick mode), PGD training buys
# robustness: at the training radius, its network resists the PGD attack better.
at_train_eps = EPSILONS.index(TRAIN_EPS)
standard, robust = (curves[name, "pgd"][at_train_eps] for name in nets)
if not QUICK:
    assert robust > standard, curves

fig, ax = plt.subplots(figsize=(7, 4.5))
for color, name in zip(("C0", "C1"), nets, strict=True):
    ax.plot(EPSILONS, curves[name, "pgd"], "o-", color=color,
            label=f"{name}: PGD attack")
    ax.plot(EPSILONS, curves[name, "fgsm"], "s--", color=color, alpha=0.7,
            label=f"{name}: FGSM attack")
ax.axvline(TRAIN_EPS, color="0.6", ls=":", lw=1)
ax.text(TRAIN_EPS, 0.02, "training eps ", color="0.4", fontsize=8, ha="right")
ax.set_xlabel("attack radius eps (L∞, standardized units)")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.02)
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="lower left")
ax.set_title(
    f"Digits, MLP (256,), {N_EPOCHS} epochs: clean (eps=0) and robust accuracy"
)
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

# %%
# The points at ``eps=0`` are the clean test accuracies. For each network the dashed FGSM
# curve should lie on or above the solid PGD curve: PGD, with its several steps, is the
# stronger attack and finds perturbations that FGSM's single step misses. The vertical gap
# between the two colours at each radius is the robustness that adversarial training buys,
# and the gap at ``eps=0`` what it costs (or gains) on clean images; the numbers are in the
# table printed above.
