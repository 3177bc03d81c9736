"""Full-batch k-means (Lloyd) with Hamerly's distance bounds, and a coarse-to-fine warm start.

Lloyd alternates "assign each row to its nearest code" and "move each code to the mean of its
rows". After the first few iterations the codes barely move and almost no row changes code, yet
plain Lloyd recomputes every distance. Hamerly's bounds (G. Hamerly, "Making k-means even
faster", SDM 2010) skip those rows: each row keeps an upper bound ``u`` on the distance to its
code and a lower bound ``l`` on the distance to every other code; when codes move by ``delta``,
``u += delta[own]`` and ``l -= max delta[other]``. A row needs its distances recomputed only if
``u > max(l, s[own])``, with ``s[j]`` half the distance from code j to its nearest other code.
The result is the same as plain Lloyd's (up to rounding); only the work differs.

The inertia that decides convergence is computed from the per-code sums and counts, without a
pass over the rows: ``sum_i ||x_i||^2 - 2 sum_k c_k . S_k + sum_k n_k ||c_k||^2``.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from skreg.quantization._distances import (
    CodebookSearch,
    chunk_rows,
    dense_chunk,
    run_chunks,
)

# The warm start runs Lloyd on 32 rows per code, then four times more, and so on, while the
# subsample is at most half of the rows and at most the larger of _WARM_START_MAX_PER_CODE rows
# per code and 1 / _WARM_START_MAX_FRACTION of the rows; then the passes over all rows. Blobs
# d=16, 256 codes, one thread, CPU time of the whole fit: 1,600,000 rows 1.5 s with levels
# capped at 1024 per code, 2.1 s with levels up to half the rows; 10,000,000 rows 13.3 s capped
# at 1024 per code (five passes over all rows), 9.0 s up to half (one pass), 8.3 s up to a
# sixteenth (two passes). 32 rather than 128 rows per code first (with k-means++ seeds from 64
# rather than 128 rows per code, _kmeans._SEED_PER_CODE_BEFORE_SUBSAMPLES): on the same blobs,
# median fit time 0.32 s against 0.42 s at 100,000 rows (6 seeds) and 0.63 s against 0.84 s at
# 400,000 (3 seeds), inertia 0.943x and 0.942x faiss.Kmeans' against 0.950x and 0.939x;
# china.jpg, 64 codes, 5 seeds: inertia 1.0002x KMeans' against 1.0011x (load 2.5-3). On one
# thread, alternated in one process, seed 0: 0.72x / 0.93x / 0.93x the time at 100,000 /
# 400,000 / 1,600,000 rows (the pass over all rows is most of the fit at large n). The first
# level (8,192 rows at 256 codes) takes most of the iterations from the seeds at a quarter of
# the cost of 128 rows per code; a first level of 64 rows per code skipped the 512-per-code
# level at 100,000 rows and left 3-13 passes over all rows instead of 2-3.
_WARM_START_PER_CODE = 32
_WARM_START_MAX_PER_CODE = 1024
_WARM_START_MAX_FRACTION = 16
# Over-relaxation of the warm-started fits: each code moves 1.8 times the way to its rows' mean
# (a plain step after one that did not lower the inertia). On china.jpg, 64 codes, over ten
# seeds: 30% fewer passes over the rows than plain Lloyd, and 0.3% lower inertia.
_RELAXATION = 1.8
# Relaxation of the passes over all rows after a subsample. Over-relaxed steps move the codes
# farther, which loosens Hamerly's bounds and sends many rows back to a full search, and their
# alternation with plain steps made the number of full passes erratic: on blobs (d=16, 256
# codes) 15 passes at 1,600,000 rows where plain steps took 2, 7 at 10,000,000 where they took
# 5. On china.jpg (64 codes, seeds 0-2) plain steps take more passes (17-39 against 17-25) in
# the same time ratio to KMeans, inertia 1.0016x KMeans' against 1.0008x.
_FULL_RELAXATION = 1.0
# Rows per block of the per-code sums (see _per_code_sums).
_SUMS_BLOCK = 1 << 16


@dataclass
class CodebookFit:
    """A fitted codebook with the assignment of the training rows under it.

    ``codebook`` is in the rows' own frame; ``center`` is the mean the search centres on.
    """

    codebook: np.ndarray
    labels: np.ndarray
    sq_dist: np.ndarray
    n_iter: int
    center: np.ndarray | None = None
    sample_weight: np.ndarray | None = None

    @property
    def inertia(self):
        if self.sample_weight is None:
            return float(np.sum(self.sq_dist, dtype=np.float64))
        return float(np.dot(self.sample_weight, self.sq_dist.astype(np.float64)))


def block_center(X, sample_weight=None):
    """The (weighted) mean of dense rows, in their float type; None for sparse rows.

    Distances are computed from rows and codes minus this mean, as scikit-learn's KMeans does:
    a large common offset would otherwise cancel the digits that tell codes apart.
    """
    if sp.issparse(X) or X.shape[0] == 0:
        return None
    if sample_weight is None:
        return X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    return (np.asarray(sample_weight, np.float64) @ X / np.sum(sample_weight)).astype(X.dtype)


class Frame:
    """Stored codes (the rows' frame) and search codes (minus ``center``), rounded alike."""

    def __init__(self, center, dtype):
        self.center = center
        self.dtype = dtype

    def to_search(self, stored):
        return stored if self.center is None else stored - self.center

    def to_stored(self, search_codes):
        if self.center is None:
            return search_codes.astype(self.dtype, copy=False)
        return (search_codes + self.center).astype(self.dtype)


def _per_code_sums(x_rows, labels, n_codes, weight=1.0):
    """``sum`` of the (weighted) rows of each code, as (one-hot)^T x: sparse products.

    In blocks of ``_SUMS_BLOCK`` rows: the product converts the rows to float64, and one
    product over 2,000,000 float32 rows x 16 traced 2.25 times X's size and took 5.1 s,
    against 0.2 times and 0.44 s in blocks (tracemalloc, one run, machine load 10).
    """
    n_rows = labels.size
    values = np.empty(n_rows, dtype=np.float64)
    values[:] = weight
    sums = np.zeros((n_codes, x_rows.shape[1]), dtype=np.float64)
    for start in range(0, n_rows, _SUMS_BLOCK):
        stop = min(start + _SUMS_BLOCK, n_rows)
        one_hot = sp.csr_array(
            (values[start:stop], labels[start:stop], np.arange(stop - start + 1)),
            shape=(stop - start, n_codes),
        )
        block = one_hot.T @ x_rows[start:stop]
        sums += block.toarray() if sp.issparse(block) else block
    return sums


def _assign_rows(X, rows, codebook, x_sq_norms):
    """Nearest code of ``X[rows]`` (all rows if ``rows`` is None), with Hamerly's bounds.

    Returns labels, an upper bound on the distance to the nearest code and a lower bound on the
    distance to every other one (the expanded distances widened by their rounding bound, exact
    for the rows whose near tie was re-checked).
    """
    search = CodebookSearch(codebook)
    n_rows = X.shape[0] if rows is None else rows.size
    labels = np.empty(n_rows, dtype=np.intp)
    upper = np.empty(n_rows, dtype=X.dtype)
    lower = np.empty(n_rows, dtype=X.dtype)
    rows_per_chunk = chunk_rows(search.n_codes)

    def process(buffer, start, stop):
        selection = slice(start, stop) if rows is None else rows[start:stop]
        chunk_labels, best, second, slack = search.nearest(
            X[selection], out=buffer, with_second=True
        )
        labels[start:stop] = chunk_labels
        # Rounded outwards to X's float type, so the bounds stay bounds.
        upper[start:stop] = np.nextafter(np.sqrt(best + slack).astype(X.dtype), np.inf)
        lower[start:stop] = np.nextafter(
            np.sqrt(np.maximum(second - slack, 0)).astype(X.dtype), 0
        )

    run_chunks(n_rows, rows_per_chunk, process, lambda: search.new_buffer(rows_per_chunk, X.dtype))
    return labels, upper, lower


def _distances_to_own_code(X, rows, codebook, labels, x_sq_norms):
    """``||x_i - c_{labels_i}||`` for the given rows, all rows if None (exact for dense X)."""
    n_rows = X.shape[0] if rows is None else rows.size
    out = np.empty(n_rows, dtype=X.dtype)

    def process(state, start, stop):
        # All rows: slices, which index without copying X (a fancy index copies each chunk).
        selection = slice(start, stop) if rows is None else rows[start:stop]
        x_rows = X[selection]
        own = codebook[labels[selection]]
        if sp.issparse(x_rows):
            sq = x_sq_norms[selection] - 2 * np.asarray(x_rows.multiply(own).sum(axis=1)).ravel()
            sq += row_norms(own, squared=True)
        else:
            residual = x_rows - own
            sq = np.einsum("ij,ij->i", residual, residual)
        out[start:stop] = np.sqrt(np.maximum(sq, 0))

    run_chunks(n_rows, 4 * chunk_rows(codebook.shape[0]), process, lambda: None)
    return out


def _half_gap_to_nearest_code(codebook):
    """``s_j``: half the distance from code j to its nearest other code (a lower bound).

    The gaps are expanded from one product; their rounding bound is taken off, so that the
    bounds never skip a row that could change code.
    """
    sq = row_norms(codebook, squared=True).astype(np.float64)
    gaps = sq[:, None] - 2 * (codebook @ codebook.T) + sq[None, :]
    norms = np.sqrt(sq)
    gaps -= CodebookSearch(codebook).error_factor * (norms[:, None] + norms[None, :]) ** 2
    np.fill_diagonal(gaps, np.inf)
    return 0.5 * np.sqrt(np.maximum(gaps.min(axis=1), 0))


def _movable(X, codebook, labels, x_sq_norms, weights, center):
    """Exact distance of each row to its code where a row may fill an empty code, else 0.

    A row may move if it has a positive weight and is farther from its code than the rounding
    of the codes to the stored frame and back (rows that sit on a code stay: duplicates).
    """
    distances = _distances_to_own_code(X, None, codebook, labels, x_sq_norms)
    center_norm = 0.0 if center is None else float(np.linalg.norm(center))
    error_factor = CodebookSearch(codebook).error_factor
    threshold = error_factor * (np.sqrt(x_sq_norms) + center_norm) ** 2
    movable = (distances.astype(np.float64) ** 2 > threshold)
    if weights is not None:
        movable &= weights > 0
    return np.where(movable, distances, 0)


def _move_empty_codes(X, labels, candidates, upper, lower, sums, counts, weights):
    """Give each empty code the movable row farthest from its own code."""
    empty = np.flatnonzero(counts == 0)
    n_movable = min(empty.size, np.count_nonzero(candidates > 0))
    if n_movable == 0:
        return
    worst = np.argpartition(candidates, -n_movable)[-n_movable:]
    for code, row in zip(empty[:n_movable], worst, strict=True):
        weight = 1.0 if weights is None else weights[row]
        x_row = dense_chunk(X[[row]])[0] * weight
        sums[labels[row]] -= x_row
        counts[labels[row]] -= weight
        sums[code], counts[code] = x_row, weight
        labels[row] = code
        upper[row] = lower[row] = 0.0  # sits on its new code; bounds re-checked next time


def lloyd(
    X, codebook, *, max_iter, tol, relaxation=1.0, center=None, sample_weight=None, progress=None
):
    """Full-batch Lloyd iterations from ``codebook``, with Hamerly's bounds.

    Stops when one iteration lowers the inertia by no more than ``tol`` times its previous value
    (and no code is left empty while a row could fill it), or after ``max_iter`` updates of the
    codes. The returned labels and squared distances are those of the returned codebook.

    ``relaxation`` > 1 moves each code that many times the way to the mean of its rows
    (successive over-relaxation), which shortens Lloyd's slow final drift; a step that did not
    lower the inertia is followed by a plain one. ``relaxation=1`` is plain Lloyd, step for step
    the iterations of scikit-learn's ``KMeans(algorithm="lloyd")``.

    The iterations run on ``X - center`` (dense X); after each move the codes are rounded to the
    stored frame and back, so the codes searched here are exactly those ``predict`` searches.
    ``sample_weight`` weighs each row in the means and the inertia (weighted k-means: an integer
    weight counts as that many copies of the row). ``progress(n_iter, inertia)`` is called once
    per pass.
    """
    frame = Frame(center, X.dtype)
    stored = np.array(codebook, dtype=X.dtype, copy=True)
    if center is not None:
        X = X - center
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    codebook = frame.to_search(stored)
    n_codes = codebook.shape[0]
    x_sq_norms = row_norms(X, squared=True)
    if weights is None:
        total_sq_norm = float(np.sum(x_sq_norms, dtype=np.float64))
    else:
        total_sq_norm = float(np.dot(weights, x_sq_norms))
    labels, upper, lower = _assign_rows(X, None, codebook, x_sq_norms)
    bound = np.empty_like(upper)
    needs_check = np.empty(upper.shape, dtype=bool)
    sums = _per_code_sums(X, labels, n_codes, 1.0 if weights is None else weights)
    counts = np.bincount(labels, weights=weights, minlength=n_codes).astype(np.float64)
    previous_inertia = np.inf
    n_iter = 0
    step = 1.0
    while True:
        code_sq_norms = row_norms(codebook.astype(np.float64), squared=True)
        inertia = total_sq_norm - 2 * np.sum(codebook * sums) + np.dot(counts, code_sq_norms)
        inertia = max(inertia, 0.0)  # rounding when the rows sit on their codes
        if progress is not None:
            progress(n_iter, inertia)
        improvement = previous_inertia - inertia
        # An over-relaxed step can land at about the inertia it left by overshooting, which is
        # no sign of convergence: only a plain step's small improvement counts.
        small = 0 <= improvement <= tol * previous_inertia
        converged = n_iter > 0 and small and step == 1.0
        # Over-relaxed steps overshoot at times: take plain means after a step that did not pay
        # (or that would have stopped the fit).
        step = relaxation if improvement > 0 and not small else 1.0
        has_empty = False
        if np.any(counts == 0):
            candidates = _movable(X, codebook, labels, x_sq_norms, weights, center)
            has_empty = bool(np.any(candidates > 0))
        if n_iter >= max_iter or (converged and not has_empty):
            break
        if has_empty:
            _move_empty_codes(X, labels, candidates, upper, lower, sums, counts, weights)
        used = counts > 0
        moved = codebook.copy()
        means = sums[used] / counts[used, None]
        moved[used] = (codebook[used] + step * (means - codebook[used])).astype(X.dtype)
        stored = frame.to_stored(moved)
        moved = frame.to_search(stored)
        shift = np.sqrt(np.sum((moved.astype(np.float64) - codebook) ** 2, axis=1))
        codebook = moved
        previous_inertia = inertia
        n_iter += 1

        # Bounds after the move: the own code came at most shift[own] closer or farther, every
        # other code at most the largest shift among the others. These passes over all rows
        # are most of an iteration's cost late in the fit: done in place, in X's float type.
        # Rounding the shifts up keeps the bounds on the safe side.
        shift = np.nextafter(shift.astype(upper.dtype), np.inf)
        upper += np.take(shift, labels, out=bound)
        fastest = int(np.argmax(shift))
        lower -= shift[fastest]
        if n_codes > 1:
            runner_up = np.max(np.delete(shift, fastest))
            lower[labels == fastest] += shift[fastest] - runner_up
        np.take(_half_gap_to_nearest_code(codebook).astype(upper.dtype), labels, out=bound)
        np.maximum(bound, lower, out=bound)
        rows = np.flatnonzero(np.greater(upper, bound, out=needs_check))
        if rows.size:
            upper[rows] = _distances_to_own_code(X, rows, codebook, labels, x_sq_norms)
            rows = rows[upper[rows] > bound[rows]]
        if rows.size:
            new_labels, upper[rows], lower[rows] = _assign_rows(X, rows, codebook, x_sq_norms)
            changed = new_labels != labels[rows]
            if np.any(changed):
                moved_rows, old = rows[changed], labels[rows[changed]]
                x_moved = X[moved_rows]
                moved_weights = 1.0 if weights is None else weights[moved_rows]
                new = new_labels[changed]
                sums -= _per_code_sums(x_moved, old, n_codes, moved_weights)
                sums += _per_code_sums(x_moved, new, n_codes, moved_weights)
                moved_weights = None if weights is None else weights[moved_rows]
                counts += np.bincount(new, weights=moved_weights, minlength=n_codes)
                counts -= np.bincount(old, weights=moved_weights, minlength=n_codes)
                labels[moved_rows] = new
    sq_dist = _own_sq_dist(X, codebook, labels, x_sq_norms)
    return CodebookFit(stored, labels, sq_dist, n_iter, center, weights)


def _own_sq_dist(X, codebook, labels, x_sq_norms):
    distances = _distances_to_own_code(X, None, codebook, labels, x_sq_norms)
    return (distances**2).astype(X.dtype)


def lloyd_with_warm_start(
    X, codebook, *, max_iter, tol, rng, center=None, sample_weight=None, progress=None
):
    """Lloyd on growing subsamples first, then on all of X: few full passes for the same inertia."""
    n_samples, n_codes = X.shape[0], codebook.shape[0]
    warm_size = _WARM_START_PER_CODE * n_codes
    # Each subsample is four times the last, so each level starts close to its own optimum.
    largest = max(_WARM_START_MAX_PER_CODE * n_codes, n_samples // _WARM_START_MAX_FRACTION)
    while max_iter > 0 and n_samples > 2 * warm_size and warm_size <= largest:
        rows = np.sort(rng.choice(n_samples, warm_size, replace=False))
        weights = None if sample_weight is None else sample_weight[rows]
        if weights is not None and not np.any(weights > 0):
            break
        codebook = lloyd(
            X[rows], codebook, max_iter=max_iter, tol=tol, relaxation=_RELAXATION,
            center=center, sample_weight=weights,
        ).codebook
        warm_size *= 4
    subsampled = warm_size > _WARM_START_PER_CODE * n_codes  # at least one subsample ran
    relaxation = _FULL_RELAXATION if subsampled else _RELAXATION
    return lloyd(
        X, codebook, max_iter=max_iter, tol=tol, relaxation=relaxation, center=center,
        sample_weight=sample_weight, progress=progress,
    )
