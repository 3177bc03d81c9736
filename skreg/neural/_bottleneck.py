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

    Its VQ layer's losses and code usage are collected like those of any
    :class:`~skreg.nn.VQLayer` in a user's module (:class:`VQLayerTracker`).

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

    @property
    def output(self):
        """The output layer (``nn.Linear``)."""
        return self.head[-1]

    def forward(self, X):
        quantized, _, _ = self.vq(self.features(X))
        return self.head(quantized)


def vq_layers(module):
    """``[(name, layer)]`` of the :class:`~skreg.nn.VQLayer` s inside ``module``."""
    return [(name, layer) for name, layer in module.named_modules()
            if isinstance(layer, VQLayer)]


class VQLayerTracker:
    """The losses and code counts of every VQ layer of a module, per training step.

    A :class:`~skreg.nn.VQLayer` returns its codebook + commitment loss from ``forward``,
    where a user's module (or :class:`VQBottleneck`) drops it, since the module returns only
    its outputs. Forward hooks, attached for one training call, keep the loss and the code
    counts of each training-mode pass instead: a step may run several (clean and adversarial
    batches). The losses hold graphs, so they must not outlive the step
    (:meth:`pop_step_loss` clears them).
    """

    def __init__(self, module):
        self.layers = vq_layers(module)
        self._losses = {name: [] for name, _ in self.layers}
        self._counts = dict.fromkeys(self._losses)
        self._handles = [layer.register_forward_hook(self._hook(name))
                         for name, layer in self.layers]

    def _hook(self, name):
        def record(layer, inputs, outputs):
            if not layer.training:
                return
            self._losses[name].append(outputs[1])
            counts = layer.last_counts
            if counts is not None:
                total = self._counts[name]
                self._counts[name] = counts.clone() if total is None else total + counts
        return record

    def detach(self):
        """Remove the hooks: the module is left as it was."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def pop_step_loss(self):
        """Sum over the layers of the mean VQ loss of their training passes since the last
        call (a layer's mean over clean and adversarial passes); 0 if none."""
        terms = [torch.stack(losses).mean() for losses in self._losses.values() if losses]
        self._losses = {name: [] for name in self._losses}
        return torch.stack(terms).sum() if terms else torch.zeros(())

    def pop_step_counts(self):
        """``{layer name: code counts or None}`` of the training passes since the last call."""
        counts, self._counts = self._counts, dict.fromkeys(self._counts)
        return counts


class VQPenalty:
    """The VQ layers' codebook + commitment losses, each averaged over the step's passes."""

    def __call__(self, net):
        tracker = getattr(net, "vq_tracker_", None)
        return 0.0 if tracker is None else tracker.pop_step_loss()


class VQUsage(Callback):
    """Track the module's VQ layers during training; record their code usage in ``history``.

    ``vq_perplexity`` is ``exp(-sum p_k log p_k)`` over the share ``p_k`` of the training
    vectors assigned to code ``k`` during the epoch (with adversarial training, the clean and
    the attacked vectors) (``n_codes`` when all are used equally);
    ``vq_codes_used`` is the number of codes assigned at least one vector. Before the codebook
    is initialized from data (the first batches) nothing is assigned and both are 0. A module
    with several VQ layers gets both per layer, suffixed with the layer's name
    (``vq_perplexity_encoder_vq``); one without VQ layers records nothing.
    """

    def on_train_begin(self, net, **kwargs):
        self.close()
        tracker = VQLayerTracker(net.module_)
        if tracker.layers:  # the penalty (VQPenalty) pops the losses from the net's tracker
            self.net_, net.vq_tracker_ = net, tracker
        several = len(tracker.layers) > 1
        self.keys_ = {name: "_" + name.replace(".", "_") if several else ""
                      for name, _ in tracker.layers}

    def on_epoch_begin(self, net, **kwargs):
        self.counts_ = dict.fromkeys(self.keys_)

    def on_batch_end(self, net, training=False, **kwargs):
        tracker = getattr(net, "vq_tracker_", None)
        if not training or tracker is None:
            return
        for name, counts in tracker.pop_step_counts().items():
            if counts is not None:
                total = self.counts_[name]
                self.counts_[name] = counts.clone() if total is None else total + counts

    def on_epoch_end(self, net, **kwargs):
        for name, suffix in self.keys_.items():
            counts = self.counts_[name]
            perplexity, used = 0.0, 0
            if counts is not None and int(counts.sum()) > 0:
                p = counts.double() / counts.sum()
                perplexity = math.exp(-float(torch.special.xlogy(p, p).sum()))
                used = int((counts > 0).sum())
            net.history.record("vq_perplexity" + suffix, perplexity)
            net.history.record("vq_codes_used" + suffix, used)
        self.counts_ = dict.fromkeys(self.keys_)

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Remove the hooks and the tracker (the fit's ``finally`` calls it too): between
        training calls the module and the net hold nothing of them (they pickle as they
        were)."""
        net = self.__dict__.pop("net_", None)
        if net is not None:
            net.__dict__.pop("vq_tracker_").detach()
