"""Training data as tensors converted once, and an iterator that slices batches out of them.

skorch's default path wraps arrays in a per-sample ``Dataset`` and lets a ``DataLoader`` call
``__getitem__`` once per sample and collate the results: about 1.5x the cost of a plain loop
for a small MLP. Here the whole array is converted to a float32 tensor once (on the training
device), and each batch is one ``index_select`` of a shuffled index range.
"""

import warnings
from typing import NamedTuple

import numpy as np
import torch


class Batch(NamedTuple):
    """One mini-batch: inputs, targets (or None), sample weights (or None).

    ``y`` holds class indices (int64) or a soft target matrix (float) for a classifier, and a
    float matrix of shape (n, n_outputs) for a regressor. A tuple, so skorch's bookkeeping
    (``len(batch[0])``) works on it; transforms return a new one with ``batch._replace``.
    """

    X: torch.Tensor
    y: torch.Tensor | None = None
    sample_weight: torch.Tensor | None = None


def as_tensor(array, device, dtype=None):
    """Return ``array`` as a tensor on ``device``, sharing memory with numpy where possible."""
    if array is None:
        return None
    if isinstance(array, np.ndarray):
        array = np.ascontiguousarray(array)
    with warnings.catch_warnings():
        # Read-only arrays (memory maps) are shared too: nothing here writes into X or y.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensor = torch.as_tensor(array)
    if dtype is not None and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor.to(device)


class TensorDataset(torch.utils.data.Dataset):
    """Whole-array tensors for :class:`BatchIterator` (``__getitem__`` only for DataLoader use)."""

    def __init__(self, X, y=None, sample_weight=None):
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}.")
        self.X, self.y, self.sample_weight = X, y, sample_weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return Batch(*(None if t is None else t[index] for t in self))

    def __iter__(self):
        return iter((self.X, self.y, self.sample_weight))


class BatchIterator:
    """Iterate over a :class:`TensorDataset` in mini-batches of index-selected rows.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation (from torch's global generator) at each pass.
    merge_singleton : bool, default=False
        Fold a last batch of one sample into the batch before it: batch normalization cannot
        train on a single sample.
    """

    def __init__(self, dataset, batch_size, shuffle=False, merge_singleton=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.merge_singleton = merge_singleton

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if self.merge_singleton and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n], strict=True))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        tensors = tuple(self.dataset)
        device = tensors[0].device
        if self.shuffle:
            order = torch.randperm(len(self.dataset), device=device)
        for start, stop in self._bounds():
            if self.shuffle:
                rows = order[start:stop]
                yield Batch(*(None if t is None else t.index_select(0, rows) for t in tensors))
            else:
                yield Batch(*(None if t is None else t[start:stop] for t in tensors))
