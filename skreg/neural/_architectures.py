"""Network modules with weight sharing: a CNN for flattened images and an MLP with tied layers.

The MLP lives in :mod:`skreg.neural._modules` and is re-exported here. Both split into
``features`` (input to the last hidden layer's activations) and ``head`` (dropout then the
output layer), so that a bottleneck such as :class:`skreg.nn.VQLayer` can be placed between
them.
"""

import math

from torch import nn

from skreg.neural._modules import (
    MLP,
    Dropout,
    check_activation,
    check_dropout,
    check_positive_ints,
    dense_block,
)

__all__ = ["MLP", "ImageCNN", "build_module", "count_parameters"]


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
        Batch normalization before each activation (the layer before it then has no bias).
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
        shape = check_positive_ints("image_shape", image_shape, allow_empty=False)
        if len(shape) not in (2, 3):
            raise ValueError(f"image_shape must have 2 or 3 entries, got {image_shape!r}.")
        self.image_shape = (1, *shape) if len(shape) == 2 else shape
        channels = check_positive_ints("conv_channels", conv_channels, allow_empty=True)
        sizes = check_positive_ints("hidden_layer_sizes", hidden_layer_sizes, allow_empty=True)
        (kernel_size,) = check_positive_ints("kernel_size", (kernel_size,), allow_empty=False)
        dropout = check_dropout(dropout)
        activation_class = check_activation(activation)

        n_in, height, width = self.image_shape
        layers = [nn.Unflatten(1, self.image_shape)]
        for n_out in channels:
            layers.append(
                nn.Conv2d(n_in, n_out, kernel_size, padding="same", bias=not batch_norm)
            )
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
                layers.append(Dropout(dropout))
            layers.append(dense_block(n_in, n_units, activation, batch_norm))
            n_in = n_units
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(n_in, n_outputs))
        self.n_features_in = math.prod(self.image_shape)

    @property
    def output(self):
        """The output layer (``nn.Linear``)."""
        return self.head[-1]

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
