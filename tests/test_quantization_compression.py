"""VectorQuantizer: product and residual quantization, partial_fit streaming, bounded memory."""

import tracemalloc

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import adjusted_rand_score

from skreg import VectorQuantizer


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:600]


# ---------------------------------------------------------------- product quantization


def test_product_quantization_is_one_kmeans_per_feature_block(digits):
    init = digits[:16].copy()
    pq = VectorQuantizer(16, init=init, n_subspaces=3, tol=0).fit(digits)
    codes = pq.transform(digits)
    assert codes.shape == (600, 3) and codes.dtype == np.uint8
    assert pq.codebook_.shape == (16, 64)
    # Blocks of 21, 22 and 21 features, each quantized on its own with its slice of init.
    for block, columns in enumerate([slice(0, 21), slice(21, 43), slice(43, 64)]):
        alone = VectorQuantizer(16, init=init[:, columns], tol=0).fit(digits[:, columns])
        np.testing.assert_array_equal(codes[:, block], alone.predict(digits[:, columns]))
        np.testing.assert_allclose(pq.codebook_[:, columns], alone.codebook_, rtol=1e-12)
    rebuilt = pq.inverse_transform(codes)
    np.testing.assert_allclose(
        rebuilt[:, 21:43], pq.codebook_[codes[:, 1].astype(int), 21:43], rtol=1e-12
    )
    assert pq.score(digits) == pytest.approx(-np.mean(np.sum((digits - rebuilt) ** 2, 1)))
    assert pq.inertia_ == pytest.approx(np.sum((digits - rebuilt) ** 2), rel=1e-10)


def test_more_subspaces_or_stages_rebuild_better(digits):
    errors = {}
    for name, params in [
        ("vq", {}),
        ("pq4", {"n_subspaces": 4}),
        ("pq8", {"n_subspaces": 8}),
        ("rq2", {"n_stages": 2}),
        ("rq4", {"n_stages": 4}),
    ]:
        errors[name] = -VectorQuantizer(32, random_state=0, **params).fit(digits).score(digits)
    assert errors["pq8"] < errors["pq4"] < errors["vq"]
    assert errors["rq4"] < errors["rq2"] < errors["vq"]


@pytest.mark.parametrize(
    ("params", "n_blocks"), [({"n_subspaces": 4}, 4), ({"n_stages": 3}, 3), ({}, 1)]
)
@pytest.mark.parametrize("output", ["codes", "onehot", "distances", "quantized"])
def test_every_output_inverts_for_product_and_residual(digits, params, n_blocks, output):
    vq = VectorQuantizer(8, output=output, random_state=0, **params).fit(digits)
    transformed = vq.transform(digits)
    codes = vq.set_params(output="codes").transform(digits)
    assert codes.shape == (600, n_blocks)
    expected = vq.inverse_transform(codes)
    vq.set_params(output=output)
    np.testing.assert_allclose(vq.inverse_transform(transformed), expected, atol=1e-10)
    assert vq.get_feature_names_out().shape == (transformed.shape[1],)
    if output in ("onehot", "distances"):
        assert transformed.shape[1] == n_blocks * 8


def test_residual_stage_quantizes_the_previous_residual(digits):
    init = np.stack([digits[:16], digits[16:32] - digits[:16].mean(0)])
    rq = VectorQuantizer(16, init=init, n_stages=2, tol=0).fit(digits)
    assert rq.codebook_.shape == (2, 16, 64)
    codes = rq.predict(digits)
    first = VectorQuantizer(16, init=init[0], tol=0).fit(digits)
    np.testing.assert_array_equal(codes[:, 0], first.predict(digits))
    residual = digits - first.codebook_[codes[:, 0]]
    second = VectorQuantizer(16, init=init[1], tol=0).fit(residual)
    np.testing.assert_array_equal(codes[:, 1], second.predict(residual))
    np.testing.assert_allclose(
        rq.inverse_transform(codes),
        first.codebook_[codes[:, 0]] + second.codebook_[codes[:, 1]],
        rtol=1e-12,
    )
    assert rq.inertia_ == pytest.approx(second.inertia_, rel=1e-10)
    assert rq.perplexity_.shape == (2,) and rq.code_counts_.shape == (2, 16)


