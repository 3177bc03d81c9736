"""Find skreg's public estimators, so common tests pick up new ones automatically."""

import inspect

from sklearn.base import BaseEstimator

_TYPE_MIXINS = {
    "classifier": "ClassifierMixin",
    "regressor": "RegressorMixin",
    "transformer": "TransformerMixin",
}


def all_estimators(type_filter=None):
    """Return the public estimators of skreg as a sorted list of ``(name, class)`` pairs.

    Public means exported in ``skreg.__all__``; private helpers and base classes are not listed.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer"}, list of them or None, default=None
        Keep only the estimators of these kinds. ``None`` keeps every estimator.

    Returns
    -------
    estimators : list of (str, type)

    Examples
    --------
    >>> from skreg.utils.discovery import all_estimators
    >>> [name for name, _ in all_estimators(type_filter="transformer")]
    ['VectorQuantizer']
    """
    import skreg

    estimators = []
    for name in skreg.__all__:
        obj = getattr(skreg, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            estimators.append((name, obj))
    if type_filter is not None:
        kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = set(kinds) - set(_TYPE_MIXINS)
        if unknown:
            raise ValueError(
                f"type_filter must be one of {sorted(_TYPE_MIXINS)} or None, got {sorted(unknown)}."
            )
        estimators = [
            (name, cls)
            for name, cls in estimators
            if any(_TYPE_MIXINS[k] in {base.__name__ for base in cls.__mro__} for k in kinds)
        ]
    return sorted(estimators)
