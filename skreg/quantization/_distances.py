"""Nearest-code search in bounded memory: chunked squared distances with a fused argmin.

The full n x n_codes distance matrix is never built. Rows are processed in chunks sized so that
one chunk's scores fit in about a mebibyte; each chunk is one BLAS matrix product followed by an
argmin, and chunks are spread over a few threads that each run single-threaded BLAS (on a loaded
machine this beats one multi-threaded BLAS call per chunk, and it is what scikit-learn's KMeans
does with OpenMP).

The matrix product computes ``||c||^2 - 2 x.c``, which loses the digits that ``x`` and ``c``
share: on rows with a large common offset (``X + 1e4`` in float32) almost every argmin is wrong.
Two things keep the search exact. Rows and codes are centred by the mean of the training rows
(as scikit-learn's KMeans does), which removes the offset; and every row whose two best scores
are closer than the rounding error of the product can be (a bound of Higham's for dot products,
``(n_features + 2) * eps * (||x|| + max ||c||)^2``) is searched again from the differences
``x - c`` in float64, so a near tie is decided by the exact distances.

The same re-check covers overflow. A score is bounded by ``(||x|| + max ||c||)^2``; a row for
which that bound comes within a factor 4 of the float type's largest value (float32 rows of
about 1e18 and beyond) may get an infinite or NaN score, so it is flagged like a near tie and
settled in float64, rescaled by a power of two (which is exact) where even float64 squares
would overflow.
"""

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from skreg.utils._sklearn_private import openmp_effective_n_threads

# Scores of one chunk (rows x n_codes) take about this many bytes. Each chunk costs a dozen
# small numpy calls that hold the GIL, so chunks must be large enough for the matrix product
# and the argmins (which release it) to dominate: on 200,000 x 64 rows and 256 codes, 2 MiB
# was the fastest of 0.25-8 MiB with one or two threads (benchmarks/bench_vq.py).
_CHUNK_BYTES = 1 << 21
_MIN_CHUNK_ROWS = 256
_MAX_CHUNK_ROWS = 16384
# Elements of the (rows, n_codes, n_features) differences of one exact re-check.
_EXACT_BLOCK = 1 << 20
# Rows whose float64 values exceed this are rescaled by a power of two before settling: their
# squared norms would overflow float64 (about 1.8e308).
_LARGE_FLOAT64 = 2.0**500
# ``output="distances"`` entries whose float64 expansion may be off by more than this relative
# amount are computed again from the differences (a code's distance to itself is then 0).
_DISTANCE_RTOL = 1e-7


def effective_n_threads():
    """Threads to use, as scikit-learn's OpenMP code would: ``OMP_NUM_THREADS``,
    ``threadpoolctl.threadpool_limits`` and the CPUs this process may run on all cap it.
    """
    n_threads = openmp_effective_n_threads()
    if n_threads is not None:
        return max(1, n_threads)
    # scikit-learn's private helper is gone: count as it would from the environment
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n_cpus = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        n_cpus = min(n_cpus, int(omp))
    return max(1, n_cpus)


class _SharedBlasLimit:
    """One BLAS thread while any skreg call needs it; the user's limits back after the last.

    BLAS thread pools are process-wide, so a limit set and restored by each call on its own
    leaks when calls overlap: the second call saves the first one's limit (1) as "original" and
    restores it after the first call has put the user's back. Here the first caller to enter
    saves the user's limits and sets one thread, and only the last caller to leave restores
    them, whichever threads they run in. While a call runs, other threads of the process also
    see one BLAS thread; afterwards the limits are exactly the user's.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._controller = None
        self._original = None

    def _blas_controllers(self):
        if self._controller is None:
            # Building the controller scans the loaded libraries; do it once, not per call.
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController().select(user_api="blas")
        return self._controller.lib_controllers

    @staticmethod
    def _set(lib, n_threads):
        # threadpoolctl lets only one thread at a time set OpenBLAS's process-wide pool (the
        # first one to set it, until that one is done). The limit here belongs to all running
        # calls together, so whichever thread sets or restores it takes that role for the set.
        release = getattr(type(lib), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)
        lib.set_num_threads(n_threads)
        if release is not None:
            release()

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                libs = self._blas_controllers()
                self._original = [lib.get_num_threads() for lib in libs]
                for lib in libs:
                    self._set(lib, 1)
            self._users += 1
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                for lib, n_threads in zip(self._blas_controllers(), self._original, strict=True):
                    if n_threads is not None:
                        self._set(lib, n_threads)
                self._original = None
        return False


_BLAS_LIMIT = _SharedBlasLimit()


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while our own threads share the work between chunks."""
    with _BLAS_LIMIT:
        yield


