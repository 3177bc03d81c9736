import pytest

import skreg
from skreg.utils.discovery import all_estimators


def test_all_estimators_lists_public_estimators():
    names = [name for name, _ in all_estimators()]
    assert names == sorted(names)
    assert {
        "ElasticNetClassifier",
        "ElasticNetRegressor",
        "RegularizedNetClassifier",
        "RegularizedNetRegressor",
        "VectorQuantizer",
    } <= set(names)
    # functions in __all__ are not estimators
    assert "smooth_labels" not in names
    assert all(name in skreg.__all__ for name in names)


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("classifier",
         {"ElasticNetClassifier", "ElasticNetClassifierCV", "RegularizedNetClassifier"}),
        ("regressor",
         {"ElasticNetRegressor", "ElasticNetRegressorCV", "RegularizedNetRegressor"}),
        ("transformer", {"VectorQuantizer"}),
    ],
)
def test_all_estimators_type_filter(kind, expected):
    assert {name for name, _ in all_estimators(type_filter=kind)} == expected


def test_all_estimators_rejects_unknown_type():
    with pytest.raises(ValueError, match="type_filter must be one of"):
        all_estimators(type_filter="clusterer")
