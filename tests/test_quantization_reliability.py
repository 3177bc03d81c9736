"""VectorQuantizer: exact codes on offset data, BLAS limits, transactional fits, persistence,
sample weights, progress and output containers."""

import pickle
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import euclidean_distances
from threadpoolctl import threadpool_info, threadpool_limits

from skreg import VectorQuantizer
from skreg.quantization import _kmeans
from skreg.quantization._distances import CodebookSearch
from skreg.quantization._product import ProductCodebook
from skreg.quantization._residual import ResidualCodec


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=1200, centers=10, n_features=5, cluster_std=1.0, random_state=0)
    return X


def brute_force_codes(X, codebook):
    """argmin_k ||x - c_k||^2 from the differences, in float64."""
    diff = X.astype(np.float64)[:, None, :] - codebook.astype(np.float64)[None]
    return np.einsum("ikd,ikd->ik", diff, diff).argmin(axis=1)


# ---------------------------------------------------------------- exact codes on offset data

OFFSETS = [(1e4, np.float32), (1e8, np.float64)]


@pytest.mark.parametrize(("offset", "dtype"), OFFSETS)
@pytest.mark.parametrize("batch_size", [None, 256])
def test_offset_data_gets_exact_nearest_codes_and_sklearn_inertia(blobs, offset, dtype, batch_size):
    X = (blobs + offset).astype(dtype)
    vq = VectorQuantizer(16, batch_size=batch_size, random_state=0).fit(X)
    codes = brute_force_codes(X, vq.codebook_)
    np.testing.assert_array_equal(vq.predict(X), codes)
    np.testing.assert_array_equal(vq.labels_, codes)
    # The offset changes nothing: same inertia as on the data without it, and as KMeans's.
    plain = VectorQuantizer(16, batch_size=batch_size, random_state=0).fit(blobs.astype(dtype))
    assert vq.inertia_ == pytest.approx(plain.inertia_, rel=1e-3)
    km = KMeans(16, n_init=1, random_state=0).fit(X)
    assert vq.inertia_ <= 1.02 * km.inertia_


# ---------------------------------------------------------------- overflow of the squares

# 2**66 ~ 7.4e19 and 2**660 ~ 1e199: powers of two, so the scaled data are exactly the data
# times a constant, and every nearest code must be the same as on the data themselves.
@pytest.mark.parametrize("batch_size", [None, 256])
def test_float32_rows_whose_squares_overflow_get_their_nearest_codes(blobs, batch_size):
    X = blobs.astype(np.float32)
    huge = X * np.float32(2.0**66)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow warnings either
        vq = VectorQuantizer(16, batch_size=batch_size, random_state=0).fit(huge)
        predicted = vq.predict(huge)
    codebook = vq._codec.astype(np.float32).codebook_array()  # what predict searches
    np.testing.assert_array_equal(predicted, brute_force_codes(huge, codebook))
    np.testing.assert_array_equal(vq.labels_, brute_force_codes(huge, vq.codebook_))
    plain = VectorQuantizer(16, batch_size=batch_size, random_state=0).fit(X)
    assert np.isfinite(vq.inertia_)
    assert vq.inertia_ / 2.0**132 == pytest.approx(plain.inertia_, rel=1e-3)


@pytest.mark.parametrize(("scale", "dtype"), [(2.0**66, np.float32), (2.0**120, np.float32),
                                              (2.0**660, np.float64)])
