"""The study's statistics: the corrected t-test, Holm, honest gains, verdicts_ and its flags."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifier,
    ElasticNetRegressor,
    RegularizedNetClassifier,
    compare_regularizers,
)
from skreg.study._cli import headline
from skreg.study._stats import corrected_ttest, cross_fold_choice, holm, verdict
from skreg.study._verdicts import unit_flags

VERDICT_COLUMNS = ["regularizer", "kind", "best setting", "test score", "gain", "ci_low",
                   "ci_high", "p_value", "p_holm", "verdict", "flags", "n_settings"]


def _linear():
    return make_pipeline(StandardScaler(), ElasticNetRegressor())


def _sparse_task(seed=2, n=300, p=60):
    """2 strong effects among 60 features: least squares overfits, the Lasso helps."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    coef = np.zeros(p)
    coef[:2] = 2.0
    return X, X @ coef + 2.0 * rng.normal(size=n)


def test_corrected_ttest_by_hand():
    differences = np.array([0.02, 0.05, -0.01, 0.04, 0.03])
    n_train, n_test = 80, 20
    test = corrected_ttest(differences, n_train, n_test)
    # Nadeau & Bengio: var(d) * (1/J + n_test/n_train), t on J - 1 degrees of freedom.
    mean = differences.sum() / 5
    variance = ((differences - mean) ** 2).sum() / 4
    standard_error = np.sqrt(variance * (1 / 5 + 20 / 80))
    t = mean / standard_error
    assert_allclose(test.gain, 0.026)
    assert_allclose(test.p_value, 2 * (1 - stats.t.cdf(t, 4)))
    half = stats.t.ppf(0.975, 4) * standard_error
    assert_allclose([test.ci_low, test.ci_high], [mean - half, mean + half])
    # The correction widens the interval of the naive paired t-test.
    naive = stats.ttest_rel(differences, np.zeros(5))
    assert test.p_value > naive.pvalue
    assert corrected_ttest(np.zeros(4), 30, 10).p_value == 1.0


def test_equal_differences_on_every_fold_are_no_evidence():
    # One more wine right on each of 3 folds: the t statistic is infinite, but the folds
    # measured no noise at all, so they cannot support a verdict (make demo's quick run).
    test = corrected_ttest(np.full(3, 0.005), 120, 60)
    assert test.gain == pytest.approx(0.005)
    assert test.p_value == 1.0 and np.isnan(test.ci_low) and np.isnan(test.ci_high)
    assert verdict(test.gain, holm([test.p_value])[0]) == "no evidence"
    unit = {"test": test, "sweep": None, "rows": [{"best_epoch": np.nan, "n_iter": np.nan}],
            "best": 0, "verdict": "no evidence"}
    assert any("the same difference (+0.005) on every fold" in flag
               for flag in unit_flags(unit, max_iter=None))
    assert corrected_ttest(np.array([0.005, 0.005, 0.0051]), 120, 60).p_value < 0.05


def test_holm_by_hand():
    adjusted = holm([0.01, 0.04, 0.03, 0.5, np.nan])
    # sorted: 0.01 * 4, 0.03 * 3, max(0.04 * 2, 0.09), max(0.5 * 1, 0.09); NaN left out
    assert_allclose(adjusted[:4], [0.04, 0.09, 0.09, 0.5])
    assert np.isnan(adjusted[4])
    assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])


def test_cross_fold_choice_uses_the_other_folds_of_each_repeat():
    scores = np.array([[0.9, 0.1, 0.1, 0.5, 0.5],
                       [0.1, 0.5, 0.5, 0.4, 0.6]])
    repeats = np.array([0, 0, 0, 1, 1])
    # fold 0: the other folds of repeat 0 prefer setting 1; fold 1: (0.9+0.1)/2 = 0.5 vs 0.3
    assert list(cross_fold_choice(scores, repeats)) == [1, 0, 0, 1, 0]


@pytest.fixture(scope="module")
def lasso_study():
    X, y = _sparse_task()
    # Two repeats: with a single 5-fold run the test has 4 degrees of freedom, and Holm's
    # correction over 4 rows asks for a t above 5.6.
    return compare_regularizers(_linear(), X, y, cv=5, n_repeats=2, random_state=0, quick=True)


