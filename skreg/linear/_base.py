"""Pieces shared by the Elastic Net regressor and classifier."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils.validation import validate_data

from skreg.utils._sklearn_private import Interval, _check_sample_weight

# Both estimators put the penalty on one scale: alpha * (l1_ratio * ||w||_1
# + (1 - l1_ratio) / 2 * ||w||_2^2) added to the mean (or weighted mean) loss.
PENALTY_PARAMETER_CONSTRAINTS = {
    "alpha": [Interval(Real, 0, None, closed="left")],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


def check_sample_weight(sample_weight, X):
    """Validate ``sample_weight`` against ``X``; return it and the total weight.

    The total weight takes the place of ``n_samples`` in the mean loss, so that integer weights
    give the same fit as repeating rows. Negative weights would make the objective non-convex,
    and all-zero weights leave nothing to fit: both raise a ``ValueError``.
    """
    if sample_weight is None:
        return None, float(X.shape[0])
    sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
    return sample_weight, float(sample_weight.sum())


def is_private_copy(X_validated, X_input):
    """Whether validation already copied dense ``X``, so that a solver may overwrite it.

    Only a NumPy array (or a Python sequence) can be judged safely: a DataFrame may hand
    validation a view of its own memory. Sparse input is never overwritten by the solvers.
    """
    if sparse.issparse(X_validated):
        return False
    if isinstance(X_input, (list, tuple)):
        return True
    return isinstance(X_input, np.ndarray) and not np.may_share_memory(X_validated, X_input)


def validate_fit_data(estimator, X, y, **check_params):
    """``validate_data`` for ``fit`` that leaves ``estimator`` untouched.

    ``validate_data(reset=True)`` records ``n_features_in_`` and ``feature_names_in_`` on the
    estimator it is given, before the fit has succeeded. Validating on a fresh clone keeps a
    failing fit from changing a fitted estimator; :func:`set_fitted_attributes` copies the
    record over once the fit is done.

    Returns
    -------
    X, y : validated data
    record : estimator
        The clone holding ``n_features_in_`` (and ``feature_names_in_`` when ``X`` has them).
    """
    record = clone(estimator)
    X, y = validate_data(record, X, y, **check_params)
    return X, y, record


def set_fitted_attributes(estimator, record, **attributes):
    """Assign the fitted state at once: the feature record of ``record``, then ``attributes``."""
    estimator.n_features_in_ = record.n_features_in_
    if hasattr(record, "feature_names_in_"):
        estimator.feature_names_in_ = record.feature_names_in_
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    for name, value in attributes.items():
        setattr(estimator, name, value)
