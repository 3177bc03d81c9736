"""k-means solvers for one codebook: seeding, full-batch Lloyd, mini-batch and streaming updates.

Every solver minimises the k-means objective (inertia) sum_i min_k ||x_i - c_k||^2 and never
leaves a code unused when it can help it: a code that receives no sample is moved onto the sample
that is currently worst quantized (full batch), or onto a sample drawn with probability
proportional to its squared error (mini-batch and streaming updates).
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from skreg.quantization._distances import (
    CodebookSearch,
    chunk_rows,
    dense_chunk,
    nearest_codes,
    run_chunks,
)

# Seeding (k-means++) runs on at most this many samples per code, the warm start on at most
# _WARM_START_PER_CODE per code: enough for the centroids to settle near a local optimum of the
# full data, so that the full-data Lloyd iterations that follow are few.
_SEED_PER_CODE = 32
_WARM_START_PER_CODE = 256
# A streaming code whose count falls below this fraction of the busiest code's is re-seeded.
_REASSIGN_RATIO = 0.01
_REASSIGN_EVERY = 10


@dataclass
class CodebookFit:
    """A fitted codebook with the assignment of the training rows under it."""

    codebook: np.ndarray
    labels: np.ndarray
    sq_dist: np.ndarray
    n_iter: int

    @property
    def inertia(self):
        return float(np.sum(self.sq_dist, dtype=np.float64))


def _sq_distances(X, x_sq_norms, centers):
    """Dense (n, m) squared distances between the rows of X and a few centers."""
    dist = X @ (-2 * centers.T)
    dist = np.asarray(dist)
    dist += x_sq_norms[:, None]
    dist += row_norms(centers, squared=True)
    return np.maximum(dist, 0, out=dist)


def kmeans_plusplus(X, n_codes, rng):
    """Greedy k-means++ seeding: each new code is the best of a few D^2-weighted candidates."""
    n_samples = X.shape[0]
    n_local_trials = 2 + int(np.log(n_codes))
    x_sq_norms = row_norms(X, squared=True)
    centers = np.empty((n_codes, X.shape[1]), dtype=X.dtype)
    first = rng.integers(n_samples)
    centers[0] = dense_chunk(X[[first]])[0]
    closest = _sq_distances(X, x_sq_norms, centers[:1])[:, 0].astype(np.float64)
    potential = closest.sum()
    for c in range(1, n_codes):
        if potential <= 0:
            # Fewer distinct rows than codes: any row will do, the duplicates stay unused.
            candidates = rng.integers(n_samples, size=1)
        else:
            thresholds = rng.random(n_local_trials) * potential
            candidates = np.searchsorted(np.cumsum(closest), thresholds)
            np.clip(candidates, 0, n_samples - 1, out=candidates)
        candidate_rows = dense_chunk(X[candidates])
        dist = _sq_distances(X, x_sq_norms, candidate_rows).astype(np.float64)
        np.minimum(closest[:, None], dist, out=dist)
        potentials = dist.sum(axis=0)
        best = int(np.argmin(potentials))
        centers[c] = candidate_rows[best]
        closest, potential = dist[:, best], potentials[best]
    return centers


def random_rows(X, n_codes, rng):
    """``n_codes`` distinct rows of X drawn uniformly."""
    rows = rng.choice(X.shape[0], size=n_codes, replace=False)
    return dense_chunk(X[np.sort(rows)]).astype(X.dtype, copy=True)


def seed_codebook(X, n_codes, init, rng):
    """Initial codebook from ``"k-means++"``, ``"random"`` or an array (copied)."""
    if not isinstance(init, str):
        return np.array(init, dtype=X.dtype, copy=True)
    n_samples = X.shape[0]
    if n_samples > _SEED_PER_CODE * n_codes:
        X = X[np.sort(rng.choice(n_samples, _SEED_PER_CODE * n_codes, replace=False))]
    if init == "random":
        return random_rows(X, n_codes, rng)
    return kmeans_plusplus(X, n_codes, rng)


def _assign_and_accumulate(X, x_sq_norms, search, n_threads):
    """One pass over X: labels, squared distances, and per-code sums and counts."""
    n_samples, n_features = X.shape
    n_codes = search.n_codes
    labels = np.empty(n_samples, dtype=np.intp)
    sq_dist = np.empty(n_samples, dtype=X.dtype)
    rows = chunk_rows(n_codes)

    def make_state():
        return {
            "buffer": search.new_buffer(rows, X.dtype),
            "sums": np.zeros((n_codes, n_features), dtype=np.float64),
            "counts": np.zeros(n_codes, dtype=np.int64),
        }

    def process(state, start, stop):
        x_chunk = X[start:stop]
        chunk_labels, chunk_sq_dist = search.nearest(
            x_chunk, out=state["buffer"], x_sq_norms=x_sq_norms[start:stop]
        )
        labels[start:stop], sq_dist[start:stop] = chunk_labels, chunk_sq_dist
        n_rows = stop - start
        # Per-code sums as (one-hot)^T x: one sparse product, O(rows x features).
        one_hot = sp.csr_array(
            (np.ones(n_rows, dtype=X.dtype), chunk_labels, np.arange(n_rows + 1)),
            shape=(n_rows, n_codes),
        )
        chunk_sums = one_hot.T @ x_chunk
        state["sums"] += chunk_sums.toarray() if sp.issparse(chunk_sums) else chunk_sums
        state["counts"] += np.bincount(chunk_labels, minlength=n_codes)

    states = run_chunks(n_samples, rows, process, make_state, n_threads)
    sums = sum(state["sums"] for state in states)
    counts = sum(state["counts"] for state in states)
    return labels, sq_dist, sums, counts


def _move_empty_codes(X, labels, sq_dist, sums, counts):
    """Give each empty code the worst-quantized sample, taken out of its old code's sums."""
    empty = np.flatnonzero(counts == 0)
    n_movable = min(empty.size, X.shape[0])
    if n_movable == 0:
        return
    worst = np.argpartition(sq_dist, -n_movable)[-n_movable:]
    worst = worst[np.argsort(sq_dist[worst])[::-1]]
    for code, row in zip(empty[:n_movable], worst, strict=True):
        if sq_dist[row] <= 0:
            break  # every remaining sample sits exactly on a code: nothing better to take
        x_row = dense_chunk(X[[row]])[0]
        old = labels[row]
        sums[old] -= x_row
        counts[old] -= 1
        sums[code] = x_row
        counts[code] = 1
        labels[row] = code
        sq_dist[row] = 0


