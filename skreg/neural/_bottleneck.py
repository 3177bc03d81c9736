"""The VQ bottleneck of the estimators: a :class:`~skreg.nn.VQLayer` between a network's hidden
features and its head, its loss as a penalty, and its per-epoch code usage in ``history``.

Three small pieces, wired by ``_BaseRegularizedNet`` when ``vq_codes`` is set:

- :class:`VQBottleneck` wraps a module split into ``features`` and ``head`` (the MLP and the
  CNN both are) and quantizes the last hidden activations;
- :class:`VQPenalty` adds the layer's codebook + commitment loss of the training step's
  forward passes (clean and, with adversarial training, attacked batches) to the training loss;
- :class:`VQUsage` records ``vq_perplexity`` and ``vq_codes_used`` over the training vectors
  of each epoch (of every training forward pass).
"""

import math

import torch
from skorch.callbacks import Callback
from torch import nn

from skreg.nn import VQLayer

# Learning-rate multiplier of codebooks learned by gradient (``vq_ema=False``). Adam moves each
# parameter by about ``lr`` per step, and a code only moves on the steps that select it, so at
# the network's rate the codes lag behind the features they quantize: on digits (MLP (128,),
# 64 codes, Adam 1e-3) accuracy was 1.2 points below the same net without bottleneck, and
# without re-seeding only 24-32 codes stayed in use. At 3x to 30x the rate the gap is within
# 0.1-0.3 points; 10x is the middle of that range.
CODEBOOK_LR_FACTOR = 10.0


def gradient_codebooks(module):
    """The codebooks of ``module``'s VQ layers that are learned by gradient (not by EMA)."""
    return [layer.codebook for layer in module.modules()
            if isinstance(layer, VQLayer) and not layer.ema]


class VQBottleneck(nn.Module):
    """``head(quantize(features(X)))``: a VQ layer after the last hidden layer of ``network``.

    Parameters
    ----------
    network : torch.nn.Module
        A module with ``features`` (input to the last hidden activations) and ``head``
        (dropout and the output layer) whose first linear layer gives the code size.
    n_codes : int
        Codebook size.
    **vq_params
        Passed to :class:`~skreg.nn.VQLayer` (``commitment_cost``, ``ema``, ...).
    """

    def __init__(self, network, n_codes, **vq_params):
        super().__init__()
        self.features = network.features
        self.head = network.head
        code_dim = self.output.in_features
        self.vq = VQLayer(n_codes, code_dim, **vq_params)
        self._step_losses = []
        self._step_counts = None

    @property
    def output(self):
        """The output layer (``nn.Linear``)."""
        return self.head[-1]

    def forward(self, X):
        quantized, loss, _ = self.vq(self.features(X))
        if self.training:
            # A training step may run several forward passes (clean and adversarial batches):
            # their losses and code counts are kept until the step reads them. The losses hold
            # graphs, so they must not outlive the step (VQPenalty clears them).
            self._step_losses.append(loss)
            counts = self.vq.last_counts
            if counts is not None:
                self._step_counts = (
                    counts.clone() if self._step_counts is None else self._step_counts + counts
                )
        return self.head(quantized)

    def pop_step_loss(self):
        """Mean VQ loss of the training forward passes since the last call (0 if none)."""
        losses, self._step_losses = self._step_losses, []
        if not losses:
            return self.output.weight.new_zeros(())
        return torch.stack(losses).mean()

    def pop_step_counts(self):
        """Code counts of the training forward passes since the last call, or None."""
        counts, self._step_counts = self._step_counts, None
        return counts


class VQPenalty:
    """The VQ layer's codebook + commitment loss, averaged over the step's training passes."""

    def __call__(self, net):
        return net.module_.pop_step_loss()


class VQUsage(Callback):
    """Record the code usage of each epoch's training batches in ``history``.

    ``vq_perplexity`` is ``exp(-sum p_k log p_k)`` over the share ``p_k`` of the training
    vectors assigned to code ``k`` during the epoch (with adversarial training, the clean and
    the attacked vectors) (``n_codes`` when all are used equally);
    ``vq_codes_used`` is the number of codes assigned at least one vector. Before the codebook
    is initialized from data (the first batches) nothing is assigned and both are 0.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.counts_ = None

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        counts = net.module_.pop_step_counts()
        if counts is not None:
            self.counts_ = counts.clone() if self.counts_ is None else self.counts_ + counts

    def on_epoch_end(self, net, **kwargs):
        perplexity, used = 0.0, 0
        if self.counts_ is not None and int(self.counts_.sum()) > 0:
            p = self.counts_.double() / self.counts_.sum()
            perplexity = math.exp(-float(torch.special.xlogy(p, p).sum()))
            used = int((self.counts_ > 0).sum())
        net.history.record("vq_perplexity", perplexity)
        net.history.record("vq_codes_used", used)
        self.counts_ = None
