"""The proximal Newton solver's inner paths: sparse working sets, inexact model solves,
the all-class multinomial step, and the accuracy of ElasticNetClassifier's defaults."""

import numpy as np
import pytest
from scipy import sparse
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_breast_cancer, load_wine, make_classification
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetClassifier, ElasticNetClassifierCV
from skreg.linear import _logistic_solver, _weighted_enet
from skreg.linear._logistic_solver import _logistic_enet_solve


def text_like_problem(n_samples=200, n_features=1500, density=0.02, seed=0):
    """Sparse columns of ~4 entries each with a planted sparse logistic model."""
    rng = np.random.default_rng(seed)
    X = sparse.random_array((n_samples, n_features), density=density, format="csc",
                            rng=rng, data_sampler=rng.standard_normal)
    true_coef = np.zeros(n_features)
    support = rng.choice(n_features, size=30, replace=False)
    true_coef[support] = 3 * rng.standard_normal(30)
    scores = X @ true_coef
    y = (scores + 0.5 * rng.standard_normal(n_samples) > 0).astype(int)
    return X, y


def kkt_violations(X, y, coef, intercept, alpha, l1_ratio):
    """Largest violation of the optimality conditions of the documented objective."""
    scores = np.asarray(X @ coef.T) + intercept
    n_samples = len(y)
    if coef.shape[0] == 1:
        residual = (1 / (1 + np.exp(-scores[:, 0])) - y)[:, None] / n_samples
    else:
        residual = (softmax(scores, axis=1) - np.eye(coef.shape[0])[y]) / n_samples
    smooth = np.asarray(X.T @ residual).T + alpha * (1 - l1_ratio) * coef
    l1 = alpha * l1_ratio
    weights = np.where(coef != 0, np.abs(smooth + l1 * np.sign(coef)),
                       np.maximum(np.abs(smooth) - l1, 0))
    return weights.max(), np.abs(residual.sum(axis=0)).max()


