"""From hyperparameters to the net's pieces: the ``_build_*`` methods of the neural estimators.

``fit`` turns hyperparameters into the pieces of :class:`~skreg.neural._net.RegularizedNet`
through the ``_build_*`` methods below, one per extension point: ``_build_module``
(architecture), ``_build_criterion``, ``_build_batch_transforms``, ``_build_penalties``,
``_build_adversary`` and ``_build_callbacks`` (per-epoch metrics); ``_build_net`` assembles
them into the skorch net. A new regularizer adds a hyperparameter (in
:mod:`skreg.neural._base`) and returns its piece from one of them. The checks and the values
those pieces are built from (hidden layer sizes, device, batch size) are here too.
"""

import numbers

import numpy as np
import torch
from sklearn.base import is_classifier
from skorch.helper import predefined_split

from skreg.neural._adversarial import TrainingAdversary
from skreg.neural._architectures import build_module
from skreg.neural._augmentation import build_augmentation
from skreg.neural._bottleneck import VQBottleneck, VQPenalty, VQUsage
from skreg.neural._callbacks import (
    DivergenceGuard,
    EarlyStopping,
    EpochProgressBar,
    learning_rate_scheduler,
)
from skreg.neural._data import BatchIterator
from skreg.neural._extensions import custom_module, module_output_check, user_callbacks
from skreg.neural._net import L1Penalty, RegularizedNet

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}

# Predictions and validation losses need no gradients, so they can use larger batches.
_EVAL_BATCH_SIZE = 4096
# batch_size="auto": scikit-learn's MLP default, min(200, n_samples).
AUTO_BATCH_SIZE = 200


def _stopping_last(callbacks):
    # Early stopping ends an epoch by raising from on_epoch_end: run it after every other
    # callback, so that metrics and the progress bar see the last epoch too.
    return sorted(
        callbacks, key=lambda named: isinstance(named, tuple) and named[0] == "early_stopping"
    )


