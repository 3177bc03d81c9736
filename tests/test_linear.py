"""ElasticNetRegressor: one objective for every l1_ratio, against scikit-learn and closed forms.

The validation tests at the end cover both linear estimators.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skreg import ElasticNetClassifier, ElasticNetRegressor


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8)) * rng.uniform(0.5, 3.0, size=8) + rng.normal(size=8)
    true_coef = np.array([3.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.5, 0.0])
    y = X @ true_coef + 4.0 + rng.normal(scale=1.0, size=60)
    sample_weight = rng.randint(0, 4, size=60).astype(float)
    return X, y, sample_weight


def weighted_objective_gradient(X, y, sample_weight, coef, intercept, alpha, l1_ratio):
    """Gradient of the smooth part of the objective, and the intercept's gradient."""
    residual = y - X @ coef - intercept
    weight_sum = sample_weight.sum()
    smooth = -(X.T @ (sample_weight * residual)) / weight_sum + alpha * (1 - l1_ratio) * coef
    return smooth, -(sample_weight @ residual) / weight_sum


def weighted_ridge_closed_form(X, y, sample_weight, alpha):
    """Minimiser of 1/(2 sum s) sum s_i r_i^2 + alpha/2 ||w||^2, with an intercept."""
    weight_sum = sample_weight.sum()
    X_mean = sample_weight @ X / weight_sum
    y_mean = sample_weight @ y / weight_sum
    Xc, yc = X - X_mean, y - y_mean
    gram = Xc.T @ (sample_weight[:, None] * Xc) + weight_sum * alpha * np.eye(X.shape[1])
    coef = np.linalg.solve(gram, Xc.T @ (sample_weight * yc))
    return coef, y_mean - X_mean @ coef


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_matches_scikit_learn_estimator(regression_data, l1_ratio, to_sparse, weighted):
    X, y, sample_weight = regression_data
    sample_weight = sample_weight if weighted else None
    alpha = 0.3
    weight_sum = len(y) if sample_weight is None else sample_weight.sum()
    reference = {
        1.0: Lasso(alpha=alpha, tol=1e-10),
        0.5: ElasticNet(alpha=alpha, l1_ratio=0.5, tol=1e-10),
        # Ridge sums the squared errors (weighted) and has no 1/2 before ||w||^2.
        0.0: Ridge(alpha=weight_sum * alpha, tol=1e-10),
    }[l1_ratio].fit(to_sparse(X), y, sample_weight=sample_weight)

    model = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10)
    model.fit(to_sparse(X), y, sample_weight=sample_weight)

    assert type(model.estimator_) is type(reference)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-6)
    np.testing.assert_allclose(model.predict(to_sparse(X)), reference.predict(to_sparse(X)))


@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csc_matrix], ids=["dense", "sparse"])
def test_ridge_path_is_the_closed_form_minimiser(regression_data, to_sparse):
    X, y, sample_weight = regression_data
    alpha = 0.7
    expected_coef, expected_intercept = weighted_ridge_closed_form(X, y, sample_weight, alpha)

    model = ElasticNetRegressor(alpha=alpha, l1_ratio=0.0, tol=1e-12)
    model.fit(to_sparse(X), y, sample_weight=sample_weight)

    np.testing.assert_allclose(model.coef_, expected_coef, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, expected_intercept, rtol=1e-6)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_l1_paths_satisfy_the_optimality_conditions(regression_data, l1_ratio):
    # Subgradient conditions of the documented objective, with the sum of the weights as n.
    X, y, sample_weight = regression_data
    alpha = 0.8
    model = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=10_000)
    model.fit(X, y, sample_weight=sample_weight)
    smooth, intercept_gradient = weighted_objective_gradient(
        X, y, sample_weight, model.coef_, model.intercept_, alpha, l1_ratio
    )
    active = model.coef_ != 0
    assert 0 < active.sum() < X.shape[1], "the test needs both zero and non-zero weights"
    np.testing.assert_allclose(
        smooth[active], -alpha * l1_ratio * np.sign(model.coef_[active]), atol=1e-6
    )
    assert np.all(np.abs(smooth[~active]) <= alpha * l1_ratio + 1e-8)
    assert abs(intercept_gradient) < 1e-8


