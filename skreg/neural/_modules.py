"""PyTorch modules built from the estimators' hyperparameters: the MLP and its dropout."""

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}

# Dropout on the CPU draws its keep mask from 16-bit slices of 64-bit random words: one generator
# call per four units instead of one per unit, which is where torch's bernoulli_ spends its time
# (about a fifth of an MLP training step). The drop probability is therefore rounded to a
# multiple of 2**-16; the kept units are scaled by the exact inverse of the rounded keep rate,
# so the layer stays unbiased.
_MASK_LEVELS = 1 << 16


class Dropout(nn.Module):
    """Inverted dropout: zero each unit with probability ``p`` in training, scale the rest.

    Same contract as :class:`torch.nn.Dropout`, with a cheaper mask on the CPU (see above).
    On other devices it calls :func:`torch.nn.functional.dropout`.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}.")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        n_dropped_levels = round(self.p * _MASK_LEVELS)
        if n_dropped_levels == 0:
            return x
        n_words = -(-x.numel() // 4)
        words = torch.randint(-(2**63), 2**63 - 1, (n_words,), dtype=torch.int64)
        levels = words.view(torch.int16)[: x.numel()].view(x.shape)
        # int16 levels are uniform on [-2**15, 2**15); keep the top (2**16 - n_dropped) of them.
        keep = levels >= n_dropped_levels - _MASK_LEVELS // 2
        scale = _MASK_LEVELS / (_MASK_LEVELS - n_dropped_levels)
        return x * keep.to(x.dtype).mul_(scale)

    def extra_repr(self):
        return f"p={self.p}"


class MLP(nn.Module):
    """Fully connected network: ``hidden`` blocks, then a linear ``output`` layer (logits).

    Each hidden block is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``. The two parts
    are separate attributes so that a layer can be inserted between them (a bottleneck) and
    the hidden features read on their own.

    Parameters
    ----------
    n_features : int
    hidden_layer_sizes : sequence of int
    n_outputs : int
    activation : {"identity", "logistic", "tanh", "relu"}
    dropout : float in [0, 1)
        Drop probability of each hidden unit in training.
    batch_norm : bool
        Normalize each hidden pre-activation over the mini-batch. The linear layer before it
        then has no bias (the normalization's shift replaces it).
    """

    def __init__(
        self, n_features, hidden_layer_sizes, n_outputs, *, activation="relu", dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        blocks = []
        width_in = n_features
        for width in hidden_layer_sizes:
            layers = [nn.Linear(width_in, width, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(Dropout(dropout))
            blocks.append(nn.Sequential(*layers))
            width_in = width
        self.hidden = nn.Sequential(*blocks)
        self.output = nn.Linear(width_in, n_outputs)

    def forward(self, X):
        return self.output(self.hidden(X))


def penalized_parameters(module):
    """Return the weight matrices / kernels of ``module``'s linear and convolution layers.

    These are what ``weight_decay`` and ``l1`` act on; biases, normalization scales and shifts
    (and any other parameter, e.g. a codebook) are left alone. A parameter shared by several
    layers is returned once.
    """
    penalized, seen = [], set()
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.modules.conv._ConvNd):
            if id(layer.weight) not in seen:
                seen.add(id(layer.weight))
                penalized.append(layer.weight)
    return penalized
