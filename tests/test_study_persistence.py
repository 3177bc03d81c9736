"""A RegularizationStudy saves and loads with pickle and skops.io."""

import pickle

import numpy as np
import pytest
import skops.io  # a test requirement: a missing install fails instead of skipping
from pandas.testing import assert_frame_equal
from sklearn.datasets import make_classification

from skreg import ElasticNetClassifier, compare_regularizers


@pytest.fixture(scope="module", params=[False, "racing"])
def study(request):
    """Exhaustive, and raced (strengths fitted on some folds only: NaN scores elsewhere)."""
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    return compare_regularizers(ElasticNetClassifier(), X, y, cv=3, quick=True,
                                random_state=0, screening=request.param)


def _same_study(loaded, study):
    assert_frame_equal(loaded.results_, study.results_)
    assert loaded.summary().equals(study.summary())
    assert_frame_equal(loaded.verdicts_, study.verdicts_)
    np.testing.assert_array_equal(loaded.fold_scores_, study.fold_scores_)
    assert loaded.best_params_ == study.best_params_
    assert loaded.verdict() == study.verdict()
    assert repr(loaded) == repr(study)


def test_pickle_round_trip(study):
    _same_study(pickle.loads(pickle.dumps(study)), study)


def test_skops_round_trip_trusts_only_skreg_types(study, tmp_path):
    path = tmp_path / "study.skops"
    skops.io.dump(study, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert untrusted and all(name.startswith("skreg.") for name in untrusted)
    _same_study(skops.io.load(path, trusted=untrusted), study)
