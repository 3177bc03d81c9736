"""Proximal Newton solver for L1 / Elastic-Net penalized logistic regression.

The objective, for ``K`` classes, weights ``W`` (one row per block: one row for a binary
problem, ``K`` rows otherwise), intercepts ``b`` and normalised sample weights
``sw = s / sum(s)``::

    F(W, b) = sum_i sw_i * logloss(y_i, x_i W^T + b)
              + alpha * l1_ratio * ||W||_1 + 0.5 * alpha * (1 - l1_ratio) * ||W||_F^2

is minimised as glmnet does (Friedman, Hastie & Tibshirani 2010, "Regularization paths for
generalized linear models via coordinate descent", J. Stat. Softw. 33(1)): an outer Newton
(IRLS) loop replaces the log-loss by its second-order expansion, a weighted least-squares
problem, and the elastic-net penalised least-squares problem is solved by coordinate descent.
Here the coordinate descent is scikit-learn's compiled routines
(:mod:`skreg.linear._weighted_enet`), on the Gram matrix of the working set while it is
small. For ``K > 2`` classes each outer iteration takes one Newton step over all classes
(the full softmax Hessian, :mod:`skreg.linear._multinomial_newton`) while ``K`` times the
working set is small, else one step per class (the diagonal blocks, as glmnet does). A
backtracking (Armijo) line search on
the true objective makes every step decrease it (Lee, Sun & Saunders 2014, "Proximal Newton-type
methods for minimizing composite functions", SIAM J. Optim. 24(3)).

Working sets (as in Massias, Gramfort & Salmon 2018, "Celer", and skglm): each Newton step
only moves the features that currently break the optimality conditions, plus those already
non-zero; the optimality conditions are checked on every feature before each step, so
features left out are never left wrong. Off the Gram matrix (large or sparse working sets)
each model problem is solved inexactly, as skglm's and celer's inner solvers are: until its
duality gap is 0.3 times the gap at the current iterate, so that early Newton steps cost a
few epochs and the accuracy of the model grows with that of the outer iteration.
"""

import warnings

import numpy as np
from scipy import sparse
from scipy.special import expit, log_expit
from sklearn.exceptions import ConvergenceWarning

from skreg.linear._multinomial_newton import fits_full_newton, multinomial_newton_model
from skreg.linear._weighted_enet import solve_weighted_enet

# Smallest curvature p * (1 - p) used in the Newton model. glmnet clamps the fitted
# probabilities to [1e-5, 1 - 1e-5] for the same reason: confidently misclassified points
# would otherwise get a working response of size 1 / p, and the quadratic model, whose
# step the line search corrects anyway, would lose all precision.
_MIN_CURVATURE = 1e-5
_ARMIJO = 1e-4
_MAX_HALVINGS = 40
_MIN_WORKING_SET = 100
# Inner problems are solved until their KKT violation is this fraction of the outer one.
_INNER_FORCING = 0.3
# ... or until their duality gap is this fraction of the gap at the current iterate
# (inexact Newton: the model problem is solved as finely as the outer iteration needs).
_INNER_RELATIVE_GAP = 0.3


# NumPy versions of logsumexp and softmax: scipy.special's pay an array-API dispatch on
# every call, which dominated small fits.
def _logsumexp(eta):
    top = eta.max(axis=1)
    return top + np.log(np.exp(eta - top[:, None]).sum(axis=1))


