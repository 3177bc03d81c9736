"""ElasticNetRegressorCV and ElasticNetClassifierCV: alpha and l1_ratio chosen along paths."""

from collections import namedtuple

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets

from skreg.linear._cv_base import CV_PARAMETER_CONSTRAINTS, ElasticNetCVMixin
from skreg.linear._elastic_net import ElasticNetRegressor, check_squared_error_scale
from skreg.linear._logistic import ElasticNetClassifier
from skreg.linear._path import (
    logistic_gradient_at_zero,
    logistic_path,
    squared_error_gradient_at_zero,
    squared_error_path,
)
from skreg.utils._sklearn_private import _fit_context

_SHARED_PARAMETERS = """    alphas : int or array-like of shape (n_alphas,), default=100
        Number of alphas on the automatic log grid of each l1_ratio, computed on all the
        data (see Notes); or the alphas themselves (positive, finite; tried in decreasing
        order). For ``l1_ratio=1`` the grid runs from ``alpha_max``, the smallest alpha at
        which every weight is zero, down to ``eps * alpha_max``, as scikit-learn's.

    l1_ratio : float or array-like of shape (n_l1_ratios,), default=0.5
        Share of the L1 term in the penalty, each in [0, 1] (1 is L1, 0 is L2). A list is
        searched together with the alphas.

    eps : float, default=1e-3
        How weak the penalty is at the small end of the automatic grid: the L1 part at
        ``eps`` times its ``alpha_max``, the L2 part shrinking the largest-variance feature
        by a factor ``1 - eps``.

    cv : int, cross-validation generator or iterable, default=None
        Folds, as in scikit-learn: ``None`` for 5 folds, an int for that many ({cv_kind}), a
        splitter, or an iterable of (train, test) index arrays. At least 2 folds.

    scoring : str, callable or None, default=None
        Score of the held-out rows (higher is better): a scikit-learn scorer name or
        callable; ``None`` is {default_scoring}. Test rows are weighted by ``sample_weight``.

    alpha_rule : {{"min", "1se"}}, default="min"
        ``"min"``: the (l1_ratio, alpha) of the best mean score over folds. ``"1se"``
        (glmnet's ``lambda.1se``): on that l1_ratio, the largest alpha whose mean score is
        within one standard error of the best, the standard error being
        ``std(fold scores at the best alpha, ddof=1) / sqrt(n_folds)``; a sparser, more
        strongly regularized model whose score is statistically indistinguishable.

    n_jobs : int, default=None
        Number of (l1_ratio, fold) paths computed in parallel by joblib, in threads that
        share ``X`` without copies (the compiled coordinate descent releases the GIL; the
        Python steps of the logistic solver hold it). ``None`` means 1, ``-1`` all processors.

    fit_intercept : bool, default=True
        Whether to fit an unpenalized intercept.

    tol : float, default=1e-4
        Tolerance of the solver along every path{refit_tol}.
"""

_REFIT_SAME_TOL = " and in the final refit"
_REFIT_TENTH_TOL = """; the final refit on all the data runs
        at ``tol / 10``: the paths only rank the alphas, while the coefficients of the model
        returned are used and compared with other tools' (it ends within a relative 1e-5 of
        the optimum of its objective, as :class:`ElasticNetClassifier` at its default
        ``tol=1e-5``)"""

