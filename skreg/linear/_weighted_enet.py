"""Weighted Elastic-Net least squares with an unpenalized intercept, by compiled coordinate descent.

The inner problem of each proximal Newton step of :mod:`skreg.linear._logistic_solver`::

    min_{w, b}  1/2 * sum_i v_i (z_i - x_i w - b)^2 + l1 * ||w||_1 + l2 / 2 * ||w||_2^2

solved by scikit-learn's coordinate-descent routines (``sklearn.linear_model._cd_fast``),
which have no intercept and no per-sample weights in the dense case. Three layouts:

- Gram (dense data up to ``GRAM_MAX_FEATURES`` columns; sparse data while the ``m x m``
  matrix holds fewer entries than the columns): the weighted, centred Gram matrix
  ``Q = X_c' V X_c`` and ``q = X_c' V z_c``; the intercept is profiled out exactly by the
  weighted centring, and each epoch costs ``O(m^2)`` whatever ``n``.
- dense, more columns: rows scaled by ``sqrt(v)`` after weighted centring (the same trick
  as scikit-learn's weighted ``ElasticNet``).
- sparse, otherwise: the sparse routine takes the weights itself; centring a sparse matrix
  inside it would cost ``O(n)`` per coordinate update, so the intercept is one more
  coordinate, a constant column (:func:`_solve_sparse`).

Off the Gram path the solves may stop at a duality gap relative to their starting gap
(``relative_gap``), the inexact inner solves of skglm and celer (Massias, Gramfort & Salmon
2018, "Celer: a fast solver for the Lasso with dual extrapolation", ICML).
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
# Each call computes the residuals and a duality gap afresh, about an epoch's work: few
# epochs per call stop inexact (relative-gap) solves soon after their target; solves to
# an absolute target check less often.
_EPOCHS_PER_CALL = 20
_EPOCHS_PER_CALL_INEXACT = 10
# Iterates (one per call) combined by Anderson extrapolation in inexact solves; 0: none.
_ANDERSON_MEMORY = 5
_MAX_EPOCHS = 5_000
# The routines compute the gap from differences of terms of the size of ||y||^2: asking for
# a smaller gap relative to it would run epochs to no effect.
_GAP_FLOOR = 1e-13


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


def _coordinate_descent(routine, w, target_norm2, gap_target, relative_gap, primal=None):
    """Run ``routine(w, epochs, relative_tol)`` until its duality gap is below the target.

    The target is the larger of ``gap_target`` and ``relative_gap`` times the gap at the
    warm start: an inexact Newton step only needs its model problem solved as finely as
    the outer iteration has progressed (the outer loop checks the true optimality
    conditions, and the line search makes any descent direction safe). The routine's
    relative tolerance multiplies ``target_norm2`` (its ``||y||^2``). Given ``primal``, the
    problem's objective, inexact solves also try Anderson extrapolation of their iterates.
    """
    target_norm2 = target_norm2 if target_norm2 > 0 else 1.0
    gap_target = max(gap_target, _GAP_FLOOR * target_norm2)
    epochs = 0
    with warnings.catch_warnings():
        # Each call runs a few epochs; this loop, not the routine, decides when to stop.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if relative_gap > 0:
            # No epoch: only the gap at the warm start (and the routine's safe screening).
            w, start_gap, _, _ = routine(w, 0, 0.0)
            gap_target = max(gap_target, relative_gap * start_gap)
        relative_tol = gap_target / target_norm2
        epochs_per_call = _EPOCHS_PER_CALL_INEXACT if relative_gap > 0 else _EPOCHS_PER_CALL
        history = []
        while epochs < _MAX_EPOCHS:
            w, gap, _, n_epochs = routine(w, epochs_per_call, relative_tol)
            epochs += max(n_epochs, 1)
            if gap <= gap_target:
                break
            if relative_gap > 0 and primal is not None and _ANDERSON_MEMORY:
                history.append(w.copy())
                if len(history) > _ANDERSON_MEMORY:
                    extrapolated = _anderson(history)
                    history = []
                    # Kept only where it lowers the objective: a lower gap alone would not
                    # make the Newton step a descent direction.
                    if extrapolated is not None and primal(extrapolated) < primal(w):
                        w, gap, _, _ = routine(extrapolated, 0, 0.0)
                        if gap <= gap_target:
                            break
    return w


def _anderson(iterates):
    """Anderson extrapolation of a sequence of coordinate-descent iterates, or None.

    Coordinate descent converges linearly; the affine combination ``sum c_k w_k`` with
    ``sum c_k = 1`` minimising the norm of the combined differences estimates its limit
    (Bertrand & Massias 2021, "Anderson acceleration of coordinate descent", AISTATS).
    """
    stacked = np.asarray(iterates)
    differences = np.diff(stacked, axis=0)
    gram = differences @ differences.T
    # A trace-relative ridge: the Gram matrix is singular once the iterates have converged
    # along some directions (and exactly so for an affine map of lower dimension).
    gram += 1e-12 * np.trace(gram) * np.eye(gram.shape[0])
    try:
        weights = np.linalg.solve(gram, np.ones(gram.shape[0]))
    except np.linalg.LinAlgError:
        return None
    total = weights.sum()
    if not np.isfinite(total) or total == 0:
        return None
    return (weights / total) @ stacked[1:]


def _use_gram(X_ws):
    """Whether coordinate descent should run on the Gram matrix of ``X_ws``.

    An epoch on the Gram matrix costs ``m^2`` whatever ``n``; on the data it costs the
    number of stored entries. Dense columns always favour the Gram matrix (up to
    ``GRAM_MAX_FEATURES``, for memory); sparse ones only when they hold more entries than
    the ``m x m`` matrix would (a text-like column of 20 entries among 20,000 rows makes
    a 1,000-column Gram matrix fifty times the work of the data).
    """
    n_columns = X_ws.shape[1]
    if n_columns > GRAM_MAX_FEATURES:
        return False
    return not sparse.issparse(X_ws) or n_columns * n_columns <= X_ws.nnz + X_ws.shape[0]


def solve_weighted_enet(
    X_ws, v, response, w, intercept, l1, l2, fit_intercept, kkt_target, rng, relative_gap=0.0
):
    """Approximate minimiser ``(w, b)`` of the weighted problem in the module docstring.

    ``w`` and ``intercept`` are the warm start. Coordinate descent stops once the duality gap
    is at most ``kkt_target^2 / (2 L)``, ``L`` the largest coordinate curvature (a gap that
    small bounds the violation of the problem's optimality conditions by ``kkt_target``), or
    at most ``relative_gap`` times the gap at the warm start, whichever comes first.
    """
    v_sum = v.sum()
    fit_intercept = fit_intercept and v_sum > 0
    if not X_ws.shape[1]:
        return w, (v @ response) / v_sum if fit_intercept else 0.0
    z_mean = (v @ response) / v_sum if fit_intercept else 0.0
    centred = response - z_mean

    if _use_gram(X_ws):
        gram, x_mean = _weighted_gram(X_ws, v, fit_intercept)
        linear = np.asarray(X_ws.T @ (v * centred)).ravel()
        if fit_intercept:
            linear -= x_mean * (v @ centred)
        target_norm2 = float(v @ centred**2)
        # The Gram routine only reads ||y||^2 from its y argument.
        target = np.array([np.sqrt(max(target_norm2, 0.0))])
        gap_target = kkt_target**2 / (2.0 * max(gram.diagonal().max() + l2, 1e-300))
        # No relative target here: building the Gram matrix costs more than the epochs on
        # it, so a finer model solve that saves a Newton step is cheaper (measured on
        # dense problems: inexact solves there took up to 1.3x the time).
        w = _coordinate_descent(
            lambda w, epochs, tol: enet_coordinate_descent_gram(
                w, l1, l2, gram, linear, target, epochs, tol, rng, 0, 0, 1
            ),
            w, target_norm2, gap_target, 0.0,
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
            w, float(target @ target), gap_target, relative_gap,
        )
        return w, (z_mean - x_mean @ w if fit_intercept else 0.0)
    return _solve_sparse(X_ws, v, response, w, intercept, l1, l2, fit_intercept, kkt_target,
                         rng, relative_gap)


def _solve_sparse(X_ws, v, response, w, intercept, l1, l2, fit_intercept, kkt_target, rng,
                  relative_gap):
    """The sparse layout: the intercept is one more column, of a large constant ``c``.

    The routine penalises every column alike, so the intercept ``b = c * beta`` of the
    constant column pays ``l1 * |b| / c + l2 * b^2 / (2 c^2)``: with ``c`` a thousand times
    the largest column norm that pull is negligible, and ``b`` is reset to its exact
    (unpenalised) minimiser given ``w`` at the end. Coordinate descent then moves ``b``
    once per epoch, at the cost of one dense column, instead of alternating whole solves
    with closed-form intercept updates (which converge slowly when the columns are not
    centred); centring inside the routine would cost ``O(n)`` per coordinate.
    """
    X_ws = sparse.csc_matrix(X_ws)
    n_samples, n_columns = X_ws.shape
    v_sum = v.sum()
    column_norms2 = np.asarray(X_ws.multiply(X_ws).T @ v).ravel()
    curvature = column_norms2.max()
    gap_target = kkt_target**2 / (2.0 * max(curvature + l2, 1e-300))
    data, indices, indptr = X_ws.data, X_ws.indices, X_ws.indptr
    w_all = w
    if fit_intercept:
        # The pull moves each weight's optimality condition by at most l1 * norm_j / (c *
        # sqrt(v_sum)): a tenth of the target is small enough for the outer iteration.
        scale = max(1e3, 10.0 * l1 / kkt_target if kkt_target > 0 else 1e12)
        constant = scale * np.sqrt(max(curvature, 1e-300) / v_sum)
        data = np.concatenate([data, np.full(n_samples, constant)])
        indices = np.concatenate([indices, np.arange(n_samples, dtype=indices.dtype)])
        indptr = np.append(indptr, indptr[-1] + n_samples)
        w_all = np.append(w, intercept / constant)
    indices = indices.astype(np.int32, copy=False)
    indptr = indptr.astype(np.int32, copy=False)
    no_centring = np.zeros(w_all.size)
    design = sparse.csc_matrix((data, indices, indptr), shape=(n_samples, w_all.size))

    def primal(w):
        residual = response - design @ w
        return (0.5 * float(v @ residual**2) + l1 * np.abs(w).sum()
                + 0.5 * l2 * float(w @ w))

    w_all = _coordinate_descent(
        lambda w, epochs, tol: sparse_enet_coordinate_descent(
            w, l1, l2, data, indices, indptr, response, v, no_centring, epochs, tol, rng,
            0, 0, 1,
        ),
        w_all, float(v @ response**2), gap_target, relative_gap, primal,
    )
    if not fit_intercept:
        return w_all, 0.0
    w = w_all[:n_columns]
    return w, (v @ (response - X_ws @ w)) / v_sum