def test_verdicts_columns_and_holm(lasso_study):
    verdicts = lasso_study.verdicts_
    assert list(verdicts.columns) == VERDICT_COLUMNS
    assert list(verdicts["regularizer"]) == ["L2 (ridge)", "elastic net", "L1 (lasso)",
                                             "path CV"]
    assert_allclose(verdicts["p_holm"], holm(verdicts["p_value"]))
    for _, row in verdicts.iterrows():
        expected = ("no evidence" if row["p_holm"] > 0.05
                    else "helps" if row["gain"] > 0 else "hurts")
        assert row["verdict"] == expected
        assert row["ci_low"] <= row["gain"] <= row["ci_high"]
    assert verdicts.set_index("regularizer").loc["L1 (lasso)", "verdict"] == "helps"


def test_gain_is_the_cross_fold_choice_not_the_best_mean(lasso_study):
    study = lasso_study
    names = study.results_["regularizer"].to_numpy()
    for _, row in study.verdicts_.iterrows():
        rows = np.flatnonzero(names == row["regularizer"])
        chosen = cross_fold_choice(study.fold_scores_[rows], np.repeat([0, 1], 5))
        differences = study.fold_scores_[rows[chosen], range(10)] - study.fold_scores_[0]
        assert_allclose(row["gain"], differences.mean())
        train, test = study.splits_[0]
        assert_allclose(row["p_value"], corrected_ttest(differences, len(train),
                                                        len(test)).p_value)
        # the best mean over the folds is at least the honest gain: selection is optimistic
        best = study.results_.loc[rows, "gain"].max()
        assert best >= row["gain"] - 1e-12


def test_gains_invariant_to_target_and_feature_units():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:150], y[:150]
    study = compare_regularizers(_linear(), X, y, cv=3, random_state=0, quick=True)
    scaled = compare_regularizers(_linear(), X * np.arange(1, 11) * 100, y * 1000, cv=3,
                                  random_state=0, quick=True)
    single = study.verdicts_["kind"] == "single"
    assert_allclose(scaled.verdicts_.loc[single, "gain"], study.verdicts_.loc[single, "gain"],
                    rtol=1e-6)
    singles = study.results_["kind"].isin(["baseline", "single"])
    assert_allclose(scaled.results_.loc[singles, "mean_test_score"],
                    study.results_.loc[singles, "mean_test_score"], rtol=1e-6)
    assert list(scaled.verdicts_["verdict"]) == list(study.verdicts_["verdict"])
    # ridge's grid does not move with y; the Lasso's moves with it
    assert_allclose(scaled.sweeps_[0].values, study.sweeps_[0].values, rtol=1e-9)
    assert_allclose(scaled.sweeps_[2].values, np.array(study.sweeps_[2].values) * 1000)


def test_rows_sorted_by_the_target_do_not_bias_the_path_cv():
    X, y = _sparse_task()
    order = np.argsort(y)
    study = compare_regularizers(_linear(), X[order], y[order], cv=3, random_state=0)
    results = study.results_
    lasso = results.loc[results["regularizer"] == "L1 (lasso)", "mean_test_score"].max()
    # With unshuffled inner folds the path CV chose from extrapolating folds: 0.620 against
    # the Lasso's 0.650 on these outer folds; shuffled inner folds choose as well as the grid.
    assert results.iloc[-1]["mean_test_score"] > lasso - 0.01


def test_inner_folds_are_of_the_outer_kind():
    X, y = load_diabetes(return_X_y=True)
    order = np.argsort(y)[:200]  # rows sorted by the target
    study = compare_regularizers(_linear(), X[order], y[order], cv=3, random_state=7,
                                 quick=True)
    inner = study.results_.iloc[-1]["params"]["elasticnetregressor"].cv
    assert isinstance(inner, KFold) and inner.shuffle and inner.random_state == 7
    X, y = load_iris(return_X_y=True)
    classifier = make_pipeline(StandardScaler(), ElasticNetClassifier())
    study = compare_regularizers(classifier, X, y, cv=3, random_state=3, quick=True,
                                 regularizers=None)
    inner = study.results_.iloc[-1]["params"]["elasticnetclassifier"].cv
    assert isinstance(inner, StratifiedKFold) and inner.shuffle and inner.random_state == 3


def test_linear_classifier_baseline_is_the_weakest_ridge_penalty():
    X, y = load_breast_cancer(return_X_y=True)
    classifier = make_pipeline(StandardScaler(), ElasticNetClassifier())
    study = compare_regularizers(classifier, X[::3], y[::3], cv=3, random_state=0, quick=True)
    ridge = study.sweeps_[0]
    base = study.base_estimator_[-1]
    assert (base.alpha, base.l1_ratio) == (ridge.values[0], 0.0)
    assert base.alpha > 0
    assert "weakest L2 penalty" in study.baseline_
    assert study.summary().loc[0, "best setting"] == study.baseline_


