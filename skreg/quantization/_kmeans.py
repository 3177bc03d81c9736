"""k-means for one codebook: seeding, mini-batch and streaming updates (full batch: _lloyd.py).

Every solver minimises the k-means objective (inertia) sum_i min_k ||x_i - c_k||^2 and never
leaves a code unused when it can help it: a code that receives no sample is moved onto the sample
that is currently worst quantized (full batch), or onto a sample drawn with probability
proportional to its squared error (mini-batch and streaming updates).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from skreg.quantization._distances import centred, dense_chunk, nearest_codes
from skreg.quantization._lloyd import CodebookFit, lloyd

# Seeding (k-means++) runs on at most this many samples per code: the seeds only need to be
# spread over the data, Lloyd iterations do the rest. (32 per code cost about 1% of inertia on
# data with more clusters than codes; seeding on all rows costs twice the fit time on china.jpg.)
_SEED_PER_CODE = 128
# Seeding before Lloyd on subsamples (_lloyd.lloyd_with_warm_start), whose first levels make up
# for fewer seeding rows. Its steps are sequential small products (one thread), about a quarter
# of a whole fit's CPU time at 128 per code on 400,000 x 16 rows and 256 codes; 64 per code
# gave the same inertia on blobs (0.943x faiss.Kmeans' at 100,000 rows against 0.950x) and on
# china.jpg (1.0002x KMeans' against 1.0011x), see _lloyd.py. Mini-batch fits and streams keep
# _SEED_PER_CODE: no level follows, and a product-quantized stream (test_quantization_
# compression.py) lost half its score with 64.
_SEED_PER_CODE_BEFORE_SUBSAMPLES = 64
# A streaming code whose count falls below this fraction of the busiest code's is re-seeded.
_REASSIGN_RATIO = 0.01
_REASSIGN_EVERY = 10


def _sq_distances(X_T, x_sq_norms, centers):
    """Dense (m, n) squared distances between a few centers and the rows of X.

    ``X_T`` is X transposed: each center's distances are then one contiguous row, and the
    reductions over rows run along it (twice as fast as (n, m) distances reduced over axis 0).
    """
    dist = np.asarray((-2 * centers) @ X_T)
    dist += x_sq_norms
    dist += row_norms(centers, squared=True)[:, None]
    return np.maximum(dist, 0, out=dist)


def _draw(rng, cumulative, size):
    """Row indices drawn with probability proportional to the increments of ``cumulative``."""
    thresholds = rng.random(size) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, thresholds), cumulative.size - 1)


def kmeans_plusplus(X, n_codes, rng, center=None, sample_weight=None):
    """Greedy k-means++ seeding: each new code is the best of a few D^2-weighted candidates.

    Distances are computed on ``X - center`` (dense X); the codes are rows of X as given.
    ``sample_weight`` weighs each row's D^2 and potential, as scikit-learn's ``kmeans_plusplus``.
    """
    original = X
    if not sp.issparse(X):
        X = centred(X, center)
    n_samples = X.shape[0]
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    n_local_trials = 2 + int(np.log(n_codes))
    x_sq_norms = row_norms(X, squared=True)
    X_T = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    chosen = np.empty(n_codes, dtype=np.intp)
    first = rng.integers(n_samples) if weights is None else _draw(rng, np.cumsum(weights), 1)[0]
    chosen[0] = first
    # Distances stay in X's float type (minima are exact in any type); the potentials are
    # summed in float64. Weighted distances are float64.
    closest = _sq_distances(X_T, x_sq_norms, dense_chunk(X[[first]]))[0]
    if weights is not None:
        closest = closest * weights
    potential = closest.sum(dtype=np.float64)
    for c in range(1, n_codes):
        if potential <= 0:
            # Fewer distinct rows than codes: any row will do, the duplicates stay unused.
            candidates = rng.integers(n_samples, size=1)
        else:
            candidates = _draw(rng, np.cumsum(closest, dtype=np.float64), n_local_trials)
        dist = _sq_distances(X_T, x_sq_norms, dense_chunk(X[candidates]))
        if weights is not None:
            dist = dist * weights
        np.minimum(closest, dist, out=dist)
        potentials = dist.sum(axis=1, dtype=np.float64)
        best = int(np.argmin(potentials))
        chosen[c] = candidates[best]
        closest, potential = dist[best], potentials[best]
    return dense_chunk(original[chosen]).astype(original.dtype, copy=True)


def random_rows(X, n_codes, rng, sample_weight=None):
    """``n_codes`` distinct rows of X drawn uniformly (or with probability proportional to
    their weight)."""
    p = None
    if sample_weight is not None and np.count_nonzero(sample_weight) >= n_codes:
        p = np.asarray(sample_weight, np.float64) / np.sum(sample_weight)
    rows = rng.choice(X.shape[0], size=n_codes, replace=False, p=p)
    return dense_chunk(X[np.sort(rows)]).astype(X.dtype, copy=True)


def seed_codebook(
    X, n_codes, init, rng, center=None, sample_weight=None, *, rows_per_code=_SEED_PER_CODE
):
    """Initial codebook from ``"k-means++"``, ``"random"`` or an array (copied).

    A string ``init`` seeds on at most ``rows_per_code * n_codes`` rows drawn at random.
    """
    if not isinstance(init, str):
        return np.array(init, dtype=X.dtype, copy=True)
    n_samples = X.shape[0]
    if n_samples > rows_per_code * n_codes:
        rows = np.sort(rng.choice(n_samples, rows_per_code * n_codes, replace=False))
        X = X[rows]
        if sample_weight is not None:
            sample_weight = sample_weight[rows]
            if not np.any(sample_weight > 0):
                sample_weight = None
    if init == "random":
        return random_rows(X, n_codes, rng, sample_weight)
    return kmeans_plusplus(X, n_codes, rng, center, sample_weight)


class StreamingCodebook:
    """Mini-batch k-means state: each code is the running mean of the samples it has received.

    ``update(batch)`` assigns the batch, then moves code k to
    ``(count_k * c_k + sum of its new samples) / (count_k + n_k)`` (counts and sums weighted by
    the sample weights). The means are taken on rows minus ``center``, the stored codes are in
    the rows' frame.
    """

    def __init__(self, codebook, center=None):
        self.codebook = np.array(codebook, copy=True)
        self.center = center
        # ``counts`` weighs the running means (re-seeding resets it); ``assigned`` counts the rows
        # (or their weights) each code has received, for code_counts_.
        self.counts = np.zeros(codebook.shape[0], dtype=np.float64)
        self.assigned = np.zeros(codebook.shape[0], dtype=np.float64)
        self.n_steps = 0

    def _centred_sums(self, x_batch, labels, weights, batch_counts):
        n_rows, n_codes = labels.size, self.codebook.shape[0]
        values = np.ones(n_rows, dtype=np.float64) if weights is None else weights
        one_hot = sp.csr_array((values, labels, np.arange(n_rows + 1)), shape=(n_rows, n_codes))
        if sp.issparse(x_batch):
            sums = one_hot.T @ x_batch.astype(np.float64)
            sums = sums.toarray() if sp.issparse(sums) else np.asarray(sums)
            if self.center is not None:
                sums -= batch_counts[:, None] * self.center.astype(np.float64)
            return sums
        x_batch = x_batch.astype(np.float64)
        if self.center is not None:
            x_batch -= self.center
        return one_hot.T @ x_batch

    def update(self, x_batch, rng, sample_weight=None):
        """One mini-batch step; returns the batch's labels and squared distances before it."""
        n_codes = self.codebook.shape[0]
        labels, sq_dist = nearest_codes(x_batch, self.codebook, self.center)
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        batch_counts = np.bincount(labels, weights=weights, minlength=n_codes).astype(float)
        batch_sums = self._centred_sums(x_batch, labels, weights, batch_counts)
        hit = batch_counts > 0
        self.counts += batch_counts
        self.assigned += batch_counts
        search_codes = self.codebook[hit].astype(np.float64)
        if self.center is not None:
            search_codes -= self.center
        moved = (
            search_codes * (self.counts[hit] - batch_counts[hit])[:, None] + batch_sums[hit]
        ) / self.counts[hit, None]
        if self.center is not None:
            moved += self.center
        self.codebook[hit] = moved.astype(self.codebook.dtype)
        self.n_steps += 1
        if self.n_steps % _REASSIGN_EVERY == 0 or self.n_steps == 1:
            errors = sq_dist.astype(np.float64)
            if weights is not None:
                errors *= weights
            self._reseed_dead_codes(x_batch, errors, rng)
        return labels, sq_dist

    def _reseed_dead_codes(self, x_batch, errors, rng):
        """Move codes that (almost) never win onto batch samples drawn by (weighted) error."""
        dead = np.flatnonzero(self.counts < _REASSIGN_RATIO * self.counts.max())
        n_candidates = np.count_nonzero(errors)
        if dead.size == 0 or n_candidates == 0:
            return
        dead = dead[: min(dead.size, n_candidates)]
        rows = rng.choice(x_batch.shape[0], dead.size, replace=False, p=errors / errors.sum())
        self.codebook[dead] = dense_chunk(x_batch[np.sort(rows)])
        alive = np.ones(self.counts.size, dtype=bool)
        alive[dead] = False
        self.counts[dead] = self.counts[alive].min() if alive.any() else 1.0


