"""Logistic regression with the Elastic Net penalty on the regressor's scale."""

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skreg.linear._base import (
    PENALTY_PARAMETER_CONSTRAINTS,
    check_sample_weight,
    set_fitted_attributes,
    validate_fit_data,
)
from skreg.linear._logistic_solver import _logistic_enet_solve
from skreg.utils._callbacks import CallbackSupportMixin, FitTask
from skreg.utils._doc_link import DocLinkMixin
from skreg.utils._sklearn_private import StrOptions, _fit_context


class ElasticNetClassifier(CallbackSupportMixin, DocLinkMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression with L1, L2 or Elastic Net penalty, on the regressor's scale.

    Read more in the :ref:`User Guide <linear>`.

    Binary and multiclass (multinomial) logistic regression whose penalty has the same
    meaning as in :class:`ElasticNetRegressor`: ``alpha`` multiplies the penalty added to the
    *mean* log-loss (see Notes). Two solvers, chosen from ``l1_ratio``:

    - ``l1_ratio > 0`` (L1 and Elastic Net): a proximal Newton solver in the manner of
      glmnet. An outer Newton (IRLS) loop replaces the log-loss by its quadratic expansion;
      the resulting weighted Elastic-Net least-squares problem is solved by scikit-learn's
      compiled coordinate descent on a working set of features, and a line search makes
      every step decrease the objective. Multiclass problems take one Newton step over all
      classes (the full softmax Hessian on the working set) while it is small, one per
      class otherwise.
    - ``l1_ratio=0`` or ``alpha=0`` (smooth problem): scikit-learn's
      :class:`~sklearn.linear_model.LogisticRegression` with ``solver="lbfgs"`` and
      ``C = 1 / (n_samples * alpha)``.

    Parameters
    ----------
    alpha : float, default=0.01
        Strength of the penalty, a non-negative float. ``alpha=0`` is unpenalized logistic
        regression (on separable data its weights grow until ``max_iter``). The default is a
        light penalty for standardized features (see Notes).

    l1_ratio : float, default=0.5
        Share of the L1 term in the penalty, in [0, 1]: 1 is L1, 0 is L2.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. ``"balanced"`` weighs each
        class inversely to its frequency, ``n_samples / (n_classes * np.bincount(y))``.

    max_iter : int, default=1000
        Maximum number of iterations: outer Newton iterations (one sweep over the classes
        each) when ``l1_ratio > 0``, L-BFGS iterations otherwise. A ``ConvergenceWarning``
        says when they were not enough.

    tol : float, default=1e-5
        Stopping tolerance. With ``l1_ratio > 0``: the fit stops once no optimality (KKT)
        condition of the objective is violated by more than ``tol`` times the largest
        gradient of the mean log-loss in a weight at the null model (all weights zero,
        intercepts fitted), which is ``l1_ratio * alpha_max``, ``alpha_max`` being the
        smallest ``alpha`` whose solution has no non-zero weight. The condition of a weight
        ``w`` with gradient ``g`` of the smooth part is ``|g + alpha * l1_ratio * sign(w)| =
        0`` if ``w != 0`` and ``|g| <= alpha * l1_ratio`` otherwise; an intercept's is a zero
        gradient. With ``l1_ratio=0``: L-BFGS's tolerance on the projected gradient. The
        default is tight enough that fits end within a relative ``1e-5`` of the optimal
        objective (standardized breast cancer, wine, digits, ``make_classification``
        problems), where ``1e-4`` could stop ``2e-4`` above it on nearly separable classes.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for a binary problem (the weights of ``classes_[1]``).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts, zeros when ``fit_intercept=False``. Multiclass intercepts sum to zero
        (softmax is unchanged by a common shift).

    n_iter_ : ndarray of shape (1,)
        Newton or L-BFGS iterations run.

    solver_ : str
        The solver used, ``"newton-cd"`` or ``"lbfgs"``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    ElasticNetRegressor : Least squares with the same penalty scale.
    sklearn.linear_model.LogisticRegression : The same objective with
        ``C = 1 / (n_samples * alpha)``.

    Notes
    -----
    With ``K`` classes and ``n`` samples the estimator minimises over the weights ``W`` and
    intercepts ``b``::

        1 / n * sum_i logloss(y_i, softmax(W x_i + b))
            + alpha * l1_ratio * ||W||_1
            + 0.5 * alpha * (1 - l1_ratio) * ||W||_F^2

    (for two classes, one weight vector and the sigmoid). With sample weights ``s`` (times
    the class weights), the mean log-loss becomes the weighted mean
    ``1 / sum(s) * sum_i s_i logloss_i``, so integer weights act as repeated rows.

    :class:`~sklearn.linear_model.LogisticRegression` minimises instead ``C * sum_i s_i
    logloss_i + l1_ratio * ||W||_1 + 0.5 * (1 - l1_ratio) * ||W||_F^2``: a sum, not a mean,
    with ``C`` as an inverse strength. Dividing by ``C * sum(s)`` shows the two agree for
    ``C = 1 / (sum(s) * alpha)`` (``sum(s) = n`` without weights), and ``C = inf`` for
    ``alpha=0``. Hence one ``alpha`` grid serves this classifier and
    :class:`ElasticNetRegressor`, and ``alpha`` keeps its meaning when ``n`` changes, as in
    cross-validation folds of different sizes.

    On this scale, at ``W = 0`` the gradient of the mean log-loss in ``w_j`` is at most
    ``0.5 * std(x_j)`` for two classes, so with standardized features every weight is zero
    once ``alpha * l1_ratio >= 0.5``. The default ``alpha=0.01`` (with ``l1_ratio=0.5``) is
    a light penalty there: on standardized breast cancer, wine and a 200-feature
    ``make_classification`` problem its 5-fold accuracy is within a point of
    ``LogisticRegression()``'s. Tune ``alpha`` for your data (``LogisticRegression``'s
    default ``C=1`` is ``alpha = 1 / n``).

    The proximal Newton solver follows Friedman, Hastie & Tibshirani (2010), "Regularization
    paths for generalized linear models via coordinate descent", J. Stat. Softw. 33(1), with
    the line search of Lee, Sun & Saunders (2014), "Proximal Newton-type methods for
    minimizing composite functions", SIAM J. Optim. 24(3). It is compiled code throughout
    (no just-in-time compilation), so the first fit in a new process costs what later
    ones do.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(), ElasticNetClassifier(alpha=0.05, l1_ratio=1.0)
    ... ).fit(X, y)
    >>> clf = model[-1]
    >>> clf.solver_, int((clf.coef_ != 0).sum()), X.shape[1]
    ('newton-cd', 4, 30)
    >>> round(model.score(X, y), 2)
    0.96
    >>> model.predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in PENALTY_PARAMETER_CONSTRAINTS.items() if k != "random_state"},
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        alpha=0.01,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=1e-5,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the penalized logistic regression.

        A fit that raises leaves a fitted estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the mean log-loss.

        Returns
        -------
        self : ElasticNetClassifier
            Fitted estimator.
        """
        smooth = self.alpha == 0 or self.l1_ratio == 0
        X_input, y_input, sample_weight_input = X, y, sample_weight
        X, y, record = validate_fit_data(
            self,
            X,
            y,
            accept_sparse="csr" if smooth else ["csr", "csc"],
            # The coordinate-descent routines of the L1 path run in float64.
            dtype=[np.float64, np.float32] if smooth else np.float64,
            order="C" if smooth else None,
        )
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        sample_weight, weight_sum = check_sample_weight(sample_weight, X)
        if self.class_weight is not None:
            weight_of_class = compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sample_weight
            )
            class_weights = weight_of_class[y_encoded]
            if sample_weight is not None:
                class_weights *= sample_weight
            sample_weight, weight_sum = check_sample_weight(class_weights, X)
        if sample_weight is not None:
            weighted = np.bincount(y_encoded, weights=sample_weight, minlength=classes.size) > 0
            if weighted.sum() < 2:
                raise ValueError(
                    "This solver needs samples of at least 2 classes with a positive weight, "
                    f"but only class {classes[weighted][0]} has any."
                    if weighted.any() else "The weights of all samples are zero."
                )

        # For sklearn's callbacks the fit is one task, with one subtask per proximal Newton
        # iteration (scikit-learn's L-BFGS runs as one call).
        task = FitTask(self, X_input, y_input, sample_weight_input,
                       max_subtasks=0 if smooth else self.max_iter)
        if smooth:
            coef, intercept, n_iter = self._fit_lbfgs(X, y, sample_weight, weight_sum)
            solver_name = "lbfgs"
        else:
            coef, intercept, n_iter = _logistic_enet_solve(
                X,
                y_encoded,
                sample_weight,
                alpha=self.alpha,
                l1_ratio=self.l1_ratio,
                fit_intercept=self.fit_intercept,
                tol=self.tol,
                max_iter=self.max_iter,
                n_classes=classes.size,
                callback=_iteration_tasks(task, record, classes) if task.active else None,
            )
            n_iter = np.array([n_iter])
            solver_name = "newton-cd"
        set_fitted_attributes(
            self,
            record,
            classes_=classes,
            coef_=coef,
            intercept_=intercept,
            n_iter_=n_iter,
            solver_=solver_name,
        )
        task.end()
        return self

    def _fit_lbfgs(self, X, y, sample_weight, weight_sum):
        """L2 or unpenalized fit by scikit-learn's L-BFGS: (coef, intercept, n_iter)."""
        penalized = self.alpha > 0
        solver = LogisticRegression(
            C=1.0 / (weight_sum * self.alpha) if penalized else np.inf,
            # LogisticRegression reads the penalty type from l1_ratio (and C=inf for none).
            l1_ratio=0.0,
            solver="lbfgs",
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        # X is already validated and checked finite: skip the solver's second pass.
        with config_context(assume_finite=True):
            solver.fit(X, y, sample_weight=sample_weight)
        return solver.coef_, solver.intercept_, solver.n_iter_

    def decision_function(self, X):
        """Linear scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For a binary problem, the log-odds of ``classes_[1]``; otherwise the logits of
            every class.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, columns in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _iteration_tasks(task, record, classes):
    """Report each solver iteration as a subtask, with the model as it stands after it."""

    def report(coef, intercept):
        fitted = {"n_features_in_": record.n_features_in_, "classes_": classes,
                  **{k: v for k, v in vars(record).items() if k == "feature_names_in_"}}
        return task.subtask("newton-iteration").end(
            lambda: {**fitted, "coef_": coef.copy(), "intercept_": intercept.copy()}
        )

    return report
