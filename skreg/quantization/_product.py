"""Product quantization: the features split into blocks, each block with its own codebook.

A vector is coded by one index per block, and rebuilt by putting the chosen code of every block
side by side. With m blocks of n_codes codes each, n_codes ** m distinct vectors are representable
for the storage of m small codebooks.
"""

import numpy as np

from skreg.quantization._distances import CodebookSearch


def subspace_slices(n_features, n_subspaces):
    """Contiguous feature blocks whose sizes differ by at most one."""
    bounds = np.linspace(0, n_features, n_subspaces + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class ProductCodebook:
    """One codebook per feature block; a single block is plain vector quantization.

    ``centers`` (one per block, or None) are the means of the rows each block was fitted on:
    the search runs in the frame centred on them (see ``CodebookSearch``).
    """

    def __init__(self, codebooks, slices, centers=None):
        self.codebooks = list(codebooks)
        self.slices = list(slices)
        if centers is None:
            centers = [None] * len(self.codebooks)
        self.centers = list(centers)
        self.searches = [
            CodebookSearch(codebook, center)
            for codebook, center in zip(self.codebooks, self.centers, strict=True)
        ]
        self.n_blocks = len(self.slices)
        self.n_codes = self.codebooks[0].shape[0]

    def full_codebook(self):
        """The block codebooks side by side: row k holds code k of every block."""
        return np.hstack(self.codebooks)

    def encode_chunk(self, x_chunk, codes_out, distances_out=None, buffer=None, unsettled=None):
        """Write each block's nearest code (and optionally Euclidean distances to every code).

        ``codes_out`` is (rows, n_blocks); ``distances_out`` is (rows, n_blocks * n_codes).
        Codes are exact nearest codes, unless ``unsettled`` (one list per block) is given: the
        chunk's rows whose codes :meth:`settle` must still decide are then appended to it.
        Distances are within ``_DISTANCE_RTOL`` relative (0 for a row equal to a code).
        """
        n_codes = self.n_codes
        for block, (columns, search) in enumerate(zip(self.slices, self.searches, strict=True)):
            part = x_chunk[:, columns]
            pending = None if unsettled is None else unsettled[block]
            codes_out[:, block] = search.labels(part, out=buffer, unsettled=pending)
            if distances_out is not None:
                distances = np.sqrt(search.sq_distances(part))
                distances_out[:, block * n_codes : (block + 1) * n_codes] = distances

    def settle(self, X, rows_by_block):
        """Decide the codes that ``encode_chunk`` left unsettled: ``rows_by_block[b]`` are the
        rows of ``X`` whose code in block ``b`` is open. Yields ``(block, rows, codes)``."""
        for block, rows in enumerate(rows_by_block):
            if rows.size:
                part = X[rows][:, self.slices[block]]
                yield block, rows, self.searches[block].settle(part)

    def decode(self, codes, dtype):
        """Vectors rebuilt from codes of shape (rows, n_blocks)."""
        n_features = self.slices[-1].stop
        rebuilt = np.empty((codes.shape[0], n_features), dtype=dtype)
        for block, (columns, codebook) in enumerate(zip(self.slices, self.codebooks, strict=True)):
            rebuilt[:, columns] = codebook[codes[:, block]]
        return rebuilt