def test_objective_is_continuous_at_the_switch_to_ridge(regression_data):
    # Coordinate descent at a tiny l1_ratio and the Ridge solve at l1_ratio=0 minimise nearly
    # the same objective, so their solutions must agree: the two solvers share one scale.
    X, y, _ = regression_data
    ridge = ElasticNetRegressor(alpha=0.5, l1_ratio=0.0).fit(X, y)
    almost_ridge = ElasticNetRegressor(alpha=0.5, l1_ratio=1e-8, tol=1e-12, max_iter=10_000)
    almost_ridge.fit(X, y)
    assert type(almost_ridge.estimator_) is ElasticNet
    np.testing.assert_allclose(almost_ridge.coef_, ridge.coef_, rtol=1e-5)


@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
def test_alpha_zero_is_least_squares_without_warning(regression_data, to_sparse):
    X, y, _ = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ElasticNetRegressor(alpha=0.0, l1_ratio=0.5, tol=1e-12).fit(to_sparse(X), y)
    expected = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    assert type(model.estimator_) is LinearRegression
    np.testing.assert_allclose(model.coef_, expected[:-1], rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, expected[-1], rtol=1e-6)
    assert model.n_iter_ >= 1


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_no_warning_on_a_well_posed_fit(regression_data, l1_ratio):
    X, y, _ = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ElasticNetRegressor(alpha=0.1, l1_ratio=l1_ratio).fit(X, y)
    assert isinstance(model.n_iter_, int) and model.n_iter_ >= 1


@pytest.mark.parametrize("alpha, l1_ratio", [(0.3, 1.0), (0.3, 0.5), (0.3, 0.0), (0.0, 0.5)])
def test_integer_weights_equal_repeated_rows(regression_data, alpha, l1_ratio):
    X, y, sample_weight = regression_data
    repeats = sample_weight.astype(int)
    weighted = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12)
    weighted.fit(X, y, sample_weight=sample_weight)
    repeated = ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12)
    repeated.fit(np.repeat(X, repeats, axis=0), np.repeat(y, repeats))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-6)


@pytest.mark.parametrize("alpha, l1_ratio", [(0.3, 1.0), (0.3, 0.0), (0.0, 0.5)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_fit_leaves_the_inputs_untouched(regression_data, alpha, l1_ratio, order):
    # Validation copies C-ordered X and the solver may then centre that copy in place; an
    # F-ordered float64 X reaches the solver as is and must be copied there.
    X, y, sample_weight = regression_data
    X = np.asarray(X, order=order)
    X_before, y_before, sw_before = X.copy(), y.copy(), sample_weight.copy()
    ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(sample_weight, sw_before)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_two_targets_are_fitted_as_two_problems(regression_data, l1_ratio):
    X, y, _ = regression_data
    Y = np.column_stack([y, -2 * y + X[:, 2]])
    both = ElasticNetRegressor(alpha=0.2, l1_ratio=l1_ratio).fit(X, Y)
    assert both.coef_.shape == (2, X.shape[1])
    assert both.predict(X).shape == Y.shape
    assert both.n_iter_.shape == (2,)
    for target in range(2):
        single = ElasticNetRegressor(alpha=0.2, l1_ratio=l1_ratio).fit(X, Y[:, target])
        np.testing.assert_allclose(both.coef_[target], single.coef_, rtol=1e-6, atol=1e-12)


def test_l1_zeroes_weights_that_l2_only_shrinks(regression_data):
    X, y, _ = regression_data
    X = StandardScaler().fit_transform(X)
    lasso = ElasticNetRegressor(alpha=0.5, l1_ratio=1.0).fit(X, y)
    ridge = ElasticNetRegressor(alpha=0.5, l1_ratio=0.0).fit(X, y)
    least_squares = ElasticNetRegressor(alpha=0.0).fit(X, y)
    assert np.sum(lasso.coef_ == 0) >= 3
    assert np.all(ridge.coef_ != 0)
    assert np.linalg.norm(ridge.coef_) < np.linalg.norm(least_squares.coef_)


def test_pandas_input_keeps_feature_names(regression_data):
    X, y, _ = regression_data
    columns = [f"feature_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    model = ElasticNetRegressor(alpha=0.1).fit(frame, pd.Series(y))
    np.testing.assert_array_equal(model.feature_names_in_, columns)
    np.testing.assert_allclose(model.predict(frame), X @ model.coef_ + model.intercept_)
    np.testing.assert_array_equal(frame.to_numpy(), X)


def test_grid_search_compares_l1_l2_and_elastic_net_in_a_pipeline(regression_data):
    X, y, _ = regression_data
    grid = {
        "elasticnetregressor__l1_ratio": [0.0, 0.5, 1.0],
        "elasticnetregressor__alpha": [0.01, 0.1, 1.0],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = GridSearchCV(make_pipeline(StandardScaler(), ElasticNetRegressor()), grid, cv=3)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 9
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.8


# Validation, for both estimators.

ESTIMATORS = [ElasticNetRegressor, ElasticNetClassifier]


def _xy(estimator_class, n_samples=20, n_features=4):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(n_samples, n_features))
    y = X[:, 0] + rng.normal(scale=0.5, size=n_samples)
    return X, (y > 0).astype(int) if estimator_class is ElasticNetClassifier else y


def _range_message(name, kind, bounds):
    return rf"'{name}' parameter of Elastic\w+ must be {kind} in the range {bounds}"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"alpha": -1.0}, _range_message("alpha", "a float", r"\[0.0, inf\)")),
        ({"l1_ratio": 1.5}, _range_message("l1_ratio", "a float", r"\[0.0, 1.0\]")),
        ({"l1_ratio": -0.1}, _range_message("l1_ratio", "a float", r"\[0.0, 1.0\]")),
        ({"max_iter": 0}, _range_message("max_iter", "an int", r"\[1, inf\)")),
    ],
)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_bad_parameters_are_named(estimator_class, params, message):
    X, y = _xy(estimator_class)
    with pytest.raises(InvalidParameterError, match=message):
        estimator_class(**params).fit(X, y)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize(
    "bad_value, message", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")]
)
def test_non_finite_x_is_rejected(estimator_class, bad_value, message):
    X, y = _xy(estimator_class)
    X[3, 1] = bad_value
    with pytest.raises(ValueError, match=message):
        estimator_class().fit(X, y)
    fitted = estimator_class(alpha=0.1).fit(*_xy(estimator_class))
    with pytest.raises(ValueError, match=message):
        fitted.predict(X)