def lloyd(X, codebook, *, max_iter, tol, n_threads=None):
    """Full-batch Lloyd iterations from ``codebook``.

    Stops when one iteration lowers the inertia by no more than ``tol`` times its previous value
    (and no code is empty), or after ``max_iter`` centroid updates. The returned labels and
    squared distances are those of the returned codebook.
    """
    codebook = np.array(codebook, dtype=X.dtype, copy=True)
    x_sq_norms = row_norms(X, squared=True)
    previous_inertia = np.inf
    n_iter = 0
    while True:
        search = CodebookSearch(codebook)
        labels, sq_dist, sums, counts = _assign_and_accumulate(X, x_sq_norms, search, n_threads)
        inertia = float(np.sum(sq_dist, dtype=np.float64))
        has_empty = bool(np.any(counts == 0))
        converged = n_iter > 0 and previous_inertia - inertia <= tol * previous_inertia
        if n_iter >= max_iter or (converged and not has_empty):
            sq_dist = _exact_sq_dist(X, codebook, labels, sq_dist)
            return CodebookFit(codebook, labels, sq_dist, n_iter)
        if has_empty:
            _move_empty_codes(X, labels, sq_dist, sums, counts)
        used = counts > 0
        codebook[used] = (sums[used] / counts[used, None]).astype(X.dtype)
        previous_inertia = inertia
        n_iter += 1


def _exact_sq_dist(X, codebook, labels, sq_dist):
    """``||x_i - c_{labels_i}||^2`` from the difference (dense X), chunk by chunk, in place."""
    if sp.issparse(X):
        return sq_dist
    rows = chunk_rows(codebook.shape[0])

    def process(state, start, stop):
        residual = X[start:stop] - codebook[labels[start:stop]]
        sq_dist[start:stop] = np.einsum("ij,ij->i", residual, residual)

    run_chunks(X.shape[0], rows, process, lambda: None)
    return sq_dist


def lloyd_with_warm_start(X, codebook, *, max_iter, tol, rng, n_threads=None):
    """Lloyd on a subsample first, then on all of X: few full passes for the same inertia."""
    n_samples, n_codes = X.shape[0], codebook.shape[0]
    warm_size = _WARM_START_PER_CODE * n_codes
    # Coarse to fine: each subsample is four times the last, so each level starts close to its
    # own optimum and the full-data level needs few of its expensive passes.
    while max_iter > 0 and n_samples > 2 * warm_size:
        subsample = X[np.sort(rng.choice(n_samples, warm_size, replace=False))]
        codebook = lloyd(subsample, codebook, max_iter=max_iter, tol=tol, n_threads=n_threads)
        codebook = codebook.codebook
        warm_size *= 4
    return lloyd(X, codebook, max_iter=max_iter, tol=tol, n_threads=n_threads)


