"""
=========================================================
Cross-validated Elastic Net paths: the min and 1se rules
=========================================================

:class:`~skreg.ElasticNetRegressorCV` and :class:`~skreg.ElasticNetClassifierCV` fit, on every
cross-validation fold, the whole regularization path: a decreasing grid of ``alpha`` from
``alpha_max`` (the smallest penalty that sets every weight to zero) down to
``eps * alpha_max`` (below ``l1_ratio=1`` the grid also covers the range of the L2 part, which
shrinks the weights whatever the target's units), each fit warm-started from the previous one
(Friedman, Hastie and Tibshirani, 2010, the ``cv.glmnet`` recipe). They then pick ``alpha``
(and ``l1_ratio`` among those given) by one of two rules:

- ``"min"``: the best mean held-out score;
- ``"1se"`` (glmnet's ``lambda.1se``): the largest alpha whose mean score is within one
  standard error of the best, a sparser model whose score is statistically indistinguishable.

Both estimators minimise one objective, with ``alpha`` on the same scale for least squares
and for the logistic loss::

    mean_loss(w, b) + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2

The regression half checks the choice against scikit-learn's ``ElasticNetCV`` on the same
folds (whose grid is the same for the Lasso); :class:`~skreg.RegularizationPathDisplay` draws
the coefficient path and the cross-validated score with both choices marked.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifierCV,
    ElasticNetRegressorCV,
    RegularizationPathDisplay,
)

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_ALPHAS = 15 if QUICK else 60

# %%
# Regression: diabetes progression from 10 standardized measurements
# --------------------------------------------------------------------
# (Standardizing before splitting into folds is a shortcut for a short example; in practice
# put a ``StandardScaler`` and the CV estimator in one pipeline.)
diabetes = load_diabetes()
X = StandardScaler().fit_transform(diabetes.data)
y = diabetes.target
folds = KFold(5, shuffle=True, random_state=0)
l1_ratios = [0.5, 1.0] if QUICK else [0.1, 0.5, 0.9, 1.0]

path_settings = dict(l1_ratio=l1_ratios, alphas=N_ALPHAS, cv=folds)
regressor = ElasticNetRegressorCV(**path_settings).fit(X, y)
reference = ElasticNetCV(**path_settings).fit(X, y)
for name, model in (("ElasticNetRegressorCV", regressor), ("ElasticNetCV", reference)):
    print(f"{name:<21s}: alpha={model.alpha_:.4g}, l1_ratio={model.l1_ratio_}")
print(f"1se rule would pick    alpha={regressor.alpha_1se_:.4g}")

sparse_regressor = ElasticNetRegressorCV(
    l1_ratio=l1_ratios, alphas=N_ALPHAS, cv=folds, alpha_rule="1se"
).fit(X, y)
for name, model in (("min", regressor), ("1se", sparse_regressor)):
    kept = [
        f for f, w in zip(diabetes.feature_names, model.coef_, strict=True) if w != 0
    ]
    print(f"  {name}: {len(kept)} of {X.shape[1]} features kept: {', '.join(kept)}")
# The 1se rule picks a larger alpha, hence a model at most as large (sparser here).
assert regressor.alpha_1se_ >= regressor.alpha_
assert np.count_nonzero(sparse_regressor.coef_) <= np.count_nonzero(regressor.coef_)

# %%
# Classification: breast cancer diagnosis from 30 standardized measurements
# --------------------------------------------------------------------------
# The default score is the held-out log-loss (higher is better once negated). A test split
# shows what the 1se model gives up for its sparsity.
cancer = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    cancer.data, cancer.target, test_size=0.3, stratify=cancer.target, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
class_folds = StratifiedKFold(5, shuffle=True, random_state=0)
settings = dict(l1_ratio=1.0, alphas=N_ALPHAS // 2, cv=class_folds)
classifier = ElasticNetClassifierCV(**settings).fit(X_train, y_train)
sparse_classifier = ElasticNetClassifierCV(alpha_rule="1se", **settings)
sparse_classifier.fit(X_train, y_train)
for name, model in (("min", classifier), ("1se", sparse_classifier)):
    print(f"classifier {name}: alpha={model.alpha_:.4g}, "
          f"{np.count_nonzero(model.coef_)} of {X_train.shape[1]} features, "
          f"test accuracy {model.score(X_test, y_test):.3f}")

# %%
# The paths and the cross-validated scores
# ----------------------------------------
# Left: every weight along the path refitted on all the training data. Right: mean held-out
# score over the folds, with a band of one standard error. Dashed: the ``"min"`` choice;
# dotted: the ``"1se"`` choice.
fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
RegularizationPathDisplay.from_estimator(
    regressor, X, y, ax=axes[0], coef_names=list(diabetes.feature_names)
)
RegularizationPathDisplay.from_estimator(classifier, X_train, y_train, ax=axes[1])
axes[0, 0].set_title(f"diabetes: coefficient path (l1_ratio={regressor.l1_ratio_:g})")
axes[1, 0].set_title("breast cancer: coefficient path (L1)")
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
