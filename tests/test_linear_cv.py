"""Paths, cross-validated Elastic Net estimators and their display, against scikit-learn."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import GridSearchCV, KFold, PredefinedSplit, StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError

from skreg import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
    RegularizationPathDisplay,
    enet_path,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8)) * rng.uniform(0.5, 3.0, size=8) + rng.normal(size=8)
    true_coef = np.array([3.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.5, 0.0])
    y = X @ true_coef + 4.0 + rng.normal(scale=3.0, size=60)
    sample_weight = rng.randint(0, 4, size=60).astype(float)
    return X, y, sample_weight


def classification_data(n_classes, n_samples=90):
    X, y = make_classification(
        n_samples=n_samples, n_features=6, n_informative=3, n_redundant=1,
        n_classes=n_classes, n_clusters_per_class=1, flip_y=0.1, random_state=0,
    )
    return X, np.array(["ant", "bee", "cat"])[y]  # string labels: classes_ must map back


TIGHT = dict(tol=1e-10, max_iter=100_000)


def cv_problem(estimator, regression_data):
    """The CV estimator class named by ``estimator`` and data for it (binary for the classifier)."""
    if estimator == "regressor":
        X, y, _ = regression_data
        return ElasticNetRegressorCV, X, y
    return (ElasticNetClassifierCV, *classification_data(2))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_squared_error_path_equals_individual_fits(regression_data, l1_ratio, to_sparse,
                                                   weighted):
    X, y, sample_weight = regression_data
    sample_weight = sample_weight if weighted else None
    alphas, coefs, intercepts = enet_path(to_sparse(X), y, l1_ratio=l1_ratio, alphas=6,
                                          sample_weight=sample_weight, **TIGHT)
    assert coefs.shape == (8, 6) and intercepts.shape == (6,)
    assert np.all(np.diff(alphas) < 0)
    for i, alpha in enumerate(alphas):
        model = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(
            to_sparse(X), y, sample_weight=sample_weight)
        assert_allclose(coefs[:, i], model.coef_, rtol=1e-6, atol=1e-7)
        assert_allclose(intercepts[i], model.intercept_, rtol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_loss_path_equals_individual_fits(n_classes):
    X, y = classification_data(n_classes)
    sample_weight = np.random.RandomState(1).randint(1, 4, size=len(y)).astype(float)
    alphas, coefs, intercepts = enet_path(X, y, loss="log_loss", l1_ratio=0.5, alphas=4,
                                          eps=0.01, sample_weight=sample_weight, tol=1e-7)
    n_rows = 1 if n_classes == 2 else n_classes
    assert coefs.shape == (n_rows, 6, 4) and intercepts.shape == (n_rows, 4)
    for i, alpha in enumerate(alphas):
        model = ElasticNetClassifier(alpha=alpha, l1_ratio=0.5, tol=1e-7).fit(
            X, y, sample_weight=sample_weight)
        assert_allclose(coefs[..., i], model.coef_, atol=1e-4)
        assert_allclose(intercepts[:, i], model.intercept_, atol=1e-4)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_alpha_max_is_the_smallest_alpha_with_all_weights_zero(regression_data, loss,
                                                                l1_ratio):
    X, y, sample_weight = regression_data
    if loss == "log_loss":
        y = y > np.median(y)
    alphas, coefs, _ = enet_path(X, y, loss=loss, l1_ratio=l1_ratio, alphas=3,
                                 sample_weight=sample_weight, tol=1e-8)
    assert np.all(coefs[..., 0] == 0)
    _, below, _ = enet_path(X, y, loss=loss, l1_ratio=l1_ratio, alphas=[0.99 * alphas[0]],
                            sample_weight=sample_weight, tol=1e-8)
    assert np.any(below != 0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csc_matrix], ids=["dense", "sparse"])
def test_regressor_chooses_what_elastic_net_cv_chooses(regression_data, to_sparse, weighted):
    X, y, sample_weight = regression_data
    sample_weight = sample_weight if weighted else None
    folds = KFold(4, shuffle=True, random_state=0)
    l1_ratios = [0.2, 0.7, 1.0]
    ours = ElasticNetRegressorCV(l1_ratio=l1_ratios, alphas=30, cv=folds).fit(
        to_sparse(X), y, sample_weight=sample_weight)
    # The Lasso's grid is ElasticNetCV's; below l1_ratio=1 the grids also cover the L2 part's
    # range (tests/test_linear_grid.py): on the same grids, ElasticNetCV gives the same errors.
    lasso = ElasticNetCV(l1_ratio=1.0, alphas=30, cv=folds).fit(to_sparse(X), y,
                                                                 sample_weight=sample_weight)
    assert_allclose(ours.alphas_[-1], lasso.alphas_, rtol=1e-12)
    references = [
        ElasticNetCV(l1_ratio=l1_ratio, alphas=grid, cv=folds).fit(
            to_sparse(X), y, sample_weight=sample_weight)
        for l1_ratio, grid in zip(l1_ratios, ours.alphas_, strict=True)
    ]
    assert_allclose(-ours.cv_scores_, [ref.mse_path_ for ref in references], rtol=1e-8)
    reference = min(references, key=lambda ref: ref.mse_path_.mean(axis=1).min())
    assert ours.alpha_ == pytest.approx(reference.alpha_, rel=1e-12)
    assert ours.l1_ratio_ == reference.l1_ratio
    assert_allclose(ours.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(ours.intercept_, reference.intercept_, rtol=1e-8)
    # A given grid is used as it is, in decreasing order.
    grid = ours.alphas_[1, ::3]
    ours = ElasticNetRegressorCV(alphas=grid[::-1], l1_ratio=0.7, cv=folds).fit(X, y)
    reference = ElasticNetCV(alphas=grid, l1_ratio=0.7, cv=folds).fit(X, y)
    assert_allclose(ours.alphas_, grid)
    assert ours.alpha_ == reference.alpha_


def test_regressor_with_a_scorer_chooses_what_grid_search_chooses(regression_data):
    X, y, _ = regression_data
    folds = KFold(3, shuffle=True, random_state=1)
    model = ElasticNetRegressorCV(l1_ratio=[0.0, 1.0], alphas=8, cv=folds, scoring="r2",
                                  **TIGHT).fit(X, y)
    search = GridSearchCV(
        ElasticNetRegressor(**TIGHT),
        [{"l1_ratio": [l1], "alpha": list(row)}
         for l1, row in zip([0.0, 1.0], model.alphas_, strict=True)],
        cv=folds, scoring="r2",
    ).fit(X, y)
    assert model.alpha_ == search.best_params_["alpha"]
    assert model.l1_ratio_ == search.best_params_["l1_ratio"]
    assert_allclose(model.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"],
                    rtol=1e-6)


@pytest.mark.parametrize("n_classes, scoring", [(2, None), (3, "neg_log_loss")])
def test_classifier_chooses_what_grid_search_chooses(n_classes, scoring):
    X, y = classification_data(n_classes)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    model = ElasticNetClassifierCV(l1_ratio=0.5, alphas=5, eps=0.02, cv=folds,
                                   scoring=scoring, tol=1e-6).fit(X, y)
    search = GridSearchCV(
        ElasticNetClassifier(l1_ratio=0.5, tol=1e-6),
        {"alpha": list(model.alphas_)}, cv=folds, scoring="neg_log_loss",
    ).fit(X, y)
    assert model.alpha_ == search.best_params_["alpha"]
    assert_allclose(model.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"],
                    rtol=1e-4)
    assert_array_equal(model.classes_, np.unique(y))
    reference = ElasticNetClassifier(alpha=model.alpha_, l1_ratio=0.5, tol=1e-6).fit(X, y)
    assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-4)
    assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_1se_rule_matches_a_hand_computation(regression_data, estimator):
    make, X, y = cv_problem(estimator, regression_data)
    settings = dict(l1_ratio=[0.5, 1.0], alphas=10, cv=5)
    by_min = make(**settings).fit(X, y)
    by_1se = make(alpha_rule="1se", **settings).fit(X, y)
    assert_allclose(by_1se.cv_scores_, by_min.cv_scores_)
    scores = by_min.cv_scores_
    mean = scores.mean(axis=2)
    row, best = np.unravel_index(np.argmax(mean), mean.shape)
    error = scores[row, best].std(ddof=1) / np.sqrt(scores.shape[2])
    alphas = np.atleast_2d(by_min.alphas_)[row]
    expected = max(alphas[mean[row] >= mean[row, best] - error])
    assert by_1se.alpha_ == by_1se.alpha_1se_ == by_min.alpha_1se_ == expected
    assert by_min.alpha_ == by_min.alpha_min_ == alphas[best] <= expected
    assert by_1se.l1_ratio_ == by_min.l1_ratio_ == settings["l1_ratio"][row]
    refit = (ElasticNetRegressor if estimator == "regressor" else ElasticNetClassifier)(
        alpha=expected, l1_ratio=by_1se.l1_ratio_, tol=by_1se.tol, max_iter=by_1se.max_iter,
    ).fit(X, y)
    assert_allclose(by_1se.coef_, refit.coef_)


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_sparse_equals_dense(regression_data, estimator):
    make, X, y = cv_problem(estimator, regression_data)
    dense = make(l1_ratio=0.8, alphas=6, cv=3, tol=1e-7).fit(X, y)
    sparse_fit = make(l1_ratio=0.8, alphas=6, cv=3, tol=1e-7).fit(sparse.csr_matrix(X), y)
    assert_allclose(sparse_fit.alphas_, dense.alphas_)
    assert_allclose(sparse_fit.cv_scores_, dense.cv_scores_, rtol=1e-5)
    assert sparse_fit.alpha_ == pytest.approx(dense.alpha_, rel=1e-12)
    assert_allclose(sparse_fit.coef_, dense.coef_, atol=1e-5)


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_integer_weights_equal_repeated_rows(regression_data, estimator):
    make, X, y = cv_problem(estimator, regression_data)
    weights = np.random.RandomState(2).randint(0, 3, size=len(y))
    # The folds follow the rows: a repeated row stays in its row's fold.
    fold_of_row = np.arange(len(y)) % 3
    # As tight as each solver reaches in floating point on these data.
    settings = dict(l1_ratio=[0.5, 1.0], alphas=6, tol=1e-8 if estimator == "regressor" else 1e-7)
    weighted = make(cv=PredefinedSplit(fold_of_row), **settings).fit(X, y, sample_weight=weights)
    repeated = make(cv=PredefinedSplit(np.repeat(fold_of_row, weights)), **settings).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights))
    assert_allclose(weighted.alphas_, repeated.alphas_, rtol=1e-10)
    assert_allclose(weighted.cv_scores_, repeated.cv_scores_, rtol=1e-5)
    assert weighted.alpha_ == pytest.approx(repeated.alpha_, rel=1e-10)
    assert weighted.l1_ratio_ == repeated.l1_ratio_
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_parallel_folds_give_the_same_scores(regression_data, estimator):
    make, X, y = cv_problem(estimator, regression_data)
    serial = make(l1_ratio=[0.5, 1.0], alphas=5, cv=3).fit(X, y)
    filters = list(warnings.filters)
    parallel = make(l1_ratio=[0.5, 1.0], alphas=5, cv=3, n_jobs=2).fit(X, y)
    assert warnings.filters == filters  # the caller's warning filters, untouched
    assert_array_equal(parallel.cv_scores_, serial.cv_scores_)
    assert_array_equal(parallel.coef_, serial.coef_)


def test_cv_results_follow_grid_search_layout(regression_data):
    X, y, _ = regression_data
    model = ElasticNetRegressorCV(l1_ratio=[0.5, 1.0], alphas=4, cv=3).fit(X, y)
    results = pd.DataFrame(model.cv_results_)
    assert len(results) == 8
    assert_allclose(results["param_alpha"], model.alphas_.ravel())
    assert_allclose(results["split2_test_score"], model.cv_scores_[:, :, 2].ravel())
    best = results.loc[results["rank_test_score"] == 1].iloc[0]
    assert (best["param_alpha"], best["param_l1_ratio"]) == (model.alpha_, model.l1_ratio_)


@pytest.mark.parametrize("n_classes", [None, 2, 3], ids=["regressor", "binary", "multinomial"])
def test_display_draws_path_scores_and_both_choices(regression_data, n_classes):
    import matplotlib.pyplot as plt

    if n_classes is None:
        X, y, _ = regression_data
        model = ElasticNetRegressorCV(l1_ratio=[0.5, 1.0], alphas=10, cv=4).fit(X, y)
    else:
        X, y = classification_data(n_classes)
        model = ElasticNetClassifierCV(l1_ratio=1.0, alphas=5, eps=0.05, cv=3, tol=1e-6).fit(X, y)
    fig, axes = plt.subplots(1, 2)
    display = RegularizationPathDisplay.from_estimator(model, X, y, ax=axes)
    n_rows = 1 if n_classes in (None, 2) else n_classes
    assert len(display.coef_lines_) == n_rows * X.shape[1]
    assert display.figure_ is fig and list(display.ax_) == list(axes)
    for line in display.alpha_min_lines_:
        assert line.get_xdata()[0] == model.alpha_min_
    for line in display.alpha_1se_lines_:
        assert line.get_xdata()[0] == model.alpha_1se_
    row = list(model.l1_ratios_).index(model.l1_ratio_)
    mean = model.cv_scores_[row].mean(axis=1)
    error = model.cv_scores_[row].std(axis=1, ddof=1) / np.sqrt(model.cv_scores_.shape[2])
    assert_allclose(display.score_line_.get_ydata(), mean)
    band = display.score_band_.get_paths()[0].vertices[:, 1]
    assert_allclose([band.min(), band.max()], [(mean - error).min(), (mean + error).max()])
    assert axes[0].get_xscale() == axes[1].get_xscale() == "log"
    # The drawn path is the path of the chosen l1_ratio on the chosen grid.
    alphas = np.atleast_2d(model.alphas_)[min(row, np.atleast_2d(model.alphas_).shape[0] - 1)]
    i_min = list(alphas).index(model.alpha_min_)
    refit_coef = np.ravel(model.coef_)
    assert_allclose([line.get_ydata()[i_min] for line in display.coef_lines_], refit_coef,
                    atol=2e-3)  # both stop at tol
    plt.close(fig)


def test_display_rejects_an_l1_ratio_that_was_not_searched(regression_data):
    X, y, _ = regression_data
    model = ElasticNetRegressorCV(l1_ratio=1.0, alphas=4, cv=3).fit(X, y)
    with pytest.raises(ValueError, match=r"l1_ratio=0.5 was not searched"):
        RegularizationPathDisplay.from_estimator(model, X, y, l1_ratio=0.5)


def test_display_rejects_other_data_and_says_what_it_needs(regression_data):
    X, y, _ = regression_data
    model = ElasticNetRegressorCV(alphas=4, cv=3).fit(X, y)
    # scikit-learn's own message for a feature-count mismatch
    with pytest.raises(ValueError, match=r"X has 7 features, but ElasticNetRegressorCV is "
                                         r"expecting 8 features as input"):
        RegularizationPathDisplay.from_estimator(model, X[:, :7], y)
    with pytest.raises(TypeError, match=r"needs an ElasticNetRegressorCV or "
                                        r"ElasticNetClassifierCV.*got ElasticNetRegressor\..*"
                                        r"enet_path"):
        RegularizationPathDisplay.from_estimator(ElasticNetRegressor().fit(X, y), X, y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(alphas=[]), ValueError, "non-empty"),
        (dict(alphas=[0.1, 0.0]), ValueError, "positive and finite"),
        (dict(alphas=[0.1, -1.0]), ValueError, "positive and finite"),
        (dict(alphas=[0.1, np.nan]), ValueError, "positive and finite"),
        (dict(alphas=[np.inf]), ValueError, "positive and finite"),
        (dict(alphas=0), InvalidParameterError, "alphas"),
        (dict(l1_ratio=[]), ValueError, "non-empty"),
        (dict(l1_ratio=[0.5, 1.5]), ValueError, r"lie in \[0, 1\]"),
        (dict(l1_ratio=-0.1), InvalidParameterError, "l1_ratio"),
        (dict(cv=1), InvalidParameterError, "'cv' parameter"),
        (dict(cv=100), ValueError, "greater than the number of samples"),
        (dict(cv=[(np.arange(30), np.arange(30, 60))]), ValueError, "at least 2 folds"),
        (dict(alpha_rule="max"), InvalidParameterError, "alpha_rule"),
    ],
)
@pytest.mark.parametrize("make", [ElasticNetRegressorCV, ElasticNetClassifierCV])
def test_bad_parameters_are_errors_that_say_so(regression_data, make, params, error, match):
    X, y, _ = regression_data
    if make is ElasticNetClassifierCV:
        y = y > np.median(y)
    with pytest.raises(error, match=match):
        make(**params).fit(X, y)


def test_classifier_target_errors():
    X, y = classification_data(3, n_samples=60)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ElasticNetClassifierCV(cv=3).fit(X, np.zeros(len(y)))
    weights = (y != "cat").astype(float)
    with pytest.raises(ValueError, match=r"class\(es\) \['cat'\] have none"):
        ElasticNetClassifierCV(cv=3).fit(X, y, sample_weight=weights)
    order = np.argsort(y)
    with pytest.raises(ValueError, match=r"fold \d lack class\(es\)"):
        ElasticNetClassifierCV(cv=KFold(3)).fit(X[order], y[order])


def test_failed_fit_leaves_the_fitted_estimator_as_it_was(regression_data):
    X, y, _ = regression_data
    model = ElasticNetRegressorCV(alphas=5, cv=3).fit(X, y)
    before = {k: v for k, v in vars(model).items() if k.endswith("_")}
    model.set_params(l1_ratio=[0.5, 2.0])  # passes the type check, fails after validation
    with pytest.raises(ValueError, match="lie in"):
        model.fit(X[:, :5], y)
    after = {k: v for k, v in vars(model).items() if k.endswith("_")}
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert after[key] is value, key
    assert model.n_features_in_ == 8


def test_pandas_feature_names_reach_the_display(regression_data):
    import matplotlib.pyplot as plt

    X, y, _ = regression_data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(8)])
    model = ElasticNetRegressorCV(l1_ratio=1.0, alphas=5, cv=3).fit(frame, y)
    assert_array_equal(model.feature_names_in_, frame.columns)
    display = RegularizationPathDisplay.from_estimator(model, frame, y)
    assert [line.get_label() for line in display.coef_lines_] == list(frame.columns)
    plt.close(display.figure_)
