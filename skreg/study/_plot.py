"""Validation curves of a study: score against strength, train and test, the baseline marked."""

import numbers

import numpy as np
from matplotlib.ticker import NullFormatter

_TEST, _TRAIN, _BASE = "#1f77b4", "#ff7f0e", "#555555"


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _draw(ax, study, sweep, baseline):
    rows = study.results_[study.results_["regularizer"] == sweep.name]
    strengths = list(rows["strength"])
    test, test_std = rows["mean_test_score"].to_numpy(), rows["std_test_score"].to_numpy()
    train, train_std = rows["mean_train_score"].to_numpy(), rows["std_train_score"].to_numpy()
    numeric = all(_is_number(v) for v in strengths)
    if numeric:
        x = np.asarray(strengths, dtype=float)
        if not sweep.log and 0 not in x:
            # The regularizer at strength 0 is the baseline: start the curve there.
            x = np.r_[0.0, x]
            test, test_std = np.r_[baseline["mean_test_score"], test], \
                np.r_[baseline["std_test_score"], test_std]
            train, train_std = np.r_[baseline["mean_train_score"], train], \
                np.r_[baseline["std_train_score"], train_std]
        if sweep.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # no crowded 2×10⁰, 3×10⁰ labels
            if all(float(v).is_integer() for v in x):  # codebook sizes: label each one
                ax.set_xticks(x, [f"{v:g}" for v in x])
    else:
        labels = ["off"] + [("on" if v is True else str(v)) for v in strengths]
        x = np.arange(len(labels), dtype=float)
        test, test_std = np.r_[baseline["mean_test_score"], test], \
            np.r_[baseline["std_test_score"], test_std]
        train, train_std = np.r_[baseline["mean_train_score"], train], \
            np.r_[baseline["std_train_score"], train_std]
        ax.set_xticks(x, labels)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.axhline(baseline["mean_test_score"], color=_BASE, linestyle=":", linewidth=1.2,
               label="baseline (test)")
    ax.axhspan(baseline["mean_test_score"] - baseline["std_test_score"],
               baseline["mean_test_score"] + baseline["std_test_score"], color=_BASE,
               alpha=0.08, linewidth=0)
    ax.errorbar(x, train, yerr=train_std, color=_TRAIN, linestyle="--", marker="s",
                markersize=4, capsize=3, label="train")
    ax.errorbar(x, test, yerr=test_std, color=_TEST, marker="o", markersize=5, capsize=3,
                label="test (CV)")
    if np.isfinite(test).any():
        best = int(np.nanargmax(test))
        ax.plot(x[best], test[best], marker="*", markersize=14, color=_TEST,
                markeredgecolor="black", linestyle="none", label="best")
    ax.set_title(sweep.name)
    ax.set_xlabel(sweep.parameter)
    ax.grid(alpha=0.3)


def plot_study(study, names=None, *, ncols=3):
    """A figure with one validation-curve panel per sweep named in ``names``."""
    # A Figure outside pyplot: no global figure registry, no GUI backend needed.
    from matplotlib.figure import Figure

    sweeps = study.sweeps_ if names is None else [s for s in study.sweeps_ if s.name in names]
    if not sweeps:
        raise ValueError(f"No regularizer named {names!r} in this study.")
    baseline = study.results_.iloc[0]
    ncols = min(ncols, len(sweeps))
    nrows = int(np.ceil(len(sweeps) / ncols))
    figure = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for ax, sweep in zip(axes.flat, sweeps, strict=False):
        _draw(ax, study, sweep, baseline)
    for ax in axes[:, 0]:
        ax.set_ylabel(study.scoring_)
    for ax in axes.flat[len(sweeps):]:
        ax.set_visible(False)
    # Below the panels, where it hides no curve.
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=4, fontsize="small",
                  frameon=False)
    return figure
