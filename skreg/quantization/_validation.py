"""Checks of VectorQuantizer's training rows and initial codebook, with messages that say why."""

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import _check_sample_weight

from skreg.quantization._residual import requires_dense

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
