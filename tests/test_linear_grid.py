"""The automatic alpha grids of the CV estimators and enet_path, against scikit-learn.

For ``l1_ratio=1`` the grid is scikit-learn's (LassoCV's); below 1 it must also cover the L2
penalty's range, which does not depend on the target's units: ridge on a target of scale ~100
once chose among models that all shrank every weight ~100x (R^2 near 0).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import sparse
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.linear_model import LassoCV, LogisticRegressionCV, RidgeCV
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetClassifierCV, ElasticNetRegressorCV, enet_path


@pytest.fixture(scope="module")
def regression_split():
    # Unscaled make_regression: features of variance ~1, a target of scale ~100.
    X, y = make_regression(n_samples=200, n_features=20, n_informative=10, noise=10.0,
                           random_state=0)
    return train_test_split(X, y, random_state=0)


@pytest.mark.parametrize("noise", [10.0, 100.0])
def test_ridge_grid_scores_as_ridge_cv_with_a_wide_grid(noise):
    X, y = make_regression(n_samples=200, n_features=20, n_informative=10, noise=noise,
                           random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = ElasticNetRegressorCV(l1_ratio=0.0, alphas=40,
                                  cv=KFold(5, shuffle=True, random_state=0)).fit(X_train, y_train)
    # RidgeCV's alpha is on a sum of squares: n_samples * skreg's alpha. 12 decades, 10/decade.
    reference = RidgeCV(alphas=np.logspace(-6, 6, 121) * len(y_train)).fit(X_train, y_train)
    if noise > 10:
        # Noisy: the best ridge is a real shrinkage, inside the grid. (With little noise it is
        # nearly least squares, the grid's small end: a shrinkage by 1e-3.)
        assert model.alphas_[-1] < model.alpha_ < model.alphas_[0]
    assert model.score(X_test, y_test) == pytest.approx(reference.score(X_test, y_test),
                                                        abs=1e-3)
    assert np.linalg.norm(model.coef_ - reference.coef_) < 0.01 * np.linalg.norm(
        reference.coef_)


@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csc_matrix], ids=["dense", "sparse"])
def test_ridge_grid_is_invariant_to_the_units_of_y(regression_split, to_sparse):
    X_train, X_test, y_train, y_test = regression_split
    folds = KFold(4, shuffle=True, random_state=0)
    settings = dict(l1_ratio=0.0, alphas=20, cv=folds, tol=1e-10)
    model = ElasticNetRegressorCV(**settings).fit(to_sparse(X_train), y_train)
    scaled = ElasticNetRegressorCV(**settings).fit(to_sparse(X_train), y_train * 1000)
    assert_allclose(scaled.alphas_, model.alphas_, rtol=1e-12)
    assert scaled.alpha_ == model.alpha_
    assert_allclose(scaled.coef_, model.coef_ * 1000, rtol=1e-6)
    assert scaled.score(X_test, y_test * 1000) == pytest.approx(model.score(X_test, y_test),
                                                                rel=1e-6)
    alphas, coefs, _ = enet_path(X_train, y_train, l1_ratio=0.0, alphas=10)
    scaled_alphas, scaled_coefs, _ = enet_path(X_train, y_train * 1000, l1_ratio=0.0, alphas=10)
    assert_allclose(scaled_alphas, alphas, rtol=1e-12)
    assert_allclose(scaled_coefs, coefs * 1000, rtol=1e-6)


def test_elastic_net_grid_serves_both_units_of_y(regression_split):
    # With 0 < l1_ratio < 1 exact invariance is impossible for any grid: y * c at alpha solves
    # the problem of y at L1 strength alpha / c and L2 strength alpha, a pair no single alpha
    # of the original gives. The grid covers both penalties' ranges, so the chosen models are
    # equally good (measured: held-out R^2 within 1e-6, weights within 2e-4; the L1-only grid
    # scored R^2 -0.03 on y * 1000).
    X_train, X_test, y_train, y_test = regression_split
    settings = dict(l1_ratio=0.5, cv=KFold(5, shuffle=True, random_state=0))
    model = ElasticNetRegressorCV(**settings).fit(X_train, y_train)
    scaled = ElasticNetRegressorCV(**settings).fit(X_train, y_train * 1000)
    assert scaled.score(X_test, y_test * 1000) == pytest.approx(model.score(X_test, y_test),
                                                                abs=1e-4)
    assert model.score(X_test, y_test) > 0.99
    assert np.linalg.norm(scaled.coef_ / 1000 - model.coef_) < 1e-3 * np.linalg.norm(
        model.coef_)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_lasso_grid_is_lasso_cvs(regression_split, weighted):
    X_train, _, y_train, _ = regression_split
    sample_weight = np.random.RandomState(0).randint(1, 4, size=len(y_train)).astype(float) \
        if weighted else None
    folds = KFold(3, shuffle=True, random_state=0)
    model = ElasticNetRegressorCV(l1_ratio=1.0, alphas=15, eps=1e-2, cv=folds).fit(
        X_train, y_train, sample_weight=sample_weight)
    reference = LassoCV(alphas=15, eps=1e-2, cv=folds).fit(X_train, y_train,
                                                            sample_weight=sample_weight)
    assert_allclose(model.alphas_, reference.alphas_, rtol=1e-12)
    alphas, _, _ = enet_path(X_train, y_train, l1_ratio=1.0, alphas=15, eps=1e-2,
                             sample_weight=sample_weight)
    assert_allclose(alphas, reference.alphas_, rtol=1e-12)


def test_ridge_classifier_scores_as_logistic_regression_cv():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X_train, y_train))
    model = ElasticNetClassifierCV(l1_ratio=0.0, alphas=25, cv=folds).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9's l1_ratios default
        reference = LogisticRegressionCV(Cs=np.logspace(-4, 4, 17), cv=folds,
                                         scoring="neg_log_loss").fit(X_train, y_train)
    assert model.alphas_[-1] < model.alpha_ < model.alphas_[0]
    assert log_loss(y_test, model.predict_proba(X_test)) == pytest.approx(
        log_loss(y_test, reference.predict_proba(X_test)), abs=0.01)
    assert model.score(X_test, y_test) == pytest.approx(
        np.mean(reference.predict(X_test) == y_test), abs=0.02)
