"""VectorQuantizer on many rows: Lloyd on growing subsamples before the passes over all rows.

The subsample thresholds are lowered through the private constants of ``_lloyd`` so that a few
thousand rows take the path that millions take with the defaults.
"""

import numpy as np
import pytest
from scipy import sparse
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from skreg import VectorQuantizer
from skreg.quantization import _lloyd

N_CODES = 16


@pytest.fixture(scope="module")
def many_rows():
    # Gaussian rows: their k-means local optima lie within about 2% of each other, so that
    # inertias from different paths can be compared closely.
    return np.random.default_rng(0).normal(size=(4000, 4))


@pytest.fixture
def small_thresholds(monkeypatch):
    """Subsamples of 8 rows per code, four times more each level, at most 32 rows per code."""
    monkeypatch.setattr(_lloyd, "_WARM_START_PER_CODE", 8)
    monkeypatch.setattr(_lloyd, "_WARM_START_MAX_PER_CODE", 32)


@pytest.fixture
def lloyd_calls(monkeypatch):
    """Every Lloyd run of the fit: (rows, max_iter, iterations run, sample_weight, codebook,
    relaxation)."""
    calls = []
    lloyd = _lloyd.lloyd

    def recording(X, codebook, **options):
        fit = lloyd(X, codebook, **options)
        calls.append((
            X.shape[0], options["max_iter"], fit.n_iter, options["sample_weight"], fit.codebook,
            options["relaxation"],
        ))
        return fit

    monkeypatch.setattr(_lloyd, "lloyd", recording)
    return calls


def test_subsamples_grow_fourfold_up_to_the_cap(many_rows, small_thresholds, lloyd_calls):
    VectorQuantizer(N_CODES, random_state=0).fit(many_rows)
    # 128 and 512 rows, then all 4000; 2048 would be more than half the rows.
    assert [call[0] for call in lloyd_calls] == [128, 512, 4000]
    # Over-relaxed subsamples, plain steps on all rows.
    assert [call[5] for call in lloyd_calls] == [_lloyd._RELAXATION] * 2 + [1.0]


@pytest.mark.parametrize(
    "max_per_code, fraction, sizes",
    [(8, 16, [128]), (8, 4, [128, 512]), (32, 10**6, [128, 512]), (8, 10**6, [128])],
)
def test_the_largest_subsample_is_the_larger_cap(
    many_rows, small_thresholds, lloyd_calls, monkeypatch, max_per_code, fraction, sizes
):
    # Caps: max_per_code * 16 codes rows, or 4000 // fraction rows, whichever is larger.
    monkeypatch.setattr(_lloyd, "_WARM_START_MAX_PER_CODE", max_per_code)
    monkeypatch.setattr(_lloyd, "_WARM_START_MAX_FRACTION", fraction)
    VectorQuantizer(N_CODES, random_state=0).fit(many_rows)
    assert [call[0] for call in lloyd_calls] == [*sizes, 4000]


def test_without_subsamples_all_rows_are_over_relaxed(many_rows, lloyd_calls):
    # The first subsample, 32 rows per code (512), would be more than half of 1000 rows.
    VectorQuantizer(N_CODES, random_state=0).fit(many_rows[:1000])
    assert [(call[0], call[5]) for call in lloyd_calls] == [(1000, _lloyd._RELAXATION)]


def test_subsample_path_matches_full_lloyd_inertia(many_rows, small_thresholds, monkeypatch):
    seeds = range(4)
    warm = [VectorQuantizer(N_CODES, random_state=seed).fit(many_rows) for seed in seeds]
    # The same seeds (drawn before any subsample), then Lloyd on all rows only.
    monkeypatch.setattr(_lloyd, "_WARM_START_PER_CODE", 10**6)
    full = [VectorQuantizer(N_CODES, random_state=seed).fit(many_rows) for seed in seeds]
    with threadpool_limits(1):  # OpenMP threads crawl on a loaded machine: 4000 rows need none
        reference = [KMeans(N_CODES, n_init=1, random_state=s).fit(many_rows) for s in seeds]
    warm_inertia = sum(vq.inertia_ for vq in warm)
    assert warm_inertia == pytest.approx(sum(vq.inertia_ for vq in full), rel=0.015)
    assert warm_inertia <= 1.015 * sum(km.inertia_ for km in reference)
    warm = warm[0]
    # inertia_ is that of the returned codebook and labels, on all rows.
    residual = many_rows - warm.codebook_[warm.labels_]
    assert warm.inertia_ == pytest.approx(np.sum(residual**2), rel=1e-10)
    np.testing.assert_array_equal(warm.labels_, warm.predict(many_rows))


