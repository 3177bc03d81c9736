"""Checks of VectorQuantizer's training rows and initial codebook, with messages that say why."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from skreg.quantization._residual import requires_dense
from skreg.utils._sklearn_private import _check_sample_weight

_FLOATS = [np.float64, np.float32]


def check_training_rows(X, n_codes, n_subspaces, n_stages):
    """Enough rows for the codes, enough features for the subspaces, dense rows for residuals."""
    n_samples, n_features = X.shape
    if n_samples < n_codes:
        raise ValueError(
            f"n_samples={n_samples} should be >= n_codes={n_codes}: a codebook cannot have more "
            "codes than training rows."
        )
    if n_features < n_subspaces:
        raise ValueError(
            f"n_subspaces={n_subspaces} should be <= n_features={n_features}: each subspace "
            "needs at least one feature."
        )
    requires_dense(X, n_stages)


def float_type_for_distances(X):
    """X in a float type in which its squared distances do not overflow.

    k-means sums squared distances, and ``||x||^2`` overflows float32 for rows of about 1e18
    (``sqrt(float32 max / n_features)``): such float32 rows are fitted in float64 (the codebook
    is then float64). Rows whose squares overflow even float64 get an error asking to rescale.
    """
    values = X.data if sp.issparse(X) else X
    top = float(np.abs(values).max(initial=0.0))
    # Leave a margin of 16 * (n_features + 3) for the sums and the rounding bound.
    margin = 16.0 * (X.shape[1] + 3)
    if top > np.sqrt(np.finfo(np.float64).max / margin):
        raise ValueError(
            f"X has values of magnitude up to {top:.3g}: squared distances between such rows "
            "overflow float64. Rescale X first (for example with "
            "sklearn.preprocessing.StandardScaler or MaxAbsScaler)."
        )
    if X.dtype == np.float32 and top > np.sqrt(np.finfo(np.float32).max / margin):
        return X.astype(np.float64)
    return X


def initial_codebook(init, X, n_codes, n_stages):
    """A string init as is; an init array checked against the codebook's shape, in X's dtype."""
    if isinstance(init, str):
        return init
    init = np.asarray(init)
    if n_stages == 1:
        expected, names = (n_codes, X.shape[1]), "(n_codes, n_features)"
    else:
        expected, names = (n_stages, n_codes, X.shape[1]), "(n_stages, n_codes, n_features)"
    if init.shape != expected:
        raise ValueError(
            f"init has shape {init.shape}, but the codebook must have shape {names} = {expected}."
        )
    rows = check_array(init.reshape(-1, expected[-1]), dtype=_FLOATS, input_name="init")
    return rows.reshape(expected).astype(X.dtype, copy=False)


def checked_weights(sample_weight, X):
    """Non-negative float64 weights, not all zero (scikit-learn's checks), or None."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