@pytest.mark.parametrize("centred", [False, True])
def test_search_settles_rows_whose_scores_overflow(scale, dtype, centred):
    rng = np.random.default_rng(0)
    codebook, X = rng.normal(size=(16, 4)), rng.normal(size=(500, 4))
    search = CodebookSearch((codebook * scale).astype(dtype),
                            (X.mean(axis=0) * scale).astype(dtype) if centred else None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        labels = search.labels((X * scale).astype(dtype))
    # The reference: the same search on the unscaled float64 data (scaling by a power of two
    # keeps the nearest code).
    np.testing.assert_array_equal(labels, brute_force_codes(X, codebook))


def test_rows_whose_squares_overflow_float64_are_refused(blobs):
    with pytest.raises(ValueError, match="magnitude .* overflow float64. Rescale X"):
        VectorQuantizer(4).fit(blobs * 1e200)


@pytest.mark.parametrize(("offset", "dtype"), OFFSETS)
def test_offset_data_same_init_gives_sklearn_kmeans(blobs, offset, dtype):
    X = (blobs + offset).astype(dtype)
    init = X[:: len(X) // 12][:12].copy()
    vq = VectorQuantizer(12, init=init, tol=0).fit(X)
    km = KMeans(12, init=init, n_init=1, tol=0).fit(X)
    np.testing.assert_array_equal(vq.labels_, km.labels_)
    assert vq.inertia_ == pytest.approx(km.inertia_, rel=1e-4)


@pytest.mark.parametrize(("offset", "dtype"), OFFSETS)
def test_partial_fit_on_offset_data(blobs, offset, dtype):
    X = (blobs + offset).astype(dtype)
    scores = []
    for data in (blobs.astype(dtype), X):
        vq = VectorQuantizer(16, random_state=0)
        for chunk in np.array_split(data, 4):
            vq.partial_fit(chunk)
        np.testing.assert_array_equal(vq.predict(data), brute_force_codes(data, vq.codebook_))
        scores.append(vq.score(data))
    assert scores[1] == pytest.approx(scores[0], rel=1e-3)


@pytest.mark.parametrize("params", [{}, {"n_subspaces": 2}, {"n_stages": 2}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_distances_match_euclidean_distances_and_are_zero_to_own_code(blobs, params, dtype):
    # Data of scale 100: the expanded square used to report 0.06 for a code against itself.
    X = (100 * blobs).astype(dtype)
    vq = VectorQuantizer(8, output="distances", random_state=0, **params).fit(X)
    if vq.n_stages == 1 and vq.n_subspaces == 1:
        distances = vq.transform(vq.codebook_)
        np.testing.assert_array_equal(np.diag(distances), 0)
        reference = euclidean_distances(vq.codebook_.astype(np.float64))
        np.testing.assert_allclose(distances, reference, rtol=1e-6)
    rebuilt = vq.set_params(output="quantized").transform(X[:50])
    # Every rebuilt row is a code (or a sum of codes): its own codes are at distance 0.
    codes = vq.set_params(output="codes").transform(rebuilt)
    distances = vq.set_params(output="distances").transform(rebuilt)
    own = distances.reshape(50, -1, 8)[:, np.arange(codes.shape[1]), :]
    own = np.take_along_axis(own, codes[:, :, None].astype(np.intp), axis=2)
    if vq.n_stages == 1:
        np.testing.assert_array_equal(own, 0)
    full = vq.transform(X[:50])
    if vq.n_stages == 1 and vq.n_subspaces == 1:
        np.testing.assert_allclose(
            full, euclidean_distances(X[:50].astype(np.float64), vq.codebook_), rtol=1e-6
        )


def test_near_ties_are_settled_exactly_in_codes_and_quantized_rows():
    # Rows a millionth away from the bisector of two codes of scale 100: the float32 expansion
    # of the squared distances cannot tell the two codes apart.
    rng = np.random.default_rng(0)
    codebook = (100 * rng.standard_normal((16, 8))).astype(np.float32)
    first = rng.integers(16, size=20_000)
    second = (first + 1 + rng.integers(15, size=first.size)) % 16
    t = 0.5 + rng.uniform(-1e-6, 1e-6, size=(first.size, 1))
    X = (codebook[first] * (1 - t) + codebook[second] * t).astype(np.float32)
    truth = brute_force_codes(X, codebook)
    expanded = (codebook**2).sum(axis=1) - 2 * X @ codebook.T
    assert np.mean(expanded.argmin(axis=1) != truth) > 1e-3
    # Without a center the search frame is the data's own, so brute force is the reference.
    one_stage = ResidualCodec([ProductCodebook([codebook], [slice(0, 8)])])
    np.testing.assert_array_equal(one_stage.encode(X)[:, 0], truth)  # settled after all chunks
    np.testing.assert_array_equal(one_stage.quantize(X), codebook[truth])
    fine = ProductCodebook([codebook / 1000], [slice(0, 8)])
    two_stages = ResidualCodec([ProductCodebook([codebook], [slice(0, 8)]), fine])
    np.testing.assert_array_equal(two_stages.encode(X)[:, 0], truth)  # settled per chunk


def test_distances_on_offset_data_are_exact(blobs):
    X = blobs + 1e8
    vq = VectorQuantizer(8, output="distances", random_state=0).fit(X)
    codebook = vq.codebook_
    np.testing.assert_array_equal(np.diag(vq.transform(codebook)), 0)
    diff = X[:100, None, :] - codebook[None]
    np.testing.assert_allclose(vq.transform(X[:100]), np.sqrt((diff**2).sum(-1)), rtol=1e-6)


# ---------------------------------------------------------------- BLAS limits are the user's


def blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_concurrent_calls_leave_the_users_blas_limits(blobs):
    vq = VectorQuantizer(8, random_state=0).fit(blobs)
    before = blas_threads()
    with threadpool_limits(limits=3, user_api="blas"):
        limited = blas_threads()
        barrier = threading.Barrier(4)
        errors = []

        def work():
            try:
                barrier.wait()
                for _ in range(10):
                    vq.transform(blobs)
                    VectorQuantizer(4, max_iter=3, random_state=0).fit(blobs[:200])
            except BaseException as error:  # reported in the main thread
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert blas_threads() == limited == [3] * len(limited)
    assert blas_threads() == before


# ---------------------------------------------------------------- transactional fits


def fitted_state(vq):
    state = {}
    for key, value in vq.__dict__.items():
        if isinstance(value, np.ndarray):
            state[key] = value.copy()
        elif key in ("_codec", "_stream", "_rng"):
            state[key] = pickle.dumps(value)
        else:
            state[key] = value
    return state


def assert_same_state(vq, state):
    assert set(vq.__dict__) == set(state)
    for key, value in state.items():
        current = vq.__dict__[key]
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(current, value)
        elif key in ("_codec", "_stream", "_rng"):
            assert pickle.dumps(current) == value
        else:
            assert current == value


def test_failed_refit_keeps_the_previous_model_and_feature_names(blobs):
    X = pd.DataFrame(blobs, columns=list("abcde"))
    vq = VectorQuantizer(8, random_state=0).fit(X)
    state = fitted_state(vq)
    codes = vq.transform(X)
    other = pd.DataFrame(blobs[:5, :3], columns=list("xyz"))
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_codes=8"):
        vq.fit(other)
    with pytest.raises(ValueError, match="sample_weight"):
        vq.fit(X, sample_weight=np.ones(3))
    assert_same_state(vq, state)
    assert list(vq.feature_names_in_) == list("abcde")
    np.testing.assert_array_equal(vq.transform(X), codes)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_fit_and_partial_fit_keep_the_previous_state(blobs, monkeypatch, error):
    vq = VectorQuantizer(8, batch_size=100, random_state=0)
    vq.partial_fit(blobs[:400])
    vq.partial_fit(blobs[400:800])
    state = fitted_state(vq)
    calls = []
    update = _kmeans.StreamingCodebook.update

    def failing_update(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first batch went through, the second fails
            raise error("interrupted")
        return update(self, *args, **kwargs)

    monkeypatch.setattr(_kmeans.StreamingCodebook, "update", failing_update)
    with pytest.raises(error):
        vq.partial_fit(blobs[800:])
    assert_same_state(vq, state)
    calls.clear()
    with pytest.raises(error):
        vq.fit(blobs)  # mini-batch fit: fails in its second batch
    assert_same_state(vq, state)
    monkeypatch.setattr(_kmeans.StreamingCodebook, "update", update)
    expected = VectorQuantizer(8, batch_size=100, random_state=0)
    for chunk in (blobs[:400], blobs[400:800], blobs[800:]):
        expected.partial_fit(chunk)
    np.testing.assert_array_equal(vq.partial_fit(blobs[800:]).codebook_, expected.codebook_)


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize("params", [{}, {"n_subspaces": 2, "n_stages": 2}])
def test_skops_round_trip_trusts_only_the_public_class(blobs, tmp_path, params):
    vq = VectorQuantizer(8, batch_size=200, random_state=0, **params)
    vq.partial_fit(blobs[:600])
    path = tmp_path / "vq.skops"
    sio.dump(vq, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == ["skreg.quantization._vector_quantizer.VectorQuantizer"]
    loaded = sio.load(path, trusted=untrusted)
    for restored in (loaded, pickle.loads(pickle.dumps(vq))):
        np.testing.assert_array_equal(restored.transform(blobs), vq.transform(blobs))
        # The streaming state is saved too: the next chunk gives the same codebook.
        np.testing.assert_array_equal(
            restored.partial_fit(blobs[600:]).codebook_,
            pickle.loads(pickle.dumps(vq)).partial_fit(blobs[600:]).codebook_,
        )


# ---------------------------------------------------------------- sample weights


def test_integer_weights_equal_repeated_rows_and_sklearn(blobs):
    X = blobs[:300]
    weights = np.random.default_rng(0).integers(0, 4, size=len(X))
    init = X[weights > 0][:6].copy()
    weighted = VectorQuantizer(6, init=init, tol=0).fit(X, sample_weight=weights)
    repeated = VectorQuantizer(6, init=init, tol=0).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.codebook_, repeated.codebook_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    np.testing.assert_array_equal(weighted.code_counts_, repeated.code_counts_)
    km = KMeans(6, init=init, n_init=1, tol=0).fit(X, sample_weight=weights)
    np.testing.assert_allclose(weighted.codebook_, km.cluster_centers_, rtol=1e-8)
    assert weighted.inertia_ == pytest.approx(km.inertia_, rel=1e-8)
    # k-means++ seeding and mini-batch updates take the weights too.
    seeded = VectorQuantizer(10, n_init=3, random_state=0).fit(X, sample_weight=weights)
    km_seeded = KMeans(10, n_init=3, random_state=0).fit(X, sample_weight=weights)
    assert seeded.inertia_ <= 1.02 * km_seeded.inertia_
    streamed = VectorQuantizer(6, init=init).partial_fit(X, sample_weight=weights)
    streamed_repeated = VectorQuantizer(6, init=init).partial_fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(streamed.codebook_, streamed_repeated.codebook_, rtol=1e-10)


def test_invalid_sample_weight_is_rejected(blobs):
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        VectorQuantizer(4).fit(blobs[:10], sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="at least one non-zero"):
        VectorQuantizer(4).fit(blobs[:10], sample_weight=np.zeros(10))


# ---------------------------------------------------------------- verbose progress


def test_verbose_shows_progress_and_default_is_quiet(blobs, capsys):
    VectorQuantizer(4, random_state=0).fit(blobs)
    assert capsys.readouterr().err == ""
    VectorQuantizer(4, n_subspaces=2, verbose=1, random_state=0).fit(blobs)
    err = capsys.readouterr().err
    assert "codebook 1/2" in err and "codebook 2/2" in err and "inertia=" in err


# ---------------------------------------------------------------- output containers


@pytest.mark.parametrize("output", ["codes", "onehot", "quantized", "distances"])
def test_pandas_output_for_every_output(blobs, output):
    X = pd.DataFrame(blobs, columns=list("abcde"))
    vq = VectorQuantizer(4, output=output, random_state=0).fit(X)
    expected = vq.transform(X)
    frame = vq.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(vq.get_feature_names_out())
    dense = expected.toarray() if sparse.issparse(expected) else expected
    np.testing.assert_array_equal(frame.to_numpy(), dense)


def test_sparse_output_chooses_the_one_hot_type(blobs):
    vq = VectorQuantizer(4, output="onehot", random_state=0).fit(blobs)
    auto = vq.transform(blobs)
    assert sparse.issparse(auto) and auto.format == "csr"
    dense = vq.set_params(sparse_output=False).transform(blobs)
    assert isinstance(dense, np.ndarray)
    np.testing.assert_array_equal(dense, auto.toarray())
    assert sparse.issparse(vq.set_params(sparse_output=True).transform(blobs))
    vq.set_output(transform="pandas")
    message = 'sparse_output=True .* set_output\\(transform="pandas"\\)'
    with pytest.raises(ValueError, match=message):
        vq.transform(blobs)
