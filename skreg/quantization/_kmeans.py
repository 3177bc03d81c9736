"""k-means for one codebook: seeding, mini-batch and streaming updates (full batch: _lloyd.py).

Every solver minimises the k-means objective (inertia) sum_i min_k ||x_i - c_k||^2 and never
leaves a code unused when it can help it: a code that receives no sample is moved onto the sample
that is currently worst quantized (full batch), or onto a sample drawn with probability
proportional to its squared error (mini-batch and streaming updates).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from skreg.quantization._distances import dense_chunk, nearest_codes
from skreg.quantization._lloyd import CodebookFit, lloyd

# Seeding (k-means++) runs on at most this many samples per code: the seeds only need to be
# spread over the data, Lloyd iterations do the rest. (32 per code cost about 1% of inertia on
# data with more clusters than codes; seeding on all rows costs twice the fit time on china.jpg.)
_SEED_PER_CODE = 128
# A streaming code whose count falls below this fraction of the busiest code's is re-seeded.
_REASSIGN_RATIO = 0.01
_REASSIGN_EVERY = 10


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


class StreamingCodebook:
    """Mini-batch k-means state: each code is the running mean of the samples it has received.

    ``update(batch)`` assigns the batch, then moves code k to
    ``(count_k * c_k + sum of its new samples) / (count_k + n_k)``.
    """

    def __init__(self, codebook):
        self.codebook = np.array(codebook, copy=True)
        # ``counts`` weighs the running means (re-seeding resets it); ``assigned`` counts the rows
        # each code has received, for code_counts_.
        self.counts = np.zeros(codebook.shape[0], dtype=np.float64)
        self.assigned = np.zeros(codebook.shape[0], dtype=np.int64)
        self.n_steps = 0

    def update(self, x_batch, rng):
        """One mini-batch step; returns the batch's labels and squared distances before it."""
        n_codes = self.codebook.shape[0]
        labels, sq_dist = nearest_codes(x_batch, self.codebook)
        batch_counts = np.bincount(labels, minlength=n_codes)
        one_hot = sp.csr_array(
            (np.ones(labels.size, dtype=np.float64), labels, np.arange(labels.size + 1)),
            shape=(labels.size, n_codes),
        )
        batch_sums = one_hot.T @ x_batch.astype(np.float64)
        batch_sums = batch_sums.toarray() if sp.issparse(batch_sums) else batch_sums
        hit = batch_counts > 0
        self.counts += batch_counts
        self.assigned += batch_counts
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


def minibatch_kmeans(X, codebook, *, batch_size, max_iter, tol, rng):
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
            _, sq_dist = state.update(batch, rng)
            epoch_inertia += float(np.sum(sq_dist, dtype=np.float64))
        n_epochs += 1
        if n_epochs > 1 and previous_inertia - epoch_inertia <= tol * previous_inertia:
            break
        previous_inertia = epoch_inertia
    fit = lloyd(X, state.codebook, max_iter=0, tol=tol)
    fit = fill_empty_codes(X, fit)
    fit.n_iter = n_epochs
    return fit


def fill_empty_codes(X, fit):
    """Move codes no training row uses onto the worst-quantized rows and assign again."""
    counts = np.bincount(fit.labels, minlength=fit.codebook.shape[0])
    empty = np.flatnonzero(counts == 0)
    n_movable = min(empty.size, np.count_nonzero(fit.sq_dist > 0))
    if n_movable == 0:
        return fit
    worst = np.argpartition(fit.sq_dist, -n_movable)[-n_movable:]
    codebook = fit.codebook.copy()
    codebook[empty[:n_movable]] = dense_chunk(X[np.sort(worst)])
    labels, sq_dist = nearest_codes(X, codebook)
    return CodebookFit(codebook, labels, sq_dist, fit.n_iter)
