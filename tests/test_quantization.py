"""VectorQuantizer: k-means against scikit-learn, outputs and their inverses, diagnostics, errors.

Product / residual quantization, streaming and the memory bound are in
test_quantization_compression.py.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.stats import entropy
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skreg import VectorQuantizer

# The notes' six-colour codebook, RGB in [0, 1]: red, blue, green, yellow, black, white.
PALETTE = np.array(
    [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.float64
)
RED, BLUE, GREEN, YELLOW, BLACK, WHITE = range(6)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=600, centers=8, n_features=4, cluster_std=0.6, random_state=0)
    return X, y


def kmeans_with_codebook(codebook, X):
    """A fitted KMeans whose centers are exactly ``codebook``."""
    km = KMeans(len(codebook), init=codebook, n_init=1, max_iter=1).fit(X)
    km.cluster_centers_ = codebook.copy()
    return km


# ---------------------------------------------------------------- k-means against scikit-learn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_iter", [1, 3, 300])
def test_same_init_gives_sklearn_kmeans_codebook(blobs, dtype, max_iter):
    X = blobs[0].astype(dtype)
    init = X[:10].copy()
    km = KMeans(10, init=init, n_init=1, max_iter=max_iter, tol=0).fit(X)
    vq = VectorQuantizer(10, init=init, max_iter=max_iter, tol=0).fit(X)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(vq.codebook_, km.cluster_centers_, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(vq.labels_, km.labels_)
    np.testing.assert_array_equal(vq.predict(X), km.predict(X))
    assert vq.inertia_ == pytest.approx(km.inertia_, rel=rtol)
    assert vq.n_iter_ == km.n_iter_
    assert vq.codebook_.dtype == dtype


def test_sparse_input_gives_sklearn_kmeans_codebook(blobs):
    X = np.abs(blobs[0])
    X[X < 2] = 0  # about half the entries
    X_sparse = sparse.csr_matrix(X)
    init = X[::100][:6].copy()
    km = KMeans(6, init=init, n_init=1, tol=0).fit(X_sparse)
    vq = VectorQuantizer(6, init=init, tol=0).fit(X_sparse)
    np.testing.assert_allclose(vq.codebook_, km.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(vq.predict(X_sparse), km.predict(X_sparse))
    np.testing.assert_array_equal(vq.predict(X), vq.predict(X_sparse))
    assert vq.score(X_sparse) == pytest.approx(vq.score(X), rel=1e-10)


def test_kmeans_plus_plus_finds_the_blobs_and_sklearn_inertia(blobs):
    X, y = blobs
    vq = VectorQuantizer(8, random_state=0).fit(X)
    km = KMeans(8, n_init=1, random_state=0).fit(X)
    assert adjusted_rand_score(y, vq.labels_) == pytest.approx(1.0)
    assert vq.inertia_ == pytest.approx(km.inertia_, rel=0.01)
    assert vq.inertia_ == pytest.approx(np.sum((X - vq.codebook_[vq.labels_]) ** 2), rel=1e-10)


def test_warm_started_fit_matches_sklearn_inertia_on_many_rows():
    # Enough rows that the fit runs on growing subsamples before the full data.
    X, _ = make_blobs(n_samples=12_000, centers=20, n_features=3, cluster_std=2.0, random_state=1)
    vq = VectorQuantizer(16, random_state=0).fit(X)
    km = KMeans(16, n_init=1, random_state=0).fit(X)
    assert vq.inertia_ <= 1.01 * km.inertia_


def test_minibatch_fit_is_close_to_full_batch(blobs):
    X, y = blobs
    full = VectorQuantizer(8, random_state=0).fit(X)
    mini = VectorQuantizer(8, batch_size=64, random_state=0).fit(X)
    assert adjusted_rand_score(y, mini.labels_) == pytest.approx(1.0)
    assert mini.inertia_ <= 1.02 * full.inertia_
    assert np.all(mini.code_counts_ > 0)


def test_n_init_keeps_the_best_run(blobs):
    X = blobs[0]
    single = VectorQuantizer(12, n_init=1, random_state=3).fit(X)
    several = VectorQuantizer(12, n_init=4, random_state=3).fit(X)
    # The first of the four runs is the single run: the best of four is no worse.
    assert several.inertia_ <= single.inertia_ + 1e-9


def test_same_random_state_same_codebook(blobs):
    X = blobs[0]
    first = VectorQuantizer(8, random_state=7).fit(X).codebook_
    np.testing.assert_array_equal(first, VectorQuantizer(8, random_state=7).fit(X).codebook_)


@pytest.mark.parametrize("batch_size", [None, 50])
def test_dead_code_is_reseeded_and_used(blobs, batch_size):
    X = blobs[0]
    init = X[:8].copy()
    init[3] = 1e3  # no row comes near this code
    vq = VectorQuantizer(8, init=init, batch_size=batch_size, random_state=0).fit(X)
    assert np.all(vq.code_counts_ > 0)
    assert np.abs(vq.codebook_[3]).max() < np.abs(X).max()


def test_fewer_distinct_rows_than_codes_warns():
    X = np.repeat(np.eye(3), 4, axis=0)
    with pytest.warns(ConvergenceWarning, match="2 code\\(s\\) are unused"):
        vq = VectorQuantizer(5, random_state=0).fit(X)
    assert np.count_nonzero(vq.code_counts_) == 3
    assert vq.inertia_ == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- the notes' colour example


def test_fixed_palette_is_kept_and_colours_map_to_nearest():
    pixels = np.random.default_rng(0).uniform(size=(50, 3))
    vq = VectorQuantizer(6, init=PALETTE, max_iter=0).fit(pixels)
    np.testing.assert_array_equal(vq.codebook_, PALETTE)
    assert vq.n_iter_ == 0
    np.testing.assert_array_equal(vq.predict(PALETTE), np.arange(6))
    # A blue-violet (slate blue) is nearest to blue. Lavender (230, 230, 250), the notes'
    # example, is in fact nearest to white in RGB: squared distance 0.01 versus 1.66 to blue.
    colours = np.array([[106, 90, 205], [230, 230, 250], [200, 30, 40], [20, 20, 30]]) / 255
    np.testing.assert_array_equal(vq.predict(colours), [BLUE, WHITE, RED, BLACK])
    brute_force = np.argmin(((colours[:, None, :] - PALETTE[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(vq.predict(colours), brute_force)
    np.testing.assert_array_equal(vq.inverse_transform(vq.transform(colours)), PALETTE[brute_force])


# ---------------------------------------------------------------- outputs and their inverses


@pytest.mark.parametrize("output", ["codes", "onehot", "quantized", "distances"])
def test_inverse_of_transform_is_nearest_code(blobs, output):
    X = blobs[0]
    vq = VectorQuantizer(8, output=output, random_state=0).fit(X)
    expected = vq.codebook_[vq.predict(X)]
    np.testing.assert_allclose(vq.inverse_transform(vq.transform(X)), expected, rtol=1e-12)
    assert vq.get_feature_names_out().shape == (vq.transform(X[:3]).shape[1],)


def test_output_formats(blobs):
    X = blobs[0]
    vq = VectorQuantizer(8, random_state=0).fit(X)
    labels = vq.predict(X)
    assert labels.shape == (len(X),) and labels.dtype == np.intp
    np.testing.assert_array_equal(vq.fit_predict(X), vq.labels_)
    np.testing.assert_array_equal(vq.labels_, labels)

    codes = vq.transform(X)
    assert codes.shape == (len(X), 1) and codes.dtype == np.uint8
    np.testing.assert_array_equal(codes[:, 0], labels)

    onehot = vq.set_params(output="onehot").transform(X)
    assert sparse.issparse(onehot) and onehot.shape == (len(X), 8)
    np.testing.assert_array_equal(onehot.toarray(), np.eye(8)[labels])

    quantized = vq.set_params(output="quantized").transform(X)
    np.testing.assert_array_equal(quantized, vq.codebook_[labels])

    distances = vq.set_params(output="distances").transform(X)
    km = kmeans_with_codebook(vq.codebook_, X)
    np.testing.assert_allclose(distances, km.transform(X), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(("n_codes", "dtype"), [(256, np.uint8), (257, np.uint16)])
def test_codes_use_the_smallest_unsigned_dtype(n_codes, dtype):
    X = np.random.default_rng(0).normal(size=(300, 2))
    vq = VectorQuantizer(n_codes, max_iter=2, random_state=0).fit(X)
    codes = vq.transform(X)
    assert codes.dtype == dtype
    np.testing.assert_array_equal(codes[:, 0], vq.predict(X))


def test_score_is_minus_mean_squared_error(blobs):
    X = blobs[0]
    vq = VectorQuantizer(8, random_state=0).fit(X[:400])
    X_new = X[400:]
    mse = np.mean(np.sum((X_new - vq.codebook_[vq.predict(X_new)]) ** 2, axis=1))
    assert vq.score(X_new) == pytest.approx(-mse, rel=1e-12)
    assert vq.score(X[:400]) == pytest.approx(-vq.inertia_ / 400, rel=1e-10)


def test_float32_stays_float32(blobs):
    X = blobs[0].astype(np.float32)
    vq = VectorQuantizer(8, output="quantized", random_state=0).fit(X)
    assert vq.codebook_.dtype == np.float32
    assert vq.transform(X).dtype == np.float32
    assert vq.set_params(output="distances").transform(X).dtype == np.float32
    assert vq.set_params(output="onehot").transform(X).dtype == np.float32
    assert vq.set_params(output="codes").inverse_transform(vq.transform(X)).dtype == np.float32


def test_pandas_output_and_feature_names(blobs):
    X = pd.DataFrame(blobs[0], columns=["a", "b", "c", "d"])
    vq = VectorQuantizer(8, random_state=0).set_output(transform="pandas").fit(X)
    codes = vq.transform(X)
    assert list(codes.columns) == ["vectorquantizer_code"]
    assert codes.dtypes.iloc[0] == np.uint8
    quantized = vq.set_params(output="quantized").transform(X)
    assert list(quantized.columns) == ["a", "b", "c", "d"]
    distances = vq.set_params(output="distances").transform(X)
    assert list(distances.columns) == [f"vectorquantizer_distance{k}" for k in range(8)]


# ---------------------------------------------------------------- perplexity and code usage


def test_perplexity_closed_forms():
    # Each palette colour used equally: perplexity is the number of codes.
    X = np.repeat(PALETTE, 7, axis=0)
    vq = VectorQuantizer(6, init=PALETTE, max_iter=0).fit(X)
    np.testing.assert_array_equal(vq.code_counts_, np.full(6, 7))
    assert vq.perplexity_ == pytest.approx(6.0)
    # One colour only: perplexity 1. Two colours 3:1: exp of their entropy.
    assert vq.code_usage(np.tile(PALETTE[RED], (9, 1))).perplexity == pytest.approx(1.0)
    usage = vq.code_usage(PALETTE[[RED, RED, RED, BLUE]])
    np.testing.assert_array_equal(usage.counts, [3, 1, 0, 0, 0, 0])
    p = np.array([0.75, 0.25])
    assert usage.perplexity == pytest.approx(np.exp(-(p * np.log(p)).sum()))


def test_perplexity_on_random_vectors_is_not_the_notes_value():
    # The reference's figure: 8,192 random 64-d vectors, 256 codes. The true perplexity is close
    # to 256; the notes' formula, exp(-a log a) with a = mean(index / 256), gives about 1.41.
    X = np.random.default_rng(0).normal(size=(8192, 64)).astype(np.float32)
    vq = VectorQuantizer(256, max_iter=10, random_state=0).fit(X)
    assert 200 < vq.perplexity_ < 256
    assert vq.perplexity_ == pytest.approx(np.exp(entropy(vq.code_counts_)), rel=1e-10)
    mean_index = np.mean(vq.labels_ / 256)
    assert np.exp(-mean_index * np.log(mean_index)) == pytest.approx(1.41, abs=0.02)


def test_code_usage_on_new_data(blobs):
    X = blobs[0]
    vq = VectorQuantizer(8, random_state=0).fit(X[:400])
    usage = vq.code_usage(X[400:])
    np.testing.assert_array_equal(usage.counts, np.bincount(vq.predict(X[400:]), minlength=8))
    assert usage.perplexity == pytest.approx(np.exp(entropy(usage.counts)))
    train = vq.code_usage(X[:400])
    np.testing.assert_array_equal(train.counts, vq.code_counts_)
    assert train.perplexity == pytest.approx(vq.perplexity_)


# ---------------------------------------------------------------- composition


def test_grid_search_over_n_codes(blobs):
    X = blobs[0]
    search = GridSearchCV(VectorQuantizer(random_state=0), {"n_codes": [2, 4, 8]}, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) > 0)  # more codes, smaller held-out error
    assert search.best_params_ == {"n_codes": 8}


def test_pipeline_of_one_hot_codes_into_a_classifier(blobs):
    X, y = blobs
    pipe = make_pipeline(
        StandardScaler(), VectorQuantizer(8, output="onehot", random_state=0), LogisticRegression()
    )
    search = GridSearchCV(pipe, {"vectorquantizer__n_codes": [2, 8]}, cv=3).fit(X, y)
    assert search.best_params_ == {"vectorquantizer__n_codes": 8}
    assert search.best_score_ > 0.95


# ---------------------------------------------------------------- errors


def test_nan_is_rejected(blobs):
    X = blobs[0].copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        VectorQuantizer(4).fit(X)
    vq = VectorQuantizer(4, random_state=0).fit(blobs[0])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        vq.transform(X)


def test_more_codes_than_rows_is_rejected():
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_codes=10"):
        VectorQuantizer(10).fit(np.ones((5, 2)))


def test_wrong_number_of_features_is_rejected(blobs):
    vq = VectorQuantizer(4, random_state=0).fit(blobs[0])
    with pytest.raises(ValueError, match="X has 3 features, but VectorQuantizer is expecting 4"):
        vq.predict(blobs[0][:, :3])


def test_init_array_of_wrong_shape_is_rejected():
    X = np.random.default_rng(0).normal(size=(20, 3))
    expected = r"init has shape \(6, 2\), but the codebook must have shape \(n_codes, n_features\)"
    with pytest.raises(ValueError, match=expected + r" = \(6, 3\)"):
        VectorQuantizer(6, init=PALETTE[:, :2]).fit(X)
    with pytest.raises(ValueError, match=r"init has shape \(6, 3\).* = \(8, 3\)"):
        VectorQuantizer(8, init=PALETTE).fit(X)
    with pytest.raises(ValueError, match=r"\(n_stages, n_codes, n_features\) = \(2, 6, 3\)"):
        VectorQuantizer(6, init=PALETTE, n_stages=2).fit(X)


def test_init_array_with_n_init_runs_once(blobs):
    with pytest.warns(RuntimeWarning, match="runs once: n_init=3 is ignored"):
        VectorQuantizer(8, init=blobs[0][:8], n_init=3).fit(blobs[0])


def test_bad_codes_for_inverse_transform_are_rejected(blobs):
    vq = VectorQuantizer(4, random_state=0).fit(blobs[0])
    with pytest.raises(ValueError, match=r"Codes must lie in \[0, n_codes\) = \[0, 4\)"):
        vq.inverse_transform([[4]])
    with pytest.raises(ValueError, match="Expected codes with 1 column"):
        vq.inverse_transform([[0, 1]])


def test_invalid_parameters_are_rejected(blobs):
    with pytest.raises(InvalidParameterError, match="'output' parameter"):
        VectorQuantizer(4, output="indices").fit(blobs[0])
    with pytest.raises(InvalidParameterError, match="'n_codes' parameter"):
        VectorQuantizer(0).fit(blobs[0])


def test_unfitted_transform_is_rejected(blobs):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        VectorQuantizer(4).transform(blobs[0])


def test_no_warnings_on_a_plain_fit(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VectorQuantizer(8, random_state=0).fit(blobs[0]).transform(blobs[0])
