"""PyTorch modules built from the estimators' hyperparameters: the MLP and its dropout."""

import numbers

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


def check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
    return ACTIVATIONS[activation]


def dense_block(n_in, n_out, activation, batch_norm):
    """``Linear -> [BatchNorm1d] -> activation``; with the norm the linear layer has no bias
    (the normalization's shift replaces it)."""
    layers = [nn.Linear(n_in, n_out, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(check_activation(activation)())
    return nn.Sequential(*layers)


class MLP(nn.Module):
    """Fully connected network, optionally with one weight matrix shared by the hidden layers.

    The network is split into ``features`` (input to the last hidden layer's activations, with
    dropout between hidden blocks) and ``head`` (dropout, then the linear ``output`` layer), so
    that a bottleneck such as :class:`skreg.nn.VQLayer` can sit between them and see the
    hidden activations before dropout.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of outputs (logits for a classifier).
    hidden_layer_sizes : sequence of int, default=(100,)
        Units of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    dropout : float in [0, 1), default=0.0
        Probability of zeroing each hidden unit during training, after every hidden layer.
    batch_norm : bool, default=False
        Batch normalization before each hidden activation (the linear layer before it then
        has no bias).
    share_hidden_layers : bool, default=False
        All hidden layers after the first use one weight matrix (each keeps its own bias and
        batch norm), which needs all hidden layers after the first of the same size. With L
        hidden layers of h units this saves (L - 2)·h² parameters.
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        share_hidden_layers=False,
    ):
        super().__init__()
        sizes = check_positive_ints("hidden_layer_sizes", hidden_layer_sizes, allow_empty=True)
        dropout = check_dropout(dropout)
        if share_hidden_layers and len(set(sizes)) > 1:
            raise ValueError(
                "share_hidden_layers=True needs all hidden layers of the same size, got "
                f"hidden_layer_sizes={hidden_layer_sizes!r}."
            )
        blocks = []
        n_in = n_features
        for n_units in sizes:
            if blocks and dropout:
                blocks.append(Dropout(dropout))
            blocks.append(dense_block(n_in, n_units, activation, batch_norm))
            n_in = n_units
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(n_in, n_outputs))
        self.hidden_layers = [b[0] for b in blocks if isinstance(b, nn.Sequential)]
        if share_hidden_layers:
            for layer in self.hidden_layers[2:]:
                # Tying, as for tied embeddings: every later layer holds the same Parameter.
                layer.weight = self.hidden_layers[1].weight

    @property
    def output(self):
        """The output layer (``nn.Linear``)."""
        return self.head[-1]

    def forward(self, X):
        return self.head(self.features(X))


def check_positive_ints(name, values, *, allow_empty):
    """``values`` as a tuple of positive ints; a clear ValueError naming ``name`` otherwise."""
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        values = (values,)
    ok = isinstance(values, (tuple, list)) and (allow_empty or len(values) > 0)
    ok = ok and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in values
    )
    if not ok:
        raise ValueError(f"{name} must be a tuple of positive integers, got {values!r}.")
    return tuple(int(v) for v in values)


def check_dropout(dropout):
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    return float(dropout)


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