_NOTES = """
    Every estimator of ``skreg.linear``, with or without cross-validation, minimises one
    objective, with ``s`` the sample weights (ones by default)::

        mean_loss(w, b) + alpha * l1_ratio * ||w||_1
                        + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2

    where ``mean_loss`` is the weighted mean ``1 / (2 sum(s)) * sum_i s_i (y_i - x_i w - b)^2``
    for :class:`ElasticNetRegressor` and :class:`ElasticNetRegressorCV`, and
    ``1 / sum(s) * sum_i s_i logloss(y_i, softmax(W x_i + b))`` (the sigmoid for two classes)
    for :class:`ElasticNetClassifier` and :class:`ElasticNetClassifierCV`. The intercept is
    not penalized. Since the loss is a mean, not a sum, ``alpha`` keeps its meaning on
    training folds of any size, and one alpha grid serves both losses. In scikit-learn's
    terms: :class:`~sklearn.linear_model.ElasticNet` has the same ``alpha``;
    :class:`~sklearn.linear_model.Ridge` has ``alpha_ridge = sum(s) * alpha`` (a sum of
    squares without the 1/2); :class:`~sklearn.linear_model.LogisticRegression` has
    ``C = 1 / (sum(s) * alpha)``.

    Each fold fits the whole path, each alpha warm-started from the previous, larger one, as
    glmnet's ``cv.glmnet`` and scikit-learn's ``ElasticNetCV`` do; the chosen point is then
    refitted on all the data, so ``coef_`` equals the non-CV estimator's fit at ``alpha_`` and
    ``l1_ratio_``. Friedman, Hastie and Tibshirani (2010), "Regularization paths for
    generalized linear models via coordinate descent", J. Stat. Softw. 33(1).

    The automatic grid covers the range of both penalties (as :func:`enet_path`'s, where the
    rule is spelled out): the L1 part's, from the alpha that zeroes every weight down to
    ``eps`` times it, which scales with the target's units, and the L2 part's, which
    depends on the features' variance only, from a shrinkage of the largest-variance feature
    by about ``eps`` down to one by ``1 - eps``; the grid runs from the smaller of the two
    tops to the smaller of the two bottoms. The Lasso's grid is scikit-learn's, and ridge's
    does not depend on ``y``: ``y * c`` gives the same ``alpha_`` and ``coef_ * c``. Float32
    X whose squares overflow float32 (values of about 1e18 and beyond) is fitted in float64.
"""

_ATTRIBUTES = """
    alpha_ : float
        The chosen alpha (by ``alpha_rule``).

    l1_ratio_ : float
        The chosen l1_ratio.

    alpha_min_, alpha_1se_ : float
        The alphas the two rules choose on the l1_ratio ``l1_ratio_``.

    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratios, n_alphas)
        The grid, decreasing; one row per l1_ratio when ``alphas`` is an int and several
        l1_ratios are searched (their grids differ), as in ElasticNetCV.

    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The l1_ratios searched.

    cv_scores_ : ndarray of shape (n_l1_ratios, n_alphas, n_folds)
        Held-out score of every (l1_ratio, alpha) on every fold (higher is better).

    cv_results_ : dict of ndarrays
        The same scores in GridSearchCV's layout, one entry per (l1_ratio, alpha):
        ``param_l1_ratio``, ``param_alpha``, ``params``, ``split{k}_test_score``,
        ``mean_test_score``, ``std_test_score`` (ddof=0) and ``rank_test_score``.

    n_iter_ : int or ndarray
        Iterations of the final refit.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
"""


