"""Screening by successive halving inside each outer fold (screening="halving"): the same
verdicts, nested choices. Racing (the default on large tables) is in test_study_racing.py."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.metrics import r2_score
from sklearn.model_selection import HalvingGridSearchCV, ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from study_helpers import SPARSE_REGULARIZERS, legend_and_report, sparse_regression

from skreg import ElasticNetRegressor, compare_regularizers
from skreg.study import _screening
from skreg.study._cli import main

# alpha=0.01 may stop short of convergence on 100 features: not what these tests check.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore:compare_regularizers:UserWarning")

REGULARIZERS = SPARSE_REGULARIZERS


@pytest.fixture(scope="module")
def sparse_table():
    return sparse_regression()


def _study(data, screening):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    return compare_regularizers(model, *data, cv=5, regularizers=REGULARIZERS,
                                random_state=0, screening=screening)


@pytest.fixture(scope="module")
def studies(sparse_table):
    return _study(sparse_table, False), _study(sparse_table, "halving")


def test_screened_and_exhaustive_studies_agree_on_the_verdicts(studies):
    exhaustive, screened = studies
    assert list(exhaustive.verdicts_["verdict"]) == ["helps", "hurts"]
    assert list(screened.verdicts_["verdict"]) == list(exhaustive.verdicts_["verdict"])
    assert list(screened.verdicts_["kind"]) == ["screened", "screened"]
    assert list(exhaustive.verdicts_["kind"]) == ["single", "single"]
    # The same baseline, scored on the same folds.
    np.testing.assert_array_equal(screened.fold_scores_[0], exhaustive.fold_scores_[0])


def test_screened_fold_scores_are_halving_inside_each_training_fold(studies, sparse_table):
    """Reference: scikit-learn's HalvingGridSearchCV on each outer training fold, refit there
    and scored on the outer test fold, with the rungs of the docs (a third of the fold or all
    of it under 1,000 rows, stopping while two strengths are left)."""
    X, y = sparse_table
    _, study = studies
    row = study.results_.index[(study.results_["regularizer"] == "L1 (lasso)")
                               & (study.results_["kind"] == "screened")][0]
    expected = []
    for train, test in study.splits_:
        assert len(train) == 240  # 4 strengths: 4 on 80 rows, then the best 2 on 240
        search = HalvingGridSearchCV(
            clone(study.base_estimator_),
            {"elasticnetregressor__alpha": REGULARIZERS["L1 (lasso)"],
             "elasticnetregressor__l1_ratio": [1.0]},
            factor=3, min_resources=80, max_resources=240,
            cv=ShuffleSplit(1, test_size=0.25, random_state=0), random_state=0,
        ).fit(X[train], y[train])
        expected.append(r2_score(y[test], search.predict(X[test])))
    np.testing.assert_allclose(study.fold_scores_[row], expected, rtol=1e-10)


def test_results_keep_a_row_per_setting_with_the_screening_record(studies):
    exhaustive, screened = studies
    results = screened.results_
    strengths = results[results["kind"] == "single"]
    assert len(strengths) == len(exhaustive.results_) - 1 == 7
    assert strengths["mean_test_score"].isna().all()  # not fitted at full size
    assert strengths["screening_score"].notna().all()
    assert set(strengths["screening_rows"]) <= set(np.arange(80.0, 241.0))
    for name in REGULARIZERS:
        kept = strengths[strengths["regularizer"] == name]["n_chosen"]
        assert kept.sum() == screened.n_splits_  # each fold kept one strength
    lasso = screened.verdicts_.iloc[0]
    assert "kept in" in lasso["best setting"] and lasso["n_settings"] == 4
    # Exhaustive rows carry no screening record.
    assert exhaustive.results_["screening_score"].isna().all()


def test_screened_study_plots_and_writes_its_report(studies, tmp_path):
    labels, page = legend_and_report(studies[1], tmp_path)
    assert "screening (subsamples)" in labels
    assert "strength kept per fold (test, CV)" in labels
    assert "Screened by successive halving" in page


class RowSpy(RegressorMixin, BaseEstimator):
    """Predicts ``shrink`` times the training mean; records the rows (column 0) it fits on."""

    fitted_rows = []

    def __init__(self, shrink=1.0):
        self.shrink = shrink

    def fit(self, X, y):
        RowSpy.fitted_rows.append(frozenset(np.asarray(X)[:, 0].astype(int).tolist()))
        self.mean_ = self.shrink * float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_screening_never_fits_on_the_outer_test_rows():
    rng = np.random.default_rng(1)
    X = np.c_[np.arange(200), rng.normal(size=200)]
    y = 5.0 + rng.normal(size=200)
    RowSpy.fitted_rows = []
    study = compare_regularizers(RowSpy(), X, y, cv=4, random_state=0, screening="halving",
                                 regularizers={"shrink": [0.0, 0.5, 0.9, 1.0]})
    assert study.results_["kind"].tolist()[-1] == "screened"
    trains = [frozenset(train.tolist()) for train, _ in study.splits_]
    assert len(RowSpy.fitted_rows) > 4 * 4  # rungs inside each fold, then the refits
    assert all(any(rows <= train for train in trains) for rows in RowSpy.fitted_rows)
    assert any(len(rows) < 150 for rows in RowSpy.fitted_rows)  # subsamples


def test_screening_auto_races_large_tables_and_quick_mode():
    mode = _screening.screening_mode
    assert mode("auto", _screening.AUTO_ROWS, quick=False) == "racing"
    assert mode("auto", _screening.AUTO_ROWS - 1, quick=False) is None
    assert mode("auto", _screening.AUTO_ROWS_QUICK, quick=True) == "racing"
    assert mode("auto", _screening.AUTO_ROWS_QUICK - 1, quick=True) is None
    assert mode(False, 10**6, quick=True) is None
    assert mode(True, 10, quick=False) == "racing"
    assert mode("halving", 10, quick=False) == "halving"
    with pytest.raises(ValueError, match="screening must be 'auto', 'racing', 'halving', True"):
        compare_regularizers(RowSpy(), np.ones((20, 2)), np.arange(20.0),
                             regularizers={"shrink": [0.5, 1.0]}, screening="yes")


def test_screening_auto_turns_on_for_large_tables_with_the_exhaustive_verdicts(
        studies, sparse_table, monkeypatch):
    """screening="auto" (the default): on a table past its threshold (lowered here, so that
    a small table counts as large), the Lasso that clearly helps and the too strong ridge
    that clearly hurts get the exhaustive search's verdicts, raced."""
    exhaustive, _ = studies
    monkeypatch.setattr(_screening, "AUTO_ROWS", len(sparse_table[1]))
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    study = compare_regularizers(model, *sparse_table, cv=5, regularizers=REGULARIZERS,
                                 random_state=0)
    assert (study.results_["n_folds"] < 5).any()  # raced: some strengths on 2 folds only
    assert list(study.verdicts_["kind"]) == ["single", "single"]
    assert list(study.verdicts_["verdict"]) == list(exhaustive.verdicts_["verdict"])
    # One row fewer than the threshold: every strength on every fold.
    smaller = compare_regularizers(model, *(part[:-1] for part in sparse_table), cv=5,
                                   regularizers=REGULARIZERS, random_state=0)
    assert (smaller.results_["n_folds"] == 5).all()


