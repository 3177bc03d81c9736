"""Residual quantization: stage t quantizes what stages 0..t-1 left over.

Each stage is a :class:`ProductCodebook` (one block for plain vector quantization). A vector's
codes are the stages' codes side by side, stage-major; it is rebuilt as the sum of the stages'
reconstructions. Encoding, decoding and scoring run chunk by chunk so that their extra memory
does not grow with the number of rows.
"""

import numpy as np
import scipy.sparse as sp

from skreg.quantization._distances import (
    _CHUNK_BYTES,
    Workspace,
    chunk_rows,
    dense_chunk,
    run_chunks,
)
from skreg.quantization._kmeans import StreamingCodebook
from skreg.quantization._product import ProductCodebook


class ResidualCodec:
    """Stages of product codebooks; encodes rows to ``n_stages * n_subspaces`` codes."""

    def __init__(self, stages):
        self.stages = list(stages)
        self.n_codes = self.stages[0].n_codes
        self.n_blocks = sum(stage.n_blocks for stage in self.stages)
        self.dtype = self.stages[0].codebooks[0].dtype

    def astype(self, dtype):
        """This codec with codebooks of another float type (itself if already of that type)."""
        if dtype == self.dtype:
            return self
        return ResidualCodec(
            [
                ProductCodebook(
                    [c.astype(dtype) for c in stage.codebooks],
                    stage.slices,
                    [None if m is None else m.astype(dtype) for m in stage.centers],
                )
                for stage in self.stages
            ]
        )

    def codebook_array(self):
        """(n_codes, n_features) for one stage, (n_stages, n_codes, n_features) for several."""
        full = [stage.full_codebook() for stage in self.stages]
        return full[0] if len(full) == 1 else np.stack(full)

    def _chunk_rows(self, n_features):
        # Bound the residual and score buffers of one chunk, not only the scores.
        by_features = _CHUNK_BYTES // (8 * max(n_features, 1))
        return max(1, min(chunk_rows(self.n_codes), by_features))

    def encode_chunk(
        self, x_chunk, distances_out=None, buffer=None, need_residual=True, codes=None
    ):
        """Codes (rows, n_blocks) of a chunk, and its final residual (dense, or None).

        ``buffer`` (a ``Workspace``) receives the scores, so that a worker reuses one allocation
        for all its chunks; ``codes``, if given, receives the codes.
        """
        if codes is None:
            codes = np.empty((x_chunk.shape[0], self.n_blocks), dtype=np.intp)
        residual, first = x_chunk, 0
        for index, stage in enumerate(self.stages):
            block_codes = codes[:, first : first + stage.n_blocks]
            block_distances = None
            if distances_out is not None:
                columns = slice(first * self.n_codes, (first + stage.n_blocks) * self.n_codes)
                block_distances = distances_out[:, columns]
            stage.encode_chunk(residual, block_codes, block_distances, buffer)
            if need_residual or index + 1 < len(self.stages):
                residual = dense_chunk(residual) - stage.decode(block_codes, self.dtype)
            first += stage.n_blocks
        return codes, (residual if need_residual else None)

    def _new_buffer(self, X):
        return Workspace(self._chunk_rows(X.shape[1]), self.n_codes, X.shape[1], self.dtype)

    def decode(self, codes):
        """Vectors rebuilt from codes of shape (rows, n_blocks): the sum over stages."""
        rebuilt, first = None, 0
        for stage in self.stages:
            part = stage.decode(codes[:, first : first + stage.n_blocks], self.dtype)
            rebuilt = part if rebuilt is None else rebuilt + part
            first += stage.n_blocks
        return rebuilt

    def _map_chunks(self, X, process, make_state=None):
        rows = self._chunk_rows(X.shape[1])
        if make_state is None:
            make_state = lambda: self._new_buffer(X)  # noqa: E731
        return run_chunks(X.shape[0], rows, process, make_state)

    def encode(self, X, dtype=np.intp):
        """Codes of every row, (n_rows, n_blocks)."""
        codes = np.empty((X.shape[0], self.n_blocks), dtype=dtype)
        if len(self.stages) == 1:
            self._encode_one_stage(X, codes)
            return codes

        def process(buffer, start, stop):
            self.encode_chunk(
                X[start:stop], buffer=buffer, need_residual=False, codes=codes[start:stop]
            )

        self._map_chunks(X, process)
        return codes

    def _encode_one_stage(self, X, codes=None, on_chunk=None):
        """Codes of one stage, with the rows near a tie settled in one batch at the end.

        Settling per chunk cost a tenth of ``predict``'s time on 1,000,000 rows (its dozen
        small numpy calls, slowed by the caches the chunk's product has just flushed). With
        several stages each stage's residual needs the settled codes, so only one stage defers.
        ``codes`` (n_rows, n_blocks) receives the codes, settled; ``on_chunk(start, stop,
        chunk_codes)`` sees each chunk's codes before settling. Returns ``(block, rows,
        settled codes)`` for the settled rows.
        """
        stage = self.stages[0]

        def make_state():
            return self._new_buffer(X), [[] for _ in range(stage.n_blocks)]

        def process(state, start, stop):
            buffer, unsettled = state
            pending = [[] for _ in range(stage.n_blocks)]
            if codes is None:
                chunk_codes = np.empty((stop - start, stage.n_blocks), dtype=np.intp)
            else:
                chunk_codes = codes[start:stop]
            stage.encode_chunk(X[start:stop], chunk_codes, buffer=buffer, unsettled=pending)
            for block, found in enumerate(pending):
                unsettled[block].extend(start + rows for rows in found if rows.size)
            if on_chunk is not None:
                on_chunk(start, stop, chunk_codes)

        states = self._map_chunks(X, process, make_state)
        rows_by_block = [
            np.concatenate([np.empty(0, dtype=np.intp)] + [r for _, u in states for r in u[b]])
            for b in range(stage.n_blocks)
        ]
        settled = list(stage.settle(X, rows_by_block))
        if codes is not None:
            for block, rows, block_codes in settled:
                codes[rows, block] = block_codes
        return settled

    def quantize(self, X):
        """Every row replaced by its reconstruction from its codes."""
        quantized = np.empty(X.shape, dtype=self.dtype)
        if len(self.stages) == 1:
            stage = self.stages[0]

            def rebuild(start, stop, chunk_codes):
                quantized[start:stop] = stage.decode(chunk_codes, self.dtype)

            for block, rows, settled in self._encode_one_stage(X, on_chunk=rebuild):
                columns = stage.slices[block]
                quantized[rows, columns] = stage.codebooks[block][settled]
            return quantized

        def process(buffer, start, stop):
            x_chunk = X[start:stop]
            codes, _ = self.encode_chunk(x_chunk, buffer=buffer, need_residual=False)
            quantized[start:stop] = self.decode(codes)

        self._map_chunks(X, process)
        return quantized

    def distances(self, X):
        """Euclidean distance of each row (or its stage residual) to every code of every block."""
        distances = np.empty((X.shape[0], self.n_blocks * self.n_codes), dtype=self.dtype)

        def process(buffer, start, stop):
            self.encode_chunk(X[start:stop], distances[start:stop], buffer, need_residual=False)

        self._map_chunks(X, process)
        return distances

    def error_and_counts(self, X):
        """Summed squared reconstruction error and code counts (n_blocks, n_codes).

        Reduced chunk by chunk: no array grows with the number of rows.
        """

        def make_state():
            return {
                "buffer": self._new_buffer(X),
                "error": 0.0,
                "counts": np.zeros((self.n_blocks, self.n_codes), np.int64),
            }

        def process(state, start, stop):
            codes, residual = self.encode_chunk(X[start:stop], buffer=state["buffer"])
            state["error"] += float(np.einsum("ij,ij->", residual, residual, dtype=np.float64))
            for block in range(self.n_blocks):
                state["counts"][block] += np.bincount(codes[:, block], minlength=self.n_codes)

        states = self._map_chunks(X, process, make_state)
        return sum(s["error"] for s in states), sum(s["counts"] for s in states)


