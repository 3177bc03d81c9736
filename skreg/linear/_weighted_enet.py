"""Weighted Elastic-Net least squares with an unpenalized intercept, by compiled coordinate descent.

The inner problem of each proximal Newton step of :mod:`skreg.linear._logistic_solver`::

    min_{w, b}  1/2 * sum_i v_i (z_i - x_i w - b)^2 + l1 * ||w||_1 + l2 / 2 * ||w||_2^2

solved by scikit-learn's coordinate-descent routines (``sklearn.linear_model._cd_fast``),
which have no intercept and no per-sample weights in the dense case. Three layouts:

- Gram (up to ``GRAM_MAX_FEATURES`` columns, dense or sparse): the weighted, centred Gram
  matrix ``Q = X_c' V X_c`` and ``q = X_c' V z_c``; the intercept is profiled out exactly by
  the weighted centring, and each epoch costs ``O(m^2)`` whatever ``n``.
- dense, more columns: rows scaled by ``sqrt(v)`` after weighted centring (the same trick
  as scikit-learn's weighted ``ElasticNet``).
- sparse, more columns: the sparse routine takes the weights itself; centring a sparse
  matrix inside it would cost ``O(n)`` per coordinate update, so the intercept is instead
  updated in closed form between coordinate-descent calls (exact block minimisation).
"""

import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from skreg.utils._sklearn_private import (  # the compiled routines, or public fallbacks
    enet_coordinate_descent,
    enet_coordinate_descent_gram,
    sparse_enet_coordinate_descent,
)

GRAM_MAX_FEATURES = 1000
# Coordinate-descent epochs per call; calls repeat until the duality gap is small enough.
_EPOCHS_PER_CALL = 20
_MAX_EPOCHS = 5_000
# The routines compute the gap from differences of terms of the size of ||y||^2: asking for
# a smaller gap relative to it would run epochs to no effect.
_GAP_FLOOR = 1e-13
_MAX_INTERCEPT_ROUNDS = 20


def _weighted_gram(X_ws, v, fit_intercept):
    """Gram matrix of the columns weighted by ``v``, centred when fitting an intercept."""
    if sparse.issparse(X_ws):
        gram = (X_ws.T @ X_ws.multiply(v[:, None]).tocsc()).toarray()
        weighted_mean = np.asarray(X_ws.T @ v).ravel()
    else:
        root = np.sqrt(v)
        scaled = X_ws * root[:, None]
        # A.T @ A on one buffer is a symmetric rank-k update (syrk), half a general product.
        gram = scaled.T @ scaled
        weighted_mean = scaled.T @ root
    v_sum = v.sum()
    if fit_intercept and v_sum > 0:
        weighted_mean /= v_sum
        gram -= v_sum * np.outer(weighted_mean, weighted_mean)
    return np.ascontiguousarray(gram), weighted_mean


def _coordinate_descent(routine, w, target_norm2, gap_target):
    """Run ``routine(w, epochs, relative_tol)`` until its duality gap is below ``gap_target``.

    The routine's relative tolerance multiplies ``target_norm2`` (its ``||y||^2``).
    """
    target_norm2 = target_norm2 if target_norm2 > 0 else 1.0
    gap_target = max(gap_target, _GAP_FLOOR * target_norm2)
    relative_tol = gap_target / target_norm2
    epochs = 0
    with warnings.catch_warnings():
        # Each call runs a few epochs; this loop, not the routine, decides when to stop.
        warnings.simplefilter("ignore", ConvergenceWarning)
        while epochs < _MAX_EPOCHS:
            w, gap, _, n_epochs = routine(w, _EPOCHS_PER_CALL, relative_tol)
            epochs += max(n_epochs, 1)
            if gap <= gap_target:
                break
    return w


def solve_weighted_enet(X_ws, v, response, w, intercept, l1, l2, fit_intercept, kkt_target, rng):
    """Approximate minimiser ``(w, b)`` of the weighted problem in the module docstring.

    ``w`` and ``intercept`` are the warm start. Coordinate descent stops once the duality gap
    is at most ``kkt_target^2 / (2 L)``, ``L`` the largest coordinate curvature: a gap that
    small bounds the violation of the problem's optimality conditions by ``kkt_target``.
    """
    v_sum = v.sum()
    fit_intercept = fit_intercept and v_sum > 0
    if not X_ws.shape[1]:
        return w, (v @ response) / v_sum if fit_intercept else 0.0
    z_mean = (v @ response) / v_sum if fit_intercept else 0.0
    centred = response - z_mean

    if X_ws.shape[1] <= GRAM_MAX_FEATURES:
        gram, x_mean = _weighted_gram(X_ws, v, fit_intercept)
        linear = np.asarray(X_ws.T @ (v * centred)).ravel()
        if fit_intercept:
            linear -= x_mean * (v @ centred)
        target_norm2 = float(v @ centred**2)
        # The Gram routine only reads ||y||^2 from its y argument.
        target = np.array([np.sqrt(max(target_norm2, 0.0))])
        gap_target = kkt_target**2 / (2.0 * max(gram.diagonal().max() + l2, 1e-300))
        w = _coordinate_descent(
            lambda w, epochs, tol: enet_coordinate_descent_gram(
                w, l1, l2, gram, linear, target, epochs, tol, rng, 0, 0, 1
            ),
            w, target_norm2, gap_target,
        )
        return w, (z_mean - x_mean @ w if fit_intercept else 0.0)

    if not sparse.issparse(X_ws):
        root = np.sqrt(v)
        x_mean = (v @ X_ws) / v_sum if fit_intercept else np.zeros(X_ws.shape[1])
        scaled = np.asfortranarray((X_ws - x_mean) * root[:, None])
        target = root * centred
        gap_target = kkt_target**2 / (2.0 * max((scaled**2).sum(axis=0).max() + l2, 1e-300))
        w = _coordinate_descent(
            lambda w, epochs, tol: enet_coordinate_descent(
                w, l1, l2, scaled, target, epochs, tol, rng, 0, 0, 1
            ),
            w, float(target @ target), gap_target,
        )
        return w, (z_mean - x_mean @ w if fit_intercept else 0.0)

    X_ws = sparse.csc_matrix(X_ws)
    indices = X_ws.indices.astype(np.int32, copy=False)
    indptr = X_ws.indptr.astype(np.int32, copy=False)
    no_centring = np.zeros(X_ws.shape[1])
    curvature = np.asarray(X_ws.multiply(X_ws).T @ v).ravel().max()
    gap_target = kkt_target**2 / (2.0 * max(curvature + l2, 1e-300))
    b = intercept if fit_intercept else 0.0
    for _ in range(_MAX_INTERCEPT_ROUNDS):
        shifted = response - b
        w = _coordinate_descent(
            lambda w, epochs, tol, shifted=shifted: sparse_enet_coordinate_descent(
                w, l1, l2, X_ws.data, indices, indptr, shifted, v, no_centring,
                epochs, tol, rng, 0, 0, 1,
            ),
            w, float(v @ shifted**2), gap_target,
        )
        if not fit_intercept:
            break
        new_b = (v @ (response - X_ws @ w)) / v_sum
        change, b = new_b - b, new_b
        # Moving b by `change` lowers the objective by v_sum * change^2 / 2.
        if 0.5 * v_sum * change**2 <= gap_target:
            break
    return w, b