def test_last_rung_keeps_two_strengths_and_a_third_of_large_folds():
    # 9 strengths on 9,000 rows: 9 on 333, 3 on 1,000, the best of 3 on 3,000 rows.
    assert _screening.rungs(9, 9_000) == (1_000, 3_000)
    assert _screening.rungs(2, 9_000) == (3_000, 3_000)
    # Small folds: the final choice on the whole fold (at least 1,000 rows when it can).
    assert _screening.rungs(5, 1_200) == (333, 1_000)  # 5 on 333, the best 2 on 1,000
    assert _screening.rungs(3, 600) == (600, 600)


def test_cli_screening_flag(tmp_path, monkeypatch):
    import skreg.study

    seen = []

    def fake(model, X, y, **kwargs):
        seen.append(kwargs["screening"])
        raise KeyboardInterrupt  # stop before any fit

    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": rng.normal(size=40), "y": rng.normal(size=40)}).to_csv(path, index=False)
    monkeypatch.setattr(skreg.study, "compare_regularizers", fake)
    for flags, expected in (([], "auto"), (["--screening", "off"], False),
                            (["--screening", "halving"], "halving"),
                            (["--screening", "racing"], "racing")):
        with pytest.raises(KeyboardInterrupt):
            main([str(path), "--target", "y", "--estimator", "linear",
                  "--out", str(tmp_path / "r"), *flags])
        assert seen[-1] == expected
