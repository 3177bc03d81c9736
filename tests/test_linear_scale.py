"""The Elastic Net paths and CV estimators at extreme feature scales: correct, or a clear word.

Powers of two scale the data exactly, so the reference is the same computation on the unscaled
data: the Lasso is scale equivariant (X * c, alpha * c and w / c solve the same problem), and a
float32 X whose squares overflow float32 must give what the same values give in float64.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from skreg import ElasticNetClassifierCV, ElasticNetRegressor, ElasticNetRegressorCV, enet_path

BIG = 2.0**66  # ~7.4e19: float32 squares overflow
TINY = 2.0**-500  # ~3e-151: scikit-learn's alpha grid floors at 1e-15


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=80, n_features=5, n_informative=3, noise=1.0,
                           random_state=0)
    return X, y


def test_float32_features_whose_squares_overflow_are_solved_in_float64(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings, no convergence warnings
        model = ElasticNetRegressorCV(cv=3).fit((X * BIG).astype(np.float32), y)
    reference = ElasticNetRegressorCV(cv=3).fit((X * BIG).astype(np.float32).astype(np.float64),
                                                y)
    assert model.score(X * BIG, y) > 0.99
    assert model.alpha_ == reference.alpha_
    assert_allclose(model.coef_, reference.coef_, rtol=1e-6)
    alphas, coefs, _ = enet_path((X * BIG).astype(np.float32), y, alphas=5)
    ref_alphas, ref_coefs, _ = enet_path((X * BIG).astype(np.float32).astype(np.float64), y,
                                         alphas=5)
    assert np.all(np.isfinite(coefs))
    assert_allclose(alphas, ref_alphas)
    assert_allclose(coefs, ref_coefs, rtol=1e-6, atol=0)


def test_regressor_on_float32_features_whose_squares_overflow(data):
    X, y = data
    huge = (X * BIG).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ElasticNetRegressor().fit(huge, y)
    reference = ElasticNetRegressor().fit(huge.astype(np.float64), y)
    assert_allclose(model.coef_, reference.coef_, rtol=1e-6)
    assert model.score(huge, y) > 0.99


def test_tiny_features_keep_the_lasso_grid_and_weights(data):
    X, y = data
    alphas, coefs, intercepts = enet_path(X * TINY, y, l1_ratio=1.0, alphas=10, tol=1e-10)
    ref_alphas, ref_coefs, ref_intercepts = enet_path(X, y, l1_ratio=1.0, alphas=10, tol=1e-10)
    assert_allclose(alphas, ref_alphas * TINY)
    assert_allclose(coefs * TINY, ref_coefs, rtol=1e-6, atol=1e-8)
    assert_allclose(intercepts, ref_intercepts, rtol=1e-6)
    model = ElasticNetRegressorCV(l1_ratio=1.0, cv=3).fit(X * TINY, y)
    reference = ElasticNetRegressorCV(l1_ratio=1.0, cv=3).fit(X, y)
    assert model.alpha_ == pytest.approx(reference.alpha_ * TINY)
    assert model.score(X * TINY, y) == pytest.approx(reference.score(X, y))


def test_tiny_features_get_a_grid_on_their_scale(data):
    # The L2 part's range follows the features' variance, ~TINY**2 here, not the L1 rule's
    # alpha_max, ~TINY: no longer a grid on which every weight is shrunk to nearly zero.
    X, y = data
    with warnings.catch_warnings():
        # scikit-learn's duality gap sums squares of weights of ~1e152 and overflows: its
        # ConvergenceWarning asks to check the scale of the features; the weights are right.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ElasticNetRegressorCV(cv=3).fit(X * TINY, y)
        _, coefs, _ = enet_path(X * TINY, y, l1_ratio=0.2, alphas=5)
    reference = ElasticNetRegressorCV(cv=3).fit(X, y)
    assert model.score(X * TINY, y) == pytest.approx(reference.score(X, y), abs=1e-3)
    # The path's least penalized point shrinks by ~1e-3 at most: nearly least squares.
    least_squares = LinearRegression().fit(X, y).coef_
    assert_allclose(coefs[:, -1] * TINY, least_squares, rtol=5e-3,
                    atol=1e-3 * np.abs(least_squares).max())


@pytest.mark.parametrize("fit", [
    lambda X, y: ElasticNetClassifierCV(cv=3, max_iter=20).fit(X, y > np.median(y)),
    lambda X, y: enet_path(X, y > np.median(y), loss="log_loss", alphas=3, max_iter=20),
], ids=["classifier", "logistic path"])
def test_the_logistic_solver_failing_on_tiny_features_is_a_clear_warning(data, fit):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fit(X, y)  # standardized features: no warning
    with pytest.warns(UserWarning, match=r"solver lost its precision.*Standardize X"):
        with warnings.catch_warnings():
            # the logistic solver's own tolerance warnings at this scale are not at issue here
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit(X * TINY, y)


def test_a_constant_target_keeps_the_floor_grid(data):
    X, _ = data
    alphas, coefs, intercepts = enet_path(X * TINY, np.full(len(X), 0.1), alphas=4)
    assert_allclose(alphas, np.finfo(np.float64).resolution)
    assert not coefs.any()
    assert_allclose(intercepts, 0.1)


def test_features_whose_squares_overflow_float64_are_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"magnitude up to .* overflow float64\. Rescale X"):
        ElasticNetRegressorCV(cv=3).fit(X * 1e160, y)
    with pytest.raises(ValueError, match=r"overflow float64\. Rescale X"):
        enet_path(X * 1e160, y)
