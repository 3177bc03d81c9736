"""compare_regularizers: results, the best choice against GridSearchCV, plots and the report."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetClassifier,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    VectorQuantizer,
    compare_regularizers,
)

COLUMNS = ["regularizer", "kind", "parameter", "strength", "mean_test_score", "std_test_score",
           "mean_train_score", "std_train_score", "train_test_gap", "gain", "mean_fit_time",
           "n_iter", "best_epoch", "params", "n_folds", "screening_score", "screening_rows",
           "n_chosen"]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def linear_study(diabetes):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    return compare_regularizers(model, *diabetes, cv=4, quick=True)


@pytest.fixture(scope="module")
def net_study():
    X, y = load_iris(return_X_y=True)
    net = make_pipeline(StandardScaler(), RegularizedNetClassifier(
        (8,), max_iter=10, batch_size=32, learning_rate_init=0.01))
    regularizers = {"dropout": [0.2], "label smoothing": [0.1], "early stopping": [True],
                    "weight_decay": [1e-3]}
    return compare_regularizers(net, X, y, regularizers=regularizers, cv=3, random_state=0)


def test_results_one_row_per_setting(linear_study):
    results = linear_study.results_
    assert list(results.columns) == COLUMNS
    # baseline + ridge, elastic net and lasso over the same 5 alphas + the path CV's choice
    assert len(results) == 1 + 3 * 5 + 1
    assert list(results["regularizer"].unique()) == [
        "baseline", "L2 (ridge)", "elastic net", "L1 (lasso)", "path CV"]
    assert results.loc[0, "params"] == {}
    assert linear_study.base_estimator_[-1].alpha == 0.0
    lasso = results[results["regularizer"] == "L1 (lasso)"]
    assert all(p["elasticnetregressor__l1_ratio"] == 1.0 for p in lasso["params"])
    assert_allclose(results["train_test_gap"],
                    results["mean_train_score"] - results["mean_test_score"])
    assert_allclose(results["gain"], results["mean_test_score"] - results.loc[0, "mean_test_score"])
    assert (results["mean_fit_time"] > 0).all()


def test_best_choice_equals_gridsearchcv(linear_study, diabetes):
    grid = [{}] + [sweep.grid() for sweep in linear_study.sweeps_]
    search = GridSearchCV(linear_study.base_estimator_, grid, cv=KFold(4)).fit(*diabetes)
    assert linear_study.best_single_params_ == search.best_params_
    assert linear_study.best_score_ >= search.best_score_ - 1e-12
    single = linear_study.results_[linear_study.results_["kind"].isin(["baseline", "single"])]
    assert_allclose(single["mean_test_score"], search.cv_results_["mean_test_score"])


def test_path_cv_row_is_the_nested_choice(linear_study, diabetes):
    # The union of the three sweeps' grids, each l1_ratio of the sweeps, unshuffled inner
    # folds like the outer ones (random_state=None).
    alphas = [alpha for sweep in linear_study.sweeps_ for alpha in sweep.values]
    l1_ratios = [sweep.fixed["l1_ratio"] for sweep in linear_study.sweeps_]
    tuned = make_pipeline(StandardScaler(), ElasticNetRegressorCV(
        alphas=alphas, l1_ratio=l1_ratios, cv=KFold(3)))
    scores = cross_validate(tuned, *diabetes, cv=KFold(4))["test_score"]
    row = linear_study.results_.iloc[-1]
    assert row["kind"] == "tuned"
    assert_allclose(row["mean_test_score"], scores.mean())
    assert linear_study.summary()["best setting"].str.contains(
        "chosen in each fold by ElasticNetRegressorCV").any()


def test_classifier_best_choice_equals_gridsearchcv():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), ElasticNetClassifier(max_iter=200))
    study = compare_regularizers(model, X, y, regularizers={"L2 (ridge)": [0.01, 0.1, 1.0]},
                                 cv=3, random_state=0)
    grid = [{}] + [sweep.grid() for sweep in study.sweeps_]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(study.base_estimator_, grid, cv=cv).fit(X, y)
    assert study.best_single_params_ == search.best_params_
    assert_allclose(study.results_["mean_test_score"], search.cv_results_["mean_test_score"])
    assert study.scoring_ == "accuracy"


def test_net_study_records_epochs_and_combination(net_study):
    results = net_study.results_.set_index("regularizer")
    assert set(results.index) >= {"baseline", "dropout", "label smoothing", "early stopping",
                                  "weight_decay"}
    assert results.loc["baseline", "n_iter"] == 10
    assert np.isnan(results.loc["dropout", "best_epoch"])
    stopped = results.loc["early stopping"]
    assert 1 <= stopped["best_epoch"] <= stopped["n_iter"] <= 10
    base = net_study.base_estimator_[-1]
    assert (base.dropout, base.label_smoothing, base.early_stopping) == (0.0, 0.0, False)
    assert base.random_state == 0
    # The combination only merges regularizers that help: with fewer than two, none.
    helps = net_study.verdicts_["verdict"].eq("helps").sum()
    assert (net_study.combination_params_ is None) == ("combination" not in results.index)
    if helps < 2:
        assert net_study.combination_params_ is None
    best = net_study.results_["mean_test_score"].idxmax()
    assert net_study.best_params_ == net_study.results_.loc[best, "params"]


def test_default_net_grids():
    X, y = load_iris(return_X_y=True)
    image_net = RegularizedNetClassifier(image_shape=(2, 2), max_iter=1)
    study_names = {s.name for s in compare_regularizers(
        image_net, X, y, cv=2, quick=True, regularizers=None).sweeps_}
    assert study_names == {"dropout", "weight decay", "L1", "label smoothing", "early stopping",
                           "batch norm", "input noise", "mixup", "augmentation"}
    regressor_names = [s.name for s in compare_regularizers(
        RegularizedNetRegressor(max_iter=1), X[:, :3], X[:, 3], cv=2, quick=True).sweeps_]
    assert "label smoothing" not in regressor_names and "augmentation" not in regressor_names
    asked = compare_regularizers(RegularizedNetClassifier(max_iter=1), X, y, cv=2, quick=True,
                                 regularizers=["adversarial"])
    assert {p["adversarial"] for p in asked.results_["params"].iloc[1:]} == {"fgsm"}


def test_regression_net_study():
    X, y = load_diabetes(return_X_y=True)
    net = make_pipeline(StandardScaler(), RegularizedNetRegressor((8,), max_iter=5))
    study = compare_regularizers(net, X[:150], (y[:150] - y.mean()) / y.std(), cv=2,
                                 regularizers={"dropout": [0.1, 0.3]}, random_state=0)
    assert study.scoring_ == "R²"
    assert len(study.results_) == 3
    assert study.results_["n_iter"].eq(5).all()


def test_quantizer_study_sweeps_n_codes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    study = compare_regularizers(VectorQuantizer(16, random_state=0), X, cv=3, quick=True)
    results = study.results_
    assert results.loc[0, "regularizer"] == "baseline"
    assert study.baseline_ == "as given (n_codes=16)"
    sweep = results[results["regularizer"] == "codebook size"]
    assert list(sweep["strength"]) == [2, 4, 8, 16, 32, 64]
    # more codes, lower reconstruction error (the score is minus the MSE)
    assert np.all(np.diff(sweep["mean_train_score"]) > 0)
    assert "MSE" in study.scoring_


def test_generic_estimator_with_a_dict():
    X, y = load_diabetes(return_X_y=True)
    study = compare_regularizers(Ridge(), X, y, regularizers={"alpha": [0.01, 0.1, 1.0]}, cv=3)
    search = GridSearchCV(Ridge(), [{}, {"alpha": [0.01, 0.1, 1.0]}], cv=3).fit(X, y)
    assert study.best_single_params_ == search.best_params_
    assert study.sweeps_[0].log


def test_unsupported_estimator_and_bad_regularizers():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match="cannot study a Pipeline ending in LogisticRegression"):
        compare_regularizers(make_pipeline(StandardScaler(), LogisticRegression()), X, y)
    with pytest.raises(TypeError, match="scikit-learn estimator"):
        compare_regularizers("net", X, y)
    with pytest.raises(ValueError, match="'dropotu'.*dropout"):
        compare_regularizers(RegularizedNetClassifier(), X, y, regularizers={"dropotu": [0.1]})
    with pytest.raises(ValueError, match="Unknown regularizer 'ridge'"):
        compare_regularizers(ElasticNetClassifier(), X, y, regularizers=["ridge"])
    with pytest.raises(ValueError, match="label smoothing needs a classifier"):
        compare_regularizers(RegularizedNetRegressor(), X, y, regularizers=["label smoothing"])
    with pytest.raises(ValueError, match="y is required"):
        compare_regularizers(ElasticNetRegressor(), X)


def test_plot_has_a_panel_per_regularizer(linear_study):
    import matplotlib.pyplot as plt

    display = linear_study.plot()
    figure = display.figure_
    # made through pyplot, so a notebook cell ending in study.plot() shows it
    assert figure.number in plt.get_fignums()
    plt.close(figure)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert list(display.axes_) == visible
    assert [ax.get_title() for ax in visible] == ["L2 (ridge)", "elastic net", "L1 (lasso)"]
    assert all(ax.get_xscale() == "log" for ax in visible)
    # test and train curves plus the baseline line on each panel
    assert all(ax.get_lines() for ax in visible)


def test_report_folder(net_study, tmp_path):
    net_study.estimator.steps[0] = ("scaler<script>", net_study.estimator.steps[0][1])
    index = net_study.to_html(tmp_path / "report")
    page = index.read_text(encoding="utf-8")
    assert index.name == "index.html"
    for sweep in net_study.sweeps_:
        assert f"<h3>{sweep.name}</h3>" in page
    assert "Srivastava" in page and "Szegedy" in page and "Prechelt" in page
    assert "<script>" not in page and "scaler&lt;script&gt;" in page
    images = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert len(images) == len(net_study.sweeps_)
    assert all(f'src="{name}"' in page for name in images)
    saved = pd.read_csv(tmp_path / "report" / "results.csv")
    assert len(saved) == len(net_study.results_)
    assert_allclose(saved["mean_test_score"], net_study.results_["mean_test_score"])
    summary = net_study.summary()
    assert summary.loc[0, "regularizer"] == "baseline"
    assert list(summary["gain"].iloc[1:]) == sorted(summary["gain"].iloc[1:], reverse=True)


def test_combination_merges_the_regularizers_that_help():
    from skreg.study._grids import Sweep
    from skreg.study._study import _combination

    sweeps = [Sweep("dropout", "dropout", [0.1, 0.3]), Sweep("L2", "alpha", [1.0]),
              Sweep("L1", "alpha", [2.0]), Sweep("noise", "noise_std", [0.1])]
    rows = [{"regularizer": name, "mean_test_score": score, "params": params}
            for name, score, params in [
                ("dropout", 0.80, {"dropout": 0.1}), ("dropout", 0.85, {"dropout": 0.3}),
                ("L2", 0.90, {"alpha": 1.0}), ("L1", 0.95, {"alpha": 2.0}),
                ("noise", 0.99, {"noise_std": 0.1})]]
    # L1 and L2 both set alpha: the better one is kept; "noise" does not help, so is left out
    assert _combination(sweeps, rows, ["dropout", "L2", "L1"]) == {"alpha": 2.0, "dropout": 0.3}
    assert _combination(sweeps, rows, ["L2", "L1"]) is None
    assert _combination(sweeps, rows, ["dropout"]) is None
