"""The thread policy of :mod:`skreg.utils._threads` applied to the neural estimators' calls.

``fit`` / ``partial_fit`` (through ``_fit``) and every prediction (through ``_predict_batches``) run
under :func:`~skreg.utils._threads.torch_threads`, with the work of one batch estimated from the
hyperparameters and the shape of X: no module is built for it.
"""

import functools
import numbers

import numpy as np

from skreg.utils._sklearn_private import _num_features, _num_samples
from skreg.utils._threads import torch_threads


def _image_shape(estimator, n_features):
    shape = tuple(int(s) for s in np.asarray(estimator.image_shape).ravel())
    return shape if len(shape) == 3 else (1, *shape)


def flops_per_sample(estimator, n_features, n_outputs=1):
    """Forward multiply-adds for one sample: ``sum(in * out)`` of the dense layers, plus the
    convolutions' ``positions * in_channels * out_channels * 9`` for ``architecture="cnn"``.

    A custom ``module=`` counts its parameters (a dense layer's multiply-adds per sample, plus
    its biases): the trained module once fitted, else the instance given; a module class not
    built yet counts 0, which trains on one thread.
    """
    if getattr(estimator, "module", None) is not None:
        net = getattr(estimator, "net_", None)
        module = net.module_ if net is not None else estimator.module
        if isinstance(module, type):
            return 0
        return sum(p.numel() for p in module.parameters())
    sizes = estimator.hidden_layer_sizes
    sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
    flops, width = 0, n_features
    if estimator.architecture == "cnn" and estimator.image_shape is not None:
        channels, height, width_px = _image_shape(estimator, n_features)
        conv_channels = estimator.conv_channels
        if isinstance(conv_channels, numbers.Integral):
            conv_channels = [conv_channels]
        for out_channels in conv_channels:
            flops += height * width_px * channels * int(out_channels) * 9
            channels = int(out_channels)
            if height >= 2 and width_px >= 2:
                height, width_px = height // 2, width_px // 2
        width = channels * height * width_px
    for size in [*sizes, n_outputs]:
        flops += width * int(size)
        width = int(size)
    if estimator.vq_codes is not None and sizes:
        flops += int(estimator.vq_codes) * int(sizes[-1])
    return flops


def _n_outputs(estimator):
    if hasattr(estimator, "classes_"):
        return len(estimator.classes_)
    return getattr(estimator, "n_outputs_", 1)


def thread_policy(*, eval_batch_size=None):
    """Decorate ``method(self, X, ...)`` to run under the estimator's torch thread count.

    The work is counted per training batch, or, given ``eval_batch_size``, per batch of a
    prediction (``max(batch_size, eval_batch_size)`` rows).
    """
    training = eval_batch_size is None

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            try:
                n_samples = _num_samples(X)
                n_features = (_num_features(X) if training or not hasattr(self, "n_features_in_")
                              else self.n_features_in_)
                batch = (self._batch_size(n_samples) if training
                         else min(n_samples, max(self._batch_size(n_samples), eval_batch_size)))
                flops = batch * flops_per_sample(self, n_features, _n_outputs(self))
            except (TypeError, ValueError, AttributeError):
                flops = 0  # bad input: one thread while validation finds out and says why
            with torch_threads(flops, getattr(self, "n_threads", None)):
                return method(self, X, *args, **kwargs)

        return wrapper

    return decorate
