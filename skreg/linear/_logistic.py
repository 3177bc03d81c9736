"""Logistic regression with the Elastic Net penalty on the regressor's scale."""

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skreg.linear._base import PENALTY_PARAMETER_CONSTRAINTS, check_sample_weight
from skreg.utils._callbacks import CallbackSupportMixin, FitTask


class ElasticNetClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression with L1, L2 or Elastic Net penalty, on the regressor's scale.

    Binary and multiclass (multinomial) logistic regression whose penalty has the same
    meaning as in :class:`ElasticNetRegressor`: ``alpha`` multiplies the penalty added to the
    *mean* log-loss (see Notes). It is solved by scikit-learn's
    :class:`~sklearn.linear_model.LogisticRegression` with ``C = 1 / (n_samples * alpha)``
    and a solver chosen from ``l1_ratio``:

    - ``l1_ratio=0`` or ``alpha=0``: ``"lbfgs"`` (smooth problem);
    - ``l1_ratio > 0``: ``"saga"``, the one solver that handles L1 and Elastic Net penalties
      for multiclass problems without penalizing the intercept.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the penalty, a non-negative float. ``alpha=0`` is unpenalized logistic
        regression (on separable data its weights grow until ``max_iter``).

    l1_ratio : float, default=0.5
        Share of the L1 term in the penalty, in [0, 1]: 1 is L1, 0 is L2.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. ``"balanced"`` weighs each
        class inversely to its frequency, ``n_samples / (n_classes * np.bincount(y))``.

    max_iter : int, default=1000
        Maximum number of iterations: L-BFGS iterations, or SAGA epochs over the data.

    tol : float, default=1e-4
        Stopping tolerance: on the projected gradient for L-BFGS, on the relative change of the
        weights over an epoch for SAGA.

    random_state : int, RandomState instance or None, default=None
        Seed of the order in which SAGA visits the samples.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for a binary problem (the weights of ``classes_[1]``).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts, zeros when ``fit_intercept=False``.

    n_iter_ : ndarray of shape (1,)
        Iterations (L-BFGS) or epochs (SAGA) run.

    solver_ : str
        The LogisticRegression solver used, ``"lbfgs"`` or ``"saga"``.

    estimator_ : LogisticRegression
        The fitted scikit-learn estimator that solved the problem.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    ElasticNetRegressor : Least squares with the same penalty scale.
    sklearn.linear_model.LogisticRegression : The solver; its ``C`` equals
        ``1 / (n_samples * alpha)``.

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

    On this scale the default ``alpha=1.0`` is strong: at ``W = 0`` the gradient of the mean
    log-loss in ``w_j`` is at most ``0.5 * std(x_j)`` for two classes, so with standardized
    features every weight is exactly zero once ``alpha * l1_ratio >= 0.5``. Useful values
    are usually between 1e-4 and 1e-1; tune ``alpha`` (``LogisticRegression``'s default
    ``C=1`` is ``alpha = 1 / n``).

    SAGA needs standardized features to converge in a reasonable number of epochs, and on
    sparse ``X`` with ``fit_intercept=True`` it updates the intercept with a damped step, so
    the L1 and Elastic Net fits may need more than the default ``max_iter``: a
    ``ConvergenceWarning`` says so.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(), ElasticNetClassifier(alpha=0.05, l1_ratio=1.0, random_state=0)
    ... ).fit(X, y)
    >>> clf = model[-1]
    >>> clf.solver_, int((clf.coef_ != 0).sum()), X.shape[1]
    ('saga', 4, 30)
    >>> round(model.score(X, y), 2)
    0.96
    >>> model.predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **PENALTY_PARAMETER_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=1e-4,
        random_state=None,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _solver_name(self):
        return "lbfgs" if self.alpha == 0 or self.l1_ratio == 0 else "saga"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the penalized logistic regression.

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
        solver_name = self._solver_name()
        X_input, y_input, sample_weight_input = X, y, sample_weight
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=solver_name != "saga",
        )
        # LogisticRegression checks the targets (class labels, at least two classes) itself;
        # doing it here as well would cost a few percent of an L-BFGS fit.
        sample_weight, weight_sum = check_sample_weight(sample_weight, X)
        if self.class_weight is not None:
            check_classification_targets(y)
            classes = np.unique(y)
            # Passed to LogisticRegression as sample weights, so that C sees their total.
            weight_of_class = compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sample_weight
            )
            class_weights = weight_of_class[np.searchsorted(classes, y)]
            if sample_weight is not None:
                class_weights *= sample_weight
            sample_weight, weight_sum = check_sample_weight(class_weights, X)

        penalized = self.alpha > 0
        solver = LogisticRegression(
            C=1.0 / (weight_sum * self.alpha) if penalized else np.inf,
            # LogisticRegression reads the penalty type from l1_ratio (and C=inf for none);
            # a fractional l1_ratio without a penalty would make it warn.
            l1_ratio=self.l1_ratio if penalized else 0.0,
            solver=solver_name,
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )
        # The solver runs as one call: the fit is one task for sklearn's callbacks.
        task = FitTask(self, X_input, y_input, sample_weight_input)
        # X is already validated and checked finite: skip the solver's second pass.
        with config_context(assume_finite=True):
            solver.fit(X, y, sample_weight=sample_weight)

        self.estimator_ = solver
        self.solver_ = solver_name
        self.classes_ = solver.classes_
        self.coef_ = solver.coef_
        self.intercept_ = solver.intercept_
        self.n_iter_ = solver.n_iter_
        task.end()
        return self

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
