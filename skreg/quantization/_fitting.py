"""Fitting helpers of VectorQuantizer: one block's k-means, seeding a stream, progress bars,
and the transaction that makes a failed fit leave the estimator as it was."""

import copy
from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_random_state

from skreg.quantization._kmeans import (
    _SEED_PER_CODE,
    _SEED_PER_CODE_BEFORE_SUBSAMPLES,
    minibatch_kmeans,
    seed_codebook,
)
from skreg.quantization._lloyd import block_center, lloyd, lloyd_with_warm_start
from skreg.quantization._product import ProductCodebook, subspace_slices
from skreg.quantization._residual import (
    ResidualCodec,
    StreamingResidual,
    block_initial_codebook,
    fit_residual,
    requires_dense,
)
from skreg.quantization._validation import check_training_rows, initial_codebook
from skreg.utils._interrupts import replace_attributes


def generator(random_state):
    """A numpy Generator drawn from scikit-learn's random_state conventions."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def fit_block(X_block, block_init, *, estimator, rng, sample_weight, progress):
    """k-means on one block (a feature block, or a stage's residuals), centred on its mean."""
    center = block_center(X_block, sample_weight)
    options = {
        "max_iter": estimator.max_iter,
        "tol": estimator.tol,
        "center": center,
        "sample_weight": sample_weight,
        "progress": progress,
    }
    warm_start = estimator.batch_size is None and isinstance(block_init, str)
    codebook = seed_codebook(
        X_block, estimator.n_codes, block_init, rng, center, sample_weight,
        rows_per_code=_SEED_PER_CODE_BEFORE_SUBSAMPLES if warm_start else _SEED_PER_CODE,
    )
    if estimator.batch_size is not None:
        return minibatch_kmeans(
            X_block, codebook, batch_size=estimator.batch_size, rng=rng, **options
        )
    if warm_start:
        return lloyd_with_warm_start(X_block, codebook, rng=rng, **options)
    return lloyd(X_block, codebook, **options)


def best_of_runs(estimator, X, init, n_runs, rng, sample_weight, task=None):
    """``(inertia, codec, fits)`` of the best of ``n_runs`` fits of every codebook.

    ``task`` (a :class:`skreg.utils._callbacks.FitTask`) reports each codebook fit as a task
    of scikit-learn's callbacks, with its Lloyd iterations (mini-batch epochs) below it.
    """
    report_tasks = task is not None and task.active
    bars = ProgressBars(estimator.verbose)
    slices = subspace_slices(X.shape[1], estimator.n_subspaces)
    n_blocks = len(slices) * estimator.n_stages
    best = None
    for run in range(n_runs):
        block_index = iter(range(n_blocks))

        def fit_one(X_block, block_init, run=run, block_index=block_index):
            block = next(block_index)
            description = f"VectorQuantizer run {run + 1}/{n_runs}, codebook {block + 1}"
            block_task = (
                task.subtask("codebook", max_subtasks=estimator.max_iter) if report_tasks
                else None
            )
            with bars.bar(f"{description}/{n_blocks}", estimator.max_iter) as progress:
                fit = fit_block(
                    X_block, block_init, estimator=estimator, rng=rng,
                    sample_weight=sample_weight, progress=_reporting_iterations(
                        progress, block_task,
                        "lloyd-iteration" if estimator.batch_size is None else "minibatch-epoch",
                    ),
                )
            if block_task is not None:
                block_task.end()
            return fit

        codec, fits = fit_residual(
            X, slices=slices, n_stages=estimator.n_stages, init=init, fit_block=fit_one
        )
        inertia = sum(fit.inertia for fit in fits[-estimator.n_subspaces :])
        if best is None or inertia < best[0]:
            best = (inertia, codec, fits)
    return best


def _reporting_iterations(progress, task, name):
    """``progress(n_iter, inertia)`` that also reports each completed iteration as a subtask
    of ``task`` (called with ``n_iter=0`` for the seeded codebook, before any iteration)."""
    if task is None:
        return progress

    def report(n_iter, inertia):
        if progress is not None:
            progress(n_iter, inertia)
        if n_iter > 0:
            task.subtask(name).end()

    return report


def open_stream(estimator, X, sample_weight, weighted):
    """``(stream, rng, n_iter, weighted)`` for ``partial_fit``: copies of the running state,
    or a stream continued from ``fit`` or seeded on this first chunk."""
    if hasattr(estimator, "_stream"):
        # Copies: the estimator's state changes only once the whole chunk went through.
        stream, rng = copy.deepcopy(estimator._stream), copy.deepcopy(estimator._rng)
        return stream, rng, estimator.n_iter_, weighted
    rng = generator(estimator.random_state)
    if hasattr(estimator, "_codec"):
        counts = estimator.code_counts_.reshape(estimator._codec.n_blocks, -1)
        stream = StreamingResidual.from_codec(estimator._codec, counts)
        return stream, rng, 0, weighted or counts.dtype.kind == "f"
    n_codes, n_subspaces, n_stages = estimator.n_codes, estimator.n_subspaces, estimator.n_stages
    check_training_rows(X, n_codes, n_subspaces, n_stages)
    stream = seed_stream(
        X, initial_codebook(estimator.init, X, n_codes, n_stages), n_codes=n_codes,
        n_subspaces=n_subspaces, n_stages=n_stages, rng=rng, sample_weight=sample_weight,
    )
    return stream, rng, 0, weighted


def update_stream(stream, X, rng, sample_weight, batch_size):
    """Mini-batch updates of ``stream`` over the chunk X; its codes and (weighted) error."""
    batch_size = batch_size or X.shape[0]
    chunk_codes, chunk_errors = [], 0.0
    for start in range(0, X.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        weights = None if sample_weight is None else sample_weight[rows]
        codes, sq_errors = stream.update(X[rows], rng, weights)
        chunk_codes.append(codes)
        if weights is None:
            chunk_errors += float(np.sum(sq_errors, dtype=np.float64))
        else:
            chunk_errors += float(np.dot(weights, sq_errors))
    return np.vstack(chunk_codes), chunk_errors


def seed_stream(X, init, *, n_codes, n_subspaces, n_stages, rng, sample_weight):
    """Seed every block on the first chunk, each stage on the residual of the ones before."""
    requires_dense(X, n_stages)
    slices = subspace_slices(X.shape[1], n_subspaces)
    codebooks, centers, residual = [], [], X
    for stage_index in range(n_stages):
        stage_centers = [block_center(residual[:, columns], sample_weight) for columns in slices]
        stage_codebooks = [
            seed_codebook(
                residual[:, columns],
                n_codes,
                block_initial_codebook(init, stage_index, columns),
                rng,
                center,
                sample_weight,
            )
            for columns, center in zip(slices, stage_centers, strict=True)
        ]
        codebooks.append(stage_codebooks)
        centers.append(stage_centers)
        if stage_index + 1 < n_stages:
            stage = ResidualCodec([ProductCodebook(stage_codebooks, slices, stage_centers)])
            residual = residual - stage.quantize(residual)
    return StreamingResidual(codebooks, slices, centers)


class ProgressBars:
    """``verbose`` progress: one ``tqdm.auto`` bar per fitted block (a widget in notebooks).

    ``bar(description, total)`` is a context manager giving a ``report(n_iter, inertia)``
    callable, or None when quiet. Bars are closed on every exit path, interrupts included.
    """

    def __init__(self, verbose):
        self.verbose = verbose

    @contextmanager
    def bar(self, description, total):
        if not self.verbose:
            yield None
            return
        from tqdm.auto import tqdm

        progress = tqdm(total=total, desc=description, unit="pass", leave=True)

        def report(n_iter, inertia):
            progress.update(n_iter - progress.n)
            progress.set_postfix(inertia=f"{inertia:.6g}", refresh=True)

        try:
            yield report
        finally:
            if progress.n < (progress.total or 0):
                progress.total = progress.n  # stopped early: converged
                progress.refresh()
            progress.close()


@contextmanager
def transaction(estimator):
    """Restore ``estimator``'s attributes if the block raises (KeyboardInterrupt included).

    Fits assign fresh objects to their attributes (they never change a fitted array in place),
    so a shallow copy of ``__dict__`` is the whole previous state.
    """
    saved = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        replace_attributes(estimator, saved)
        raise