class StreamingCodebook:
    """Mini-batch k-means state: each code is the running mean of the samples it has received.

    ``update(batch)`` assigns the batch, then moves code k to
    ``(count_k * c_k + sum of its new samples) / (count_k + n_k)``.
    """

    def __init__(self, codebook):
        self.codebook = np.array(codebook, copy=True)
        self.counts = np.zeros(codebook.shape[0], dtype=np.float64)
        self.n_steps = 0

    def update(self, x_batch, rng, n_threads=None):
        """One mini-batch step; returns the batch's labels and squared distances before it."""
        n_codes = self.codebook.shape[0]
        labels, sq_dist = nearest_codes(x_batch, self.codebook, n_threads)
        batch_counts = np.bincount(labels, minlength=n_codes)
        one_hot = sp.csr_array(
            (np.ones(labels.size, dtype=np.float64), labels, np.arange(labels.size + 1)),
            shape=(labels.size, n_codes),
        )
        batch_sums = one_hot.T @ x_batch.astype(np.float64)
        batch_sums = batch_sums.toarray() if sp.issparse(batch_sums) else batch_sums
        hit = batch_counts > 0
        self.counts += batch_counts
        moved = (
            self.codebook[hit] * (self.counts[hit] - batch_counts[hit])[:, None] + batch_sums[hit]
        ) / self.counts[hit, None]
        self.codebook[hit] = moved.astype(self.codebook.dtype)
        self.n_steps += 1
        if self.n_steps % _REASSIGN_EVERY == 0 or self.n_steps == 1:
            self._reseed_dead_codes(x_batch, sq_dist, rng)
        return labels, sq_dist

    def _reseed_dead_codes(self, x_batch, sq_dist, rng):
        """Move codes that (almost) never win onto batch samples drawn by squared error."""
        dead = np.flatnonzero(self.counts < _REASSIGN_RATIO * self.counts.max())
        weights = sq_dist.astype(np.float64)
        n_candidates = np.count_nonzero(weights)
        if dead.size == 0 or n_candidates == 0:
            return
        dead = dead[: min(dead.size, n_candidates)]
        rows = rng.choice(x_batch.shape[0], dead.size, replace=False, p=weights / weights.sum())
        self.codebook[dead] = dense_chunk(x_batch[np.sort(rows)])
        alive = np.ones(self.counts.size, dtype=bool)
        alive[dead] = False
        self.counts[dead] = self.counts[alive].min() if alive.any() else 1.0


def minibatch_kmeans(X, codebook, *, batch_size, max_iter, tol, rng, n_threads=None):
    """Mini-batch k-means: ``max_iter`` epochs over shuffled batches, then one full assignment.

    Stops early when an epoch lowers the summed batch inertia by no more than ``tol`` times the
    previous epoch's. Codes left empty by the final assignment are moved onto the worst-quantized
    samples.
    """
    n_samples = X.shape[0]
    state = StreamingCodebook(codebook)
    previous_inertia = np.inf
    n_epochs = 0
    while n_epochs < max_iter:
        order = rng.permutation(n_samples)
        epoch_inertia = 0.0
        for start in range(0, n_samples, batch_size):
            batch = X[np.sort(order[start : start + batch_size])]
            _, sq_dist = state.update(batch, rng, n_threads)
            epoch_inertia += float(np.sum(sq_dist, dtype=np.float64))
        n_epochs += 1
        if n_epochs > 1 and previous_inertia - epoch_inertia <= tol * previous_inertia:
            break
        previous_inertia = epoch_inertia
    fit = lloyd(X, state.codebook, max_iter=0, tol=tol, n_threads=n_threads)
    fit = fill_empty_codes(X, fit, n_threads)
    fit.n_iter = n_epochs
    return fit


def fill_empty_codes(X, fit, n_threads=None):
    """Move codes no training row uses onto the worst-quantized rows and assign again."""
    counts = np.bincount(fit.labels, minlength=fit.codebook.shape[0])
    empty = np.flatnonzero(counts == 0)
    n_movable = min(empty.size, np.count_nonzero(fit.sq_dist > 0))
    if n_movable == 0:
        return fit
    worst = np.argpartition(fit.sq_dist, -n_movable)[-n_movable:]
    codebook = fit.codebook.copy()
    codebook[empty[:n_movable]] = dense_chunk(X[np.sort(worst)])
    labels, sq_dist = nearest_codes(X, codebook, n_threads)
    return CodebookFit(codebook, labels, sq_dist, fit.n_iter)