def test_null_task_says_no_evidence_and_repeats_add_folds():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.5 * rng.normal(size=300)
    study = compare_regularizers(_linear(), X, y, cv=3, n_repeats=2, random_state=0,
                                 quick=True)
    assert study.fold_scores_.shape == (len(study.results_), 6)
    assert (study.verdicts_["verdict"] != "helps").all()
    assert "6 folds (3-fold CV repeated 2 times)" in study.verdict()
    with pytest.raises(ValueError, match="n_repeats"):
        compare_regularizers(_linear(), X, y, cv=KFold(3), n_repeats=2)


def test_edge_of_grid_flag():
    X, y = _sparse_task()
    study = compare_regularizers(_linear(), X, y, cv=5, random_state=0,
                                 regularizers={"L1 (lasso)": [1e-4, 1e-3, 1e-2]})
    row = study.verdicts_.iloc[0]
    assert row["gain"] > 0 and row["best setting"].startswith("alpha=0.01")
    assert "largest value of the grid: try larger" in row["flags"]
    assert "try larger" in headline(study)


def test_net_flags_early_stopping_and_under_trained_baseline():
    X, y = load_iris(return_X_y=True)
    net = make_pipeline(StandardScaler(), RegularizedNetClassifier(
        (8,), max_iter=4, batch_size=32, learning_rate_init=0.003))
    study = compare_regularizers(net, X, y, cv=3, random_state=0,
                                 regularizers={"early stopping": [True], "dropout": [0.1]})
    assert any("under-trained" in flag for flag in study.baseline_flags_)
    verdicts = study.verdicts_.set_index("regularizer")
    assert "early stopping never stopped" in verdicts.loc["early stopping", "flags"]
    assert "early stopping" not in verdicts.loc["dropout", "flags"]
    assert verdicts["flags"].str.contains("under-trained").all()
    assert "under-trained" in study.verdict()


def test_quick_and_full_agree_on_clear_verdicts():
    X, y = _sparse_task()
    quick, full = (compare_regularizers(_linear(), X, y, cv=5, n_repeats=2, random_state=0,
                                        quick=mode) for mode in (True, False))
    clear = {}
    for study in (quick, full):
        verdicts = study.verdicts_[study.verdicts_["verdict"] != "no evidence"]
        assert len(verdicts), "a table without a clear verdict cannot test the agreement"
        for _, row in verdicts.iterrows():
            clear.setdefault(row["regularizer"], set()).add(row["verdict"])
    assert all(len(verdicts) == 1 for verdicts in clear.values()), clear


def test_linear_baseline_that_did_not_converge_is_flagged():
    X, y = load_breast_cancer(return_X_y=True)
    classifier = make_pipeline(StandardScaler(), ElasticNetClassifier(max_iter=2))
    study = compare_regularizers(classifier, X[::3], y[::3], cv=3, random_state=0,
                                 regularizers={"L2 (ridge)": [0.1]})
    assert study.baseline_flags_ == ["the baseline did not converge within max_iter=2"]
    assert "did not converge" in study.verdicts_.loc[0, "flags"]
    converged = compare_regularizers(make_pipeline(StandardScaler(), ElasticNetClassifier()),
                                     X[::3], y[::3], cv=3, random_state=0,
                                     regularizers={"L2 (ridge)": [0.1]})
    assert converged.baseline_flags_ == [] and converged.verdicts_.loc[0, "flags"] == ""


def test_a_regularized_net_still_learning_at_max_iter_is_flagged():
    # The baseline converges; the swept setting (a learning rate 100 times smaller, standing
    # for a regularizer that slows training down) is still learning when max_iter stops it:
    # its loss may only reflect slower training, and its own row says so.
    X, y = load_iris(return_X_y=True)
    net = make_pipeline(StandardScaler(), RegularizedNetClassifier(
        (8,), max_iter=60, batch_size=32, learning_rate_init=0.03, random_state=0))
    study = compare_regularizers(net, X, y, cv=3, random_state=0,
                                 regularizers={"learning_rate_init": [3e-4], "dropout": [0.0]})
    assert not study.baseline_flags_
    verdicts = study.verdicts_.set_index("regularizer")
    assert "under-trained" in verdicts.loc["learning_rate_init", "flags"]
    assert "under-trained" not in verdicts.loc["dropout", "flags"]
