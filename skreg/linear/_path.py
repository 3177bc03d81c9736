"""Regularization paths on skreg's one alpha / l1_ratio scale, for least squares and logistic loss.

The regression path is scikit-learn's compiled coordinate descent (``enet_path``), fed the
centred and sample-weighted data exactly as :class:`~sklearn.linear_model.ElasticNetCV` feeds
it, so that the same grid gives the same coefficients. The logistic path warm-starts skreg's
proximal Newton solver (``_logistic_solver``) from one alpha to the next.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.linear_model import ElasticNet
from sklearn.linear_model import enet_path as _sklearn_enet_path
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.sparsefuncs import mean_variance_axis

from skreg.linear._base import check_sample_weight
from skreg.linear._logistic_solver import _logistic_enet_solve
from skreg.utils._sklearn_private import (
    Interval,
    StrOptions,
    pre_fit,
    private_solvers,
    validate_params,
)

# With l1_ratio=0 and features whose variances underflow to zero (X * 1e-170), the grid has no
# scale but the L1 rule's: glmnet's ridge convention then computes alpha_max as for this small
# l1_ratio.
RIDGE_GRID_L1_RATIO = 1e-3

# Curvature of each loss at zero weights, the factor by which it multiplies a feature's variance
# in the Hessian: 1 for the squared error, at most 1/4 (p (1 - p) at p = 1/2) for the log-loss.
LOSS_CURVATURE = {"squared_error": 1.0, "log_loss": 0.25}


def check_alphas(alphas):
    """An int (the grid size) or a 1-D array of positive finite alphas, sorted decreasing."""
    if isinstance(alphas, Integral) and not isinstance(alphas, bool):
        if alphas < 1:
            raise ValueError(f"alphas must be a positive int or an array, got {alphas}.")
        return int(alphas)
    values = np.asarray(alphas, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D array, got shape {values.shape}.")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"alphas must be positive and finite, got {values.tolist()}.")
    return np.sort(values)[::-1]


def check_l1_ratios(l1_ratio):
    """A float or a non-empty 1-D array of floats in [0, 1], as a 1-D array."""
    values = np.atleast_1d(np.asarray(l1_ratio, dtype=float))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"l1_ratio must be a float or a non-empty list, got {l1_ratio!r}.")
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(f"l1_ratio values must lie in [0, 1], got {values.tolist()}.")
    return values


def largest_feature_variance(X, sample_weight, fit_intercept):
    """The largest (weighted) variance of a column of X; its mean square without intercept."""
    if sparse.issparse(X):
        mean, variance = mean_variance_axis(X, axis=0, weights=sample_weight)
    else:
        mean = np.average(X, axis=0, weights=sample_weight)
        variance = np.average((X - mean) ** 2, axis=0, weights=sample_weight)
    return float(np.max(variance if fit_intercept else variance + mean**2, initial=0.0))


def alpha_grid(gradient_at_zero, weight_sum, l1_ratio, n_alphas, eps, l2_scale=0.0):
    """Log grid of ``n_alphas`` alphas, decreasing, covering the range of both penalties.

    ``gradient_at_zero`` is ``X^T s (residual at w=0)``, an array of shape (n_features,) or
    (n_features, n_outputs), with the intercept at its optimum for ``w=0``. ``l2_scale`` is
    the loss's curvature times the largest feature variance (:func:`largest_feature_variance`).

    Each penalty has its own range, and the grid runs from the smaller of their tops to the
    smaller of their bottoms:

    * the L1 part keeps every weight at zero exactly when ``alpha * l1_ratio >= max |gradient|
      / sum(s)``, that alpha ``a1``; its range is ``[eps * a1, a1]`` (glmnet's and
      scikit-learn's grid, which this is for ``l1_ratio=1``). ``a1`` scales as the target.
    * the L2 part shrinks a feature of variance ``v`` by ``v / (v + alpha (1 - l1_ratio))``,
      whatever the target; with ``a2 = l2_scale / (1 - l1_ratio)``, its range is ``[eps * a2,
      a2 / eps]``, from a shrinkage of the largest-variance feature by ``1 - eps`` (nearly
      none) to one by ``eps`` (a nearly constant model).

    Above either top the model is (nearly) constant; below both bottoms neither penalty does
    much. For ``l1_ratio=0`` the grid does not depend on ``y``, so ``y * c`` gives the same
    grid, the same choice and weights times ``c``.
    """
    largest = np.max(np.abs(gradient_at_zero), initial=0.0)
    if not largest > 0:
        # Nothing to fit (a constant target): every alpha gives zero weights. scikit-learn's
        # _alpha_grid returns its floor, 1e-15, whenever alpha_max is below it; here a small
        # but nonzero alpha_max is kept, because it is what tiny features give (X * 1e-150),
        # and the floor would give them all-zero weights.
        return np.full(n_alphas, np.finfo(np.float64).resolution)
    top = bottom = np.inf
    if l1_ratio > 0:
        top = largest / (weight_sum * l1_ratio)
        bottom = top * eps
    if l1_ratio < 1 and l2_scale > 0:
        l2_alpha = l2_scale / (1.0 - l1_ratio)
        top, bottom = min(top, l2_alpha / eps), min(bottom, l2_alpha * eps)
    if not np.isfinite(top):
        top = largest / (weight_sum * RIDGE_GRID_L1_RATIO)
        bottom = top * eps
    return np.geomspace(top, bottom, num=n_alphas)


def float_type_for_path(X):
    """X in a float type in which its Gram matrix ``X^T X`` does not overflow.

    Float32 features of about 1e18 and beyond (``sqrt(float32 max / n_samples)``) overflow the
    coordinate descent's products: they are solved in float64 (the weights are then float64).
    Float64 features whose squares overflow float64 get an error asking to rescale.
    """
    values = X.data if sparse.issparse(X) else X
    top = float(np.abs(values).max(initial=0.0))
    margin = 16.0 * max(X.shape[0], 1)
    if top > np.sqrt(np.finfo(np.float64).max / margin):
        raise ValueError(
            f"X has values of magnitude up to {top:.3g}: their squares summed over the "
            f"samples overflow float64. Rescale X (for example with "
            "sklearn.preprocessing.StandardScaler)."
        )
    if X.dtype == np.float32 and top > np.sqrt(np.finfo(np.float32).max / margin):
        return X.astype(np.float64)
    return X


def squared_error_gradient_at_zero(X, y, sample_weight, fit_intercept):
    """``X^T s (y - y_mean)``; centring X is unnecessary, ``s (y - y_mean)`` sums to zero.

    Exactly zero for a constant target (``y - y_mean`` would hold the mean's rounding).
    """
    if fit_intercept and np.all(y == y[:1]):
        return np.zeros(X.shape[1])
    residual = y - np.average(y, weights=sample_weight) if fit_intercept else y
    if sample_weight is not None:
        residual = residual * sample_weight
    return safe_sparse_dot(X.T, residual)


def logistic_gradient_at_zero(X, y_encoded, n_classes, sample_weight, fit_intercept):
    """``X^T s (p - Y)`` at ``W=0``: p the (weighted) class frequencies, or uniform."""
    onehot = np.eye(n_classes)[y_encoded]
    if n_classes == 2:  # one weight vector, for classes_[1]
        onehot = onehot[:, 1:]
    if fit_intercept:
        probabilities = np.average(onehot, axis=0, weights=sample_weight)
    else:
        probabilities = np.full(onehot.shape[1], 0.5 if n_classes == 2 else 1.0 / n_classes)
    residual = probabilities - onehot
    if sample_weight is not None:
        residual = residual * sample_weight[:, None]
    return safe_sparse_dot(X.T, residual)


def squared_error_path(X, y, sample_weight, alphas, l1_ratio, *, fit_intercept, tol, max_iter,
                       copy_X=True):
    """Coefficients (n_features, n_alphas) and intercepts (n_alphas,) of least squares.

    ``X`` is validated (float, CSC or dense), ``y`` 1-D, ``alphas`` decreasing. Mirrors
    scikit-learn's ``_path_residuals``: sample weights rescaled to sum to ``n_samples`` (the
    objective's weighted mean does not change), centring and weighting by ``_pre_fit``, then
    ``enet_path``, whose coordinate descent warm-starts each alpha from the previous one.
    """
    n_samples = X.shape[0]
    if sample_weight is not None:
        sample_weight = sample_weight * (n_samples / sample_weight.sum())
    if not private_solvers():
        return _public_squared_error_path(X, y, sample_weight, alphas, l1_ratio,
                                          fit_intercept=fit_intercept, tol=tol,
                                          max_iter=max_iter)
    if copy_X and not sparse.issparse(X):
        X = X.copy(order="F")  # _pre_fit centres dense X in place
    X, y, X_offset, y_offset, X_scale, precompute, Xy = pre_fit(
        X, y, None, "auto", fit_intercept=fit_intercept, copy=False, sample_weight=sample_weight
    )
    if l1_ratio == 0 and not sparse.issparse(X):
        # Ridge has a closed form for the whole path from one SVD of the centred, weighted X:
        # exact, as ElasticNetRegressor's Cholesky solve, where coordinate descent stops at tol.
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        shrink = s[:, None] / (s[:, None] ** 2 + n_samples * alphas[None, :])
        coefs = Vt.T @ (shrink * (U.T @ y)[:, None])
    else:
        X = check_array(X, accept_sparse="csc", dtype=X.dtype.type, order="F")
        _, coefs, _ = _sklearn_enet_path(
            X, y, l1_ratio=l1_ratio, alphas=alphas, precompute=precompute, Xy=Xy,
            X_offset=X_offset, X_scale=X_scale, sample_weight=sample_weight, copy_X=False,
            check_input=False, tol=tol, max_iter=max_iter,
        )
    intercepts = y_offset - X_offset @ coefs
    return coefs, np.asarray(intercepts, dtype=coefs.dtype)


def _public_squared_error_path(X, y, sample_weight, alphas, l1_ratio, *, fit_intercept, tol,
                               max_iter):
    """:func:`squared_error_path` through the public ``ElasticNet``, warm-started along the
    alphas: the same objective and stopping rule, for a scikit-learn whose private API skreg
    cannot use (see ``skreg.utils._sklearn_private``). Slower: every alpha validates and
    centres X again.
    """
    model = ElasticNet(l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=tol,
                       max_iter=max_iter, warm_start=True, precompute=False)
    coefs = np.empty((X.shape[1], len(alphas)), dtype=X.dtype)
    intercepts = np.empty(len(alphas), dtype=X.dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*l1_ratio <= 0.01.*")  # ridge: ok here
        for i, alpha in enumerate(alphas):
            model.set_params(alpha=alpha).fit(X, y, sample_weight=sample_weight)
            coefs[:, i], intercepts[i] = model.coef_, model.intercept_
    return coefs, intercepts


def logistic_path(X, y_encoded, n_classes, sample_weight, alphas, l1_ratio, *, fit_intercept,
                  tol, max_iter):
    """Coefficients (n_rows, n_features, n_alphas) and intercepts (n_rows, n_alphas).

    ``n_rows`` is 1 for two classes (the weights of class 1), ``n_classes`` otherwise. Each
    alpha's solve starts from the previous solution (warm start along the path).
    """
    # The solver works in float64 on CSC or dense X: convert once for the whole path.
    X = sparse.csc_matrix(X, dtype=np.float64) if sparse.issparse(X) else np.asarray(
        X, dtype=np.float64)
    n_rows = 1 if n_classes == 2 else n_classes
    coefs = np.empty((n_rows, X.shape[1], len(alphas)))
    intercepts = np.zeros((n_rows, len(alphas)))
    coef, intercept = None, None
    for i, alpha in enumerate(alphas):
        coef, intercept, _ = _logistic_enet_solve(
            X, y_encoded, sample_weight, alpha=alpha, l1_ratio=l1_ratio,
            fit_intercept=fit_intercept, coef_init=coef, intercept_init=intercept, tol=tol,
            max_iter=max_iter, n_classes=n_classes,
        )
        coefs[..., i] = coef
        intercepts[:, i] = intercept
    if not np.any(coefs[..., -1]):
        _warn_if_zero_is_not_optimal(X, y_encoded, n_classes, sample_weight, alphas[-1],
                                     l1_ratio, fit_intercept)
    return coefs, intercepts


def _warn_if_zero_is_not_optimal(X, y_encoded, n_classes, sample_weight, alpha, l1_ratio,
                                 fit_intercept):
    """Warn when the solver left every weight at zero where the optimum has nonzero weights.

    Zero weights are optimal exactly when ``alpha * l1_ratio >= max |gradient at zero| /
    sum(s)``. Below half that threshold they are not, and all-zero weights can only mean that
    the solver lost its precision: this happens to features of extreme scale (``X * 1e-150``),
    where the logistic solver's steps vanish in rounding.
    """
    gradient = logistic_gradient_at_zero(X, y_encoded, n_classes, sample_weight, fit_intercept)
    weight_sum = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    threshold = np.max(np.abs(gradient), initial=0.0) / weight_sum
    if alpha * l1_ratio < 0.5 * threshold:
        std = np.sqrt(largest_feature_variance(X, sample_weight, fit_intercept))
        warnings.warn(
            f"Every weight is zero at alpha={alpha:.3g}, where the optimality conditions "
            "require nonzero weights: the logistic solver lost its precision, as it does on "
            f"features of extreme scale (the largest feature standard deviation is {std:.3g})."
            " Standardize X (for example with sklearn.preprocessing.StandardScaler).",
            UserWarning,
            stacklevel=3,
        )


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "loss": [StrOptions({"squared_error", "log_loss"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "sample_weight": ["array-like", None],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def enet_path(X, y, *, loss="squared_error", l1_ratio=0.5, alphas=100, eps=1e-3,
              sample_weight=None, fit_intercept=True, tol=1e-4, max_iter=1000):
    """Elastic Net coefficients along a decreasing grid of alphas, for either loss.

    Read more in the :ref:`User Guide <linear-cv>`.

    The objective at each alpha is the one of :class:`ElasticNetRegressor`
    (``loss="squared_error"``) or :class:`ElasticNetClassifier` (``loss="log_loss"``), with
    ``alpha`` and ``l1_ratio`` on one scale::

        mean_loss(w, b) + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2

    where the mean loss is ``1 / (2 sum(s)) * sum_i s_i (y_i - x_i w - b)^2`` or
    ``1 / sum(s) * sum_i s_i logloss(y_i, x_i w + b)`` (``s`` the sample weights, ones by
    default). Each alpha's solve starts from the previous solution (warm start), so the whole
    path costs little more than its last, least penalized, point.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.

    y : array-like of shape (n_samples,)
        Targets: real values for ``"squared_error"``, class labels for ``"log_loss"``.

    loss : {"squared_error", "log_loss"}, default="squared_error"
        Least squares (Elastic Net regression) or logistic loss (binary, or multinomial for
        more than two classes).

    l1_ratio : float, default=0.5
        Share of the L1 term in the penalty, in [0, 1].

    alphas : int or array-like of shape (n_alphas,), default=100
        Number of alphas on the automatic log grid (see Notes), or the alphas themselves
        (positive; sorted decreasing). For ``l1_ratio=1`` the grid runs from ``alpha_max``,
        the smallest alpha at which every weight is zero, down to ``eps * alpha_max``, as
        scikit-learn's.

    eps : float, default=1e-3
        How weak the penalty is at the small end of the automatic grid: the L1 part at
        ``eps`` times its ``alpha_max``, the L2 part shrinking the largest-variance feature
        by a factor ``1 - eps``.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples in the mean loss.

    fit_intercept : bool, default=True
        Whether to fit an unpenalized intercept.

    tol : float, default=1e-4
        Tolerance of the solver: coordinate descent's duality gap for least squares (relative
        to ``||y||^2 / n``); for the log-loss, the largest violation of the optimality (KKT)
        conditions, relative to the loss gradient at zero weights.

    max_iter : int, default=1000
        Maximum iterations per alpha: coordinate-descent epochs for least squares, outer
        (proximal Newton) iterations for the log-loss.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The alphas, decreasing.

    coefs : ndarray of shape (n_features, n_alphas) or (n_rows, n_features, n_alphas)
        Weights at each alpha; for ``"log_loss"`` one row for two classes (the weights of the
        larger label) and one row per class (labels sorted) otherwise.

    intercepts : ndarray of shape (n_alphas,) or (n_rows, n_alphas)
        Intercepts at each alpha.

    Notes
    -----
    The automatic grid covers the range of both penalties. The L1 part keeps every weight at
    zero once ``alpha * l1_ratio >= max_j |x_j^T s r| / sum(s)`` (``r`` the residual of the
    intercept-only model), that alpha ``a1``, and scales with the target's units; its range
    is ``[eps * a1, a1]``, the grid of glmnet and scikit-learn (Friedman, Hastie and
    Tibshirani (2010), "Regularization paths for generalized linear models via coordinate
    descent", J. Stat. Softw. 33(1)). The L2 part shrinks a feature of variance ``v`` by
    ``v / (v + alpha (1 - l1_ratio))`` whatever the target (Hoerl and Kennard (1970), "Ridge
    regression: biased estimation for nonorthogonal problems", Technometrics 12(1)): with
    ``a2 = c * v_max / (1 - l1_ratio)``, ``v_max`` the largest feature variance and ``c``
    the loss's curvature at zero weights (1 for least squares, 1/4 for the log-loss), its
    range is ``[eps * a2, a2 / eps]``, from a shrinkage by ``1 - eps`` to one by about
    ``eps``. The grid runs on a log scale from the smaller of the two tops (above either,
    the model is nearly constant) to the smaller of the two bottoms (below both, neither
    penalty does much). So the Lasso keeps scikit-learn's grid, and the ridge grid
    (``l1_ratio=0``) depends on ``X`` only: a target ``y * c`` gives the same alphas and
    weights times ``c``. glmnet gets that invariance by standardizing ``y``, which changes
    its objective for ``0 < l1_ratio < 1``; here the objective stays the one above, whose
    penalty for such l1_ratios is not invariant to the units of ``y``, and the grid covers
    whichever penalty matters at their scale.

    Float32 X whose squares overflow float32 (values of about 1e18 and beyond) is solved in
    float64. When the log-loss path ends with every weight at zero where the optimality
    conditions require nonzero weights (the solver lost its precision, as on features of
    extreme scale), a ``UserWarning`` asks to standardize X.

    See Also
    --------
    ElasticNetRegressorCV, ElasticNetClassifierCV : Choose alpha and l1_ratio on this path by
        cross-validation.
    sklearn.linear_model.enet_path : The least-squares path it runs underneath.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg.linear import enet_path
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> alphas, coefs, intercepts = enet_path(X, y, l1_ratio=1.0, alphas=5)
    >>> coefs.shape, intercepts.shape
    ((10, 5), (5,))
    >>> (coefs != 0).sum(axis=0).tolist()  # weights enter as alpha decreases
    [0, 4, 7, 9, 10]
    """
    X = float_type_for_path(check_array(X, accept_sparse="csc", dtype=[np.float64, np.float32],
                                        accept_large_sparse=False))
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    sample_weight, weight_sum = check_sample_weight(sample_weight, X)
    alphas = check_alphas(alphas)
    if loss == "squared_error":
        y = check_array(y, ensure_2d=False, dtype=X.dtype, input_name="y")
        if isinstance(alphas, int):
            gradient = squared_error_gradient_at_zero(X, y, sample_weight, fit_intercept)
            alphas = alpha_grid(gradient, weight_sum, l1_ratio, alphas, eps, l2_scale=(
                LOSS_CURVATURE[loss]
                * largest_feature_variance(X, sample_weight, fit_intercept)))
        coefs, intercepts = squared_error_path(
            X, y, sample_weight, alphas, l1_ratio, fit_intercept=fit_intercept, tol=tol,
            max_iter=max_iter,
        )
        return alphas, coefs, intercepts
    check_classification_targets(y)
    y_encoded = LabelEncoder().fit_transform(y)
    n_classes = int(y_encoded.max()) + 1
    if n_classes < 2:
        raise ValueError("loss='log_loss' needs samples of at least 2 classes; y has one.")
    if isinstance(alphas, int):
        gradient = logistic_gradient_at_zero(X, y_encoded, n_classes, sample_weight,
                                             fit_intercept)
        alphas = alpha_grid(gradient, weight_sum, l1_ratio, alphas, eps, l2_scale=(
            LOSS_CURVATURE[loss] * largest_feature_variance(X, sample_weight, fit_intercept)))
    coefs, intercepts = logistic_path(
        X, y_encoded, n_classes,
        sample_weight, alphas, l1_ratio, fit_intercept=fit_intercept, tol=tol,
        max_iter=max_iter,
    )
    return alphas, coefs, intercepts