def test_non_finite_y_is_rejected():
    X, y = _xy(ElasticNetRegressor)
    y[0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        ElasticNetRegressor().fit(X, y)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_wrong_shapes_are_rejected(estimator_class):
    X, y = _xy(estimator_class)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        estimator_class().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        estimator_class().fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(19,\), expected \(20,\)"):
        estimator_class().fit(X, y, sample_weight=np.ones(19))
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        estimator_class().fit(X, y, sample_weight=-np.ones(20))
    fitted = estimator_class(alpha=0.1).fit(X, y)
    expected = f"X has 3 features, but {estimator_class.__name__} is expecting 4 features"
    with pytest.raises(ValueError, match=expected):
        fitted.predict(X[:, :3])


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_predict_before_fit_is_an_error(estimator_class):
    X, _ = _xy(estimator_class)
    with pytest.raises(ValueError, match="instance is not fitted yet"):
        estimator_class().predict(X)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_failing_refit_leaves_the_fitted_estimator_as_it_was(estimator_class):
    X, y = _xy(estimator_class)
    frame = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(X.shape[1])])
    model = estimator_class(alpha=0.05).fit(frame, y)
    before = {name: value for name, value in vars(model).items() if name.endswith("_")}
    predictions = model.predict(frame)

    X_nan = X[:, :3].copy()
    X_nan[0, 0] = np.nan
    failures = [
        (dict(X=X_nan, y=y), ValueError),  # other features, with a NaN
        (dict(X=X[:, :3], y=y[:-1]), ValueError),  # inconsistent lengths
        (dict(X=X[:, :3], y=y, sample_weight=-np.ones(len(y))), ValueError),
    ]
    for data, error in failures:
        with pytest.raises(error):
            model.fit(**data)
    with pytest.raises(InvalidParameterError):
        model.set_params(alpha=-1.0).fit(X[:, :3], y)
    model.set_params(alpha=0.05)

    after = {name: value for name, value in vars(model).items() if name.endswith("_")}
    assert after.keys() == before.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value)
        else:
            assert after[name] is value
    np.testing.assert_array_equal(model.predict(frame), predictions)

    # A successful refit on unnamed columns forgets the names of the previous fit.
    model.fit(X[:, :3], y)
    assert model.n_features_in_ == 3 and not hasattr(model, "feature_names_in_")


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_defaults_give_a_useful_model_on_standardized_data(estimator_class):
    if estimator_class is ElasticNetRegressor:
        X, y = load_diabetes(return_X_y=True)
        reference = LinearRegression()
        y = (y - y.mean()) / y.std()
    else:
        X, y = load_wine(return_X_y=True)
        reference = LogisticRegression()
    ours = cross_val_score(make_pipeline(StandardScaler(), estimator_class()), X, y, cv=5)
    theirs = cross_val_score(make_pipeline(StandardScaler(), reference), X, y, cv=5)
    assert ours.mean() >= theirs.mean() - 0.02