def _softmax(eta):
    exp = np.exp(eta - eta.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _loss(eta, targets, sw, binary):
    """Weighted mean log-loss of the scores ``eta`` (n, 1) or (n, K)."""
    if binary:
        # log(1 + exp(eta)) - t * eta, written stably.
        e = eta[:, 0]
        return float(sw @ (-log_expit(e) + (1.0 - targets[:, 0]) * e))
    return float(sw @ (_logsumexp(eta) - np.take_along_axis(eta, targets, 1)[:, 0]))


def _probabilities(eta, binary):
    return expit(eta) if binary else _softmax(eta)


def _penalty(coef, l1_strength, l2_strength):
    return l1_strength * np.abs(coef).sum() + 0.5 * l2_strength * float(np.vdot(coef, coef))


def _penalty_change(old, new, l1_strength, l2_strength):
    """``_penalty(new) - _penalty(old)``, accurate when the two are close."""
    return float(
        l1_strength * (np.abs(new) - np.abs(old)).sum()
        + 0.5 * l2_strength * ((new - old) * (new + old)).sum()
    )


def _kkt_violation(smooth_gradient, coef, l1_strength):
    """Distance of ``-smooth_gradient`` to ``l1_strength`` times the subdifferential of |w|."""
    return np.where(
        coef != 0,
        np.abs(smooth_gradient + l1_strength * np.sign(coef)),
        np.maximum(np.abs(smooth_gradient) - l1_strength, 0.0),
    )


def _dot(X, v):
    return X @ v if not sparse.issparse(X) else np.asarray(X @ v)


def _transpose_dot(X, residual):
    """``residual^T X`` as a dense (n_blocks, n_features) array."""
    return np.asarray((X.T @ residual).T)


class _Problem:
    """Data, targets and penalty of one fit, with the objective and its gradients."""

    def __init__(self, X, y, sample_weight, alpha, l1_ratio, fit_intercept, n_classes):
        self.X = X
        self.n_classes = n_classes
        self.binary = n_classes <= 2
        self.sw = sample_weight / sample_weight.sum()
        if self.binary:
            self.targets = (y == 1).astype(np.float64)[:, None]
            self.onehot = self.targets
        else:
            self.targets = y[:, None]
            self.onehot = np.zeros((y.size, n_classes))
            self.onehot[np.arange(y.size), y] = 1.0
        self.l1 = alpha * l1_ratio
        self.l2 = alpha * (1.0 - l1_ratio)
        self.fit_intercept = fit_intercept

    def loss(self, eta):
        return _loss(eta, self.targets, self.sw, self.binary)

    def weighted_residual(self, eta):
        """Gradient of the weighted mean log-loss in the scores: sw * (p - y)."""
        return self.sw[:, None] * (_probabilities(eta, self.binary) - self.onehot)

    def null_intercept(self):
        """Intercepts of the model with all weights at zero."""
        if not self.fit_intercept:
            return np.zeros(1 if self.binary else self.n_classes)
        share = np.clip(self.sw @ self.onehot, 1e-12, None)
        if self.binary:
            share = np.clip(share, None, 1 - 1e-12)
            return np.log(share) - np.log1p(-share)
        log_share = np.log(share)
        return log_share - log_share.mean()

    def violations(self, coef, eta):
        """KKT violations of every weight (n_blocks, n_features) and every intercept."""
        residual = self.weighted_residual(eta)
        smooth = _transpose_dot(self.X, residual) + self.l2 * coef
        intercept = np.abs(residual.sum(axis=0)) if self.fit_intercept else np.zeros(0)
        return _kkt_violation(smooth, coef, self.l1), intercept


def _penalty_minimising_shift(coef, l1_strength, l2_strength):
    """Per feature, the shift ``c`` minimising the penalty of ``coef[:, j] - c``.

    Softmax scores are unchanged when the same vector is subtracted from every class's
    weights, so the multinomial objective only sees the penalty along that direction. Taking
    the exact minimiser there (glmnet's symmetric parametrisation) removes a flat valley
    along which class-by-class Newton steps would crawl. The penalty is piecewise quadratic
    in ``c`` with breakpoints at the weights: its minimiser is the stationary point of one
    piece, clipped to that piece.
    """
    if l2_strength == 0:
        return np.median(coef, axis=0)
    n_blocks = coef.shape[0]
    ordered = np.sort(coef, axis=0)
    lower = np.vstack([np.full((1, coef.shape[1]), -np.inf), ordered])
    upper = np.vstack([ordered, np.full((1, coef.shape[1]), np.inf)])
    n_below = np.arange(n_blocks + 1)[:, None]
    stationary = coef.mean(axis=0) - l1_strength * (2 * n_below - n_blocks) / (
        l2_strength * n_blocks
    )
    candidates = np.clip(stationary, lower, upper)
    shifted = coef[None, :, :] - candidates[:, None, :]
    values = l1_strength * np.abs(shifted).sum(axis=1) + 0.5 * l2_strength * (
        shifted**2
    ).sum(axis=1)
    return np.take_along_axis(candidates, values.argmin(axis=0)[None, :], 0)[0]


def _working_set(feature_violation, support, ws_size):
    """Features in the support, and the worst violators up to ``ws_size`` in all."""
    score = np.where(support, np.inf, feature_violation)
    candidates = np.flatnonzero(score > 0)
    if candidates.size <= ws_size:
        return candidates
    best = np.argpartition(-score, ws_size - 1)[:ws_size]
    return np.sort(best)


def _block_step(problem, coef, intercept, eta, block, ws, X_ws, worst_violation, rng):
    """One proximal Newton step on the weights and intercept of one block, with line search.

    Updates ``coef``, ``intercept`` and ``eta`` in place; returns whether the step moved.
    """
    probabilities = _probabilities(eta, problem.binary)[:, block]
    gradient = probabilities - problem.onehot[:, block]
    curvature = np.maximum(probabilities * (1.0 - probabilities), _MIN_CURVATURE)
    v = problem.sw * curvature
    # Working response z = eta - g / h of the weighted least-squares model (IRLS).
    response = eta[:, block] - gradient / curvature

    w_old = coef[block, ws]
    # Solve the model's weighted Elastic-Net problem to a fraction of the outer violation.
    w_new, new_intercept = solve_weighted_enet(
        X_ws, v, response, w_old.copy(), intercept[block], problem.l1, problem.l2,
        problem.fit_intercept, _INNER_FORCING * worst_violation, rng, _INNER_RELATIVE_GAP,
    )
    intercept_step = new_intercept - intercept[block] if problem.fit_intercept else 0.0
    return _line_search(problem, coef, intercept, eta, np.array([block]), ws, X_ws,
                        (w_new - w_old)[None, :], np.array([intercept_step]),
                        (problem.sw * gradient)[:, None])


def _all_classes_step(problem, coef, intercept, eta, ws, X_ws, worst_violation, rng):
    """One proximal Newton step on every class at once (the full multinomial Hessian)."""
    probabilities = _probabilities(eta, problem.binary)
    residual = problem.sw[:, None] * (probabilities - problem.onehot)
    w_old = coef[:, ws]
    w_new, new_intercept = multinomial_newton_model(
        X_ws, problem.sw, probabilities, residual, w_old, intercept, problem.l1, problem.l2,
        problem.fit_intercept, _INNER_FORCING * worst_violation, rng,
    )
    return _line_search(problem, coef, intercept, eta, np.arange(problem.n_classes), ws, X_ws,
                        w_new - w_old, new_intercept - intercept, residual)


def _line_search(problem, coef, intercept, eta, blocks, ws, X_ws, step, intercept_step,
                 residual):
    """Backtracking (Armijo) search along a step of the rows ``blocks`` of ``coef``.

    ``step`` (len(blocks), m) moves ``coef[blocks][:, ws]``, ``intercept_step`` the
    intercepts of those blocks; ``residual`` is the gradient of the loss in their scores.
    Updates ``coef``, ``intercept`` and ``eta`` in place; returns whether the step moved.
    """
    if not np.any(step) and not np.any(intercept_step):
        return False
    rows = np.ix_(blocks, ws)
    w_old = coef[rows]
    w_new = w_old + step
    direction = (_dot(X_ws, step.T) if ws.size else 0.0) + intercept_step
    direction = np.broadcast_to(direction, (eta.shape[0], blocks.size))
    # The penalty's change summed term by term: the difference of the two totals would lose
    # the small changes of the last iterations to rounding.
    decrease = float(np.sum(residual * direction)) + _penalty_change(
        w_old, w_new, problem.l1, problem.l2
    )
    if decrease >= 0:
        return False
    objective = problem.loss(eta) + _penalty(w_old, problem.l1, problem.l2)
    rounding = 16 * np.finfo(float).eps * abs(objective)
    trial = eta.copy()
    t = 1.0
    for _ in range(_MAX_HALVINGS):
        trial[:, blocks] = eta[:, blocks] + t * direction
        w_trial = w_old + t * step
        value = problem.loss(trial) + _penalty(w_trial, problem.l1, problem.l2)
        if value <= objective + _ARMIJO * t * decrease + rounding:
            coef[rows] = w_trial
            if problem.fit_intercept:
                intercept[blocks] += t * intercept_step
            eta[:, blocks] = trial[:, blocks]
            return True
        t *= 0.5
    return False


def _logistic_enet_solve(
    X,
    y_encoded,
    sample_weight,
    *,
    alpha,
    l1_ratio,
    fit_intercept=True,
    coef_init=None,
    intercept_init=None,
    tol=1e-4,
    max_iter=100,
    n_classes=None,
    callback=None,
):
    """Minimise the penalised weighted mean log-loss (module docstring) by proximal Newton.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Training data (converted to float64; sparse input to CSC).
    y_encoded : ndarray of shape (n_samples,)
        Class indices in ``0 .. n_classes - 1``.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights, normalised here to sum to one.
    alpha, l1_ratio : float
        Penalty strength and L1 share.
    fit_intercept : bool
        Whether to fit unpenalised intercepts.
    coef_init, intercept_init : ndarray or None
        Warm start, shapes as returned.
    tol : float
        The solver stops once every KKT condition (weights and intercepts) is violated by at
        most ``tol`` times the largest gradient of the loss at the null model (weights zero,
        intercepts fitted), which is ``l1_ratio * alpha_max``.
    max_iter : int
        Largest number of outer (Newton) iterations; a ``ConvergenceWarning`` says when it
        was not enough.
    n_classes : int or None
        Number of classes; ``y_encoded.max() + 1`` when None.

    callback : callable or None
        Called after each iteration as ``callback(coef, intercept)`` (the arrays being
        updated: copy them to keep them); a true return ends the iterations.

    Returns
    -------
    coef : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept : ndarray of shape (1,) or (n_classes,)
    n_iter : int
        Outer iterations run.
    """
    if sparse.issparse(X):
        X = sparse.csc_matrix(X, dtype=np.float64)
    else:
        X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y_encoded, dtype=np.intp)
    n_samples, n_features = X.shape
    if n_classes is None:
        n_classes = int(y.max()) + 1
    if sample_weight is None:
        sample_weight = np.ones(n_samples)
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    problem = _Problem(X, y, sample_weight, alpha, l1_ratio, fit_intercept, n_classes)
    n_blocks = 1 if problem.binary else n_classes

    null_intercept = problem.null_intercept()
    null_eta = np.broadcast_to(null_intercept, (n_samples, n_blocks))
    null_gradient = _transpose_dot(X, problem.weighted_residual(null_eta))
    scale = float(np.max(np.abs(null_gradient), initial=0.0))
    # The null model itself is optimal when no feature carries any gradient.
    tol_abs = tol * scale if scale > 0 else tol

    if coef_init is None:
        coef = np.zeros((n_blocks, n_features))
    else:
        coef = np.array(coef_init, dtype=np.float64).reshape(n_blocks, n_features)
    if intercept_init is None or not fit_intercept:
        intercept = null_intercept.copy()
    else:
        intercept = np.array(intercept_init, dtype=np.float64).reshape(n_blocks)
    eta = _dot(X, coef.T) + intercept

    rng = np.random.RandomState(0)  # required by the routine; unused in cyclic order
    ws_size = min(n_features, _MIN_WORKING_SET)
    n_iter = 0
    while True:
        feature_violation, intercept_violation = problem.violations(coef, eta)
        worst = max(
            float(feature_violation.max(initial=0.0)),
            float(intercept_violation.max(initial=0.0)),
        )
        if worst <= tol_abs:
            break
        if n_iter >= max_iter:
            warnings.warn(
                f"The proximal Newton solver did not converge in max_iter={max_iter} "
                f"iterations: largest KKT violation {worst:.3e} > tol * {scale:.3e} = "
                f"{tol_abs:.3e}. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
            break
        support = np.any(coef != 0, axis=0)
        ws_size = min(n_features, max(ws_size, 2 * int(support.sum())))
        ws = _working_set(feature_violation.max(axis=0), support, ws_size)
        X_ws = X[:, ws]
        moved = False
        if not problem.binary and fits_full_newton(n_samples, n_blocks, ws.size):
            moved = _all_classes_step(problem, coef, intercept, eta, ws, X_ws, worst, rng)
        else:
            for block in range(n_blocks):
                moved |= _block_step(problem, coef, intercept, eta, block, ws, X_ws, worst,
                                     rng)
        n_iter += 1
        if not problem.binary:
            shift = _penalty_minimising_shift(coef, problem.l1, problem.l2)
            if np.any(shift):
                coef -= shift
                eta -= _dot(X, shift)[:, None]
        if callback is not None and callback(coef, intercept):
            break  # asked to stop (scikit-learn's callbacks)
        if not moved:
            # No step decreases the objective any more: rounding, not the method, stops it.
            warnings.warn(
                f"The proximal Newton solver stopped after {n_iter} iterations: no step "
                f"decreases the objective in floating point, with the largest KKT violation "
                f"{worst:.3e} above tol * {scale:.3e} = {tol_abs:.3e}. Increase tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
            break

    if fit_intercept and not problem.binary:
        # Softmax is unchanged by a common shift of the intercepts: report centred ones.
        intercept -= intercept.mean()
    return coef, intercept, n_iter
