"""scikit-learn's estimator checks over every public skreg estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg.utils._test_common import expected_failed_checks, tested_estimators


@parametrize_with_checks(list(tested_estimators()), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
