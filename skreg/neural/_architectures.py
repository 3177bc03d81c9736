"""Network modules with weight sharing: a CNN for flattened images and an MLP with tied layers.

Both split into ``features`` (input to the last hidden layer's activations) and ``head`` (dropout
then the output layer), so that a bottleneck such as :class:`skreg.nn.VQLayer` can be placed
between them.
"""

import math
import numbers

from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}


def _check_activation(activation):
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}.")
    return _ACTIVATIONS[activation]


def _check_positive_ints(name, values, *, allow_empty):
    ok = isinstance(values, (tuple, list)) and (allow_empty or len(values) > 0)
    ok = ok and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in values
    )
    if not ok:
        raise ValueError(f"{name} must be a tuple of positive integers, got {values!r}.")
    return tuple(int(v) for v in values)


def _check_dropout(dropout):
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    return float(dropout)


def count_parameters(module):
    """Number of free (trainable) parameters of ``module``, each shared tensor counted once.

    Buffers such as batch-norm running statistics or an EMA codebook are not counted: they are
    not fitted by gradient.

    Examples
    --------
    >>> from skreg.neural._architectures import MLP, count_parameters
    >>> count_parameters(MLP(10, 3, hidden_layer_sizes=(5, 5, 5)))
    133
    >>> count_parameters(MLP(10, 3, hidden_layer_sizes=(5, 5, 5), share_hidden_layers=True))
    108
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _dense_block(n_in, n_out, activation, batch_norm):
    layers = [nn.Linear(n_in, n_out)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(_check_activation(activation)())
    return nn.Sequential(*layers)


class MLP(nn.Module):
    """Fully connected network, optionally with one weight matrix shared by the hidden layers.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of outputs (logits for a classifier).
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    dropout : float, default=0.0
        Probability of zeroing each hidden unit during training, after every hidden layer.
    batch_norm : bool, default=False
        Batch normalization before each hidden activation.
    share_hidden_layers : bool, default=False
        All hidden layers after the first use one weight matrix (each keeps its own bias and
        batch norm), which needs all hidden layers of the same size. With L hidden layers of
        h units this saves (L − 2)·h² parameters.
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
        sizes = _check_positive_ints("hidden_layer_sizes", hidden_layer_sizes, allow_empty=True)
        dropout = _check_dropout(dropout)
        if share_hidden_layers and len(set(sizes)) > 1:
            raise ValueError(
                "share_hidden_layers=True needs all hidden layers of the same size, got "
                f"hidden_layer_sizes={hidden_layer_sizes!r}."
            )
        blocks = []
        n_in = n_features
        for n_units in sizes:
            if blocks and dropout:
                blocks.append(nn.Dropout(dropout))
            blocks.append(_dense_block(n_in, n_units, activation, batch_norm))
            n_in = n_units
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_outputs))
        self.hidden_layers = [b[0] for b in blocks if isinstance(b, nn.Sequential)]
        if share_hidden_layers:
            for layer in self.hidden_layers[2:]:
                # Tying, as for tied embeddings: every later layer holds the same Parameter.
                layer.weight = self.hidden_layers[1].weight

    def forward(self, X):
        return self.head(self.features(X))


class ImageCNN(nn.Module):
    """Convolutional network for flattened images: kernels shared across positions.

    Each convolution block is ``Conv2d`` (same padding) → optional ``BatchNorm2d`` →
    activation → 2×2 max pooling (while the image is at least 2×2), followed by fully
    connected hidden layers and the output layer.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` or ``(channels, height, width)``; rows of the input are images
        flattened in C order.
    n_outputs : int
        Number of outputs (logits for a classifier).
    conv_channels : tuple of int, default=(32, 64)
        Output channels of each convolution block.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    hidden_layer_sizes : tuple of int, default=(256,)
        Units of the fully connected hidden layers after the convolutions.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    dropout : float, default=0.0
        Dropout probability on the flattened convolution features and after each fully
        connected hidden layer.
    batch_norm : bool, default=False
        Batch normalization before each activation.
    """

    def __init__(
        self,
        image_shape,
        n_outputs,
        *,
        conv_channels=(32, 64),
        kernel_size=3,
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        shape = _check_positive_ints("image_shape", image_shape, allow_empty=False)
        if len(shape) not in (2, 3):
            raise ValueError(f"image_shape must have 2 or 3 entries, got {image_shape!r}.")
        self.image_shape = (1, *shape) if len(shape) == 2 else shape
        channels = _check_positive_ints("conv_channels", conv_channels, allow_empty=True)
        sizes = _check_positive_ints("hidden_layer_sizes", hidden_layer_sizes, allow_empty=True)
        (kernel_size,) = _check_positive_ints("kernel_size", (kernel_size,), allow_empty=False)
        dropout = _check_dropout(dropout)
        activation_class = _check_activation(activation)

        n_in, height, width = self.image_shape
        layers = [nn.Unflatten(1, self.image_shape)]
        for n_out in channels:
            layers.append(nn.Conv2d(n_in, n_out, kernel_size, padding="same"))
            if batch_norm:
                layers.append(nn.BatchNorm2d(n_out))
            layers.append(activation_class())
            if min(height, width) >= 2:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            n_in = n_out
        layers.append(nn.Flatten())
        n_in = n_in * height * width
        for n_units in sizes:
            if dropout:
                layers.append(nn.Dropout(dropout))
            layers.append(_dense_block(n_in, n_units, activation, batch_norm))
            n_in = n_units
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_outputs))
        self.n_features_in = math.prod(self.image_shape)

    def forward(self, X):
        return self.head(self.features(X))


def build_module(
    architecture="mlp",
    *,
    n_features,
    n_outputs,
    hidden_layer_sizes=(100,),
    activation="relu",
    dropout=0.0,
    batch_norm=False,
    share_hidden_layers=False,
    image_shape=None,
    conv_channels=(32, 64),
    kernel_size=3,
):
    """The network for the estimators' hyperparameters: an :class:`MLP` or an :class:`ImageCNN`.

    For ``architecture="cnn"``, ``image_shape`` is required, must hold ``n_features`` pixels,
    and ``hidden_layer_sizes`` gives the fully connected layers after the convolutions.

    Examples
    --------
    >>> import torch
    >>> from skreg.neural._architectures import build_module
    >>> net = build_module("cnn", n_features=64, n_outputs=10, image_shape=(8, 8))
    >>> tuple(net(torch.zeros(5, 64)).shape)
    (5, 10)
    """
    if architecture == "mlp":
        return MLP(
            n_features,
            n_outputs,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
            share_hidden_layers=share_hidden_layers,
        )
    if architecture != "cnn":
        raise ValueError(f'architecture must be "mlp" or "cnn", got {architecture!r}.')
    if image_shape is None:
        raise ValueError('architecture="cnn" needs image_shape=(height, width) or (c, h, w).')
    if share_hidden_layers:
        raise ValueError('share_hidden_layers applies to architecture="mlp" only.')
    cnn = ImageCNN(
        image_shape,
        n_outputs,
        conv_channels=conv_channels,
        kernel_size=kernel_size,
        hidden_layer_sizes=hidden_layer_sizes,
        activation=activation,
        dropout=dropout,
        batch_norm=batch_norm,
    )
    if cnn.n_features_in != n_features:
        raise ValueError(
            f"image_shape {tuple(image_shape)} has {cnn.n_features_in} pixels but X has "
            f"{n_features} features."
        )
    return cnn
