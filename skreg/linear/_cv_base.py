"""Cross-validation along warm-started Elastic Net paths: the part shared by both losses."""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv

from skreg.linear._base import check_sample_weight, set_fitted_attributes, validate_fit_data
from skreg.linear._path import (
    LOSS_CURVATURE,
    alpha_grid,
    check_alphas,
    check_l1_ratios,
    float_type_for_path,
    largest_feature_variance,
)
from skreg.utils._callbacks import CallbackSupportMixin, FitTask
from skreg.utils._doc_link import DocLinkMixin
from skreg.utils._sklearn_private import Interval, StrOptions

CV_PARAMETER_CONSTRAINTS = {
    "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
    "eps": [Interval(Real, 0, 1, closed="neither")],
    "cv": ["cv_object"],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    "alpha_rule": [StrOptions({"min", "1se"})],
    "n_jobs": [Integral, None],
    "fit_intercept": ["boolean"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


def choose_alpha(scores, rule):
    """Indices ``(l1_ratio, alpha)`` chosen from per-fold scores (n_l1_ratios, n_alphas, n_folds).

    ``"min"``: the best mean score (higher is better); ties go to the first l1_ratio and the
    largest alpha, as in :class:`~sklearn.linear_model.ElasticNetCV`. ``"1se"`` (glmnet's
    ``lambda.1se``): on the l1_ratio of the best mean, the largest alpha whose mean score is
    within one standard error of the best, the standard error being
    ``std(best's fold scores, ddof=1) / sqrt(n_folds)``.
    """
    mean = scores.mean(axis=2)
    if not np.all(np.isfinite(mean)):
        raise ValueError(
            "Some cross-validated scores are not finite; the scorer cannot rank these alphas. "
            f"Mean scores per (l1_ratio, alpha):\n{mean}"
        )
    i_l1, i_alpha = np.unravel_index(np.argmax(mean), mean.shape)
    if rule == "1se":
        # alphas are decreasing: the first index within one standard error is the largest alpha.
        i_alpha = np.flatnonzero(mean[i_l1] >= mean[i_l1, i_alpha] - standard_error(
            scores[i_l1, i_alpha]))[0]
    return int(i_l1), int(i_alpha)


def standard_error(fold_scores):
    """``std(ddof=1) / sqrt(n_folds)`` of fold scores (last axis), glmnet's ``cvsd``."""
    return np.std(fold_scores, axis=-1, ddof=1) / np.sqrt(fold_scores.shape[-1])


def grid_results(l1_ratios, alphas, scores):
    """GridSearchCV's ``cv_results_`` layout, one row per (l1_ratio, alpha), l1_ratio first."""
    n_l1, n_alphas, n_folds = scores.shape
    flat = scores.reshape(n_l1 * n_alphas, n_folds)
    mean = flat.mean(axis=1)
    results = {
        "param_l1_ratio": np.repeat(l1_ratios, n_alphas),
        "param_alpha": alphas.ravel().copy(),
        "params": [
            {"l1_ratio": float(l1), "alpha": float(alpha)}
            for l1, row in zip(l1_ratios, alphas, strict=True) for alpha in row
        ],
    }
    for k in range(n_folds):
        results[f"split{k}_test_score"] = flat[:, k].copy()
    results["mean_test_score"] = mean
    results["std_test_score"] = flat.std(axis=1)
    # Ties share the best rank, as in GridSearchCV.
    results["rank_test_score"] = np.searchsorted(np.sort(-mean), -mean).astype(np.int32) + 1
    return results


class ElasticNetCVMixin(CallbackSupportMixin, DocLinkMixin, BaseEstimator):
    """Fit, scoring and selection shared by the regressor and the classifier.

    A subclass sets ``_loss`` (a key of ``LOSS_CURVATURE``, for the alpha grid) and defines
    ``_validate_X_kwargs``, ``_prepare_targets``, ``_gradient_at_zero``, ``_path``,
    ``_default_scores``, ``_model_at`` and ``_refit``; the classifier also
    overrides the hooks that handle its labels (``_check_fold``, ``_path_targets``, ...).
    """

    def _fit_cv(self, X, y, sample_weight):
        # Validation on a clone, the fitted state assigned at once at the end: a failure
        # anywhere leaves this estimator as it was.
        X_input, y_input, sample_weight_input = X, y, sample_weight
        X, y, record = validate_fit_data(self, X, y, **self._validate_X_kwargs())
        X = float_type_for_path(X)
        targets = self._prepare_targets(y, X)
        sample_weight, weight_sum = check_sample_weight(sample_weight, X)
        self._check_weighted_targets(targets, sample_weight)
        l1_ratios = check_l1_ratios(self.l1_ratio)
        alphas = check_alphas(self.alphas)
        if isinstance(alphas, int):
            gradient = self._gradient_at_zero(X, targets, sample_weight)
            l2_scale = LOSS_CURVATURE[self._loss] * largest_feature_variance(
                X, sample_weight, self.fit_intercept)
            grids = np.array([
                alpha_grid(gradient, weight_sum, l1_ratio, alphas, self.eps, l2_scale=l2_scale)
                for l1_ratio in l1_ratios
            ])
        else:
            grids = np.tile(alphas, (len(l1_ratios), 1))

        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        folds = list(cv.split(X, y))
        if len(folds) < 2:
            raise ValueError(
                f"cv must give at least 2 folds (the standard error needs them); got {len(folds)}."
            )
        for fold, (train, _) in enumerate(folds):  # before any path is fitted
            self._check_fold(targets, sample_weight, train, fold)
        scorer = None if self.scoring is None else check_scoring(self._model_at(X, targets),
                                                                 self.scoring)
        # scikit-learn's callbacks: the fit is one task, each (l1_ratio, fold) path one subtask
        # (created here, begun in its thread) with its alphas below it, and the refit one.
        task = FitTask(self, X_input, y_input, sample_weight_input,
                       max_subtasks=len(l1_ratios) * len(folds) + 1)
        path_tasks = iter([
            task.subtask("path", max_subtasks=grid.size, X=X[test], y=y[test], begin=False,
                         sample_weight=None if sample_weight is None else sample_weight[test])
            if task.active else None
            for grid in grids for _, test in folds
        ])
        jobs = (
            delayed(self._fold_scores)(
                X, targets, sample_weight, train, test, grid, l1_ratio, scorer,
                next(path_tasks),
            )
            for l1_ratio, grid in zip(l1_ratios, grids, strict=True)
            for train, test in folds
        )
        # Threads share X without copies; the compiled coordinate descent releases the GIL.
        with contextlib.ExitStack() as stack:
            if effective_n_jobs(self.n_jobs) > 1:
                # The logistic solver quiets its inner coordinate descent (a few epochs per
                # call, its own stopping rule) with warnings.catch_warnings, which is not
                # thread-safe: interleaved in threads, it lets those warnings through and can
                # leave its "ignore" filter behind. Quiet them for all the threads here, and
                # restore the caller's filters afterwards.
                stack.enter_context(warnings.catch_warnings())
                warnings.filterwarnings("ignore", category=ConvergenceWarning,
                                        module=r"skreg\.linear\._weighted_enet")
            fold_scores = Parallel(n_jobs=self.n_jobs, prefer="threads")(jobs)
        scores = np.asarray(fold_scores).reshape(len(l1_ratios), len(folds), -1)
        scores = np.ascontiguousarray(scores.transpose(0, 2, 1))

        i_l1, i_min = choose_alpha(scores, "min")
        _, i_1se = choose_alpha(scores, "1se")
        i_alpha = i_1se if self.alpha_rule == "1se" else i_min
        alpha, l1_ratio = float(grids[i_l1, i_alpha]), float(l1_ratios[i_l1])
        refit_task = task.subtask("refit")
        model = self._refit(X, y, sample_weight, alpha, l1_ratio)
        refit_task.end()

        fitted = {
            "alpha_": alpha,
            "l1_ratio_": l1_ratio,
            "alpha_min_": float(grids[i_l1, i_min]),
            "alpha_1se_": float(grids[i_l1, i_1se]),
            # As ElasticNetCV: one row per l1_ratio when the grids differ, else one grid.
            "alphas_": grids[0].copy() if len(l1_ratios) == 1 or not isinstance(alphas, int)
            else grids,
            "l1_ratios_": l1_ratios,
            "cv_scores_": scores,
            "cv_results_": grid_results(l1_ratios, grids, scores),
            "coef_": model.coef_,
            "intercept_": model.intercept_,
            "n_iter_": model.n_iter_,
            **self._fitted_target_attributes(model),
        }
        set_fitted_attributes(self, record, **fitted)
        task.end()
        return self

    def _check_weighted_targets(self, targets, sample_weight):
        """Hook for the classifier: every class needs a positive total weight."""

    def _fitted_target_attributes(self, model):
        return {}

    def _fold_scores(self, X, targets, sample_weight, train, test, alphas, l1_ratio, scorer,
                     task=None):
        """Scores (n_alphas,) on the test rows of the path fitted on the training rows.

        ``task``: the path's task of scikit-learn's callbacks, or None. The path is one solver
        call, so each alpha's subtask is reported once it is done, with the model at that
        alpha; the tasks of a fold carry its validation rows, on which a ``ScoringMonitor``
        scores each alpha (the values of ``cv_scores_`` when it uses the same scoring).
        """
        if task is not None:
            task.begin()
        sw_train = None if sample_weight is None else sample_weight[train]
        sw_test = None if sample_weight is None else sample_weight[test]
        coefs, intercepts = self._path(X[train], self._path_targets(targets, train), sw_train,
                                       alphas, l1_ratio)
        if task is not None:
            for i in range(len(alphas)):
                task.subtask("alpha").end(lambda i=i: {
                    key: value for key, value in
                    vars(self._model_at(X, targets, coefs[..., i], intercepts[..., i])).items()
                    if key.endswith("_")
                })
            task.end()
        X_test, test_targets = X[test], self._take(targets, test)
        if scorer is None:
            return self._default_scores(X_test, test_targets, sw_test, coefs, intercepts)
        y_test = self._scoring_targets(test_targets)
        kwargs = {} if sw_test is None else {"sample_weight": sw_test}
        return np.array([
            scorer(self._model_at(X, targets, coefs[..., i], intercepts[..., i]), X_test,
                   y_test, **kwargs)
            for i in range(len(alphas))
        ])

    def _check_fold(self, targets, sample_weight, train, fold):
        """Reject a training fold the path cannot be fitted on."""
        if sample_weight is not None and not sample_weight[train].sum() > 0:
            raise ValueError(f"The training rows of fold {fold} have zero total sample weight.")

    def _path_targets(self, targets, train):
        return self._take(targets, train)

    def _scoring_targets(self, targets):
        return targets

    @staticmethod
    def _take(targets, rows):
        return targets[rows]

    def _refit_kwargs(self):
        return dict(fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