class _NetBuilderMixin:
    """The ``_build_*`` methods of ``_BaseRegularizedNet`` (one piece of the net each) and the
    checked options they are built from."""

    # ---- options the pieces are built from --------------------------------------------

    def _check_options(self):
        self._hidden_layer_sizes()
        if self.vq_ema and self.vq_codes is None:
            raise ValueError(
                "vq_ema=True chooses how a VQ bottleneck's codebook learns, but there is no "
                "bottleneck: set vq_codes to the number of codes (or vq_ema=False)."
            )

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got {self.hidden_layer_sizes}."
            )
        return [int(s) for s in sizes]

    def _resolve_device(self):
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto', got {self.device!r}."
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available; use "
                "device='cpu' or device='auto'."
            )
        return device

    def _batch_size(self, n_train):
        return min(AUTO_BATCH_SIZE if self.batch_size == "auto" else self.batch_size, n_train)

    # ---- pieces of the net, one per extension point -------------------------------------

    def _build_module(self, n_features, n_outputs):
        """Return the ``torch.nn.Module`` mapping a batch of X to logits / outputs."""
        if self.module is not None or self._module_params():
            return custom_module(self, n_features, n_outputs)
        image_shape = self.image_shape
        if image_shape is not None:
            image_shape = tuple(np.asarray(image_shape).tolist())
        conv_channels = self.conv_channels
        if isinstance(conv_channels, numbers.Integral):
            conv_channels = (conv_channels,)
        module = build_module(
            self.architecture, n_features=n_features, n_outputs=n_outputs,
            hidden_layer_sizes=self._hidden_layer_sizes(), activation=self.activation,
            dropout=self.dropout, batch_norm=self.batch_norm,
            share_hidden_layers=self.share_hidden_layers, image_shape=image_shape,
            conv_channels=tuple(np.asarray(conv_channels).tolist()),
        )
        if self.vq_codes is not None:
            if self.architecture == "mlp" and not self._hidden_layer_sizes():
                raise ValueError("vq_codes needs at least one hidden layer to quantize.")
            module = VQBottleneck(
                module, self.vq_codes, commitment_cost=self.vq_commitment, ema=self.vq_ema,
                dead_code_threshold=1 if self.vq_reseed else 0,
            )
        return module

    def _build_criterion(self):
        """Return a criterion with ``reduction="none"`` (one loss per sample)."""
        raise NotImplementedError

    def _mixup_classes(self):
        """Number of classes mixup one-hot encodes class-index targets into (None: regression)."""
        return None

    def _build_batch_transforms(self):
        """Return the training-only ``transform(X, y, generator) -> (X, y)``, applied in order."""
        image_shape = self.image_shape
        if image_shape is not None:
            image_shape = tuple(np.asarray(image_shape).tolist())
        augmentation = build_augmentation(
            noise_std=self.noise_std, mixup_alpha=self.mixup_alpha, image_shape=image_shape,
            augment_shift=self.augment_shift, augment_rotation=self.augment_rotation,
            augment_flip=self.augment_flip, n_classes=self._mixup_classes(),
        )
        return [] if augmentation is None else [augmentation]

    def _build_penalties(self):
        """Return the ``penalty(net) -> scalar tensor`` terms added to the training loss."""
        penalties = [L1Penalty(self.l1)] if self.l1 > 0 else []
        if self.vq_codes is not None or self.module is not None:  # a VQLayer of the user's
            penalties.append(VQPenalty())
        return penalties

    def _build_adversary(self):
        """Return ``(adversary(net, batch) -> batch, weight)`` or ``(None, 0.0)``."""
        if self.adversarial is None:
            return None, 0.0
        adversary = TrainingAdversary(
            self.adversarial, self.adversarial_eps, self.adversarial_steps,
            self.adversarial_step_size,
        )
        return adversary, self.adversarial_weight

    def _build_callbacks(self, validation):
        """Return the named skorch callbacks (per-epoch metrics, stopping, progress)."""
        callbacks = [("divergence_guard", DivergenceGuard())]
        keys = ["train_loss"]
        if self.vq_codes is not None or self.module is not None:
            # The same pieces for the built-in bottleneck and any VQLayer of a custom module:
            # its losses join the training loss and its perplexity is recorded.
            callbacks.append(("vq_usage", VQUsage()))
            keys.append("vq_perplexity")
        if validation:
            callbacks.append(("validation_score", self._validation_score()))
            callbacks.append(
                ("early_stopping",
                 EarlyStopping(patience=self.n_iter_no_change, threshold=self.tol))
            )
            keys += ["valid_loss", self._validation_score().name]
        callbacks += user_callbacks(self.callbacks)
        if self.verbose:
            callbacks.append(("progress_bar", EpochProgressBar(keys=tuple(keys))))
        return callbacks

    def _build_net(self, module, device, *, epochs, batch_size, valid, n_train, incremental):
        adversary, adversarial_weight = self._build_adversary()
        callbacks = self._build_callbacks(validation=valid is not None)
        if self.learning_rate_schedule != "constant" and not incremental:
            # The schedule spans this fit's optimizer steps (partial_fit keeps the rate fixed).
            n_steps = epochs * len(BatchIterator(range(n_train), batch_size, merge_singleton=True))
            # Last: it steps the rate after each batch, so the other callbacks' on_batch_end
            # still sees the rate the batch was trained with.
            callbacks.append(
                ("lr_schedule", learning_rate_scheduler(self.learning_rate_schedule, n_steps))
            )
        optimizer_params = {"optimizer__weight_decay": self.weight_decay, "optimizer__fused": True}
        if self.optimizer == "sgd":
            optimizer_params["optimizer__momentum"] = self.momentum
        return RegularizedNet(
            module=module.to(device),
            criterion=self._build_criterion(),
            optimizer=OPTIMIZERS[self.optimizer],
            lr=self.learning_rate_init,
            max_epochs=epochs,
            batch_size=batch_size,
            iterator_train__shuffle=True,
            iterator_train__merge_singleton=True,
            iterator_valid__batch_size=max(batch_size, _EVAL_BATCH_SIZE),
            train_split=None if valid is None else predefined_split(valid),
            callbacks=_stopping_last(callbacks),
            verbose=int(self.verbose >= 2),
            device=str(device),
            # The estimators pickle weights as numpy arrays (see __getstate__); should torch
            # ever load here (skorch's own pickling of the bare net), it loads tensors only.
            torch_load_kwargs={"weights_only": True},
            batch_transforms=self._build_batch_transforms(),
            penalties=self._build_penalties(),
            adversary=adversary,
            adversarial_weight=adversarial_weight,
            output_check=None if self.module is None else module_output_check(
                module, self._n_outputs(), is_classifier(self)
            ),
            **optimizer_params,
        )
