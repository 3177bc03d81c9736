"""Instances for the common scikit-learn checks, and the one list of their expected failures.

Every public estimator found by :func:`skreg.utils.discovery.all_estimators` is checked with
scikit-learn's ``parametrize_with_checks``. ``CHECK_PARAMS`` makes the slow ones small enough to
check quickly; ``EXPECTED_FAILED_CHECKS`` is the only place a check may be marked as expected to
fail, each with the reason a user would accept.
"""

from skreg.utils.discovery import all_estimators

# Parameters that keep the common checks fast (small nets, few epochs). Keyed by class name.
CHECK_PARAMS = {
    # filled in by each estimator family
}

# {class name: {check name: reason}}.
EXPECTED_FAILED_CHECKS = {
    # filled in by each estimator family
}


def tested_estimators():
    """Yield one instance of every public estimator, configured for the common checks."""
    for name, cls in all_estimators():
        yield cls(**CHECK_PARAMS.get(name, {}))


def expected_failed_checks(estimator):
    """Return ``{check name: reason}`` of the checks expected to fail for ``estimator``."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
