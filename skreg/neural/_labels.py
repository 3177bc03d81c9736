"""Label smoothing: the soft target matrices behind ``label_smoothing``."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import column_or_1d

from skreg.utils._sklearn_private import Interval, StrOptions, validate_params


@validate_params(
    {
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, 1, closed="both")],
        "n_classes": [Interval(Integral, 2, None, closed="left"), None],
        "mode": [StrOptions({"uniform", "others"})],
    },
    prefer_skip_nested_validation=True,
)
def smooth_labels(y, epsilon, *, n_classes=None, mode="uniform"):
    """Return the label-smoothed target matrix of class indices ``y``.

    Read more in the :ref:`User Guide <label-smoothing>`.

    Two conventions go by the name of label smoothing; ``mode`` picks one.

    - ``mode="uniform"`` (the formula): ``(1 - epsilon) * onehot + epsilon / k``. The true class
      gets ``1 - epsilon + epsilon / k`` and every other class ``epsilon / k``. This is the target
      that ``torch.nn.CrossEntropyLoss(label_smoothing=epsilon)`` trains against, and the one
      :class:`~skreg.RegularizedNetClassifier` uses for ``label_smoothing``.
    - ``mode="others"``: the true class gets ``1 - epsilon`` and each of the ``k - 1`` other
      classes ``epsilon / (k - 1)``, so that the true class keeps exactly ``1 - epsilon``.

    With ``k = 3`` and ``epsilon = 0.1``, ``"uniform"`` gives ``[0.9333, 0.0333, 0.0333]`` and
    ``"others"`` gives ``[0.9, 0.05, 0.05]``. The 4-class row ``[0.1, 0.7, 0.1, 0.1]`` is
    ``"uniform"`` with ``epsilon = 0.4`` or ``"others"`` with ``epsilon = 0.3``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class indices in ``0 .. n_classes - 1`` (encode other labels first, e.g. with
        :class:`~sklearn.preprocessing.LabelEncoder`).
    epsilon : float in [0, 1]
        Probability mass moved away from the true class.
    n_classes : int >= 2, default=None
        Number of classes ``k``. ``None`` uses ``max(y) + 1``.
    mode : {"uniform", "others"}, default="uniform"
        How the mass is spread, see above.

    Returns
    -------
    targets : ndarray of shape (n_samples, n_classes)
        Rows of non-negative floats that sum to one.

    See Also
    --------
    RegularizedNetClassifier : trains against these targets when ``label_smoothing > 0``.

    Examples
    --------
    >>> from skreg import smooth_labels
    >>> smooth_labels([0], 0.1, n_classes=3).round(4)
    array([[0.9333, 0.0333, 0.0333]])
    >>> smooth_labels([0], 0.1, n_classes=3, mode="others").round(4)
    array([[0.9 , 0.05, 0.05]])
    """
    y = column_or_1d(y)
    numeric = np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)
    if not numeric or (y.size and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(
            f"y must hold class indices (integers), got values of dtype {y.dtype}; encode "
            "labels first, e.g. with sklearn.preprocessing.LabelEncoder."
        )
    if y.size and not np.all(np.isfinite(y)):
        raise ValueError("y must hold class indices (integers), got NaN or infinity.")
    if y.size and y.max() > np.iinfo(np.intp).max:
        raise ValueError(
            f"y must hold class indices in [0, n_classes - 1], got values up to {y.max()}; "
            "encode labels first, e.g. with LabelEncoder."
        )
    y = y.astype(np.intp)
    if y.size and y.min() < 0:  # before inferring n_classes, which would blame the count
        raise ValueError(
            f"y must hold class indices >= 0, got the negative label {y.min()}; encode labels "
            "first, e.g. with sklearn.preprocessing.LabelEncoder."
        )
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 0
        if n_classes < 2:
            raise ValueError(
                "n_classes cannot be inferred from y (fewer than 2 classes seen); pass n_classes."
            )
    n_bytes = y.shape[0] * n_classes * np.dtype(np.float64).itemsize
    if n_bytes > _memory_bytes():
        raise ValueError(
            f"The target matrix of {y.shape[0]} samples by n_classes={n_classes} classes would "
            f"take {n_bytes / 2**30:.3g} GiB, more than this machine's memory. y must hold "
            "class indices 0 .. n_classes - 1: encode labels first, e.g. with LabelEncoder."
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"y must hold class indices in [0, {n_classes - 1}], got values in "
            f"[{y.min()}, {y.max()}]."
        )
    if mode == "uniform":
        off_value, on_value = epsilon / n_classes, 1.0 - epsilon + epsilon / n_classes
    else:
        off_value, on_value = epsilon / (n_classes - 1), 1.0 - epsilon
    targets = np.full((y.shape[0], n_classes), off_value)
    targets[np.arange(y.shape[0]), y] = on_value
    return targets


def _memory_bytes():
    """Physical memory of the machine (unbounded where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return float("inf")