def block_initial_codebook(init, stage, columns):
    """The slice of a user's initial codebook array that belongs to one block."""
    if isinstance(init, str):
        return init
    stage_init = init if init.ndim == 2 else init[stage]
    return stage_init[:, columns]


def fit_residual(X, *, slices, n_stages, init, fit_block):
    """Fit the stages one after the other, each on the residual the previous ones leave.

    ``fit_block(X_block, block_init)`` fits one codebook and returns a ``CodebookFit``. Returns
    the codec and the per-block fits (stage-major).
    """
    stages, fits = [], []
    residual = X
    for stage_index in range(n_stages):
        stage_fits = []
        for columns in slices:
            block_init = block_initial_codebook(init, stage_index, columns)
            stage_fits.append(fit_block(residual[:, columns], block_init))
        stage = ProductCodebook(
            [fit.codebook for fit in stage_fits], slices, [fit.center for fit in stage_fits]
        )
        fits.extend(stage_fits)
        if stage_index + 1 < n_stages:
            labels = np.column_stack([fit.labels for fit in stage_fits])
            residual = dense_chunk(residual) - stage.decode(labels, stage.codebooks[0].dtype)
        stages.append(stage)
    return ResidualCodec(stages), fits


class StreamingResidual:
    """Mini-batch state of every block, updated one chunk of rows at a time (``partial_fit``)."""

    def __init__(self, initial_codebooks, slices, centers=None):
        # initial_codebooks[stage][block], centers[stage][block]
        self.slices = list(slices)
        if centers is None:
            centers = [[None] * len(stage) for stage in initial_codebooks]
        self.blocks = [
            [StreamingCodebook(c, m) for c, m in zip(stage, stage_centers, strict=True)]
            for stage, stage_centers in zip(initial_codebooks, centers, strict=True)
        ]

    @classmethod
    def from_codec(cls, codec, counts):
        """Continue from a fitted codec: each code weighs as many rows as it was fitted on."""
        stream = cls(
            [stage.codebooks for stage in codec.stages],
            codec.stages[0].slices,
            [stage.centers for stage in codec.stages],
        )
        blocks = [block for stage in stream.blocks for block in stage]
        for block, block_counts in zip(blocks, counts, strict=True):
            block.counts[:] = block_counts
            block.assigned[:] = block_counts
        return stream

    def update(self, x_chunk, rng, sample_weight=None):
        """Update every block on the chunk; return the chunk's codes and squared errors."""
        all_codes = []
        residual = x_chunk
        for stage_blocks in self.blocks:
            codes = np.column_stack(
                [
                    block.update(residual[:, columns], rng, sample_weight)[0]
                    for block, columns in zip(stage_blocks, self.slices, strict=True)
                ]
            )
            stage = ProductCodebook([b.codebook for b in stage_blocks], self.slices)
            residual = dense_chunk(residual) - stage.decode(codes, stage.codebooks[0].dtype)
            all_codes.append(codes)
        return np.hstack(all_codes), np.einsum("ij,ij->i", residual, residual)

    def counts(self):
        return np.stack([block.assigned for stage in self.blocks for block in stage])

    def codec(self):
        return ResidualCodec(
            [
                ProductCodebook(
                    [b.codebook.copy() for b in stage], self.slices, [b.center for b in stage]
                )
                for stage in self.blocks
            ]
        )


def requires_dense(X, n_stages):
    """Residuals of sparse rows are dense: residual quantization takes dense input only."""
    if n_stages > 1 and sp.issparse(X):
        raise TypeError(
            "Residual quantization (n_stages > 1) needs dense input: the residuals of sparse "
            "rows are dense. Convert X with X.toarray() or use n_stages=1."
        )
