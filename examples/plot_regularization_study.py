"""
============================================
Which regularizer helps? A study of CSV data
============================================

:func:`~skreg.compare_regularizers` answers a practical question: on *this* data, which
regularizer improves the cross-validated score of a model, and by more than the noise of the
folds? It fits the estimator with every regularizer off (the baseline), sweeps each
regularizer on its own from there, every setting on the same folds
(:class:`~sklearn.model_selection.GridSearchCV` underneath), judges each regularizer's gain
on the paired per-fold differences from the baseline with the corrected resampled t-test of
Nadeau and Bengio (2003) and Holm's correction, then combines the ones that help. It returns
a :class:`~skreg.RegularizationStudy`: a verdict table, every setting's scores, validation
curves and an HTML report.

This example starts where a user starts, from a CSV file: the wine data bundled with
scikit-learn (178 wines, 13 chemical measurements, 3 cultivars) written to a temporary
folder, with the cultivar's name as the target column. It studies a neural network and a
linear model on it and writes one report for both with :func:`skreg.study.write_report`.
From a shell, ``python -m skreg.study wine.csv --target cultivar`` does the same.
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifier,
    RegularizedNetClassifier,
    compare_regularizers,
)
from skreg.study import write_report

QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"  # set by the test suite
CV = 3 if QUICK else 5
REGULARIZERS = ["dropout", "label smoothing"]
if not QUICK:
    REGULARIZERS += ["weight decay", "early stopping"]

# The CSV a user would have: a header row, one column per measurement, the target as
# text.
folder = Path(tempfile.mkdtemp(prefix="skreg-study-"))
wine = load_wine(as_frame=True)
frame = wine.frame.rename(columns={"target": "cultivar"})
frame["cultivar"] = frame["cultivar"].map(dict(enumerate(wine.target_names)))
frame.to_csv(folder / "wine.csv", index=False)

data = pd.read_csv(folder / "wine.csv")
X, y = data.drop(columns="cultivar"), data["cultivar"]
print(f"{folder / 'wine.csv'}: {len(data)} rows, {X.shape[1]} features, "
      f"classes {sorted(y.unique())}")

# %%
# Study a neural network
# ----------------------
# A :class:`~skreg.RegularizedNetClassifier` after a scaler, in a pipeline: the study finds
# the net inside and sets its regularizers through the step's prefix. Four regularizers,
# each at three strengths, five folds (the test suite's quick mode runs two regularizers
# at two strengths on three folds).
net = make_pipeline(
    StandardScaler(), RegularizedNetClassifier(max_iter=10 if QUICK else 60)
)
net_study = compare_regularizers(
    net, X, y, regularizers=REGULARIZERS, cv=CV, random_state=0, quick=QUICK
)
summary = net_study.summary()
print(summary.to_string(index=False))

# %%
# The table has one row per regularizer: the strength chosen by cross-validation, the mean
# accuracy over the test folds and its standard deviation (``std``), the ``gain`` over the
# baseline (first row) with its 95% interval, the Holm-adjusted p-value, the verdict, any
# flag, the gap between training and test accuracy (how much the model overfits) and the
# fit time. When two or more regularizers help, one more row scores their settings
# combined.
#
# Reading the verdicts
# --------------------
# ``verdicts_`` holds the evidence behind each verdict. The folds are shared, so the study
# compares the per-fold differences from the baseline; the training sets of the folds
# overlap, so their variance is corrected as Nadeau and Bengio (2003) propose; and the
# strength scored on a fold is chosen on the other folds, so the gain is not the best of
# many noisy settings. A regularizer "helps" only when its Holm-adjusted p-value is at most
# 0.05 and its gain is positive ("hurts" when negative); otherwise the verdict is "no
# evidence", whatever the sign of the gain. Small data such as this (about 140 training
# rows per fold) often give that verdict: one misclassified wine moves a fold's accuracy by
# 0.03.
verdicts = net_study.verdicts_
print(verdicts[["regularizer", "gain", "ci_low", "ci_high", "p_holm", "verdict"]]
      .to_string(index=False))
print(net_study.verdict())
helps = (verdicts["p_holm"] <= 0.05) & (verdicts["gain"] > 0)
assert (verdicts["verdict"] == "helps").equals(helps)

# %%
# Validation curves
# -----------------
# ``study.plot()`` returns a :class:`~skreg.StudyDisplay`: one panel per regularizer, its
# cross-validated test score (and train score) against its strength, the baseline drawn
# as a horizontal line. The figure is made through pyplot, so a notebook cell ending in
# ``net_study.plot()`` shows it.
display = net_study.plot()
assert len(display.axes_) >= len(net_study.sweeps_)

# %%
# Study a linear model
# --------------------
# For an :class:`~skreg.ElasticNetClassifier` the study sweeps ``alpha`` along the L2,
# Elastic Net and L1 paths, and also scores the choice that
# :class:`~skreg.ElasticNetClassifierCV` makes by inner cross-validation. Its baseline is
# the weakest L2 penalty of the grid, not ``alpha=0``: the three cultivars are separable,
# and an unpenalized logistic regression has no solution on separable classes.
linear = make_pipeline(StandardScaler(), ElasticNetClassifier())
linear_study = compare_regularizers(linear, X, y, cv=CV, random_state=0, quick=QUICK)
print(linear_study.summary().to_string(index=False))
print(linear_study.verdict())

# %%
# The gains and their intervals
# -----------------------------
# Each point is a regularizer's gain over its study's baseline, with its 95% interval from
# the corrected t-test (before Holm's correction). An interval that crosses zero is no
# evidence either way; the verdict in the label says what the study concludes.
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for ax, (title, study) in zip(axes, [("neural net", net_study),
                                     ("linear model", linear_study)], strict=True):
    table = study.verdicts_
    rows = range(len(table))
    below = table["gain"] - table["ci_low"]
    above = table["ci_high"] - table["gain"]
    ax.errorbar(table["gain"], rows, xerr=[below, above], fmt="o", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    names, verdicts = table["regularizer"], table["verdict"]
    labels = [f"{n} ({v})" for n, v in zip(names, verdicts, strict=True)]
    ax.set_yticks(list(rows), labels)
    ax.invert_yaxis()
    ax.set_title(f"{title}: baseline accuracy {study.baseline_score_:.3f}")
    ax.set_xlabel("gain in accuracy over the baseline")
    # What the figure shows: an interval that holds zero is "no evidence".
    holds_zero = (table["ci_low"] <= 0) & (table["ci_high"] >= 0)
    assert (table.loc[holds_zero, "verdict"] == "no evidence").all()
fig.tight_layout()
plt.show()

# %%
# One report for both
# -------------------
# :func:`skreg.study.write_report` writes one folder for several studies: ``index.html``
# (each study's table, verdict and validation curves, and what each technique does, with
# its paper), one PNG per regularizer and ``results.csv`` with every setting's scores. A
# study's ``to_html(path)`` writes the report of that study alone.
index = write_report(
    {"neural net": net_study, "linear model": linear_study},
    folder / "report",
    title="Wine cultivars: which regularizer helps?",
    descriptions={name: "wine.csv, target 'cultivar', 3 classes"
                  for name in ("neural net", "linear model")},
)
print(sorted(path.name for path in index.parent.iterdir()))
results = pd.read_csv(index.parent / "results.csv")
print(results.groupby("study").size())
# One validation-curve figure per regularizer swept, for both studies.
n_sweeps = len(net_study.sweeps_) + len(linear_study.sweeps_)
assert len(list(index.parent.glob("study*.png"))) == n_sweeps

# sphinx_gallery_start_ignore
# Run as a script without a display (MPLBACKEND=Agg), save the figures instead of showing them:
# into the folder $SKREG_FIGURE_DIR, or next to this script. The docs build collects them itself.
import sys

if "sphinx_gallery" not in sys.modules and plt.get_backend().lower() == "agg":
    figures = Path(os.environ.get("SKREG_FIGURE_DIR") or Path(__file__).parent)
    for number in plt.get_fignums():
        plt.figure(number).savefig(figures / f"{Path(__file__).stem}_{number}.png", dpi=100)
# sphinx_gallery_end_ignore
