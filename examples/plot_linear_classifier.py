"""
===========================================================
Sparse logistic regression: L1, Elastic Net and L2 compared
===========================================================

:class:`~skreg.ElasticNetClassifier` is logistic regression whose penalty has the meaning it
has in :class:`~skreg.ElasticNetRegressor`: ``alpha`` multiplies the penalty added to the
*mean* log-loss, and ``l1_ratio`` is the share of its L1 part (Zou and Hastie 2005). With
L1 (``l1_ratio=1``, Tibshirani 1996) the weights of uninformative features become exactly
zero, so the classifier also selects features; L2 (``l1_ratio=0``) only shrinks them.

On the bundled breast cancer data (30 measurements of cell nuclei, benign or malignant),
this example follows the path of each penalty with :func:`~skreg.enet_path` (the weights
at 40 values of ``alpha``, each solve warm-started from the previous one), and shows how
many features each keeps against its test accuracy. It ends with the conversion
to scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`, whose ``C`` is an
inverse strength on a *summed* loss: ``C = 1 / (n_samples * alpha)``.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetClassifier, enet_path

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_ALPHAS = 10 if QUICK else 40
ALPHAS = np.logspace(1, -3.5, N_ALPHAS)

cancer = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    cancer.data, cancer.target, test_size=0.3, stratify=cancer.target, random_state=0
)
# The penalty treats every weight alike: standardize the features first.
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(y_train)} training and {len(y_test)} test rows, "
      f"{X_train.shape[1]} features")

# %%
# The path of each penalty
# ------------------------
# ``enet_path(..., loss="log_loss")`` returns the weights at each alpha of a grid, here
# the same decreasing grid for the three penalties (by default each penalty gets its own,
# covering the alphas where it matters). The test accuracy at each alpha comes from the
# weights directly: the predicted class is the sign of ``X @ w + b``.
PENALTIES = {"L1 (l1_ratio=1)": 1.0, "Elastic Net (l1_ratio=0.5)": 0.5,
             "L2 (l1_ratio=0)": 0.0}
paths = {}
for name, l1_ratio in PENALTIES.items():
    alphas, coefs, intercepts = enet_path(
        X_train, y_train, loss="log_loss", l1_ratio=l1_ratio, alphas=ALPHAS
    )
    # Two classes: one row of weights, those of the larger label (1, benign).
    coefs, intercepts = coefs[0], intercepts[0]
    predicted = (X_test @ coefs + intercepts) > 0
    paths[name] = dict(
        alphas=alphas,
        n_features=np.count_nonzero(coefs, axis=0),
        accuracy=np.mean(predicted == y_test[:, None], axis=0),
    )

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharex=True)
for name, path in paths.items():
    axes[0].plot(path["alphas"], path["n_features"], "o-", ms=3, label=name)
    axes[1].plot(path["alphas"], path["accuracy"], "o-", ms=3, label=name)
axes[0].set_ylabel("features with a non-zero weight")
axes[1].set_ylabel("test accuracy")
for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel("alpha")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=9)
fig.suptitle("Breast cancer: logistic regression along the path of each penalty")
fig.tight_layout()

# %%
# L1 keeps only a handful of the 30 measurements over a wide range of alphas and loses
# little accuracy for it; L2 keeps every weight at every alpha. The Elastic Net lies in
# between: it keeps groups of correlated features that L1 would reduce to one.
l1, l2 = paths["L1 (l1_ratio=1)"], paths["L2 (l1_ratio=0)"]
sparse = np.argmax(l1["n_features"] >= 5)  # the largest alpha with 5 features or more
print(f"L1 at alpha={l1['alphas'][sparse]:.3g}: {l1['n_features'][sparse]} features, "
      f"test accuracy {l1['accuracy'][sparse]:.3f}; "
      f"L2's best: {l2['accuracy'].max():.3f} with all 30")
# What the figure shows: L2 never zeroes a weight, and L1 comes within 0.05 of L2's best
# accuracy with a handful of features.
assert (l2["n_features"] == X_train.shape[1]).all()
assert l1["n_features"][sparse] <= 10
assert l1["accuracy"][sparse] >= l2["accuracy"].max() - 0.05

# %%
# One estimator, and scikit-learn's equivalent
# --------------------------------------------
# :class:`~skreg.ElasticNetClassifier` fits one point of that path. Its L1 solution is the
# one :class:`~sklearn.linear_model.LogisticRegression` finds with ``l1_ratio=1`` and
# ``C = 1 / (n_samples * alpha)``: the same objective, written on a sum instead of a mean.
alpha = 0.02
classifier = ElasticNetClassifier(alpha=alpha, l1_ratio=1.0).fit(X_train, y_train)
reference = LogisticRegression(
    C=1 / (len(y_train) * alpha), l1_ratio=1.0, solver="saga", tol=1e-8, max_iter=20_000
).fit(X_train, y_train)
print(f"ElasticNetClassifier: {np.count_nonzero(classifier.coef_)} non-zero weights, "
      f"test accuracy {classifier.score(X_test, y_test):.3f}")
print(f"LogisticRegression  : {np.count_nonzero(reference.coef_)} non-zero weights, "
      f"test accuracy {reference.score(X_test, y_test):.3f}")
print(f"largest difference of the weights: "
      f"{np.abs(classifier.coef_ - reference.coef_).max():.1e}")
np.testing.assert_allclose(classifier.coef_, reference.coef_, atol=1e-3)
plt.show()

# %%
# References
# ----------
# - R. Tibshirani (1996). Regression shrinkage and selection via the lasso. *Journal of
#   the Royal Statistical Society B*, 58(1), 267-288.
# - H. Zou and T. Hastie (2005). Regularization and variable selection via the elastic
#   net. *Journal of the Royal Statistical Society B*, 67(2), 301-320.
# - J. Friedman, T. Hastie and R. Tibshirani (2010). Regularization paths for generalized
#   linear models via coordinate descent. *Journal of Statistical Software*, 33(1), 1-22.

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
