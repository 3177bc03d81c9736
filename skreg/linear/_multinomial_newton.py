"""The proximal Newton model of the multinomial log-loss over all classes at once.

Class-by-class Newton steps (glmnet's, one diagonal block of the Hessian at a time)
converge linearly: the classes are coupled through the softmax, and the coupling is what
slows the last digits (17 iterations per decade of the optimality conditions on
standardized wine). This module builds the full Hessian of the multinomial log-loss in the
weights of a working set and all intercepts (Lee, Sun & Saunders 2014, "Proximal
Newton-type methods for minimizing composite functions", SIAM J. Optim. 24(3)), profiles
the intercepts out exactly and solves the penalised quadratic model by scikit-learn's
compiled Gram coordinate descent, which converges superlinearly near the solution.

With scores ``eta = X W^T + b``, probabilities ``P = softmax(eta)`` and normalised sample
weights ``sw``, the Hessian of the weighted mean log-loss in ``(W, b)`` is
``sum_i sw_i (diag(P_i) - P_i P_i^T) (x) [x_i, 1] [x_i, 1]^T``. Written
``diag(P_i) - P_i P_i^T = (I - P_i 1^T) diag(P_i) (I - 1 P_i^T)``, it is the Gram matrix of
a least-squares problem with ``n K`` rows, which gives the routine the ``||y||^2`` its
duality gap needs without forming those rows.
"""

import numpy as np
from scipy import sparse

from skreg.linear._weighted_enet import GRAM_MAX_FEATURES, _coordinate_descent
from skreg.utils._sklearn_private import enet_coordinate_descent_gram

# Largest n * K * m of the coupling matrix built below (float64: 80 MB).
MAX_COUPLING_ENTRIES = 10_000_000


def fits_full_newton(n_samples, n_classes, n_columns):
    """Whether the all-class model of a working set is small enough to build."""
    size = n_classes * n_columns
    return size <= GRAM_MAX_FEATURES and n_samples * size <= MAX_COUPLING_ENTRIES


def multinomial_newton_model(X_ws, sw, probabilities, residual, coef_ws, intercept,
                             l1, l2, fit_intercept, kkt_target, rng):
    """Minimiser ``(W, b)`` of the penalised second-order model at ``(coef_ws, intercept)``.

    Parameters
    ----------
    X_ws : ndarray or sparse matrix of shape (n_samples, m)
        Columns of the working set.
    sw : ndarray of shape (n_samples,)
        Normalised sample weights.
    probabilities : ndarray of shape (n_samples, K)
        Softmax probabilities at the current iterate.
    residual : ndarray of shape (n_samples, K)
        ``sw * (probabilities - onehot)``, the gradient of the loss in the scores.
    coef_ws, intercept : ndarray of shape (K, m) and (K,)
        Current iterate.
    l1, l2 : float
        Penalty strengths.
    fit_intercept : bool
        Whether the intercepts move.
    kkt_target : float
        Coordinate descent stops once its duality gap bounds the model's optimality
        conditions by this.
    rng : RandomState
        Required by the routine (cyclic order: unused).

    Returns
    -------
    coef : ndarray of shape (K, m)
    intercept : ndarray of shape (K,)
    """
    X = X_ws.toarray() if sparse.issparse(X_ws) else X_ws
    n_classes, n_columns = coef_ws.shape
    hessian, linear, target_norm2, intercept_model = quadratic_model(
        X, sw, probabilities, residual, coef_ws, intercept, fit_intercept
    )
    hessian = np.ascontiguousarray(hessian)
    target_norm2 = max(target_norm2, 0.0)
    target = np.array([np.sqrt(target_norm2)])
    gap_target = kkt_target**2 / (2.0 * max(hessian.diagonal().max() + l2, 1e-300))
    w = _coordinate_descent(
        lambda w, epochs, tol: enet_coordinate_descent_gram(
            w, l1, l2, hessian, linear, target, epochs, tol, rng, 0, 0, 1
        ),
        coef_ws.ravel().copy(), target_norm2, gap_target, 0.0,
    )
    coef = w.reshape(n_classes, n_columns)
    if not fit_intercept:
        return coef, intercept
    inverse_bb, hessian_bw, linear_b = intercept_model
    return coef, inverse_bb @ (linear_b - hessian_bw @ w)


def quadratic_model(X, sw, probabilities, residual, coef_ws, intercept, fit_intercept):
    """``(Q, q, ||y||^2, intercept terms)`` of the model ``1/2 u'Qu - q'u`` in the weights.

    With ``fit_intercept`` the intercepts are profiled out; the intercept terms
    ``(pinv(H_bb), H_bw, q_b)`` give them back as ``pinv(H_bb) (q_b - H_bw u)``.
    """
    n_samples, n_columns = X.shape
    n_classes = probabilities.shape[1]
    size = n_classes * n_columns
    weighted = sw[:, None] * probabilities
    root = np.sqrt(sw)[:, None] * probabilities
    # Unknowns ordered class-major: index k * m + j is W[k, j].
    coupling = (root[:, :, None] * X[:, None, :]).reshape(n_samples, size)
    hessian = -(coupling.T @ coupling)
    for k in range(n_classes):
        block = slice(k * n_columns, (k + 1) * n_columns)
        scaled = X * np.sqrt(weighted[:, k])[:, None]
        hessian[block, block] += scaled.T @ scaled
    gradient = (residual.T @ X).ravel()
    u0 = coef_ws.ravel()
    linear = hessian @ u0 - gradient
    # ||y||^2 of the least-squares form: ||X_v u0 + z0||^2 with z0 the rows' working
    # residuals, -sqrt(sw / P) * (P - Y), whose squared norm is sum sw (P - Y)^2 / P.
    onehot_gap = residual / np.maximum(sw[:, None], 1e-300)
    target_norm2 = (u0 @ (hessian @ u0) - 2.0 * u0 @ gradient
                    + float(np.sum(sw[:, None] * onehot_gap**2
                                   / np.maximum(probabilities, 1e-300))))
    if fit_intercept:
        # Intercept blocks of the Hessian, profiled out through their pseudo-inverse
        # (softmax is unchanged by a common shift of the intercepts).
        hessian_bb = np.diag(weighted.sum(axis=0)) - root.T @ root
        hessian_bw = -(root.T @ coupling)
        for k in range(n_classes):
            hessian_bw[k, k * n_columns:(k + 1) * n_columns] += weighted[:, k] @ X
        gradient_b = residual.sum(axis=0)
        linear_b = hessian_bb @ intercept + hessian_bw @ u0 - gradient_b
        linear += hessian_bw.T @ intercept
        # The intercepts' share of ||X_v u0 + z0||^2, u0 now (W, b).
        target_norm2 += float(intercept @ (hessian_bb @ intercept + 2.0 * hessian_bw @ u0)
                              - 2.0 * intercept @ gradient_b)
        # Its null space is exactly the constant vector: invert on the complement as
        # (H + 11'/K)^-1 - 11'/K, which a rank cut-off (pinv) can get wrong when another
        # eigenvalue is small (nearly separable classes).
        ones = np.full((n_classes, n_classes), 1.0 / n_classes)
        inverse_bb = np.linalg.inv(hessian_bb + ones) - ones
        cross = hessian_bw.T @ inverse_bb
        hessian -= cross @ hessian_bw
        linear -= cross @ linear_b
        target_norm2 -= float(linear_b @ inverse_bb @ linear_b)
    intercept_model = (inverse_bb, hessian_bw, linear_b) if fit_intercept else None
    return hessian, linear, target_norm2, intercept_model
