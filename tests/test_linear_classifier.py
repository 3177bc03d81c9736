"""ElasticNetClassifier: logistic regression on the regressor's penalty scale."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skreg import ElasticNetClassifier
from skreg.linear import _weighted_enet
from skreg.linear._logistic_solver import _logistic_enet_solve


def classification_data(n_classes, n_samples=90, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        flip_y=0.1,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X)
    sample_weight = np.random.RandomState(seed).randint(0, 4, size=n_samples).astype(float)
    return X, y, sample_weight


def objective_gradients(model, X, y, sample_weight):
    """Gradients of the smooth part of the documented objective in coef_ and intercept_."""
    classes = model.classes_
    if classes.size == 2:
        targets = (y == classes[1]).astype(float)[:, None]
        probabilities = model.predict_proba(X)[:, 1:]
    else:
        targets = (y[:, None] == classes).astype(float)
        probabilities = softmax(X @ model.coef_.T + model.intercept_, axis=1)
    error = sample_weight[:, None] * (probabilities - targets) / sample_weight.sum()
    coef_gradient = error.T @ X + model.alpha * (1 - model.l1_ratio) * model.coef_
    return coef_gradient, error.sum(axis=0)


def penalized_objective(coef, intercept, X, y, sample_weight, alpha, l1_ratio):
    """The documented objective, written independently of the solver."""
    scores = X @ coef.T + intercept
    if coef.shape[0] == 1:
        scores = np.column_stack([np.zeros(len(y)), scores[:, 0]])
    log_loss = -log_softmax(scores, axis=1)[np.arange(len(y)), y]
    return (
        sample_weight @ log_loss / sample_weight.sum()
        + alpha * l1_ratio * np.abs(coef).sum()
        + 0.5 * alpha * (1 - l1_ratio) * np.sum(coef**2)
    )


def split_reference_objective(X, y, sample_weight, alpha, l1_ratio, n_blocks):
    """Minimum of the objective by L-BFGS-B on the smooth split problem W = U - V, U, V >= 0."""
    n_features = X.shape[1]
    size = n_blocks * n_features

    def value_and_gradient(theta):
        U = theta[:size].reshape(n_blocks, n_features)
        V = theta[size:2 * size].reshape(n_blocks, n_features)
        W, b = U - V, theta[2 * size:]
        scores = X @ W.T + b
        if n_blocks == 1:
            full = np.column_stack([np.zeros(len(y)), scores[:, 0]])
            residual = (softmax(full, axis=1) - np.eye(2)[y])[:, 1:]
        else:
            residual = softmax(scores, axis=1) - np.eye(n_blocks)[y]
        residual *= (sample_weight / sample_weight.sum())[:, None]
        smooth = residual.T @ X + alpha * (1 - l1_ratio) * W
        value = (
            penalized_objective(W, b, X, y, sample_weight, 0.0, 0.0)
            + alpha * l1_ratio * theta[:2 * size].sum()
            + 0.5 * alpha * (1 - l1_ratio) * np.sum(W**2)
        )
        gradient = np.concatenate([
            (smooth + alpha * l1_ratio).ravel(),
            (alpha * l1_ratio - smooth).ravel(),
            residual.sum(axis=0),
        ])
        return value, gradient

    bounds = [(0, None)] * (2 * size) + [(None, None)] * n_blocks
    result = minimize(
        value_and_gradient, np.zeros(2 * size + n_blocks), jac=True, method="L-BFGS-B",
        bounds=bounds, options={"maxiter": 20_000, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30},
    )
    return result.fun


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_objective_equals_an_independent_minimum(l1_ratio, n_classes):
    X, y, sample_weight = classification_data(n_classes)
    alpha = 0.02
    model = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, tol=1e-8)
    model.fit(X, y, sample_weight=sample_weight)
    ours = penalized_objective(model.coef_, model.intercept_, X, y, sample_weight, alpha, l1_ratio)
    reference = split_reference_objective(
        X, y, sample_weight, alpha, l1_ratio, n_blocks=model.coef_.shape[0]
    )
    assert model.solver_ == "newton-cd"
    assert abs(ours - reference) <= 1e-6 * reference


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_ridge_matches_logistic_regression_with_c_from_alpha(n_classes, to_sparse, weighted):
    X, y, sample_weight = classification_data(n_classes)
    sample_weight = sample_weight if weighted else None
    alpha = 0.05
    weight_sum = len(y) if sample_weight is None else sample_weight.sum()
    # Same tolerance (ElasticNetClassifier's default is tighter than LogisticRegression's).
    reference = LogisticRegression(C=1 / (weight_sum * alpha), max_iter=1000, tol=1e-5)
    reference.fit(to_sparse(X), y, sample_weight=sample_weight)

    model = ElasticNetClassifier(alpha=alpha, l1_ratio=0.0)
    model.fit(to_sparse(X), y, sample_weight=sample_weight)

    assert model.solver_ == "lbfgs"
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(model.predict(to_sparse(X)), reference.predict(to_sparse(X)))
    np.testing.assert_array_equal(model.n_iter_, reference.n_iter_)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_sparse_input_gives_the_dense_solution(l1_ratio, n_classes):
    X, y, sample_weight = classification_data(n_classes)
    X[np.abs(X) < 0.5] = 0.0
    params = dict(alpha=0.01, l1_ratio=l1_ratio, tol=1e-8)
    dense = ElasticNetClassifier(**params).fit(X, y, sample_weight=sample_weight)
    for to_sparse in (sparse.csr_matrix, sparse.csc_array):
        model = ElasticNetClassifier(**params).fit(to_sparse(X), y, sample_weight=sample_weight)
        np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(model.intercept_, dense.intercept_, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_warm_start_from_a_solution_takes_at_most_one_iteration(n_classes):
    X, y, sample_weight = classification_data(n_classes)
    params = dict(alpha=0.01, l1_ratio=0.5, fit_intercept=True)
    coef, intercept, n_iter = _logistic_enet_solve(X, y, sample_weight, tol=1e-8, **params)
    assert n_iter > 2
    warm_coef, warm_intercept, warm_iter = _logistic_enet_solve(
        X, y, sample_weight, coef_init=coef, intercept_init=intercept, tol=1e-6, **params
    )
    assert warm_iter <= 1
    np.testing.assert_allclose(warm_coef, coef, atol=1e-6)
    # A neighbouring alpha, as along a path, needs a few steps, not a fresh start's count.
    _, _, path_iter = _logistic_enet_solve(
        X, y, sample_weight, coef_init=coef, intercept_init=intercept, tol=1e-8,
        **{**params, "alpha": 0.008},
    )
    assert path_iter < n_iter


def test_multiclass_intercepts_are_centred():
    X, y, _ = classification_data(3)
    model = ElasticNetClassifier(alpha=0.01, l1_ratio=1.0).fit(X, y)
    assert model.intercept_.shape == (3,)
    assert abs(model.intercept_.sum()) < 1e-12


def test_defaults_match_logistic_regression_on_standardized_data():
    X, y = load_breast_cancer(return_X_y=True)
    ours = cross_val_score(make_pipeline(StandardScaler(), ElasticNetClassifier()), X, y, cv=5)
    reference = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5)
    assert ours.mean() >= reference.mean() - 0.02


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_solution_satisfies_the_optimality_conditions(l1_ratio, n_classes):
    # Subgradient conditions of the documented objective, with the sum of the weights as n.
    X, y, sample_weight = classification_data(n_classes)
    alpha = 0.05
    model = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, tol=1e-8)
    model.fit(X, y, sample_weight=sample_weight)
    coef_gradient, intercept_gradient = objective_gradients(model, X, y, sample_weight)

    active = model.coef_ != 0
    np.testing.assert_allclose(
        coef_gradient[active], -alpha * l1_ratio * np.sign(model.coef_[active]), atol=1e-6
    )
    assert np.all(np.abs(coef_gradient[~active]) <= alpha * l1_ratio + 1e-6)
    np.testing.assert_allclose(intercept_gradient, 0, atol=1e-6)
    if l1_ratio > 0:
        assert 0 < active.sum() < active.size, "the test needs both zero and non-zero weights"


@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_integer_weights_equal_repeated_rows(l1_ratio, n_classes, to_sparse):
    X, y, sample_weight = classification_data(n_classes)
    repeats = sample_weight.astype(int)
    X = to_sparse(X)
    params = dict(alpha=0.05, l1_ratio=l1_ratio, tol=1e-8)
    weighted = ElasticNetClassifier(**params).fit(X, y, sample_weight=sample_weight)
    rows = np.repeat(np.arange(len(y)), repeats)
    repeated = ElasticNetClassifier(**params).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-5, atol=1e-7)


def test_class_weights_enter_the_total_weight():
    X, y, _ = classification_data(2)
    params = dict(alpha=0.05, l1_ratio=0.0, tol=1e-10)
    plain = ElasticNetClassifier(**params).fit(X, y)
    # Uniform class weights rescale the mean loss and its normaliser alike: no change.
    uniform = ElasticNetClassifier(class_weight={0: 3.0, 1: 3.0}, **params).fit(X, y)
    np.testing.assert_allclose(uniform.coef_, plain.coef_, rtol=1e-6)

    balanced = ElasticNetClassifier(class_weight="balanced", **params).fit(X[:70], y[:70])
    as_weights = ElasticNetClassifier(**params).fit(
        X[:70], y[:70], sample_weight=compute_sample_weight("balanced", y[:70])
    )
    np.testing.assert_allclose(balanced.coef_, as_weights.coef_, rtol=1e-6)


def test_alpha_zero_is_unpenalized_logistic_regression():
    X, y, _ = classification_data(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ElasticNetClassifier(alpha=0.0, l1_ratio=0.5, tol=1e-10).fit(X, y)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    assert model.solver_ == "lbfgs"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5)
    coef_gradient, _ = objective_gradients(model, X, y, np.ones(len(y)))
    np.testing.assert_allclose(coef_gradient, 0, atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_no_warning_on_a_well_posed_fit(l1_ratio, n_classes):
    # In particular none of LogisticRegression's deprecation warnings about `penalty`.
    X, y, sample_weight = classification_data(n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ElasticNetClassifier(alpha=0.05, l1_ratio=l1_ratio).fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_too_few_iterations_still_warn(l1_ratio, n_classes):
    X, y, _ = classification_data(n_classes)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 iterations|max_iter"):
        ElasticNetClassifier(alpha=0.001, l1_ratio=l1_ratio, max_iter=1).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_and_decisions_are_consistent(n_classes):
    X, y, _ = classification_data(n_classes)
    labels = np.array(["ant", "bee", "cat"])[y]
    model = ElasticNetClassifier(alpha=0.05, l1_ratio=0.5).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, np.unique(labels))

    proba = model.predict_proba(X)
    scores = model.decision_function(X)
    assert proba.shape == (len(y), n_classes)
    assert scores.shape == ((len(y),) if n_classes == 2 else (len(y), n_classes))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    majority_share = np.unique(labels, return_counts=True)[1].max() / len(labels)
    assert model.score(X, labels) > majority_share + 0.1


def test_log_proba_stays_finite_for_confident_predictions():
    X, y, _ = classification_data(2)
    model = ElasticNetClassifier(alpha=0.01, l1_ratio=0.0).fit(X, y)
    log_proba = model.predict_log_proba(1e4 * X)
    assert np.all(np.isfinite(log_proba))


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_a_single_class_is_an_error_that_says_so(l1_ratio):
    X, y, _ = classification_data(2)
    with pytest.raises(ValueError, match="at least 2 classes in the data.*only one class"):
        ElasticNetClassifier(l1_ratio=l1_ratio).fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="at least 2 classes with a positive weight.*class 1"):
        ElasticNetClassifier(l1_ratio=l1_ratio).fit(X, y, sample_weight=(y == 1).astype(float))


def test_pandas_input_keeps_feature_names():
    X, y, _ = classification_data(2)
    columns = [f"feature_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    model = ElasticNetClassifier(alpha=0.05).fit(frame, pd.Series(y))
    np.testing.assert_array_equal(model.feature_names_in_, columns)
    expected = X @ model.coef_[0] + model.intercept_
    np.testing.assert_allclose(model.decision_function(frame), expected)


def test_grid_search_over_penalties_in_a_pipeline():
    X, y, _ = classification_data(3, n_samples=150)
    grid = {
        "elasticnetclassifier__l1_ratio": [0.0, 0.5, 1.0],
        "elasticnetclassifier__alpha": [0.001, 0.01, 0.1],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = GridSearchCV(make_pipeline(StandardScaler(), ElasticNetClassifier()), grid, cv=3)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 9
    assert search.best_score_ > 0.6
    assert search.best_estimator_.predict(X).shape == y.shape


@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_large_working_sets_skip_the_gram_matrix_and_agree(monkeypatch, n_classes, to_sparse):
    # Past GRAM_MAX_FEATURES columns the inner problems run on the (scaled) data itself, and
    # on sparse data the intercept is a constant column of the routine: same minimiser.
    X, y, sample_weight = classification_data(n_classes)
    params = dict(alpha=0.01, l1_ratio=0.7, sample_weight=sample_weight, tol=1e-8)
    gram = _logistic_enet_solve(to_sparse(X), y, **params)
    monkeypatch.setattr(_weighted_enet, "GRAM_MAX_FEATURES", 2)
    direct = _logistic_enet_solve(to_sparse(X), y, **params)
    np.testing.assert_allclose(direct[0], gram[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(direct[1], gram[1], rtol=1e-5, atol=1e-7)


def test_separable_data_with_a_tiny_penalty_converges():
    X, y, _ = classification_data(2)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ElasticNetClassifier(alpha=1e-4, l1_ratio=1.0, tol=1e-6).fit(X, y)
    assert model.score(X, y) == 1.0
    coef_gradient, intercept_gradient = objective_gradients(model, X, y, np.ones(len(y)))
    active = model.coef_ != 0
    np.testing.assert_allclose(
        coef_gradient[active], -1e-4 * np.sign(model.coef_[active]), atol=1e-6
    )
    assert np.all(np.abs(coef_gradient[~active]) <= 1e-4 + 1e-6)