def blas_single_threaded(method):
    """Run ``method`` with one BLAS thread: its parallelism comes from ``run_chunks``.

    Small products (k-means++ candidates, code-to-code gaps) are many times slower with a
    multi-threaded BLAS on a busy machine than with one thread.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return method(*args, **kwargs)

    return wrapper


def chunk_rows(n_codes):
    """Rows per chunk so that a chunk's float32 scores take about ``_CHUNK_BYTES``."""
    rows = _CHUNK_BYTES // (4 * max(int(n_codes), 1))
    return int(min(max(rows, _MIN_CHUNK_ROWS), _MAX_CHUNK_ROWS))


def run_chunks(n_rows, rows_per_chunk, process, make_state):
    """Call ``process(state, start, stop)`` on every chunk of rows; return the workers' states.

    Each worker thread owns one state (its buffers and accumulators) and takes the next chunk as
    soon as it is free, so a busy core does not hold the others back.
    """
    n_threads = effective_n_threads()
    starts = range(0, n_rows, rows_per_chunk)
    n_workers = max(1, min(n_threads, len(starts)))
    if n_workers == 1:
        state = make_state()
        for start in starts:
            process(state, start, min(start + rows_per_chunk, n_rows))
        return [state]

    next_chunk = iter(starts)
    lock = threading.Lock()

    def worker():
        state = make_state()
        while True:
            with lock:
                start = next(next_chunk, None)
            if start is None:
                return state
            process(state, start, min(start + rows_per_chunk, n_rows))

    with single_threaded_blas(), ThreadPoolExecutor(n_workers) as executor:
        futures = [executor.submit(worker) for _ in range(n_workers)]
        return [future.result() for future in futures]


class Workspace:
    """One worker's buffers: a chunk's scores, and the chunk with a column of ones appended."""

    def __init__(self, rows, n_codes, n_features, dtype):
        self.scores = np.empty((rows, n_codes), dtype=dtype)
        self.staging = np.empty((rows, n_features + 1), dtype=dtype)


def centred(x_chunk, center, dtype=None):
    """Dense rows minus ``center`` (a copy; sparse rows are densified first)."""
    dense = x_chunk.toarray() if sp.issparse(x_chunk) else np.asarray(x_chunk)
    dense = dense.astype(dtype or dense.dtype, copy=True)
    if center is not None:
        dense -= center
    return dense


