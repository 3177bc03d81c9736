"""Output formats of VectorQuantizer: code dtype, one-hot rows, code usage, feature names."""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array


class CodeUsage(NamedTuple):
    """How often each code is used, and the perplexity ``exp(entropy)`` of that usage."""

    counts: np.ndarray
    perplexity: float | np.ndarray


def code_dtype(n_codes):
    """Smallest unsigned integer type holding the indices 0 .. n_codes - 1."""
    return np.min_scalar_type(max(n_codes - 1, 0))


def perplexity(counts):
    """``exp(-sum_k p_k log p_k)`` with ``p_k = counts_k / sum(counts)``, over the last axis.

    Equals the number of codes when usage is uniform and 1 when a single code is used. Zero
    counts contribute nothing (``0 log 0 = 0``).
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=-1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    plogp = np.zeros_like(p)
    np.multiply(p, np.log(p, out=np.zeros_like(p), where=p > 0), out=plogp)
    result = np.exp(-plogp.sum(axis=-1))
    return float(result) if result.ndim == 0 else result


def one_hot(codes, n_codes, dtype):
    """Sparse CSR (n, n_blocks * n_codes) with a one in each block's column of its code."""
    n_rows, n_blocks = codes.shape
    columns = (codes + n_codes * np.arange(n_blocks)).ravel()
    return sp.csr_matrix(
        (np.ones(columns.size, dtype=dtype), columns, np.arange(0, columns.size + 1, n_blocks)),
        shape=(n_rows, n_blocks * n_codes),
    )


def sparse_onehot(sparse_output, container, output):
    """Whether the one-hot output is sparse: ``sparse_output`` under the ``set_output``
    container (``"default"``, ``"pandas"``, ``"polars"``), whose data frames are dense."""
    if sparse_output == "auto":
        return container == "default"
    if sparse_output and container != "default" and output == "onehot":
        raise ValueError(
            f"sparse_output=True gives a scipy sparse one-hot matrix, which "
            f'set_output(transform="{container}") cannot hold (its data frames are dense). '
            'Use sparse_output=False or "auto" for a dense one-hot, or '
            'set_output(transform="default").'
        )
    return bool(sparse_output)


def codes_from_array(X, n_blocks, n_codes):
    """Codes given by the user, checked: integers, n_blocks columns, each in [0, n_codes)."""
    codes = check_array(X, dtype=None, input_name="X")
    if codes.shape[1] != n_blocks:
        raise ValueError(f"Expected codes with {n_blocks} column(s), got {codes.shape[1]}.")
    if not np.issubdtype(codes.dtype, np.integer):
        if not np.all(np.mod(codes, 1) == 0):
            raise ValueError("Codes must be integers.")
        codes = codes.astype(np.intp)
    if codes.size and (codes.min() < 0 or codes.max() >= n_codes):
        raise ValueError(
            f"Codes must lie in [0, n_codes) = [0, {n_codes}); got values from {codes.min()} "
            f"to {codes.max()}."
        )
    return codes.astype(np.intp, copy=False)


def codes_from_scores(X, n_blocks, n_codes, output):
    """Codes from one-hot rows (argmax per block) or distances (argmin per block)."""
    X = check_array(X, accept_sparse="csr", dtype=None, input_name="X")
    if X.shape[1] != n_blocks * n_codes:
        raise ValueError(
            f"Expected {output} with n_blocks * n_codes = {n_blocks * n_codes} columns, got "
            f"{X.shape[1]}."
        )
    codes = np.empty((X.shape[0], n_blocks), dtype=np.intp)
    for block in range(n_blocks):
        part = X[:, block * n_codes : (block + 1) * n_codes]
        if output == "onehot":
            codes[:, block] = np.asarray(part.argmax(axis=1)).ravel()
        else:
            codes[:, block] = np.asarray(part).argmin(axis=1)
    return codes


def output_feature_names(output, n_blocks, n_codes):
    """``vectorquantizer_code``-style names for codes, one-hot columns and distances."""
    prefix = "vectorquantizer"
    blocks = [""] if n_blocks == 1 else [f"_block{b}" for b in range(n_blocks)]
    if output == "codes":
        names = [f"{prefix}{block}_code" for block in blocks]
    else:
        kind = "code" if output == "onehot" else "distance"
        names = [f"{prefix}{block}_{kind}{k}" for block in blocks for k in range(n_codes)]
    return np.asarray(names, dtype=object)
