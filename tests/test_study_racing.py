"""Racing over the folds (screening="racing", the default on large tables): every strength on
the first 2 folds of each run, the leader there on the others, choices nested as in the
exhaustive search."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from study_helpers import SPARSE_REGULARIZERS, legend_and_report, sparse_regression

from skreg import ElasticNetRegressor, compare_regularizers
from skreg.study import _progress, _racing
from skreg.study._grids import Sweep

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore:compare_regularizers:UserWarning")

REGULARIZERS = SPARSE_REGULARIZERS
CV, REPEATS = 5, 2


@pytest.fixture(scope="module")
def sparse_table():
    return sparse_regression()


@pytest.fixture(scope="module")
def studies(sparse_table):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    return [compare_regularizers(model, *sparse_table, cv=CV, n_repeats=REPEATS,
                                 regularizers=REGULARIZERS, random_state=0,
                                 screening=screening)
            for screening in (False, "racing")]


def _selection(repeat_of_fold):
    return [fold for fold in range(len(repeat_of_fold))
            if fold - list(repeat_of_fold).index(repeat_of_fold[fold]) < 2]


def test_raced_study_has_the_exhaustive_verdicts(studies):
    exhaustive, raced = studies
    assert list(exhaustive.verdicts_["verdict"]) == ["helps", "hurts"]
    assert list(raced.verdicts_["verdict"]) == list(exhaustive.verdicts_["verdict"])
    assert list(raced.verdicts_["best setting"]) == list(exhaustive.verdicts_["best setting"])


def test_raced_fits_are_the_exhaustive_fits_and_the_leader_the_only_one_on_other_folds(
        studies):
    exhaustive, raced = studies
    fitted = np.isfinite(raced.fold_scores_)
    # The same seeds and folds: every fit that ran is the exhaustive search's fit.
    np.testing.assert_array_equal(raced.fold_scores_[fitted], exhaustive.fold_scores_[fitted])
    repeat_of_fold = np.repeat(np.arange(REPEATS), CV)
    selection = _selection(repeat_of_fold)
    assert selection == [0, 1, 5, 6]
    for name, values in REGULARIZERS.items():
        rows = (raced.results_["regularizer"] == name).to_numpy()
        assert fitted[rows][:, selection].all()  # every strength on the selection folds
        # One strength (the leader) on each other fold.
        assert (fitted[rows].sum(axis=0) == 1).sum() == CV * REPEATS - len(selection)
        assert sorted(raced.results_["n_folds"][rows]) == [4] * (len(values) - 1) + [10]


def test_raced_gain_is_that_of_the_choice_on_the_selection_folds(studies):
    """Reference by hand from the exhaustive scores: on a selection fold, the strength best
    on the run's other selection fold; elsewhere, the best on the run's selection folds."""
    exhaustive, raced = studies
    repeat_of_fold = np.repeat(np.arange(REPEATS), CV)
    selection = _selection(repeat_of_fold)
    baseline = exhaustive.fold_scores_[0]
    for name in REGULARIZERS:
        rows = (exhaustive.results_["regularizer"] == name).to_numpy()
        scores = exhaustive.fold_scores_[rows]
        differences = []
        for fold in range(CV * REPEATS):
            run = [f for f in selection if repeat_of_fold[f] == repeat_of_fold[fold]]
            others = [f for f in run if f != fold]
            chosen = int(np.argmax(scores[:, others].mean(axis=1)))
            differences.append(scores[chosen, fold] - baseline[fold])
        gain = raced.verdicts_.set_index("regularizer").loc[name, "gain"]
        np.testing.assert_allclose(gain, np.mean(differences), rtol=1e-12)


def test_best_setting_is_scored_on_every_fold(studies):
    _, raced = studies
    results = raced.results_
    best = results[results["params"].apply(lambda p: p == raced.best_params_)]
    assert (best["n_folds"] == CV * REPEATS).all()
    # A strength fitted on 4 folds may have a higher mean there: it is never "best".
    assert raced.best_score_ == results.loc[results["n_folds"] == 10,
                                            "mean_test_score"].max()


class Counting(RegressorMixin, BaseEstimator):
    """Predicts ``shrink`` times the training mean; counts its fits."""

    n_fits = 0

    def __init__(self, shrink=1.0):
        self.shrink = shrink

    def fit(self, X, y):
        Counting.n_fits += 1
        self.mean_ = self.shrink * float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class _Bar:
    def __init__(self, total):
        self.total, self.first_total, self.done = total, total, 0

    def update(self, n):
        self.done += n

    def refresh(self):
        pass

    def close(self):
        pass


def test_racing_fits_and_progress_total(monkeypatch):
    bars = []
    monkeypatch.setattr(_progress, "_tqdm_bar", lambda total: bars.append(_Bar(total))
                        or bars[-1])
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 2)), 5.0 + rng.normal(size=200)
    Counting.n_fits = 0
    study = compare_regularizers(Counting(), X, y, cv=5, n_repeats=2, random_state=0,
                                 screening="racing", verbose=1,
                                 regularizers={"shrink": [0.0, 0.5, 0.9, 1.0]})
    # Baseline on 10 folds, 4 strengths on 2 x 2 selection folds, the leader on 6 folds:
    # 32 fits against the exhaustive 50.
    assert Counting.n_fits == 10 + 4 * 4 + 6 == 32
    [bar] = bars
    assert bar.first_total == bar.total == bar.done == 32
    assert study.best_params_ in ({}, {"shrink": 1.0})


def test_runs_that_choose_different_leaders_fit_each_on_every_other_fold():
    """Run 0's selection folds prefer the first strength, run 1's the second: both are
    fitted on all 6 other folds, so each is scored on every fold (and can be the best)."""
    sweep = Sweep("shrink", "shrink", [0.5, 1.0, 2.0])
    repeat_of_fold = np.repeat(np.arange(2), 5)
    calls, skipped = [], []

    def search(grid, folds):
        calls.append((grid, list(folds)))
        n_candidates = len(grid) if calls[1:] else len(grid[0]["shrink"])
        results = {"mean_fit_time": np.ones(n_candidates)}
        for split, fold in enumerate(folds):
            # Selection folds 0, 1 (run 0): strength 0 best; 5, 6 (run 1): strength 1 best.
            best = 0 if fold < 5 else 1
            results[f"split{split}_test_score"] = np.array(
                [1.0 if index == best else 0.0 for index in range(n_candidates)])
            results[f"split{split}_train_score"] = np.ones(n_candidates)
        return results

    class Progress:
        def skip(self, n_fits):
            skipped.append(n_fits)

    rows = _racing.race(search, [sweep], repeat_of_fold, Progress(), {})
    assert calls[0][1] == [0, 1, 5, 6]
    assert calls[1] == ([{"shrink": [0.5]}, {"shrink": [1.0]}], [2, 3, 4, 7, 8, 9])
    assert skipped == [-6]  # one leader per run was planned
    assert [row["n_folds"] for row in rows] == [10, 10, 4]


def test_raceable_and_selection_folds():
    assert _racing.raceable(Sweep("d", "dropout", [0.1, 0.5]), 3)
    assert not _racing.raceable(Sweep("b", "batch_norm", [True]), 5)  # one setting
    assert not _racing.raceable(Sweep("d", "dropout", [0.1, 0.5]), 2)  # nothing to skip
    np.testing.assert_array_equal(_racing.selection_folds(np.repeat([0, 1], 3)),
                                  [True, True, False, True, True, False])


def test_raced_study_plots_and_writes_its_report(studies, tmp_path):
    labels, page = legend_and_report(studies[1], tmp_path)
    assert "leader (test, all folds)" in labels
    assert "test (CV, 4 shared folds)" in labels
    assert "Raced: every strength was fitted on the first folds of each run" in page


def test_summary_and_best_setting_are_the_leader_not_a_luckier_partial_mean():
    """Heavy-tailed noise: a strength fitted on the 4 selection folds only has a higher mean
    there than the leader has over all 10 folds; it must not be reported as the best."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2)), 5.0 + 3 * rng.standard_t(2, size=60)
    study = compare_regularizers(Counting(), X, y, cv=5, n_repeats=2, random_state=0,
                                 screening="racing",
                                 regularizers={"shrink": [0.8, 0.9, 1.0, 1.1]})
    rows = study.results_[study.results_["regularizer"] == "shrink"]
    leader = rows[rows["n_folds"] == 10]
    assert len(leader) == 1
    assert rows.loc[rows["n_folds"] < 10, "mean_test_score"].max() > leader[
        "mean_test_score"].iloc[0]  # the case this test is about
    summary = study.summary().set_index("regularizer")
    verdict = study.verdicts_.set_index("regularizer").loc["shrink"]
    assert summary.loc["shrink", "test score"] == verdict["test score"] == leader[
        "mean_test_score"].iloc[0]
    assert verdict["best setting"] == f"shrink={leader['strength'].iloc[0]:.3g}"
    assert study.best_single_params_ in ({}, {"shrink": leader["strength"].iloc[0]})
