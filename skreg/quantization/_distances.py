"""Nearest-code search in bounded memory: chunked squared distances with a fused argmin.

The full n x n_codes distance matrix is never built. Rows are processed in chunks sized so that
one chunk's scores fit in about a mebibyte; each chunk is one BLAS matrix product followed by an
argmin, and chunks are spread over a few threads that each run single-threaded BLAS (on a loaded
machine this beats one multi-threaded BLAS call per chunk, and it is what scikit-learn's KMeans
does with OpenMP).
"""

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

# Scores of one chunk (rows x n_codes) take about this many bytes: small enough to stay in the
# core's own cache while the argmin reads them back.
_CHUNK_BYTES = 1 << 19
_MIN_CHUNK_ROWS = 256
_MAX_CHUNK_ROWS = 16384

_controller = None
_controller_lock = threading.Lock()


def effective_n_threads():
    """Threads to use, as scikit-learn's OpenMP code would: ``OMP_NUM_THREADS``,
    ``threadpoolctl.threadpool_limits`` and the CPUs this process may run on all cap it.
    """
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        return max(1, int(_openmp_effective_n_threads()))
    except (ImportError, AttributeError):  # a private helper: fall back to the environment
        pass
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n_cpus = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        n_cpus = min(n_cpus, int(omp))
    return max(1, n_cpus)


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while our own threads share the work between chunks."""
    global _controller
    with _controller_lock:
        if _controller is None:
            # Building the controller scans the loaded libraries; do it once, not per call.
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
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


class CodebookSearch:
    """A codebook prepared for nearest-code search.

    For a chunk of rows x, ``scores(x)[i, k] = ||c_k||^2 - 2 x_i . c_k``, which is the squared
    distance ``||x_i - c_k||^2`` minus ``||x_i||^2``: same argmin. For dense rows it is a single
    matrix product, ``[x, 1] @ [-2 C^T; ||c||^2]``, so no second pass adds the norms.
    """

    def __init__(self, codebook):
        self.codebook = codebook
        self.n_codes, n_features = codebook.shape
        self.code_sq_norms = row_norms(codebook, squared=True)
        self.augmented = np.empty((n_features + 1, self.n_codes), dtype=codebook.dtype)
        self.augmented[:n_features] = -2 * codebook.T
        self.augmented[n_features] = self.code_sq_norms

    def scores(self, x_chunk, out=None):
        """``||c||^2 - 2 x . c`` for a chunk of rows (dense or sparse), shape (rows, n_codes).

        ``out`` is a :class:`Workspace` with room for the chunk, or None to allocate.
        """
        n_rows, n_features = x_chunk.shape
        if sp.issparse(x_chunk):
            scores = np.asarray(x_chunk @ self.augmented[:n_features])
            scores += self.code_sq_norms
            return scores
        if out is None:
            out = Workspace(n_rows, self.n_codes, n_features, self.codebook.dtype)
        staging = out.staging[:n_rows, : n_features + 1]
        staging[:, :n_features] = x_chunk
        staging[:, n_features] = 1
        return np.matmul(staging, self.augmented, out=out.scores[:n_rows, : self.n_codes])

    def nearest(self, x_chunk, out=None, x_sq_norms=None):
        """Nearest code of each row and the squared distance to it.

        The distance is exact (``||x - c||^2`` from the difference) for dense rows unless their
        squared norms ``x_sq_norms`` are given; then it is expanded as ``||x||^2 + score``, which
        is cheaper inside k-means iterations where the norms are computed once.
        """
        scores = self.scores(x_chunk, out=out)
        labels = scores.argmin(axis=1)
        if x_sq_norms is None and not sp.issparse(x_chunk):
            residual = x_chunk - self.codebook[labels]
            return labels, np.einsum("ij,ij->i", residual, residual)
        if x_sq_norms is None:
            x_sq_norms = row_norms(x_chunk, squared=True)
        # Expanding the square loses a few ulps of ||x||^2: clip the rounding below zero.
        best = np.take_along_axis(scores, labels[:, None], axis=1).ravel()
        return labels, np.maximum(best + x_sq_norms, 0)

    def new_buffer(self, rows, dtype):
        return Workspace(rows, self.n_codes, self.codebook.shape[1], dtype)


def dense_chunk(x_chunk):
    """A chunk of rows as a dense array (chunks are small, so this stays bounded)."""
    return x_chunk.toarray() if sp.issparse(x_chunk) else x_chunk


def nearest_codes(X, codebook):
    """Nearest code and squared distance of every row of ``X``, computed chunk by chunk."""
    search = CodebookSearch(codebook)
    n_rows = X.shape[0]
    labels = np.empty(n_rows, dtype=np.intp)
    sq_dist = np.empty(n_rows, dtype=codebook.dtype)
    rows = chunk_rows(search.n_codes)

    def process(buffer, start, stop):
        labels[start:stop], sq_dist[start:stop] = search.nearest(X[start:stop], out=buffer)

    run_chunks(n_rows, rows, process, lambda: search.new_buffer(rows, codebook.dtype))
    return labels, sq_dist