def test_sparse_input_with_product_quantization_and_residual_rejected(digits):
    X = sparse.csr_matrix(digits)
    pq = VectorQuantizer(8, n_subspaces=2, init=digits[:8], tol=0).fit(X)
    dense = VectorQuantizer(8, n_subspaces=2, init=digits[:8], tol=0).fit(digits)
    # Dense rows are centred on their mean (sparse ones are not): codes agree to rounding.
    np.testing.assert_allclose(pq.codebook_, dense.codebook_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(pq.transform(X), dense.transform(digits))
    with pytest.raises(TypeError, match="Residual quantization \\(n_stages > 1\\) needs dense"):
        VectorQuantizer(8, n_stages=2).fit(X)


def test_more_subspaces_than_features_is_rejected():
    with pytest.raises(ValueError, match="n_subspaces=5 should be <= n_features=3"):
        VectorQuantizer(2, n_subspaces=5).fit(np.random.default_rng(0).normal(size=(10, 3)))


# ---------------------------------------------------------------- partial_fit


@pytest.fixture(scope="module")
def stream():
    X, y = make_blobs(n_samples=3000, centers=6, n_features=5, cluster_std=0.5, random_state=2)
    return X, y


def test_partial_fit_on_chunks_finds_the_clusters(stream):
    X, y = stream
    vq = VectorQuantizer(6, random_state=0)
    for chunk in np.array_split(X, 10):
        vq.partial_fit(chunk)
    assert adjusted_rand_score(y, vq.predict(X)) == pytest.approx(1.0)
    assert vq.code_counts_.sum() == len(X)
    assert vq.n_iter_ == 10
    full = VectorQuantizer(6, random_state=0).fit(X)
    assert -vq.score(X) <= 1.05 * -full.score(X)


def test_partial_fit_with_batches_and_dead_code(stream):
    X, _ = stream
    init = X[:6].copy()
    init[2] = 1e3
    vq = VectorQuantizer(6, init=init, batch_size=100, random_state=0)
    for chunk in np.array_split(X, 5):
        vq.partial_fit(chunk)
    assert np.all(vq.code_usage(X).counts > 0)
    assert np.abs(vq.codebook_[2]).max() < 100
    assert vq.code_counts_.sum() == len(X)  # rows seen, whatever the re-seeding did


def test_partial_fit_residual_and_product(stream):
    X, _ = stream
    for params in ({"n_stages": 2}, {"n_subspaces": 2}):
        vq = VectorQuantizer(6, random_state=0, **params)
        for chunk in np.array_split(X, 6):
            vq.partial_fit(chunk)
        assert vq.predict(X).shape == (len(X), 2)
        one_stage = VectorQuantizer(6, random_state=0).partial_fit(X)
        assert vq.score(X) > one_stage.score(X)


def test_partial_fit_checks_later_chunks(stream):
    X, _ = stream
    vq = VectorQuantizer(6, random_state=0).partial_fit(X[:100])
    with pytest.raises(ValueError, match="X has 4 features, but VectorQuantizer is expecting 5"):
        vq.partial_fit(X[100:200, :4])
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_codes=6"):
        VectorQuantizer(6).partial_fit(X[:3])


def test_fit_restarts_and_partial_fit_continues_from_fit(stream):
    X, y = stream
    vq = VectorQuantizer(6, random_state=0).partial_fit(X[:500]).partial_fit(X[500:1000])
    refit = vq.fit(X[:1000])
    assert refit.code_counts_.sum() == 1000  # fit starts over
    codebook = refit.codebook_.copy()
    refit.partial_fit(X[1000:1100])
    assert refit.n_iter_ == 1
    assert refit.code_counts_.sum() == 1100  # streaming goes on from the fitted codebook
    # Each code weighs its 1000 / 6 fitted rows: 100 more rows move it only a little.
    assert np.abs(refit.codebook_ - codebook).max() < 0.2
    assert adjusted_rand_score(y, refit.predict(X)) == pytest.approx(1.0)


# ---------------------------------------------------------------- memory


def test_predict_and_score_memory_stays_bounded():
    # 200,000 x 16 rows and 256 codes: the full float32 distance matrix would take 195 MiB.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 16), dtype=np.float32)
    vq = VectorQuantizer(256, init=X[:256], max_iter=0).fit(X[:1000])
    full_matrix = X.shape[0] * 256 * 4
    for method, output_bytes in [(vq.predict, X.shape[0] * 8), (vq.score, 0)]:
        tracemalloc.start()
        method(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        extra = peak - output_bytes
        assert extra < 32 * 2**20, f"{method.__name__} used {extra / 2**20:.1f} MiB"
        assert extra < full_matrix / 6
