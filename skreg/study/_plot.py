"""Validation curves of a study: score against strength, train and test, the baseline marked."""

import numbers

import numpy as np

_TEST, _TRAIN, _BASE = "#1f77b4", "#ff7f0e", "#555555"


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _draw(ax, study, sweep, baseline):
    from matplotlib.ticker import NullFormatter  # matplotlib is an extra: skreg[study]

    named = study.results_[study.results_["regularizer"] == sweep.name]
    rows = named[named["kind"] == "single"]
    strengths = list(rows["strength"])
    test, test_std = rows["mean_test_score"].to_numpy(), rows["std_test_score"].to_numpy()
    train, train_std = rows["mean_train_score"].to_numpy(), rows["std_train_score"].to_numpy()
    kept = named[named["kind"] == "screened"]
    label = "screening (subsamples)" if len(kept) else "test (CV)"
    if not len(kept) and (rows["n_folds"] < study.n_splits_).any():
        # Raced: only the leader was fitted on every fold. The curve compares the strengths
        # (and the baseline) on the folds where all were fitted; the line is the leader's.
        folds = study.fold_scores_[rows.index.to_numpy()]
        common = np.isfinite(folds).all(axis=0)
        test, test_std = folds[:, common].mean(axis=1), folds[:, common].std(axis=1)
        base_folds = study.fold_scores_[0, common]
        baseline = baseline.copy()
        baseline["mean_test_score"], baseline["std_test_score"] = (base_folds.mean(),
                                                                   base_folds.std())
        leader = rows[rows["n_folds"] == study.n_splits_]["mean_test_score"]
        ax.axhline(leader.max(), color=_TEST, linestyle="-.", linewidth=1.2,
                   label="leader (test, all folds)")
        label = f"test (CV, {common.sum()} shared folds)"
    if len(kept):
        # Screened: no full-size score per strength. The curve is the screening score (held
        # out of subsamples: lower than full-size scores), the line the kept strength's.
        test, test_std = rows["screening_score"].to_numpy(), np.zeros(len(rows))
        ax.axhline(kept["mean_test_score"].iloc[0], color=_TEST, linestyle="-.",
                   linewidth=1.2, label="strength kept per fold (test, CV)")
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
                label=label)
    if np.isfinite(test).any():
        best = int(np.nanargmax(test))
        ax.plot(x[best], test[best], marker="*", markersize=14, color=_TEST,
                markeredgecolor="black", linestyle="none", label="best")
    ax.set_title(sweep.name)
    ax.set_xlabel(sweep.parameter)
    ax.grid(alpha=0.3)


def _sweeps(study, names):
    sweeps = study.sweeps_ if names is None else [s for s in study.sweeps_ if s.name in names]
    if not sweeps:
        raise ValueError(f"No regularizer named {names!r} in this study.")
    return sweeps


def _draw_panels(figure, axes, study, sweeps):
    """One validation curve per sweep on ``axes``, a figure of its own (flat, one per slot)."""
    baseline = study.results_.iloc[0]
    for ax, sweep in zip(axes, sweeps, strict=False):
        _draw(ax, study, sweep, baseline)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(study.scoring_)
    for ax in axes[len(sweeps):]:
        ax.set_visible(False)
    # Below the panels, where it hides no curve.
    handles, labels = axes[0].get_legend_handles_labels()
    n_columns = axes[0].get_subplotspec().get_gridspec().ncols
    figure.legend(handles, labels, loc="outside lower center", ncols=min(4, 2 * n_columns),
                  fontsize="small", frameon=False)  # two entries a row under a lone panel


def _grid_size(n_panels, ncols):
    ncols = min(ncols, n_panels)
    return int(np.ceil(n_panels / ncols)), ncols


def plot_study(study, names=None, *, ncols=3):
    """A figure outside pyplot with one validation-curve panel per sweep, for the report.

    Outside pyplot's registry: the report's figures need no GUI backend and are freed when
    written, even when the CLI runs many studies in one process.
    """
    from matplotlib.figure import Figure

    sweeps = _sweeps(study, names)
    nrows, ncols = _grid_size(len(sweeps), ncols)
    figure = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    _draw_panels(figure, list(axes.flat), study, sweeps)
    return figure


class StudyDisplay:
    """Validation curves of a :class:`RegularizationStudy`, in scikit-learn's Display style.

    Read more in the :ref:`User Guide <which-regularizer>`.

    Made by :meth:`RegularizationStudy.plot`; ``plot(ax=...)`` draws them again, e.g. into
    axes of the caller's own figure. The figure is created through :mod:`matplotlib.pyplot`,
    so a notebook cell ending in ``study.plot()`` shows it.

    Parameters
    ----------
    study : RegularizationStudy
        The study to draw.
    names : list of str, default=None
        Regularizers to draw (default: every sweep).

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure drawn on.
    axes_ : ndarray of matplotlib.axes.Axes
        One panel per regularizer, in the order of ``study.sweeps_`` (flat).
    ax_ : matplotlib.axes.Axes
        The first panel (the only one when one regularizer is drawn).

    See Also
    --------
    RegularizationStudy.plot : Makes this display.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_diabetes
    >>> from skreg import ElasticNetRegressor, compare_regularizers
    >>> X, y = load_diabetes(return_X_y=True)
    >>> study = compare_regularizers(ElasticNetRegressor(), X, y, cv=3,
    ...                              regularizers={"alpha": [0.1, 1.0]})
    >>> display = study.plot()
    >>> [ax.get_title() for ax in display.axes_]
    ['alpha']
    >>> display.figure_.number in plt.get_fignums()
    True
    >>> plt.close(display.figure_)
    """

    def __init__(self, study, names=None):
        self.study = study
        self.names = names

    def plot(self, ax=None, *, ncols=3):
        """Draw one validation curve per regularizer: test and train score against strength.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw, one Axes per regularizer (a single Axes when one is drawn).
            None: a new pyplot figure with ``ncols`` panels a row.
        ncols : int, default=3
            Panels a row of a new figure.

        Returns
        -------
        display : StudyDisplay
            ``self``, with ``figure_``, ``axes_`` and ``ax_`` set.
        """
        sweeps = _sweeps(self.study, self.names)
        if ax is None:
            import matplotlib.pyplot as plt

            nrows, ncols = _grid_size(len(sweeps), ncols)
            figure, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                                        figsize=(4.2 * ncols, 3.3 * nrows))
            axes = list(axes.flat)
            _draw_panels(figure, axes, self.study, sweeps)
        else:  # the caller's axes: drawn in, each with its legend, nothing else touched
            axes = list(np.ravel(ax))
            if len(axes) != len(sweeps):
                raise ValueError(f"ax has {len(axes)} Axes for {len(sweeps)} regularizers "
                                 f"({', '.join(s.name for s in sweeps)}): give one each.")
            figure = axes[0].figure
            baseline = self.study.results_.iloc[0]
            for panel, sweep in zip(axes, sweeps, strict=True):
                _draw(panel, self.study, sweep, baseline)
                panel.set_ylabel(self.study.scoring_)
                panel.legend(fontsize="small")
        self.figure_, self.axes_, self.ax_ = figure, np.asarray(axes, dtype=object), axes[0]
        return self
