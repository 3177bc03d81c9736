"""scikit-learn's private API: used in one module only, and the public fallbacks agree with it.

The tests marked ``sklearn_fallback`` run the Elastic Net solvers twice, on scikit-learn's
compiled coordinate descent and on the public ``ElasticNet`` fallback that
``skreg.utils._sklearn_private`` switches to when a scikit-learn release moves the private
API, and check that both give the same coefficients. They are fast and run with every
``make test``; ``pytest -m sklearn_fallback`` runs them alone, and
``SKREG_SKLEARN_PUBLIC_ONLY=1 pytest tests/test_linear*.py`` runs every linear test on the
fallback.
"""

import ast
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import sparse
from sklearn.datasets import make_classification, make_regression

import skreg
from skreg import ElasticNetClassifier, ElasticNetRegressorCV, enet_path
from skreg.linear import _weighted_enet
from skreg.utils import _sklearn_private

PACKAGE = pathlib.Path(skreg.__file__).parent
# The audit cells must run against older skreg checkouts, so they import scikit-learn's
# parameter-validation helpers themselves.
ALLOWED = {"utils/_sklearn_private.py", "utils/_robustness.py"}


def _private_imports(path):
    """``module.name`` of every private scikit-learn name imported by a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            private_module = any(part.startswith("_") for part in node.module.split("."))
            found += [f"{node.module}.{alias.name}" for alias in node.names
                      if private_module or alias.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("sklearn")
                      and any(part.startswith("_") for part in alias.name.split("."))]
    return found


def test_private_scikit_learn_names_are_imported_in_one_module():
    offenders = {
        str(path.relative_to(PACKAGE)): names
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in ALLOWED
        and (names := _private_imports(path))
    }
    assert offenders == {}
    assert _private_imports(PACKAGE / "utils" / "_sklearn_private.py")  # the check can see them


def test_public_only_environment_variable_and_untested_versions_use_the_fallback():
    # The module alone, by path: importing skreg (and torch) would take most of the time.
    code = ("import importlib.util, sys, sklearn; "
            "spec = importlib.util.spec_from_file_location('private', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(m.private_solvers(), m._version(sklearn.__version__) in m.TESTED_SKLEARN)")
    env = {**os.environ, "SKREG_SKLEARN_PUBLIC_ONLY": "1"}
    path = str(PACKAGE / "utils" / "_sklearn_private.py")
    output = subprocess.run([sys.executable, "-c", code, path], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    assert output == ["False", "True"]  # switched off although the version is a tested one
    assert _sklearn_private._version("1.10.0") not in _sklearn_private.TESTED_SKLEARN


@pytest.fixture
def public_only(monkeypatch):
    """Run the block on the public fallbacks."""

    def switch(on):
        monkeypatch.setattr(_sklearn_private, "PRIVATE_SOLVERS", not on)

    return switch


@pytest.mark.sklearn_fallback
@pytest.mark.parametrize("layout", ["gram", "dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_inner_solve_is_the_same_on_the_fallback(public_only, monkeypatch, layout,
                                                          fit_intercept):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12)) * (rng.random((80, 12)) < 0.4)
    if layout != "gram":  # the Gram layout is for few features: force the others
        monkeypatch.setattr(_weighted_enet, "GRAM_MAX_FEATURES", 4)
    if layout == "sparse":
        X = sparse.csc_matrix(X)
    v, response = rng.uniform(0.1, 1.0, size=80), rng.normal(size=80) + 2.0
    results = []
    for on in (False, True):
        public_only(on)
        results.append(_weighted_enet.solve_weighted_enet(
            X, v, response, np.zeros(12), 0.0, l1=3.0, l2=0.3, fit_intercept=fit_intercept,
            kkt_target=1e-10, rng=np.random.RandomState(0)))
    (w_private, b_private), (w_public, b_public) = results
    assert np.count_nonzero(w_private) not in (0, 12)  # some weights at zero, some not
    assert_allclose(w_public, w_private, rtol=1e-7, atol=1e-9)
    assert b_public == pytest.approx(b_private, rel=1e-7, abs=1e-9)


@pytest.mark.sklearn_fallback
@pytest.mark.parametrize("to_sparse", [np.asarray, sparse.csr_matrix], ids=["dense", "sparse"])
def test_classifier_fit_is_the_same_on_the_fallback(public_only, to_sparse):
    X, y = make_classification(120, 8, n_informative=4, n_classes=3, random_state=0)
    models = []
    for on in (False, True):
        public_only(on)
        models.append(ElasticNetClassifier(alpha=0.01, l1_ratio=0.7, tol=1e-8)
                      .fit(to_sparse(X), y))
    assert_allclose(models[1].coef_, models[0].coef_, rtol=1e-5, atol=1e-7)
    assert_allclose(models[1].intercept_, models[0].intercept_, rtol=1e-5, atol=1e-7)


@pytest.mark.sklearn_fallback
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_path_and_cv_are_the_same_on_the_fallback(public_only, l1_ratio,
                                                                weighted):
    X, y = make_regression(70, 6, n_informative=3, noise=5.0, random_state=0)
    weights = np.random.default_rng(0).integers(0, 4, size=70) if weighted else None
    paths, models = [], []
    for on in (False, True):
        public_only(on)
        paths.append(enet_path(X, y, l1_ratio=l1_ratio, alphas=8, sample_weight=weights,
                               tol=1e-12, max_iter=100_000))
        models.append(ElasticNetRegressorCV(l1_ratio=l1_ratio, alphas=8, cv=3, tol=1e-12,
                                            max_iter=100_000).fit(X, y, sample_weight=weights))
    for private, public in zip(*paths, strict=True):
        assert_allclose(public, private, rtol=1e-6, atol=1e-8)
    assert models[1].alpha_ == models[0].alpha_
    assert_allclose(models[1].coef_, models[0].coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.sklearn_fallback
@pytest.mark.parametrize("weighted", [False, True])
def test_fallback_duality_gap_at_zero_epochs_is_the_routines(weighted):
    # The inexact sparse solves ask for the gap at their starting point with max_iter=0,
    # which the public ElasticNet cannot run.
    if not _sklearn_private.PRIVATE_SOLVERS:
        pytest.skip("needs scikit-learn's compiled routine as the reference")
    rng = np.random.default_rng(0)
    X = sparse.csc_matrix(rng.normal(size=(50, 8)) * (rng.random((50, 8)) < 0.5))
    y, w = rng.normal(size=50), 0.1 * rng.normal(size=8)
    sample_weight = rng.uniform(0.5, 2.0, size=50) if weighted else np.ones(50)
    for alpha, beta in [(0.5, 0.3), (5.0, 0.0), (0.01, 1.0)]:
        with warnings.catch_warnings():  # zero epochs: "did not converge", by design
            warnings.simplefilter("ignore")
            private = _sklearn_private.sparse_enet_coordinate_descent(
                w.copy(), alpha, beta, X.data, X.indices, X.indptr, y, sample_weight,
                np.zeros(8), 0, 1e-4, np.random.RandomState(0))
        public = _sklearn_private._public_solve(
            w.copy(), alpha, beta, X, y, 0, 1e-4, 50, sample_weight=sample_weight)
        assert public[1] == pytest.approx(private[1], rel=1e-10)
        assert public[2] == pytest.approx(private[2], rel=1e-12)


@pytest.mark.sklearn_fallback
def test_sparse_text_like_classifier_is_the_same_on_the_fallback(public_only):
    # Many sparse columns: the inexact (relative-gap) sparse solves, not the Gram path.
    rng = np.random.default_rng(0)
    X = sparse.random_array((200, 1500), density=0.02, format="csc", rng=rng,
                            data_sampler=rng.standard_normal)
    coef = np.zeros(1500)
    coef[rng.choice(1500, size=30, replace=False)] = 3 * rng.standard_normal(30)
    y = (X @ coef + 0.5 * rng.standard_normal(200) > 0).astype(int)
    models = []
    for on in (False, True):
        public_only(on)
        models.append(ElasticNetClassifier(alpha=0.002, l1_ratio=1.0, tol=1e-9).fit(X, y))
    assert np.count_nonzero(models[0].coef_) > 5
    assert_allclose(models[1].coef_, models[0].coef_, rtol=1e-5, atol=1e-7)
    assert_allclose(models[1].intercept_, models[0].intercept_, rtol=1e-5, atol=1e-7)