def objective(model, X, y):
    scores = np.asarray(X @ model.coef_.T) + model.intercept_
    if scores.shape[1] == 1:
        scores = np.column_stack([np.zeros(len(y)), scores[:, 0]])
    labels = np.searchsorted(model.classes_, y)
    loss = -log_softmax(scores, axis=1)[np.arange(len(y)), labels].mean()
    return (loss + model.alpha * model.l1_ratio * np.abs(model.coef_).sum()
            + 0.5 * model.alpha * (1 - model.l1_ratio) * np.sum(model.coef_**2))


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_sparse_working_sets_match_the_dense_fit_and_are_optimal(monkeypatch, l1_ratio):
    # Columns of ~4 entries: the working sets are solved on the data with the intercept as
    # a constant column (not on a Gram matrix), inexactly at first.
    X, y = text_like_problem()
    calls = []
    solve_sparse = _weighted_enet._solve_sparse
    monkeypatch.setattr(_weighted_enet, "_solve_sparse",
                        lambda *args: calls.append(1) or solve_sparse(*args))
    alpha = 0.002
    params = dict(alpha=alpha, l1_ratio=l1_ratio, tol=1e-9)
    on_sparse = ElasticNetClassifier(**params).fit(X, y)
    assert calls, "the sparse layout was not used"
    on_dense = ElasticNetClassifier(**params).fit(X.toarray(), y)

    np.testing.assert_allclose(on_sparse.coef_, on_dense.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(on_sparse.intercept_, on_dense.intercept_, rtol=1e-6)
    weight_violation, intercept_violation = kkt_violations(
        X, y, on_sparse.coef_, on_sparse.intercept_, alpha, l1_ratio
    )
    assert weight_violation <= 1e-8
    assert intercept_violation <= 1e-8
    assert 30 < np.count_nonzero(on_sparse.coef_) < X.shape[1] / 2


def test_inexact_model_solves_reach_the_exact_solves_optimum(monkeypatch):
    X, y = text_like_problem(seed=1)
    params = dict(alpha=0.002, l1_ratio=1.0, tol=1e-9, n_classes=2)
    inexact = _logistic_enet_solve(X, y, None, **params)
    monkeypatch.setattr(_logistic_solver, "_INNER_RELATIVE_GAP", 0.0)
    exact = _logistic_enet_solve(X, y, None, **params)
    np.testing.assert_allclose(inexact[0], exact[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(inexact[1], exact[1], rtol=1e-6)


def test_unfitted_intercept_on_sparse_data():
    X, y = text_like_problem(seed=2)
    params = dict(alpha=0.002, l1_ratio=1.0, tol=1e-9, fit_intercept=False)
    on_sparse = ElasticNetClassifier(**params).fit(X, y)
    on_dense = ElasticNetClassifier(**params).fit(X.toarray(), y)
    np.testing.assert_array_equal(on_sparse.intercept_, [0.0])
    np.testing.assert_allclose(on_sparse.coef_, on_dense.coef_, rtol=1e-5, atol=1e-7)


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_all_class_newton_steps_converge_superlinearly(monkeypatch, l1_ratio):
    # Class-by-class steps needed 85 (L1) and 55 (l1_ratio=0.5) iterations here.
    X, y = standardized(load_wine)
    params = dict(alpha=1e-3, l1_ratio=l1_ratio, tol=1e-8, n_classes=3)
    coef, intercept, n_iter = _logistic_enet_solve(X, y, None, **params)
    assert n_iter <= 15
    weight_violation, intercept_violation = kkt_violations(
        X, y, coef, intercept, 1e-3, l1_ratio
    )
    assert max(weight_violation, intercept_violation) <= 1e-8 * 0.4

    monkeypatch.setattr(_logistic_solver, "fits_full_newton", lambda *args: False)
    by_class, by_class_intercept, by_class_iter = _logistic_enet_solve(X, y, None, **params)
    assert by_class_iter > 2 * n_iter
    # Nearly separable classes make the objective flat: compare its values, not weights.
    model = ElasticNetClassifier(alpha=1e-3, l1_ratio=l1_ratio)
    model.classes_ = np.arange(3)
    model.coef_, model.intercept_ = coef, intercept
    ours = objective(model, X, y)
    model.coef_, model.intercept_ = by_class, by_class_intercept
    assert ours <= objective(model, X, y) + 1e-12
    assert ours >= objective(model, X, y) - 1e-9 * ours


def problems():
    X_wine, y_wine = standardized(load_wine)
    X_cancer, y_cancer = standardized(load_breast_cancer)
    X_synth, y_synth = make_classification(600, 40, n_informative=8, n_classes=3,
                                           random_state=0)
    return {"wine": (X_wine, y_wine), "breast_cancer": (X_cancer, y_cancer),
            "make_classification": (StandardScaler().fit_transform(X_synth), y_synth)}


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "make_classification"])
@pytest.mark.parametrize("alpha", [1e-3, 1e-2])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_defaults_end_within_1e5_of_the_optimum(name, alpha, l1_ratio):
    X, y = problems()[name]
    model = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio).fit(X, y)
    optimum = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, tol=1e-11,
                                   max_iter=10_000).fit(X, y)
    best = objective(optimum, X, y)
    assert objective(model, X, y) - best <= 1e-5 * best


def test_anderson_extrapolation_finds_the_limit_of_a_linear_iteration():
    # Coordinate descent near the solution is an affine contraction w <- A w + c; with one
    # more difference than dimensions, the extrapolation is its fixed point.
    rng = np.random.default_rng(0)
    A = 0.9 * np.linalg.qr(rng.standard_normal((3, 3)))[0]
    c = rng.standard_normal(3)
    iterates = [np.zeros(3)]
    for _ in range(4):
        iterates.append(A @ iterates[-1] + c)
    limit = np.linalg.solve(np.eye(3) - A, c)
    np.testing.assert_allclose(_weighted_enet._anderson(iterates), limit, rtol=1e-6)
    assert np.linalg.norm(iterates[-1] - limit) > 0.1
    assert _weighted_enet._anderson([np.ones(3)] * 4) is None


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_cv_final_model_ends_within_1e5_of_the_optimum_at_its_alpha(l1_ratio):
    # The paths rank the alphas at tol=1e-4; the refit on all rows must be as exact as the
    # estimator's defaults (at tol=1e-4 it stopped 1.7e-5 above the optimum on wine, L1).
    X, y = problems()["wine"]
    cv = ElasticNetClassifierCV(l1_ratio=l1_ratio, cv=5).fit(X, y)
    optimum = ElasticNetClassifier(alpha=cv.alpha_, l1_ratio=l1_ratio, tol=1e-11,
                                   max_iter=10_000).fit(X, y)
    refit = ElasticNetClassifier(alpha=cv.alpha_, l1_ratio=cv.l1_ratio_)
    refit.classes_, refit.coef_, refit.intercept_ = cv.classes_, cv.coef_, cv.intercept_
    best = objective(optimum, X, y)
    assert objective(refit, X, y) - best <= 1e-5 * best
