"""Least squares with an Elastic Net penalty on one scale for every ``l1_ratio``."""

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.utils import check_array
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from skreg.linear._base import (
    PENALTY_PARAMETER_CONSTRAINTS,
    check_sample_weight,
    is_private_copy,
    set_fitted_attributes,
    validate_fit_data,
)
from skreg.linear._path import float_type_for_path
from skreg.utils._callbacks import CallbackSupportMixin, FitTask
from skreg.utils._doc_link import DocLinkMixin
from skreg.utils._sklearn_private import StrOptions, _fit_context


def check_squared_error_scale(y, dtype):
    """Raise if the squared error of ``y`` overflows in ``dtype`` (every solver would then
    return garbage, e.g. all-zero weights, without a word)."""
    dtype = np.result_type(y, dtype)
    y_magnitude = float(np.abs(y).max(initial=0.0))
    if y_magnitude > np.sqrt(np.finfo(dtype).max / max(len(y), 1)):
        raise ValueError(
            f"y has values of magnitude up to {y_magnitude:.3g}, too large for the squared "
            f"error in {dtype}: rescale y."
        )


class ElasticNetRegressor(CallbackSupportMixin, DocLinkMixin, RegressorMixin, BaseEstimator):
    """Linear regression with L1, L2 or Elastic Net penalty, all on one scale.

    Read more in the :ref:`User Guide <linear>`.

    One objective for every ``l1_ratio`` in [0, 1] (see Notes), so that a grid search over
    ``{"l1_ratio": [0, 0.5, 1], "alpha": [...]}`` compares Ridge, Elastic Net and Lasso with
    the same meaning of ``alpha``. Each case is solved by the scikit-learn estimator made for it:

    - ``l1_ratio=1``: :class:`~sklearn.linear_model.Lasso` (coordinate descent);
    - ``0 < l1_ratio < 1``: :class:`~sklearn.linear_model.ElasticNet` (coordinate descent);
    - ``l1_ratio=0``: :class:`~sklearn.linear_model.Ridge` with its ``alpha`` rescaled to
      ``n_samples * alpha``, solved exactly (Cholesky) on dense ``X`` and by conjugate gradient
      on sparse ``X``, without coordinate descent;
    - ``alpha=0``: ordinary least squares, :class:`~sklearn.linear_model.LinearRegression`.

    Parameters
    ----------
    alpha : float, default=0.01
        Strength of the penalty, a non-negative float. ``alpha=0`` is unpenalized least squares.
        The default is a light penalty for standardized features and target (see Notes).

    l1_ratio : float, default=0.5
        Share of the L1 term in the penalty, in [0, 1]: 1 is the Lasso, 0 is ridge regression.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept. If False, the data are assumed centered.

    max_iter : int, default=1000
        Maximum number of iterations of the iterative solvers: coordinate-descent epochs when
        ``l1_ratio > 0``, conjugate-gradient steps for ridge on sparse ``X``.

    tol : float, default=1e-4
        Tolerance of the iterative solvers: the duality-gap tolerance of coordinate descent
        (relative to ``||y||^2 / n_samples``), the residual tolerance of the conjugate-gradient
        and LSQR solves used on sparse ``X``. Direct solves on dense ``X`` ignore it.

    copy_X : bool, default=True
        If False, ``X`` may be overwritten by centering. When validation had to copy ``X``
        anyway (a dtype or memory-order conversion), that copy is reused whatever this says.

    selection : {"cyclic", "random"}, default="cyclic"
        Order in which coordinate descent updates the coefficients.

    random_state : int, RandomState instance or None, default=None
        Seed of the random coordinate order when ``selection="random"``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients ``w``.

    intercept_ : float or ndarray of shape (n_targets,)
        Intercept, 0.0 when ``fit_intercept=False``.

    n_iter_ : int or ndarray of shape (n_targets,)
        Iterations run by the solver (per target for a 2-D ``y``); 1 where the solver reports
        no count: the direct solves, and Ridge's conjugate gradient on sparse ``X``.

    estimator_ : estimator
        The fitted scikit-learn estimator that solved the problem.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    ElasticNetClassifier : Logistic regression with the same penalty scale.
    sklearn.linear_model.ElasticNet : The same objective for ``0 < l1_ratio <= 1``.
    sklearn.linear_model.Ridge : Sum-of-squares ridge, ``alpha_ridge = n_samples * alpha``.

    Notes
    -----
    With ``n`` samples, the estimator minimises over ``w`` and the intercept ``b``::

        1 / (2 n) * ||y - X w - b||_2^2
            + alpha * l1_ratio * ||w||_1
            + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2

    With ``sample_weight`` ``s``, the mean squared error becomes the weighted mean
    ``1 / (2 sum(s)) * sum_i s_i (y_i - x_i w - b)^2``, so integer weights act as repeated rows.

    This is scikit-learn's :class:`~sklearn.linear_model.ElasticNet` objective, extended to
    ``l1_ratio=0``, where ElasticNet would run coordinate descent on a problem with a closed
    form. :class:`~sklearn.linear_model.Ridge` minimises ``||y - X w - b||_2^2 + alpha_ridge *
    ||w||_2^2`` (a sum, not a mean, and no 1/2), so ``l1_ratio=0`` here equals
    ``Ridge(alpha=n * alpha)``, or ``Ridge(alpha=sum(s) * alpha)`` with sample weights.

    The penalty is compared with a loss in the units of ``y`` squared: at ``w = 0`` the
    gradient of the loss in ``w_j`` is ``cov(x_j, y)``, so with standardized features a weight
    is zero whenever ``alpha * l1_ratio >= |cov(x_j, y)|``, and ``alpha_max =
    max_j |cov(x_j, y)| / l1_ratio``. The default ``alpha=0.01`` is a light penalty when ``y``
    is standardized too (scaled by ``std(y)`` otherwise): on standardized diabetes data its
    5-fold R^2 equals least squares' to three digits. Tune ``alpha`` for your data.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> lasso = ElasticNetRegressor(alpha=10.0, l1_ratio=1.0).fit(X, y)
    >>> ridge = ElasticNetRegressor(alpha=10.0, l1_ratio=0.0).fit(X, y)
    >>> int((lasso.coef_ != 0).sum()), int((ridge.coef_ != 0).sum()), X.shape[1]
    (4, 10, 10)
    >>> type(lasso.estimator_).__name__, type(ridge.estimator_).__name__
    ('Lasso', 'Ridge')
    >>> round(ridge.estimator_.alpha / (len(y) * ridge.alpha), 6)
    1.0
    """

    _parameter_constraints: dict = {
        **PENALTY_PARAMETER_CONSTRAINTS,
        "copy_X": ["boolean"],
        "selection": [StrOptions({"cyclic", "random"})],
    }

    def __init__(
        self,
        alpha=0.01,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _uses_coordinate_descent(self):
        return self.alpha > 0 and self.l1_ratio > 0

    def _make_solver(self, weight_sum, copy_X):
        """The scikit-learn estimator minimising this objective, given sum(s) (or n)."""
        if self.alpha == 0:
            return LinearRegression(fit_intercept=self.fit_intercept, copy_X=copy_X, tol=self.tol)
        if self.l1_ratio == 0:
            return Ridge(
                alpha=weight_sum * self.alpha,
                fit_intercept=self.fit_intercept,
                copy_X=copy_X,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.random_state,
            )
        coordinate_descent = dict(
            alpha=self.alpha,
            fit_intercept=self.fit_intercept,
            copy_X=copy_X,
            max_iter=self.max_iter,
            tol=self.tol,
            selection=self.selection,
            random_state=self.random_state,
        )
        if self.l1_ratio == 1:
            return Lasso(**coordinate_descent)
        return ElasticNet(l1_ratio=self.l1_ratio, **coordinate_descent)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the penalized linear model.

        A fit that raises leaves a fitted estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the mean squared error.

        Returns
        -------
        self : ElasticNetRegressor
            Fitted estimator.
        """
        X_input = X
        coordinate_descent = self._uses_coordinate_descent()
        # Validate once, in the layout the solver wants (Fortran order and CSC for coordinate
        # descent), so that the solver below neither converts nor copies again.
        X, y, record = validate_fit_data(
            self,
            X,
            y,
            accept_sparse="csc" if coordinate_descent else ["csr", "csc", "coo"],
            dtype=[np.float64, np.float32],
            order="F" if coordinate_descent else None,
            force_writeable=True,
            accept_large_sparse=not coordinate_descent,
            multi_output=True,
            y_numeric=True,
        )
        X = float_type_for_path(X)  # float32 features whose squares overflow: in float64
        if coordinate_descent:
            # check_input=False below skips this conversion inside the solver.
            y = check_array(y, dtype=X.dtype, order="F", ensure_2d=False, input_name="y")
        check_squared_error_scale(y, X.dtype)
        # The compiled solvers run as one call: the fit is one task for sklearn's callbacks.
        task = FitTask(self, X_input, y, sample_weight)
        sample_weight, weight_sum = check_sample_weight(sample_weight, X)
        solver = self._make_solver(
            weight_sum, copy_X=self.copy_X and not is_private_copy(X, X_input)
        )
        # X and y are already validated and checked finite: skip the solver's second pass.
        with config_context(assume_finite=True):
            if coordinate_descent:
                solver.fit(X, y, sample_weight=sample_weight, check_input=False)
            else:
                solver.fit(X, y, sample_weight=sample_weight)

        set_fitted_attributes(
            self,
            record,
            estimator_=solver,
            coef_=solver.coef_,
            intercept_=solver.intercept_,
            n_iter_=_iterations_run(getattr(solver, "n_iter_", None), y),
        )
        task.end()
        return self

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


def _iterations_run(n_iter, y):
    """Solver iterations as an int (one target) or an int array (one per target).

    Solvers that report no count (Cholesky, least squares, Ridge's sparse_cg) count as one.
    """
    n_targets = 1 if y.ndim == 1 else y.shape[1]
    if n_iter is None:
        n_iter = np.ones(n_targets, dtype=int)
    n_iter = np.atleast_1d(np.asarray(n_iter, dtype=int))
    return int(n_iter[0]) if y.ndim == 1 else n_iter