class ElasticNetRegressorCV(RegressorMixin, ElasticNetCVMixin):
    __doc__ = f"""Elastic Net regression with alpha and l1_ratio chosen by cross-validation.

    Read more in the :ref:`User Guide <linear-cv>`.

    Each fold runs the warm-started coordinate-descent path of scikit-learn's ``enet_path``
    (on the data as :class:`~sklearn.linear_model.ElasticNetCV` prepares them), so with the
    same grid, folds and default scoring it chooses the same alpha as ``ElasticNetCV``, and
    adds ``l1_ratio=0`` (an exact ridge path), an automatic grid that also covers the L2
    penalty's range for ``l1_ratio < 1`` (ElasticNetCV's follows the L1 part only), any
    scorer, and the ``"1se"`` rule.

    Parameters
    ----------
{_SHARED_PARAMETERS.format(cv_kind="KFold", default_scoring="the negated weighted mean "
                           "squared error, ElasticNetCV's criterion", refit_tol=_REFIT_SAME_TOL)}
    max_iter : int, default=1000
        Maximum coordinate-descent epochs per alpha.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Weights refitted on all the data at ``alpha_`` and ``l1_ratio_``.

    intercept_ : float
        Intercept of that refit.
{_ATTRIBUTES}
    See Also
    --------
    ElasticNetRegressor : The estimator at one alpha.
    ElasticNetClassifierCV : The same for the logistic loss.
    enet_path : The path for one l1_ratio.
    RegularizationPathDisplay : Plot the path and the cross-validated scores.
    sklearn.linear_model.ElasticNetCV : Same objective and default criterion, ``l1_ratio > 0``.

    Notes
    -----{_NOTES}
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = ElasticNetRegressorCV(l1_ratio=[0.5, 1.0], alphas=20, cv=5).fit(X, y)
    >>> model.l1_ratio_, round(model.alpha_, 3), model.cv_scores_.shape
    (1.0, 0.065, (2, 20, 5))
    >>> sparse_model = ElasticNetRegressorCV(l1_ratio=1.0, alpha_rule="1se").fit(X, y)
    >>> sparse_model.alpha_ > sparse_model.alpha_min_
    True
    """

    _parameter_constraints: dict = dict(CV_PARAMETER_CONSTRAINTS)
    _loss = "squared_error"

    def __init__(self, *, alphas=100, l1_ratio=0.5, eps=1e-3, cv=None, scoring=None,
                 alpha_rule="min", n_jobs=None, fit_intercept=True, tol=1e-4, max_iter=1000):
        self.alphas = alphas
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.alpha_rule = alpha_rule
        self.n_jobs = n_jobs
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose alpha and l1_ratio by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Target values.

        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative weights in the mean squared error, of training and test rows.

        Returns
        -------
        self : ElasticNetRegressorCV
            Fitted estimator.
        """
        return self._fit_cv(X, y, sample_weight)

    predict = ElasticNetRegressor.predict

    def _validate_X_kwargs(self):
        return dict(accept_sparse="csc", dtype=[np.float64, np.float32], y_numeric=True,
                    accept_large_sparse=False)

    def _prepare_targets(self, y, X):
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y").astype(
            np.float64, copy=False)
        check_squared_error_scale(y, X.dtype)  # the path runs in X's dtype
        return y

    def _gradient_at_zero(self, X, y, sample_weight):
        return squared_error_gradient_at_zero(X, y, sample_weight, self.fit_intercept)

    def _path(self, X, y, sample_weight, alphas, l1_ratio):
        return squared_error_path(
            X, y.astype(X.dtype, copy=False), sample_weight, alphas, l1_ratio,
            fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
            copy_X=False,  # X[train] is a copy already
        )

    def _default_scores(self, X, y, sample_weight, coefs, intercepts):
        residuals = safe_sparse_dot(X, coefs, dense_output=True) + intercepts - y[:, None]
        return -np.average(residuals**2, axis=0, weights=sample_weight)

    def _model_at(self, X, y, coef=None, intercept=None):
        model = ElasticNetRegressor()
        model.coef_, model.intercept_, model.n_features_in_ = coef, intercept, X.shape[1]
        return model

    def _refit(self, X, y, sample_weight, alpha, l1_ratio):
        model = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, **self._refit_kwargs())
        return model.fit(X, y, sample_weight=sample_weight)


# Class labels, their indices in classes_, and classes_.
_Labels = namedtuple("_Labels", ["y", "encoded", "classes"])


class ElasticNetClassifierCV(ClassifierMixin, ElasticNetCVMixin):
    __doc__ = f"""Elastic Net logistic regression, alpha and l1_ratio chosen by cross-validation.

    Read more in the :ref:`User Guide <linear-cv>`.

    Binary or multinomial. Each fold fits the whole warm-started path of skreg's Elastic Net
    logistic solver; the chosen point is refitted on all the data by
    :class:`ElasticNetClassifier`, on the same alpha scale as the regressor.

    Parameters
    ----------
{_SHARED_PARAMETERS.format(cv_kind="StratifiedKFold", default_scoring="the negated weighted "
                           "mean log-loss of the predicted probabilities (scikit-learn's "
                           "``'neg_log_loss'``, computed without its clipping): smooth in "
                           "alpha, unlike accuracy, which ties over long stretches of the "
                           "path. ``LogisticRegressionCV`` defaults to accuracy until 1.11, "
                           "then to ``'neg_log_loss'``",
                           refit_tol=_REFIT_TENTH_TOL)}
    max_iter : int, default=1000
        Maximum outer (proximal Newton) iterations of the logistic solver per alpha, and of
        the final refit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights refitted on all the data at ``alpha_`` and ``l1_ratio_``; one row (the
        weights of ``classes_[1]``) for two classes.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts of that refit.
{_ATTRIBUTES}
    See Also
    --------
    ElasticNetClassifier : The estimator at one alpha.
    ElasticNetRegressorCV : The same for least squares.
    enet_path : The path for one l1_ratio, with ``loss="log_loss"``.
    RegularizationPathDisplay : Plot the path and the cross-validated scores.
    sklearn.linear_model.LogisticRegressionCV : Searches ``Cs = 1 / (n_train * alpha)``.

    Notes
    -----{_NOTES}
    Every class must appear, with a positive total weight, in every training fold
    (``StratifiedKFold`` ensures it when each class has at least ``n_splits`` samples).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = ElasticNetClassifierCV(l1_ratio=1.0, alphas=10, cv=3).fit(X, y)
    >>> model.cv_scores_.shape, model.coef_.shape
    ((1, 10, 3), (1, 30))
    >>> bool(model.score(X, y) > 0.95)
    True
    """

    _parameter_constraints: dict = dict(CV_PARAMETER_CONSTRAINTS)
    _loss = "log_loss"

    def __init__(self, *, alphas=100, l1_ratio=0.5, eps=1e-3, cv=None, scoring=None,
                 alpha_rule="min", n_jobs=None, fit_intercept=True, tol=1e-4, max_iter=1000):
        self.alphas = alphas
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.alpha_rule = alpha_rule
        self.n_jobs = n_jobs
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose alpha and l1_ratio by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative weights in the mean log-loss, of training and test rows.

        Returns
        -------
        self : ElasticNetClassifierCV
            Fitted estimator.
        """
        return self._fit_cv(X, y, sample_weight)

    decision_function = ElasticNetClassifier.decision_function
    predict_proba = ElasticNetClassifier.predict_proba
    predict_log_proba = ElasticNetClassifier.predict_log_proba
    predict = ElasticNetClassifier.predict

    def _validate_X_kwargs(self):
        return dict(accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                    accept_large_sparse=False)

    def _prepare_targets(self, y, X):
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                "ElasticNetClassifierCV needs samples of at least 2 classes in the data; "
                f"got one class: {encoder.classes_[0]!r}."
            )
        return _Labels(y, encoder.transform(y), encoder.classes_)

    def _check_weighted_targets(self, targets, sample_weight):
        if sample_weight is None:
            return
        totals = np.bincount(targets.encoded, weights=sample_weight,
                             minlength=len(targets.classes))
        if np.any(totals <= 0):
            raise ValueError(
                "Every class needs a positive total sample weight; class(es) "
                f"{targets.classes[totals <= 0].tolist()} have none."
            )

    def _check_fold(self, targets, sample_weight, train, fold):
        super()._check_fold(targets, sample_weight, train, fold)
        weights = None if sample_weight is None else sample_weight[train]
        totals = np.bincount(targets.encoded[train], weights=weights,
                             minlength=len(targets.classes))
        if np.any(totals <= 0):
            raise ValueError(
                f"The training rows of fold {fold} lack class(es) "
                f"{targets.classes[totals <= 0].tolist()} (or give them zero weight); every "
                "class must appear in every training fold (use StratifiedKFold)."
            )

    def _path_targets(self, targets, train):
        return targets.encoded[train], len(targets.classes)

    @staticmethod
    def _take(targets, rows):
        return _Labels(targets.y[rows], targets.encoded[rows], targets.classes)

    def _scoring_targets(self, targets):
        return targets.y

    def _gradient_at_zero(self, X, targets, sample_weight):
        return logistic_gradient_at_zero(X, targets.encoded, len(targets.classes),
                                         sample_weight, self.fit_intercept)

    def _refit_kwargs(self):
        # At tol=1e-4 the refit stopped 1.7e-5 (relative) above the optimum of its objective
        # on standardized wine (L1); at tol / 10 it is within 1e-5, for the cost of one fit.
        return {**super()._refit_kwargs(), "tol": self.tol / 10}

    def _path(self, X, train_targets, sample_weight, alphas, l1_ratio):
        y_encoded, n_classes = train_targets
        return logistic_path(
            X, y_encoded, n_classes, sample_weight, alphas, l1_ratio,
            fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
        )

    def _default_scores(self, X, targets, sample_weight, coefs, intercepts):
        n_rows, n_features, n_alphas = coefs.shape
        logits = safe_sparse_dot(X, coefs.transpose(1, 0, 2).reshape(n_features, -1),
                                 dense_output=True).reshape(-1, n_rows, n_alphas)
        logits += intercepts
        rows = np.arange(logits.shape[0])
        if n_rows == 1:
            sign = np.where(targets.encoded == 1, 1.0, -1.0)
            log_likelihood = log_expit(sign[:, None] * logits[:, 0, :])
        else:
            log_likelihood = log_softmax(logits, axis=1)[rows, targets.encoded, :]
        return np.average(log_likelihood, axis=0, weights=sample_weight)

    def _model_at(self, X, targets, coef=None, intercept=None):
        model = ElasticNetClassifier()
        model.classes_, model.n_features_in_ = targets.classes, X.shape[1]
        model.coef_, model.intercept_ = coef, intercept
        return model

    def _refit(self, X, y, sample_weight, alpha, l1_ratio):
        model = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, **self._refit_kwargs())
        return model.fit(X, y, sample_weight=sample_weight)

    def _fitted_target_attributes(self, model):
        return {"classes_": model.classes_}