def exact_sq_distances(x_rows, codebook):
    """``||x_i - c_k||^2`` from the differences, in float64, for a few rows (float64 inputs)."""
    n_rows, n_features = x_rows.shape
    out = np.empty((n_rows, codebook.shape[0]), dtype=np.float64)
    step = max(1, _EXACT_BLOCK // max(codebook.size, 1))
    for start in range(0, n_rows, step):
        diff = x_rows[start : start + step, None, :] - codebook[None]
        np.einsum("rkd,rkd->rk", diff, diff, out=out[start : start + step])
    return out


def _overflow_checked(method):
    """Run ``method`` without numpy's overflow warnings: the rows whose scores may overflow
    are found from their bound and settled (see the module's docstring), so the warnings would
    only report values that are not used.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return method(*args, **kwargs)

    return wrapper


class CodebookSearch:
    """A codebook prepared for nearest-code search, in the frame centred on ``center``.

    ``codebook`` is the stored codebook; the search uses ``codebook - center`` (rounded once,
    in the codebook's float type) and rows ``x - center``, the same two roundings for every
    caller, so that the fit and ``predict`` agree. For a chunk of centred rows x,
    ``scores(x)[i, k] = ||c_k||^2 - 2 x_i . c_k``, the squared distance minus ``||x_i||^2``.
    For dense rows it is a single matrix product, ``[x, 1] @ [-2 C^T; ||c||^2]``. Sparse rows
    are not centred (that would densify them): they are scored against the stored codebook.
    """

    @_overflow_checked
    def __init__(self, codebook, center=None):
        self.codebook = codebook
        dtype = codebook.dtype
        self.center = None if center is None else np.asarray(center, dtype=dtype)
        self.centred = codebook if self.center is None else codebook - self.center
        self.n_codes, n_features = codebook.shape
        self.code_sq_norms = row_norms(self.centred, squared=True)
        self.max_code_norm = float(np.sqrt(self.code_sq_norms.max(initial=0.0)))
        # Rounding bound of the difference of two scores, per unit of (||x|| + max ||c||)^2:
        # each score is a dot product of n_features + 1 terms, off by at most
        # gamma_(n_features+1) (2 ||x|| ||c|| + ||c||^2) (Higham, "Accuracy and Stability of
        # Numerical Algorithms", 3.1), gamma_n ~ n eps / 2; plus ||c||^2's own rounding.
        self.error_factor = (n_features + 2) * float(np.finfo(dtype).eps)
        # A rounding bound error_factor * T at or above this means T, which bounds every
        # score, may overflow the float type: the row's scores cannot be trusted.
        self.overflow_slack = self.error_factor * float(np.finfo(dtype).max) / 4
        # A center no larger than the codes' spread is folded into the product,
        # (x - m).c = x.c - m.c, which saves a pass over every chunk and costs at most a
        # factor 4 of the (tiny) rounding bound; a larger one (an offset) is subtracted.
        center_norm = 0.0 if self.center is None else float(np.linalg.norm(self.center))
        self.folded = self.center is not None and center_norm <= self.max_code_norm
        self.norm_margin = center_norm if self.folded else 0.0
        self.augmented = np.empty((n_features + 1, self.n_codes), dtype=dtype)
        self.augmented[:n_features] = -2 * self.centred.T
        last = self.code_sq_norms.astype(np.float64)
        if self.folded:
            last += 2 * (self.centred.astype(np.float64) @ self.center.astype(np.float64))
        self.augmented[n_features] = last
        self._sparse_terms = None
        self._codes64 = None

    def _sparse(self):
        if self._sparse_terms is None:
            norms = row_norms(self.codebook, squared=True)
            self._sparse_terms = (-2 * self.codebook.T, norms, float(np.sqrt(norms.max())))
        return self._sparse_terms

    def scores(self, x_chunk, out=None):
        """``(scores, ||x||^2, bound norm)`` of a chunk: the scores (rows, n_codes), the squared
        norms of the rows they were computed from, and the code norm for the rounding bound.

        ``out`` is a :class:`Workspace` with room for the chunk, or None to allocate.
        """
        n_rows, n_features = x_chunk.shape
        if sp.issparse(x_chunk):
            minus_two_codes, norms, max_norm = self._sparse()
            scores = np.asarray(x_chunk @ minus_two_codes)
            scores += norms
            return scores, row_norms(x_chunk, squared=True), max_norm
        scores, staging = self._dense_scores(x_chunk, out)
        x_sq_norms = np.einsum("ij,ij->i", staging, staging)
        return scores, x_sq_norms, self.max_code_norm + self.norm_margin

    def _dense_scores(self, x_chunk, out):
        """Scores of dense rows, and the rows they were computed from (a view of ``out``)."""
        n_rows, n_features = x_chunk.shape
        if out is None:
            out = Workspace(n_rows, self.n_codes, n_features, self.codebook.dtype)
        staging = out.staging[:n_rows, : n_features + 1]
        if self.center is None or self.folded:
            staging[:, :n_features] = x_chunk
        else:
            np.subtract(x_chunk, self.center, out=staging[:, :n_features])
        staging[:, n_features] = 1
        scores = np.matmul(staging, self.augmented, out=out.scores[:n_rows, : self.n_codes])
        return scores, staging[:, :n_features]

    def _float64_codes(self):
        """``(codes, ||c||^2, -2 C^T)`` of the search codes in float64, computed once."""
        if self._codes64 is None:
            codes = self.centred.astype(np.float64)
            self._codes64 = (codes, np.einsum("ij,ij->i", codes, codes), -2 * codes.T)
        return self._codes64

    def _exact(self, x_rows):
        """Exact squared distances of a few rows (in the search frame) to every code."""
        x_rows = centred(x_rows, self.center, self.codebook.dtype).astype(np.float64)
        return exact_sq_distances(x_rows, self._float64_codes()[0])

    def nearest(self, x_chunk, out=None, with_second=False):
        """Nearest code of each row, its squared distance and the second's.

        Near ties (two best scores within the rounding bound) are decided by the exact
        distances. Returns ``(labels, best, second, slack)``: the expanded squared distances
        to the nearest and second nearest codes, within ``slack`` (per row, 0 for re-checked
        rows) of the exact values. Distances need an unfolded search (no center, or rows
        centred by the caller).
        """
        labels, best, second, x_sq_norms, slack, ties = self._labels_and_ties(x_chunk, out)
        n_codes = self.n_codes
        best = best.astype(np.float64)
        best += x_sq_norms
        second = second.astype(np.float64)
        second += x_sq_norms
        slack = slack.astype(np.float64)
        if ties.size:
            exact = self._exact(x_chunk[ties])
            labels[ties] = exact.argmin(axis=1)
            best[ties] = exact[np.arange(ties.size), labels[ties]]
            if n_codes > 1:
                exact[np.arange(ties.size), labels[ties]] = np.inf
                second[ties] = exact.min(axis=1)
            slack[ties] = 0.0
        np.maximum(best, 0, out=best)
        return labels, best, second, slack

    @_overflow_checked
    def _labels_and_ties(self, x_chunk, out):
        """``(labels, best, second, ||x||^2, slack, ties)``: the argmin of the scores, the two
        best scores, and the rows whose runner-up is within the rounding bound ``slack``.

        The winning scores are left masked with inf in the scores buffer.
        """
        scores, x_sq_norms, bound_norm = self.scores(x_chunk, out=out)
        n_rows, n_codes = scores.shape
        labels = scores.argmin(axis=1)
        flat = scores.reshape(-1)  # a view: the workspace is C-contiguous per chunk
        rows = np.arange(0, n_rows * n_codes, n_codes)
        picked = rows + labels
        best = flat[picked]
        slack = np.sqrt(x_sq_norms)
        slack += bound_norm
        slack *= slack
        slack *= self.error_factor
        if n_codes == 1:
            second = np.full(n_rows, np.inf, dtype=best.dtype)
            return labels, best, second, x_sq_norms, slack, np.empty(0, dtype=np.intp)
        # The runner-up by a second argmin with the best masked (faster than a min reduction).
        flat[picked] = np.inf
        second = flat[rows + scores.argmin(axis=1)]
        # Negated comparisons: a NaN gap or bound (overflowed scores) makes the row a tie.
        ties = np.flatnonzero(~((second - best > slack) & (slack < self.overflow_slack)))
        return labels, best, second, x_sq_norms, slack, ties

    @_overflow_checked
    def labels(self, x_chunk, out=None, unsettled=None):
        """Nearest code of each row (exact: near ties are decided by the exact distances).

        ``predict`` runs this on every row, so the check for near ties costs one more argmin
        over the chunk and no per-row comparison: the winning score of each row is raised by
        its rounding bound, and a row whose argmin then changes has a runner-up close enough
        to matter. Those few rows are settled by :meth:`settle`: here, or, when ``unsettled``
        is a list, by the caller, to which their indices in the chunk are appended (settling
        costs a dozen small numpy calls, worth doing once for all chunks).
        """
        if sp.issparse(x_chunk) or self.n_codes == 1:
            labels, _, _, _, _, ties = self._labels_and_ties(x_chunk, out)
            if ties.size:
                labels[ties] = self.settle(x_chunk[ties])
            return labels
        scores, staging = self._dense_scores(x_chunk, out)
        n_rows, n_features = staging.shape
        labels = scores.argmin(axis=1)
        # With T = (||x|| + ||m|| + max ||c||)^2 >= |score|, the bound is (d + 2) eps T; the
        # bump is (d + 3) eps T, which covers the addition's own rounding (< eps T) and is
        # more than one ulp of the winner, so that an exact tie is caught too.
        bump = np.sqrt(np.einsum("ij,ij->i", staging, staging))
        bump += self.norm_margin + self.max_code_norm
        bump *= bump
        bump *= self.error_factor * (n_features + 3) / (n_features + 2)
        flat = scores.reshape(-1)  # a view: the workspace is C-contiguous per chunk
        picked = np.arange(0, n_rows * self.n_codes, self.n_codes)
        picked += labels
        flat[picked] += bump
        # Rows whose bound may overflow (an inf or NaN bump included) are settled too.
        overflow = ~(bump < self.overflow_slack * (n_features + 3) / (n_features + 2))
        flagged = np.flatnonzero((scores.argmin(axis=1) != labels) | overflow)
        if unsettled is not None:
            unsettled.append(flagged)
        elif flagged.size:
            labels[flagged] = self.settle(x_chunk[flagged])
        return labels

    def settle(self, x_rows):
        """Exact nearest codes of some rows: float64 scores, and differences for near ties."""
        step = chunk_rows(self.n_codes)
        if x_rows.shape[0] > step:  # bounded memory even when many rows are near ties
            return np.concatenate(
                [
                    self.settle(x_rows[start : start + step])
                    for start in range(0, x_rows.shape[0], step)
                ]
            )
        codes, code_sq, minus_two_codes = self._float64_codes()
        x_rows = centred(x_rows, self.center, self.codebook.dtype).astype(np.float64)
        top = max(float(np.abs(x_rows).max(initial=0.0)), float(np.abs(codes).max(initial=0.0)))
        if top > _LARGE_FLOAT64:
            # The nearest code is the same for rows and codes scaled alike; a power of two
            # changes no digit, and brings the squares back into float64's range.
            scale = 2.0 ** -int(np.ceil(np.log2(top)))
            x_rows, codes = x_rows * scale, codes * scale
            code_sq = np.einsum("ij,ij->i", codes, codes)
            minus_two_codes = -2 * codes.T
        x_sq = np.einsum("ij,ij->i", x_rows, x_rows)
        scores = x_rows @ minus_two_codes
        scores += code_sq
        labels = scores.argmin(axis=1)
        index = np.arange(labels.size)
        best = scores[index, labels].copy()
        scores[index, labels] = np.inf
        slack = np.sqrt(x_sq)
        slack += np.sqrt(code_sq.max(initial=0.0))
        slack *= slack
        slack *= (codes.shape[1] + 2) * float(np.finfo(np.float64).eps)
        ties = np.flatnonzero(scores.min(axis=1) - best <= slack)
        if ties.size:
            labels[ties] = exact_sq_distances(x_rows[ties], codes).argmin(axis=1)
        return labels

    def sq_distances(self, x_chunk):
        """Squared distances (rows, n_codes) in float64, within ``_DISTANCE_RTOL`` relative.

        Expanded in float64 from the centred rows; entries small enough that the expansion's
        rounding could exceed ``_DISTANCE_RTOL`` of them (a code against itself) are computed
        again from the differences.
        """
        codes, code_sq, minus_two_codes = self._float64_codes()
        x_rows = centred(x_chunk, self.center, self.codebook.dtype).astype(np.float64)
        x_sq = row_norms(x_rows, squared=True)
        sq = x_rows @ minus_two_codes
        sq += x_sq[:, None]
        sq += code_sq
        n_features = codes.shape[1]
        bound = 2 * (n_features + 2) * float(np.finfo(np.float64).eps) / _DISTANCE_RTOL
        scale = (np.sqrt(x_sq)[:, None] + np.sqrt(code_sq)[None, :]) ** 2
        rows, columns = np.nonzero(sq <= bound * scale)
        if rows.size:
            diff = x_rows[rows] - codes[columns]
            sq[rows, columns] = np.einsum("ij,ij->i", diff, diff)
        return np.maximum(sq, 0, out=sq)

    def new_buffer(self, rows, dtype):
        return Workspace(rows, self.n_codes, self.codebook.shape[1], dtype)


def dense_chunk(x_chunk):
    """A chunk of rows as a dense array (chunks are small, so this stays bounded)."""
    return x_chunk.toarray() if sp.issparse(x_chunk) else x_chunk


def nearest_codes(X, codebook, center=None):
    """Nearest code and squared distance of every row of ``X``, computed chunk by chunk.

    The squared distance is exact (from the difference ``x - c`` in the centred frame).
    """
    search = CodebookSearch(codebook, center)
    n_rows = X.shape[0]
    labels = np.empty(n_rows, dtype=np.intp)
    sq_dist = np.empty(n_rows, dtype=codebook.dtype)
    rows = chunk_rows(search.n_codes)

    def process(buffer, start, stop):
        x_chunk = X[start:stop]
        chunk_labels = search.labels(x_chunk, out=buffer)
        labels[start:stop] = chunk_labels
        sq_dist[start:stop] = own_sq_distances(x_chunk, search, chunk_labels)

    run_chunks(n_rows, rows, process, lambda: search.new_buffer(rows, codebook.dtype))
    return labels, sq_dist


def own_sq_distances(x_chunk, search, labels):
    """``||x - c_label||^2`` of each row from the difference, in the search's frame."""
    if sp.issparse(x_chunk):
        residual = x_chunk.toarray() - search.codebook[labels]
    else:
        residual = x_chunk - search.codebook[labels]
    return np.einsum("ij,ij->i", residual, residual)
