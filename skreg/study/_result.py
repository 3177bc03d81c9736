"""RegularizationStudy: the results of compare_regularizers, their summary, plots and report."""

import numpy as np

from skreg.study._study import results_frame


def _format_value(value):
    if isinstance(value, (bool, np.bool_)):
        return "on" if value else "off"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def describe(params):
    """``dropout=0.3, l1=1e-04``: a setting in words (step prefixes dropped)."""
    if not params:
        return "all off"
    return ", ".join(f"{key.rsplit('__', 1)[-1]}={_format_value(value)}"
                     for key, value in params.items())


class RegularizationStudy:
    """The outcome of :func:`compare_regularizers`; not built by hand.

    Read more in the :ref:`User Guide <which-regularizer>`.

    Attributes
    ----------
    results_ : pandas.DataFrame
        One row per setting scored: ``regularizer`` (the sweep's name, ``"baseline"``,
        ``"combination"``, or ``"path CV"``: for a linear model, ``ElasticNetRegressorCV`` or
        ``ElasticNetClassifierCV`` choosing alpha and l1_ratio on the same grid inside each
        fold), ``kind``, ``parameter`` and ``strength`` (the swept hyperparameter and its
        value), ``mean_test_score`` / ``std_test_score`` over the folds, ``mean_train_score`` /
        ``std_train_score``, ``train_test_gap`` (train minus test: the overfitting), ``gain``
        (test score minus the baseline's), ``mean_fit_time`` (seconds), ``n_iter`` and
        ``best_epoch`` (epochs run and epoch restored, averaged over the folds, when the
        estimator reports them) and ``params`` (the hyperparameters set, with their step
        prefix).
    best_params_ : dict
        Hyperparameters (prefixed, ready for ``set_params`` on top of ``base_estimator_``) of
        the best setting found, single or combined; ``{}`` when the baseline is best.
    best_single_params_ : dict
        The best setting of the baseline and the single sweeps: what GridSearchCV over the
        union of the sweeps' grids would choose.
    combination_params_ : dict or None
        The combination of the best setting of every regularizer that beat the baseline,
        None when fewer than two did.
    best_score_, baseline_score_ : float
        Mean test score of ``best_params_`` and of the baseline.
    baseline_ : str
        The baseline in words: ``"all off"``, or ``"as given (...)"`` when the estimator has
        no regularizer to turn off (a VectorQuantizer's ``n_codes``).
    base_estimator_ : estimator
        The estimator with every regularizer off (unfitted): the baseline.
    cv_results_ : dict
        ``cv_results_`` of the GridSearchCV runs (per-fold scores included): ``"sweeps"``
        (the baseline, then every sweep's values in order) and ``"combination"``.
    scoring_ : str
        Name of the score.
    warnings_ : list of FitWarning
        Every warning raised while fitting (in joblib or Dask workers too): named tuples
        ``(category, message, filename, lineno)``, the category by its class name.
    """

    def __init__(self, *, estimator, base_estimator, sweeps, rows, cv_results, scoring,
                 n_splits, shape, elapsed, baseline):
        self.estimator = estimator
        self.base_estimator_ = base_estimator
        self.sweeps_ = sweeps
        self.cv_results_ = cv_results
        self.n_splits_ = n_splits
        self.data_shape_ = tuple(shape)
        self.elapsed_ = elapsed
        self.baseline_ = baseline
        self.scoring_ = self._scoring_name(scoring)
        self.baseline_score_ = rows[0]["mean_test_score"]
        self.results_ = results_frame(rows, self.baseline_score_)
        scores = np.nan_to_num(self.results_["mean_test_score"].to_numpy(), nan=-np.inf)
        single = self.results_["kind"].isin(["baseline", "single"]).to_numpy()
        # First of the ties, as GridSearchCV's best_index_ over the candidates in this order.
        best_single = int(np.argmax(np.where(single, scores, -np.inf)))
        best = int(np.argmax(scores))
        self.best_single_params_ = dict(rows[best_single]["params"])
        self.best_params_ = dict(rows[best]["params"])
        combined = [row for row in rows if row["kind"] == "combination"]
        self.combination_params_ = dict(combined[0]["params"]) if combined else None
        self.best_score_ = float(scores[best])

    def _scoring_name(self, scoring):
        if isinstance(scoring, str):
            return scoring
        if scoring is not None:
            return getattr(scoring, "__name__", "score")
        from sklearn.base import is_classifier, is_regressor

        if is_classifier(self.estimator):
            return "accuracy"
        if is_regressor(self.estimator):
            return "R²"
        from skreg.quantization import VectorQuantizer

        steps = getattr(self.estimator, "steps", [(None, self.estimator)])
        if isinstance(steps[-1][1], VectorQuantizer):
            return "−MSE (reconstruction)"
        return "score"

    def summary(self):
        """The headline table: per regularizer its best setting, score and gain, best first.

        Returns
        -------
        summary : pandas.DataFrame
            Columns ``regularizer``, ``best setting``, ``test score``, ``std``, ``gain``,
            ``train-test gap`` and ``fit time (s)``; the baseline first, then by gain.
        """
        import pandas as pd

        frame = self.results_
        rows = []
        for name, group in frame.groupby("regularizer", sort=False):
            scores = group["mean_test_score"].fillna(-np.inf).to_numpy()
            best = group.iloc[int(np.argmax(scores))]
            params = best["params"]
            if best["kind"] == "single":
                sweep = next(s for s in self.sweeps_ if s.name == name)
                params = {sweep.prefix + sweep.parameter: best["strength"]}
            setting = describe(params)
            if best["kind"] == "baseline":
                setting = self.baseline_
            elif best["kind"] == "tuned":
                setting = f"chosen in each fold by {type(next(iter(params.values()))).__name__}"
            rows.append({
                "regularizer": name,
                "best setting": setting,
                "test score": best["mean_test_score"], "std": best["std_test_score"],
                "gain": best["gain"], "train-test gap": best["train_test_gap"],
                "fit time (s)": best["mean_fit_time"],
            })
        table = pd.DataFrame(rows)
        order = np.r_[0, 1 + np.argsort(-table["gain"].iloc[1:].fillna(-np.inf).to_numpy(),
                                        kind="stable")]
        return table.iloc[order].reset_index(drop=True)

    def verdict(self):
        """One sentence: the best setting, its gain, and whether it exceeds the fold spread."""
        baseline = self.results_.iloc[0]
        if not self.best_params_:
            return (f"No setting beat the baseline, {self.baseline_} ({self.scoring_} "
                    f"{self.baseline_score_:.4g}).")
        gain = self.best_score_ - self.baseline_score_
        # The standard error of a mean over k folds; a gain below it is within fold noise.
        spread = baseline["std_test_score"] / np.sqrt(self.n_splits_)
        note = ("more than the standard error of the baseline's mean over the folds"
                if gain > spread else "within the standard error of the baseline's mean over "
                "the folds: not a clear win")
        return (f"Best: {describe(self.best_params_)}, {self.scoring_} "
                f"{self.baseline_score_:.4g} → {self.best_score_:.4g} "
                f"({gain:+.3g}; {note}, {spread:.2g}).")

    def plot(self, names=None, *, ax=None, ncols=3):
        """Validation curves: test and train score against strength, one panel per regularizer.

        The figure is made through :mod:`matplotlib.pyplot` (unless ``ax`` is given), so a
        notebook cell ending in ``study.plot()`` shows it.

        Parameters
        ----------
        names : list of str, default=None
            Regularizers to draw (default: every sweep).
        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw in, one per regularizer; None makes a new figure.
        ncols : int, default=3
            Panels per row of a new figure.

        Returns
        -------
        display : StudyDisplay
            ``figure_`` (the figure), ``axes_`` (one panel per regularizer) and
            ``plot(ax=...)`` to draw the curves again elsewhere.
        """
        from skreg.study._plot import StudyDisplay

        return StudyDisplay(self, names).plot(ax=ax, ncols=ncols)

    def to_html(self, path, *, force=False):
        """Write the HTML report: ``index.html``, one PNG per regularizer, ``results.csv``.

        The files are written into a temporary folder beside ``path`` and moved into place at
        the end: an error or Ctrl-C leaves the previous report, or the new one, whole.

        Parameters
        ----------
        path : str or path-like
            Folder to write (created if needed; the files of an earlier report are replaced,
            a folder holding other files is refused). A name ending in ``.html`` is the page
            itself, its figures in the folder ``NAME_files`` beside it.
        force : bool, default=False
            Write into a folder that holds files no study wrote; they are kept (never
            replaced nor deleted).

        Returns
        -------
        index : pathlib.Path
            Path of the page.
        """
        from skreg.study._report import write_report

        return write_report(self, path, force=force)

    def _repr_html_(self):
        """The verdict and the headline table, for a notebook cell ending in ``study``."""
        from html import escape

        table = getattr(self, "verdicts_", None)  # the per-regularizer verdicts, when made
        if table is None:
            table = self.summary()
        n_samples, n_features = (list(self.data_shape_) + [1])[:2]
        lines = [
            f"<p><b>{escape(type(self.estimator).__name__)}</b>: {n_samples} samples × "
            f"{n_features} features, {self.n_splits_}-fold CV, score "
            f"{escape(self.scoring_)}, {len(self.results_)} settings in "
            f"{self.elapsed_:.0f} s</p>",
            f"<p>{escape(self.verdict())}</p>",
            table.to_html(index=False, float_format="{:.4g}".format, na_rep=""),
        ]
        fit_warnings = getattr(self, "warnings_", [])
        if fit_warnings:
            from skreg.study._progress import summarize

            lines.append(f"<p>{escape(summarize(fit_warnings))} (see <code>warnings_</code>)"
                         "</p>")
        return "\n".join(lines)

    # Persistence: pickle, and skops.io, which cannot save a pandas DataFrame: results_ is
    # stored as its columns (lists and numpy arrays) and rebuilt on loading.
    def __getstate__(self):
        state = dict(self.__dict__)
        frame = state.pop("results_")
        state["results_columns_"] = {
            name: (frame[name].tolist() if frame[name].dtype == object
                   else frame[name].to_numpy())
            for name in frame.columns
        }
        return state

    def __setstate__(self, state):
        import pandas as pd

        state = dict(state)
        state["results_"] = pd.DataFrame(state.pop("results_columns_"))
        self.__dict__.update(state)

    def __repr__(self):
        return (f"<RegularizationStudy of {type(self.estimator).__name__}: "
                f"{len(self.sweeps_)} regularizers, {len(self.results_)} settings>")
