"""scikit-learn's estimator checks over every public skreg estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg.utils import _test_common


@parametrize_with_checks(
    list(_test_common.tested_estimators()),
    expected_failed_checks=_test_common.expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