def test_default_subsample_path_labels_every_row_by_its_exact_nearest_code(lloyd_calls):
    # 3000 float32 rows and 16 codes take the subsample path at the default thresholds (a
    # first level of 32 rows per code); labels_ and inertia_ must still be those of the
    # returned codebook on every row, as an exact float64 search finds them.
    X = np.random.default_rng(1).normal(size=(3000, 4)).astype(np.float32)
    vq = VectorQuantizer(N_CODES, random_state=0).fit(X)
    assert [call[0] for call in lloyd_calls] == [32 * N_CODES, 3000]
    codes = vq.codebook_.astype(np.float64)
    sq_dist = np.sum((X.astype(np.float64)[:, None, :] - codes[None]) ** 2, axis=2)
    np.testing.assert_array_equal(vq.labels_.ravel(), sq_dist.argmin(axis=1))
    assert vq.inertia_ == pytest.approx(sq_dist.min(axis=1).sum(), rel=1e-6)


def test_subsample_path_is_deterministic_by_random_state(many_rows, small_thresholds):
    first = VectorQuantizer(N_CODES, random_state=3).fit(many_rows)
    again = VectorQuantizer(N_CODES, random_state=3).fit(many_rows)
    other = VectorQuantizer(N_CODES, random_state=4).fit(many_rows)
    np.testing.assert_array_equal(first.codebook_, again.codebook_)
    np.testing.assert_array_equal(first.labels_, again.labels_)
    assert not np.array_equal(first.codebook_, other.codebook_)


@pytest.mark.parametrize("max_iter", [0, 1, 2])
def test_max_iter_bounds_every_subsample_and_the_full_data(
    many_rows, small_thresholds, lloyd_calls, max_iter
):
    vq = VectorQuantizer(N_CODES, max_iter=max_iter, tol=0, random_state=0).fit(many_rows)
    assert vq.n_iter_ == max_iter
    assert all(call[1] == max_iter and call[2] <= max_iter for call in lloyd_calls)
    # max_iter=0 keeps the seeds: no subsample is fitted.
    assert len(lloyd_calls) == (1 if max_iter == 0 else 3)


def test_sample_weight_is_honoured_on_the_subsamples(many_rows, small_thresholds, lloyd_calls):
    # A far cluster with weight 0 as large as the data: a fit that dropped the weights on a
    # subsample would give it codes there.
    far = many_rows + 1000.0
    X = np.vstack([many_rows, far])
    weights = np.r_[np.ones(len(many_rows)), np.zeros(len(far))]
    vq = VectorQuantizer(N_CODES, random_state=0).fit(X, sample_weight=weights)
    assert [call[0] for call in lloyd_calls] == [128, 512, 8000]
    for n_rows, _, _, sample_weight, codebook, _ in lloyd_calls:
        assert sample_weight is not None and sample_weight.size == n_rows
        assert np.abs(codebook).max() < 100, f"a code went to the weightless rows ({n_rows})"
    sq_errors = np.sum((X - vq.codebook_[vq.labels_]) ** 2, axis=1)
    assert vq.inertia_ == pytest.approx(np.dot(weights, sq_errors), rel=1e-10)
    unweighted = VectorQuantizer(N_CODES, random_state=0).fit(many_rows)
    assert vq.inertia_ == pytest.approx(unweighted.inertia_, rel=0.03)


@pytest.mark.parametrize("kind", ["dense", "sparse", "weighted"])
def test_per_code_sums_in_blocks_match_a_direct_sum(monkeypatch, kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    labels = rng.integers(4, size=50)
    weight = rng.uniform(size=50) if kind == "weighted" else 1.0
    expected = np.zeros((4, 3))
    np.add.at(expected, labels, X.astype(np.float64) * np.broadcast_to(weight, 50)[:, None])
    monkeypatch.setattr(_lloyd, "_SUMS_BLOCK", 7)  # 50 rows: seven full blocks and one short
    rows = sparse.csr_matrix(X) if kind == "sparse" else X
    sums = _lloyd._per_code_sums(rows, labels, 4, weight)
    assert sums.dtype == np.float64
    np.testing.assert_allclose(sums, expected, rtol=1e-12)


def test_the_callers_thread_limit_holds_on_the_subsample_path(
    many_rows, small_thresholds, monkeypatch
):
    from skreg.quantization import _distances

    def no_pool(*args, **kwargs):
        raise AssertionError("a thread pool was started under threadpool_limits(1)")

    with monkeypatch.context() as patch, threadpool_limits(1):
        patch.setattr(_distances, "ThreadPoolExecutor", no_pool)
        limited = VectorQuantizer(N_CODES, random_state=0).fit(many_rows)
    default = VectorQuantizer(N_CODES, random_state=0).fit(many_rows)
    # The same fit: the thread count changes who computes a chunk, not what it holds.
    np.testing.assert_array_equal(limited.codebook_, default.codebook_)