def minibatch_kmeans(
    X, codebook, *, batch_size, max_iter, tol, rng, center=None, sample_weight=None, progress=None
):
    """Mini-batch k-means: ``max_iter`` epochs over shuffled batches, then one full assignment.

    Stops early when an epoch lowers the summed batch inertia by no more than ``tol`` times the
    previous epoch's. Codes left empty by the final assignment are moved onto the worst-quantized
    samples.
    """
    n_samples = X.shape[0]
    state = StreamingCodebook(codebook, center)
    previous_inertia = np.inf
    n_epochs = 0
    while n_epochs < max_iter:
        order = rng.permutation(n_samples)
        epoch_inertia = 0.0
        for start in range(0, n_samples, batch_size):
            rows = np.sort(order[start : start + batch_size])
            weights = None if sample_weight is None else sample_weight[rows]
            _, sq_dist = state.update(X[rows], rng, weights)
            if weights is None:
                epoch_inertia += float(np.sum(sq_dist, dtype=np.float64))
            else:
                epoch_inertia += float(np.dot(weights, sq_dist))
        n_epochs += 1
        if progress is not None:
            progress(n_epochs, epoch_inertia)
        if n_epochs > 1 and previous_inertia - epoch_inertia <= tol * previous_inertia:
            break
        previous_inertia = epoch_inertia
    fit = lloyd(X, state.codebook, max_iter=0, tol=tol, center=center, sample_weight=sample_weight)
    fit = fill_empty_codes(X, fit)
    fit.n_iter = n_epochs
    return fit


def fill_empty_codes(X, fit):
    """Move codes no training row uses onto the worst-quantized rows and assign again."""
    counts = np.bincount(fit.labels, minlength=fit.codebook.shape[0])
    empty = np.flatnonzero(counts == 0)
    errors = fit.sq_dist
    if fit.sample_weight is not None:
        errors = np.where(fit.sample_weight > 0, errors, 0)
    n_movable = min(empty.size, np.count_nonzero(errors > 0))
    if n_movable == 0:
        return fit
    worst = np.argpartition(errors, -n_movable)[-n_movable:]
    codebook = fit.codebook.copy()
    codebook[empty[:n_movable]] = dense_chunk(X[np.sort(worst)])
    labels, sq_dist = nearest_codes(X, codebook, fit.center)
    return CodebookFit(codebook, labels, sq_dist, fit.n_iter, fit.center, fit.sample_weight)
