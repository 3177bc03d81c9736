"""
=====================================================
A vector-quantization bottleneck in a digits network
=====================================================

With ``vq_codes=k``, :class:`~skreg.RegularizedNetClassifier` replaces each vector of the last
hidden layer by its nearest entry of a learnt codebook of ``k`` codes (a
:class:`skreg.nn.VQLayer`, as in VQ-VAE, van den Oord et al. 2017): the output layer only ever
sees one of ``k`` vectors, a strong, discrete bottleneck. Gradients pass straight through the
quantization, and the codebook and commitment losses join the training loss. The codebook is
updated by gradient (default) or by exponential moving averages (``vq_ema=True``).

A known failure of such codebooks is collapse: codes that no vector chooses get no update and
stay unused. ``vq_reseed=True`` (the default) moves each code unused for the last 50 batches
onto a recent hidden vector. ``history_`` records, per epoch, the number of codes used by the
epoch's training vectors (``vq_codes_used``) and the perplexity of their distribution over the
codes (``vq_perplexity``, ``exp`` of its entropy: ``k`` when all codes are used equally often).

This example follows both through training, with and without re-seeding, then measures the
test accuracy against the codebook size, beside the same network without the bottleneck.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import RegularizedNetClassifier
from skreg.nn import VQLayer

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_EPOCHS = 8 if QUICK else 100
N_CODES = 64
CODEBOOK_SIZES = [4, 16] if QUICK else [4, 8, 16, 32, 64, 128]

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(y_train)} training and {len(y_test)} test images, standardized")

BASE = dict(hidden_layer_sizes=(128,), max_iter=N_EPOCHS, random_state=0)

# %%
# Code usage during training
# --------------------------
# A codebook of 64 codes after one hidden layer of 128 units, updated by gradient or by EMA,
# each with and without re-seeding of unused codes.
usage = {}
for update, ema in (("gradient", False), ("EMA", True)):
    for reseed in (True, False):
        net = RegularizedNetClassifier(
            **BASE, vq_codes=N_CODES, vq_ema=ema, vq_reseed=reseed
        ).fit(X_train, y_train)
        usage[update, reseed] = net
        print(f"codebook by {update:<8s} vq_reseed={reseed!s:<5s}: last epoch "
              f"{net.history_[-1, 'vq_codes_used']:3d} / {N_CODES} codes used, "
              f"perplexity {net.history_[-1, 'vq_perplexity']:5.1f}, test accuracy "
              f"{net.score(X_test, y_test):.3f}")

# The bottleneck is a ``skreg.nn.VQLayer`` inside the trained PyTorch module.
trained = usage["gradient", True].net_.module_
print([layer for layer in trained.modules() if isinstance(layer, VQLayer)])
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
epochs = np.arange(1, N_EPOCHS + 1)
for (update, reseed), net in usage.items():
    style = dict(color="C0" if reseed else "C1",
                 ls="-" if update == "gradient" else "--",
                 label=f"{update} codebook, vq_reseed={reseed}")
    axes[0].plot(epochs, net.history_[:, "vq_perplexity"], **style)
    axes[1].plot(epochs, net.history_[:, "vq_codes_used"], **style)
axes[0].set_ylabel("perplexity of the code assignments")
axes[1].set_ylabel("codes used in the epoch")
for ax in axes:
    ax.axhline(N_CODES, color="0.6", lw=1, ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylim(0, N_CODES * 1.08)
    ax.grid(alpha=0.3)
axes[1].legend(fontsize=8, loc="lower left")
fig.suptitle(f"Digits, MLP (128,) with a {N_CODES}-code VQ bottleneck: usage per epoch")
fig.tight_layout()

# %%
# Blue curves: with re-seeding, orange: without; the dotted line is the codebook size. The
# values of the last epoch are printed above. Perplexity stays below the number of codes used
# (it equals it only when every used code is chosen equally often). Re-seeding acts on code
# usage; whether more codes in use also means a higher test accuracy is a separate question,
# which the accuracies printed above answer for this run.

# %%
# Test accuracy against the codebook size
# ---------------------------------------
# The bottleneck network can give at most ``k`` different predictions, one per code, so its
# test accuracy cannot exceed the share of the test images in the ``k`` most frequent classes
# (grey: about ``k / 10`` on the balanced digits, 1 from ``k = 10`` on). The dashed line is the
# same network without the bottleneck.
plain = RegularizedNetClassifier(**BASE).fit(X_train, y_train)
plain_accuracy = plain.score(X_test, y_test)
print(f"without bottleneck: test accuracy {plain_accuracy:.3f}")

accuracy = {}
for update, ema in (("gradient", False), ("EMA", True)):
    accuracy[update] = [
        RegularizedNetClassifier(**BASE, vq_codes=k, vq_ema=ema)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for k in CODEBOOK_SIZES
    ]
print("codebook size         " + "".join(f"{k:>7d}" for k in CODEBOOK_SIZES))
for update, values in accuracy.items():
    print(f"{update + ' codebook':<22s}" + "".join(f"{a:7.3f}" for a in values))

class_shares = np.sort(np.bincount(y_test))[::-1] / len(y_test)
all_sizes = np.arange(min(CODEBOOK_SIZES), max(CODEBOOK_SIZES) + 1)
ceiling = [class_shares[:k].sum() for k in all_sizes]
# The grey bound holds for every codebook size; at full size (not in the test suite's
# quick mode), re-seeding leaves no fewer codes in use than training without it.
for values in accuracy.values():
    for value, k in zip(values, CODEBOOK_SIZES, strict=True):
        assert value <= class_shares[:k].sum() + 1e-9, (k, value)
if not QUICK:
    for update in ("gradient", "EMA"):
        with_reseed, without = (
            usage[update, reseed].history_[-1, "vq_codes_used"]
            for reseed in (True, False)
        )
        assert with_reseed >= without, (update, with_reseed, without)

fig, ax = plt.subplots(figsize=(7, 4.2))
for (update, values), marker in zip(accuracy.items(), "os", strict=True):
    ax.plot(CODEBOOK_SIZES, values, f"{marker}-",
            label=f"VQ bottleneck, {update} codebook")
ax.axhline(plain_accuracy, color="k", ls="--", lw=1, label="no bottleneck")
ax.plot(all_sizes, ceiling, ":", color="0.5", label="at most k classes predicted")
ax.set_xscale("log", base=2)
ax.set_xticks(CODEBOOK_SIZES, [str(k) for k in CODEBOOK_SIZES])
ax.set_xlabel("codebook size k (vq_codes)")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.02)
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="lower right")
ax.set_title(f"Digits, MLP (128,), {N_EPOCHS} epochs")
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
