"""
L1, Elastic Net and L2 coefficient paths: selection versus shrinkage
====================================================================

As the penalty strength ``alpha`` grows, an L1 penalty (Lasso) sets weights to **exactly
zero** one after another, so it selects features, while an L2 penalty (ridge) only
**shrinks** them towards zero and keeps every feature. Elastic Net mixes the two.

:class:`skreg.ElasticNetRegressor` minimises one objective for every ``l1_ratio``::

    1 / (2 n) * ||y - X w - b||^2 + alpha * l1_ratio * ||w||_1
                                  + 0.5 * alpha * (1 - l1_ratio) * ||w||^2

so the three panels below share the same ``alpha`` axis, which scikit-learn's ``Lasso`` and
``Ridge`` (whose ``alpha`` is ``n`` times larger for the same penalty) do not.
"""

# %%
# Data: the diabetes dataset, standardized so the penalty treats every feature alike.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressor

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"

diabetes = load_diabetes()
X = StandardScaler().fit_transform(diabetes.data)
y = diabetes.target
feature_names = diabetes.feature_names
alphas = np.logspace(-2, 3, 12 if QUICK else 60)

# %%
# Fit the three penalties on the same alpha grid and record the coefficients.
penalties = {
    "L1 (Lasso), l1_ratio=1": 1.0,
    "Elastic Net, l1_ratio=0.5": 0.5,
    "L2 (ridge), l1_ratio=0": 0.0,
}
paths = {}
for name, l1_ratio in penalties.items():
    paths[name] = np.array([
        ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio).fit(X, y).coef_
        for alpha in alphas
    ])

# %%
# Count the weights that are exactly zero: L1 and Elastic Net drop features as alpha grows,
# L2 keeps all ten until the very end (they only become tiny).
print(f"{'alpha':>9} " + " ".join(f"{name.split(',')[0]:>12}" for name in penalties))
for i, alpha in enumerate(alphas):
    counts = " ".join(f"{np.count_nonzero(paths[name][i]):>12d}" for name in penalties)
    print(f"{alpha:9.3g} {counts}")

for name in penalties:
    n_zero_at_end = np.count_nonzero(paths[name][-1] == 0)
    print(f"{name}: {n_zero_at_end} of {X.shape[1]} weights exactly zero "
          f"at alpha={alphas[-1]:g}")
# What the figure's title says: L1 zeroes every weight by the end of the grid, L2 none.
assert not paths["L1 (Lasso), l1_ratio=1"][-1].any()
assert paths["L2 (ridge), l1_ratio=0"].all()

# %%
# Plot the paths, with the number of non-zero weights on a second axis.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
colors = plt.cm.tab10(np.arange(X.shape[1]))
for ax, name in zip(axes, penalties, strict=True):
    for j, feature in enumerate(feature_names):
        ax.plot(alphas, paths[name][:, j], color=colors[j], label=feature)
    ax.set_xscale("log")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel("alpha")
    ax.set_title(name)
    counts = ax.twinx()
    n_nonzero = np.count_nonzero(paths[name], axis=1)
    counts.step(alphas, n_nonzero, where="mid", color="grey", linestyle="--")
    counts.set_ylim(0, X.shape[1] + 0.5)
    counts.set_ylabel("non-zero weights (dashed)")
axes[0].set_ylabel("coefficient")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=len(feature_names))
fig.suptitle("L1 sets weights to exactly zero; L2 only shrinks them")
fig.tight_layout(rect=(0, 0.07, 1, 1))
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
