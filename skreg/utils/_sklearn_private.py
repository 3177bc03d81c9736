"""scikit-learn's private API used by skreg, imported here only, with public fallbacks.

A scikit-learn release may move or change a private name without notice, so skreg imports
each one in this module and nowhere else, and bounds scikit-learn in ``pyproject.toml`` to the
releases its tests have passed on (:data:`TESTED_SKLEARN`).

- The Elastic Net solvers' compiled coordinate descent (``sklearn.linear_model._cd_fast``)
  and ``sklearn.linear_model._base._pre_fit`` are used only where they can be trusted: on a
  tested scikit-learn, when they import, and unless the environment variable
  ``SKREG_SKLEARN_PUBLIC_ONLY=1`` asks otherwise. Elsewhere the same problems are solved by
  the public :class:`sklearn.linear_model.ElasticNet` (the same coordinate descent behind a
  public interface, with more copies and checks): a release that moves the private API makes
  skreg slower, not wrong. ``tests/test_sklearn_private.py`` checks both give the same
  coefficients.
- The parameter-validation helpers (``Interval``, ``StrOptions``, ``validate_params``,
  ``_fit_context``), which scikit-learn's developer guide has third-party estimators use, and
  a few small validation helpers have no public equivalent: if they move, importing skreg
  fails here with an error that names the scikit-learn versions skreg was tested with.
"""

import os
import re
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet

# (major, minor) releases of scikit-learn that the tests have passed on: 1.9.1.
TESTED_SKLEARN = ((1, 9),)


def _version(text):
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _required(error):
    tested = ", ".join(f"{major}.{minor}" for major, minor in TESTED_SKLEARN)
    return ImportError(
        f"skreg uses scikit-learn internals that scikit-learn {sklearn.__version__} does not "
        f"have ({error}); skreg was tested with scikit-learn {tested}.x: install one of those."
    )


try:
    from sklearn.base import _fit_context
    from sklearn.utils._optional_dependencies import check_matplotlib_support
    from sklearn.utils._param_validation import (
        Interval,
        InvalidParameterError,
        StrOptions,
        validate_params,
    )
    from sklearn.utils._set_output import _get_output_config
    from sklearn.utils.validation import (
        _check_feature_names_in,
        _check_sample_weight,
        _num_features,
        _num_samples,
    )
except ImportError as error:  # pragma: no cover - only on an untested scikit-learn
    raise _required(error) from error

try:
    from sklearn.linear_model import _cd_fast
    from sklearn.linear_model._base import _pre_fit
except ImportError:  # pragma: no cover - only on an untested scikit-learn
    _cd_fast = _pre_fit = None

try:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
except ImportError:  # pragma: no cover - the caller counts the CPUs itself
    _openmp_effective_n_threads = None

__all__ = [
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "_check_feature_names_in",
    "_check_sample_weight",
    "_fit_context",
    "_get_output_config",
    "_num_features",
    "_num_samples",
    "check_matplotlib_support",
    "enet_coordinate_descent",
    "enet_coordinate_descent_gram",
    "openmp_effective_n_threads",
    "pre_fit",
    "private_solvers",
    "sparse_enet_coordinate_descent",
    "validate_params",
]

# Whether the compiled routines may be used; tests switch it off to run the fallbacks.
PRIVATE_SOLVERS = (
    _cd_fast is not None
    and _pre_fit is not None
    and _version(sklearn.__version__) in TESTED_SKLEARN
    and os.environ.get("SKREG_SKLEARN_PUBLIC_ONLY", "") != "1"
)


def private_solvers():
    """Whether the compiled coordinate descent and ``_pre_fit`` are used (see the module)."""
    return PRIVATE_SOLVERS


def pre_fit(*args, **kwargs):
    """``sklearn.linear_model._base._pre_fit``; only call it when :func:`private_solvers`."""
    return _pre_fit(*args, **kwargs)


def openmp_effective_n_threads():
    """scikit-learn's OpenMP thread count, or None when its helper is gone."""
    return None if _openmp_effective_n_threads is None else int(_openmp_effective_n_threads())


# ----------------------------------------------------------------- coordinate descent
#
# Each routine minimises P(w) = 1/2 ||y - X w||^2 + alpha ||w||_1 + beta / 2 ||w||^2 (sample
# weights inside the squares for the sparse one) and returns (w, gap, tol, n_iter) with tol
# the routine's relative tolerance times ||y||^2. The fallbacks solve the same P with the
# public ElasticNet, whose objective is P / n_samples at its alpha = (alpha + beta) / n and
# l1_ratio = alpha / (alpha + beta); its coordinate descent stops on the same duality gap.


