"""
=====================================================
A neural network regressor on small tabular data
=====================================================

:class:`~skreg.RegularizedNetRegressor` is the network of
:class:`~skreg.RegularizedNetClassifier` with a squared-error loss. On small tabular data a
network with two layers of 256 units has far more weights than there are rows, and without
regularization it memorizes the training targets. This example fits it on the bundled
diabetes data (442 patients, 10 measurements, disease progression after one year) with no
regularizer and with each of dropout, an L1 penalty and early stopping, and compares the
training and test :math:`R^2` with an Elastic Net whose ``alpha`` and ``l1_ratio`` are
chosen by cross-validation (:class:`~skreg.ElasticNetRegressorCV`).

The network learns a standardized target
(:class:`~sklearn.compose.TransformedTargetRegressor` with a
:class:`~sklearn.preprocessing.StandardScaler`), so that one learning rate suits any scale
of ``y``; the features are standardized in the pipeline.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressorCV, RegularizedNetRegressor

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
N_EPOCHS = 20 if QUICK else 200

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
print(f"{len(y_train)} training and {len(y_test)} test patients")

# %%
# Fit each model
# --------------
REGULARIZERS = {
    "no regularizer": {},
    "dropout=0.5": {"dropout": 0.5},
    "l1=1e-3": {"l1": 1e-3},
    "early stopping": {"early_stopping": True, "n_iter_no_change": 10},
}
models = {}
for name, params in REGULARIZERS.items():
    net = RegularizedNetRegressor(
        hidden_layer_sizes=(256, 256), max_iter=N_EPOCHS, random_state=0, **params
    )
    models[f"net, {name}"] = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), net), transformer=StandardScaler()
    )
models["ElasticNetRegressorCV"] = make_pipeline(
    StandardScaler(), ElasticNetRegressorCV()
)

scores = {}
for name, model in models.items():
    model.fit(X_train, y_train)
    scores[name] = (model.score(X_train, y_train), model.score(X_test, y_test))
    print(f"{name:<26s} train R2 {scores[name][0]:.3f}   test R2 {scores[name][1]:.3f}")

# %%
# Training and test :math:`R^2`
# -----------------------------
# The unregularized network fits the training targets almost exactly and predicts new
# patients worse than their mean would (a negative test :math:`R^2`). Each regularizer
# trades training fit for test fit. The linear model, with ten weights, still predicts
# best: on data this small, a penalized linear model is the baseline a network must beat.
names = list(scores)
position = np.arange(len(names))
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.barh(position - 0.2, [scores[n][0] for n in names], height=0.4, label="training")
ax.barh(position + 0.2, [scores[n][1] for n in names], height=0.4, label="test")
ax.set_yticks(position, names)
ax.axvline(0, color="black", lw=0.8)
ax.invert_yaxis()
ax.set_xlabel("R2")
ax.legend(loc="lower right")
ax.set_title(f"Diabetes: MLP (256, 256), {N_EPOCHS} epochs, against a linear model")
fig.tight_layout()
plt.show()

# What the figure shows, at full size (the test suite's quick mode trains 20 epochs
# only): the unregularized net memorizes, every regularizer improves its test R2, and
# the cross-validated Elastic Net predicts best.
if not QUICK:
    plain_train, plain_test = scores["net, no regularizer"]
    assert plain_train > 0.95 and plain_test < plain_train - 0.5, scores
    for name in list(REGULARIZERS)[1:]:
        assert scores[f"net, {name}"][1] > plain_test, (name, scores)
    best = max(scores, key=lambda name: scores[name][1])
    assert best == "ElasticNetRegressorCV", scores

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
