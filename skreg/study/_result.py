"""RegularizationStudy: the results of compare_regularizers, their summary, plots and report."""

import numpy as np

from skreg.study._rows import results_frame


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
    verdicts_ : pandas.DataFrame
        One row per regularizer, then the combination (when two or more help) and the path CV
        (linear models): ``best setting`` (the best on all folds, what to use), ``test score``
        (its mean), ``gain`` (the mean per-fold gain of choosing the strength by
        cross-validation, each fold's strength chosen on the other folds: no winner's curse),
        ``ci_low`` / ``ci_high`` (its 95% interval by the corrected resampled t-test of
        Nadeau and Bengio 2003), ``p_value`` (the test's) and ``p_holm`` (adjusted by Holm
        across the rows), ``verdict`` ("helps" or "hurts" when ``p_holm`` ≤ 0.05, else
        "no evidence"), ``flags`` (best strength at an edge of the grid, early stopping that
        never stopped, a baseline under-trained or not converged) and ``n_settings``.
    baseline_flags_ : list of str
        Problems of the baseline (also in every row's ``flags``).
    fold_scores_ : ndarray of shape (n_settings, n_folds)
        Test score of every row of ``results_`` on every fold (all repeats), for tests of
        your own on the paired differences; NaN where a raced strength was not fitted
        (see ``n_folds``).
    splits_ : list of (train, test)
        The folds, shared by every setting: ``n_splits_`` of them, ``n_repeats_`` runs of
        cross-validation.
    results_ : pandas.DataFrame
        One row per setting scored: ``regularizer`` (the sweep's name, ``"baseline"``,
        ``"combination"``, or ``"path CV"``: for a linear model, ``ElasticNetRegressorCV`` or
        ``ElasticNetClassifierCV`` choosing alpha and l1_ratio on the same grid inside each
        fold), ``kind``, ``parameter`` and ``strength`` (the swept hyperparameter and its
        value), ``mean_test_score`` / ``std_test_score`` over the folds, ``mean_train_score`` /
        ``std_train_score``, ``train_test_gap`` (train minus test: the overfitting), ``gain``
        (test score minus the baseline's), ``mean_fit_time`` (seconds), ``n_iter`` and
        ``best_epoch`` (epochs run and epoch restored, averaged over the folds, when the
        estimator reports them), ``params`` (the hyperparameters set, with their step
        prefix) and ``n_folds`` (the folds it was fitted on: with racing, a strength that
        did not lead on the first folds of each run has fewer, and its means are over
        those). With screening="halving" (see ``compare_regularizers``), a screened
        regularizer's strengths have NaN full-size scores and ``screening_score``
        (held-out score at the largest subsample reached, mean over the folds),
        ``screening_rows`` and ``n_chosen`` (folds that kept it), then a row of kind
        ``"screened"``: the strength kept in each fold, refit on it and scored on its test
        fold.
    best_params_ : dict
        Hyperparameters (prefixed, ready for ``set_params`` on top of ``base_estimator_``) of
        the best setting found, single or combined; ``{}`` when the baseline is best.
    best_single_params_ : dict
        The best setting of the baseline and the single sweeps: what GridSearchCV over the
        union of the sweeps' grids would choose (for a screened sweep, the strength kept most
        often, scored as kept per fold).
    combination_params_ : dict or None
        The best settings of every regularizer whose verdict (before the combination joined)
        is "helps", merged (one per hyperparameter: the linear penalties all set ``alpha``, the
        one with the largest gain is kept); None when fewer than two help.
    best_score_, baseline_score_ : float
        Mean test score of ``best_params_`` and of the baseline.
    baseline_ : str
        The baseline in words: ``"all off"``, or ``"as given (...)"`` when the estimator has
        no regularizer to turn off (a VectorQuantizer's ``n_codes``).
    base_estimator_ : estimator
        The estimator with every regularizer off (unfitted): the baseline.
    cv_results_ : dict
        ``cv_results_`` of the GridSearchCV runs (per-fold scores included): ``"sweeps"``
        (the baseline, then every sweep's values in order), ``"racing (selection folds)"``
        and ``"racing (other folds)"`` (raced sweeps), ``"combination"`` and ``"path CV"``.
    scoring_ : str
        Name of the score.
    warnings_ : list of FitWarning
        Every warning raised while fitting (in joblib or Dask workers too): named tuples
        ``(category, message, filename, lineno)``, the category by its class name.
    """

    def __init__(self, *, estimator, base_estimator, sweeps, rows, cv_results, scoring,
                 n_splits, shape, elapsed, baseline, verdicts, baseline_flags, splits,
                 n_repeats=1):
        self.estimator = estimator
        self.base_estimator_ = base_estimator
        self.sweeps_ = sweeps
        self.cv_results_ = cv_results
        self.n_splits_ = n_splits
        self.n_repeats_ = n_repeats
        self.splits_ = splits
        self.fold_scores_ = np.array([row["fold_scores"] for row in rows])
        self.verdicts_ = verdicts
        self.baseline_flags_ = list(baseline_flags)
        self.data_shape_ = tuple(shape)
        self.elapsed_ = elapsed
        self.baseline_ = baseline
        self.scoring_ = self._scoring_name(scoring)
        self.baseline_score_ = rows[0]["mean_test_score"]
        self.results_ = results_frame(rows, self.baseline_score_)
        scores = self._comparable_scores(self.results_)
        # A screened regularizer's row scores the strength kept in each fold (see screening).
        single = self.results_["kind"].isin(["baseline", "single", "screened"]).to_numpy()
        # First of the ties, as GridSearchCV's best_index_ over the candidates in this order.
        best_single = int(np.argmax(np.where(single, scores, -np.inf)))
        best = int(np.argmax(scores))
        self.best_single_params_ = dict(rows[best_single]["params"])
        self.best_params_ = dict(rows[best]["params"])
        combined = [row for row in rows if row["kind"] == "combination"]
        self.combination_params_ = dict(combined[0]["params"]) if combined else None
        self.best_score_ = float(scores[best])

    def _comparable_scores(self, results):
        """Mean test scores, -inf where failed or not scored on every fold.

        A raced strength fitted on the selection folds alone has a mean over fewer folds:
        not comparable with the others, so never the best (its sweep's leader is).
        """
        scores = np.nan_to_num(results["mean_test_score"].to_numpy(dtype=float), nan=-np.inf)
        scores[results["n_folds"].to_numpy() < self.n_splits_] = -np.inf
        return scores

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
        """The headline table, from ``verdicts_``: the baseline, then the regularizers by gain.

        Returns
        -------
        summary : pandas.DataFrame
            Columns ``regularizer``, ``best setting``, ``test score``, ``std``, ``gain``,
            ``ci_low``, ``ci_high``, ``p_holm``, ``verdict``, ``flags``, ``train-test gap``
            and ``fit time (s)``; the baseline first, then by gain (the regularizers that
            help first).
        """
        import pandas as pd

        results = self.results_
        baseline = results.iloc[0]
        rows = [{"regularizer": "baseline", "best setting": self.baseline_,
                 "test score": baseline["mean_test_score"], "std": baseline["std_test_score"],
                 "gain": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_holm": np.nan,
                 "verdict": "", "flags": "; ".join(self.baseline_flags_),
                 "train-test gap": baseline["train_test_gap"],
                 "fit time (s)": baseline["mean_fit_time"]}]
        verdicts = self.verdicts_.iloc[np.argsort(-self.verdicts_["gain"].fillna(-np.inf)
                                                  .to_numpy(), kind="stable")]
        for _, verdict in verdicts.iterrows():
            group = results[results["regularizer"] == verdict["regularizer"]]
            best = group.iloc[int(np.argmax(self._comparable_scores(group)))]
            rows.append({
                "regularizer": verdict["regularizer"], "best setting": verdict["best setting"],
                "test score": best["mean_test_score"], "std": best["std_test_score"],
                "gain": verdict["gain"], "ci_low": verdict["ci_low"],
                "ci_high": verdict["ci_high"], "p_holm": verdict["p_holm"],
                "verdict": verdict["verdict"], "flags": verdict["flags"],
                "train-test gap": best["train_test_gap"], "fit time (s)": best["mean_fit_time"],
            })
        return pd.DataFrame(rows)

    def describe_cv(self):
        """``"5-fold CV"`` or ``"3-fold CV repeated 2 times"``."""
        text = f"{self.n_splits_ // self.n_repeats_}-fold CV"
        return text if self.n_repeats_ == 1 else f"{text} repeated {self.n_repeats_} times"

    def verdict(self):
        """One sentence from ``verdicts_``: what helps (with its gain and interval), or not."""
        verdicts = self.verdicts_.sort_values("gain", ascending=False, kind="stable")
        helps = verdicts[verdicts["verdict"] == "helps"]
        hurts = verdicts[verdicts["verdict"] == "hurts"]
        resamples = f"{self.n_splits_} folds ({self.describe_cv()})"
        if len(helps):
            parts = [f"{row['regularizer']} ({row['best setting']}): {self.scoring_} "
                     f"{row['gain']:+.3g}, 95% CI [{row['ci_low']:+.3g}, {row['ci_high']:+.3g}]"
                     for _, row in helps.iterrows()]
            sentence = "Helps: " + "; ".join(parts) + "."
        else:
            sentence = (f"No regularizer shows evidence of helping over the baseline, "
                        f"{self.baseline_} ({self.scoring_} {self.baseline_score_:.4g}).")
        if len(hurts):
            sentence += " Hurts: " + ", ".join(hurts["regularizer"]) + "."
        sentence += (f" Corrected resampled t-test on {resamples}, Holm-adjusted p ≤ 0.05 "
                     f"across {len(verdicts)} comparisons.")
        if self.baseline_flags_:
            sentence += " Warning: " + "; ".join(self.baseline_flags_) + "."
        return sentence

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

        table = self.summary()  # the baseline, then each regularizer's verdict
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

    # Persistence (pickle, skops.io): skops can save numpy arrays and lists but not a
    # DataFrame, so the tables (results_, verdicts_) are stored as {column: values} and
    # rebuilt on load.
    _FRAMES = ("results_", "verdicts_")

    def __getstate__(self):
        state = dict(self.__dict__)
        for attribute in self._FRAMES:
            frame = state.pop(attribute, None)
            if frame is None:
                continue
            state[attribute[:-1] + "_columns_"] = {
                name: (frame[name].tolist() if frame[name].dtype == object
                       else frame[name].to_numpy())
                for name in frame.columns
            }
        return state

    def __setstate__(self, state):
        import pandas as pd

        state = dict(state)
        for attribute in self._FRAMES:
            columns = state.pop(attribute[:-1] + "_columns_", None)
            if columns is not None:
                state[attribute] = pd.DataFrame(columns)
        self.__dict__.update(state)

    def __repr__(self):
        return (f"<RegularizationStudy of {type(self.estimator).__name__}: "
                f"{len(self.sweeps_)} regularizers, {len(self.results_)} settings>")