def _duality_gap(w, alpha, beta, X, y, sample_weight=None):
    """The compiled routine's duality gap of ``P`` at ``w``, as it reports it for zero epochs.

    ``ElasticNet`` cannot run zero iterations, and the inexact solves ask for the gap at
    their starting point that way.
    """
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    residual = y - X @ w
    weighted = s * residual
    correlation = np.asarray(X.T @ weighted).ravel() - beta * w
    r_norm2 = float(weighted @ residual)
    w_norm2 = float(w @ w)
    dual_norm = float(np.max(np.abs(correlation), initial=0.0))
    if dual_norm > alpha:
        const = alpha / dual_norm
        gap = 0.5 * (r_norm2 + r_norm2 * const**2)
    else:
        const, gap = 1.0, r_norm2
    gap += (alpha * float(np.abs(w).sum()) - const * float(weighted @ y)
            + 0.5 * beta * (1.0 + const**2) * w_norm2)
    return gap


def _public_solve(w, alpha, beta, X, y, max_iter, tol, n_rows, sample_weight=None):
    weights = y * y if sample_weight is None else sample_weight * y * y
    if max_iter == 0:
        gap = _duality_gap(w, alpha, beta, X, y, sample_weight)
        return w, gap, tol * float(np.sum(weights)), 0
    penalty = alpha + beta
    model = ElasticNet(
        alpha=penalty / n_rows, l1_ratio=alpha / penalty if penalty > 0 else 1.0,
        fit_intercept=False, precompute=False, max_iter=max_iter, tol=tol, warm_start=True,
    )
    model.coef_ = np.array(w, dtype=np.float64, copy=True)
    with warnings.catch_warnings():
        # The caller runs a few epochs per call and decides itself when to stop.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*alpha=0.*", category=UserWarning)
        model.fit(X, y, sample_weight=sample_weight)
    w[:] = model.coef_
    # ElasticNet's dual_gap_ is the gap of its objective, P / n_rows.
    return w, float(model.dual_gap_) * n_rows, tol * float(np.sum(weights)), int(model.n_iter_)


def enet_coordinate_descent(w, alpha, beta, X, y, max_iter, tol, rng, random=0, positive=0,
                            do_screening=1):
    """Dense ``P(w)``: scikit-learn's compiled routine, or the public fallback."""
    if PRIVATE_SOLVERS:
        return _cd_fast.enet_coordinate_descent(w, alpha, beta, X, y, max_iter, tol, rng,
                                                random, positive, do_screening)
    return _public_solve(w, alpha, beta, X, y, max_iter, tol, X.shape[0])


def sparse_enet_coordinate_descent(w, alpha, beta, X_data, X_indices, X_indptr, y,
                                   sample_weight, X_mean, max_iter, tol, rng, random=0,
                                   positive=0, do_screening=1):
    """Sparse CSC ``P(w)`` with sample weights (``X_mean`` must be zero in the fallback)."""
    if PRIVATE_SOLVERS:
        return _cd_fast.sparse_enet_coordinate_descent(
            w, alpha, beta, X_data, X_indices, X_indptr, y, sample_weight, X_mean, max_iter,
            tol, rng, random, positive, do_screening)
    if np.any(X_mean):
        raise NotImplementedError("The public fallback takes uncentred sparse X only.")
    from scipy import sparse

    X = sparse.csc_matrix((X_data, X_indices, X_indptr), shape=(len(y), len(w)))
    # ElasticNet rescales the weights to sum to n_samples: its objective is then
    # P * n / sum(weights) / n, so alpha and beta are divided by sum(weights).
    return _public_solve(w, alpha, beta, X, y, max_iter, tol, float(np.sum(sample_weight)),
                         sample_weight=sample_weight)


def enet_coordinate_descent_gram(w, alpha, beta, Q, q, y, max_iter, tol, rng, random=0,
                                 positive=0, do_screening=1):
    """``1/2 w'Qw - q'w + alpha ||w||_1 + beta / 2 ||w||^2``, ``||y||^2`` only scaling tol.

    The fallback factors ``Q = R'R`` (eigendecomposition; Q is a Gram matrix, so q lies in
    its range) and solves the least squares ``1/2 ||t - R w||^2`` with ``R't = q``, equal to
    the objective up to a constant.
    """
    if PRIVATE_SOLVERS:
        return _cd_fast.enet_coordinate_descent_gram(w, alpha, beta, Q, q, y, max_iter, tol,
                                                     rng, random, positive, do_screening)
    eigenvalues, vectors = np.linalg.eigh(Q)
    keep = eigenvalues > eigenvalues.max(initial=0.0) * len(q) * np.finfo(np.float64).eps
    root = np.sqrt(eigenvalues[keep])
    R = np.asfortranarray(root[:, None] * vectors[:, keep].T)
    t = (vectors[:, keep].T @ q) / root
    y_norm2 = float(np.dot(y, y))
    t_norm2 = float(t @ t)
    # The same absolute gap target as the routine's, tol * ||y||^2, relative to ||t||^2.
    relative = tol * y_norm2 / t_norm2 if t_norm2 > 0 else tol
    w, gap, _, n_iter = _public_solve(w, alpha, beta, R, t, max_iter, relative, R.shape[0])
    return w, gap, tol * y_norm2, n_iter
