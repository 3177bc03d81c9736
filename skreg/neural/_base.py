"""Shared base of the neural estimators: hyperparameters, validation, seeding, transactional fit.

``_BaseRegularizedNet`` holds the hyperparameters common to the classifier and the regressor,
validates the data, derives the seeds and the sample weights, runs ``fit`` / ``partial_fit``
on a scratch copy whose attributes ``self`` takes over only once training succeeded, and
predicts batch by batch. The pieces of the net (module, criterion, batch transforms,
penalties, adversary, callbacks, the skorch net itself) and the checked options they are
built from come from the ``_build_*`` methods of :mod:`skreg.neural._building`, one per
extension point. A new regularizer adds a hyperparameter here and returns its piece from one
of them.

Users extend the nets without subclassing through the ``module`` and ``callbacks``
parameters, and follow training with scikit-learn's callbacks (``set_callbacks``): see
:mod:`skreg.neural._extensions`.
"""

import copy
import numbers
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.history import History

from skreg.neural._architectures import count_parameters
from skreg.neural._building import _EVAL_BATCH_SIZE, OPTIMIZERS, _NetBuilderMixin
from skreg.neural._data import TensorDataset, as_tensor
from skreg.neural._extensions import (
    ModuleParameters,
    add_epoch_tasks,
    begin_epoch_tasks,
    with_epoch_tasks,
)
from skreg.neural._persistence import PersistentNetMixin
from skreg.neural._state import (
    _LARGE_SCALE,
    _train,
    _train_in_place,
    check_scale,
    seeded_torch_rng,
)
from skreg.neural._threads import thread_policy
from skreg.utils._callbacks import CallbackSupportMixin
from skreg.utils._doc_link import DocLinkMixin
from skreg.utils._interrupts import replace_attributes, sigint_deferred
from skreg.utils._sklearn_private import Interval, StrOptions, _check_sample_weight, _fit_context


def _tensor_dataset(X, targets, weights, rows, device):
    """The ``rows`` of the float32 arrays as tensors on ``device``: one copy for the whole fit."""
    return TensorDataset(*(
        None if array is None else as_tensor(array[rows], device)
        for array in (X, targets, weights)
    ))


class _BaseRegularizedNet(
    _NetBuilderMixin, CallbackSupportMixin, ModuleParameters, PersistentNetMixin, DocLinkMixin,
    BaseEstimator,
):
    """Hyperparameters and ``fit`` machinery shared by the classifier and the regressor."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "architecture": [StrOptions({"mlp", "cnn"})],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like", Interval(Integral, 1, None, closed="left")],
        "share_hidden_layers": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "mixup_alpha": [Interval(Real, 0, None, closed="left")],
        "augment_shift": [Interval(Integral, 0, None, closed="left")],
        "augment_rotation": [Interval(Real, 0, 180, closed="both")],
        "augment_flip": ["boolean"],
        "adversarial": [StrOptions({"fgsm", "pgd"}), None],
        "adversarial_eps": [Interval(Real, 0, None, closed="left")],
        "adversarial_steps": [Interval(Integral, 1, None, closed="left")],
        "adversarial_step_size": [Interval(Real, 0, None, closed="neither"), None],
        "adversarial_weight": [Interval(Real, 0, 1, closed="right")],
        "vq_codes": [Interval(Integral, 1, None, closed="left"), None],
        "vq_commitment": [Interval(Real, 0, None, closed="left")],
        "vq_ema": ["boolean"],
        "vq_reseed": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine", "onecycle"})],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "module": [type, torch.nn.Module, None],
        "callbacks": [list, tuple, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        share_hidden_layers=False,
        dropout=0.0,
        batch_norm=False,
        weight_decay=0.0,
        l1=0.0,
        noise_std=0.0,
        mixup_alpha=0.0,
        augment_shift=0,
        augment_rotation=0.0,
        augment_flip=False,
        adversarial=None,
        adversarial_eps=0.1,
        adversarial_steps=3,
        adversarial_step_size=None,
        adversarial_weight=0.5,
        vq_codes=None,
        vq_commitment=0.25,
        vq_ema=False,
        vq_reseed=True,
        optimizer="adam",
        learning_rate_init=0.001,
        learning_rate_schedule="constant",
        momentum=0.9,
        batch_size="auto",
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
        module=None,
        callbacks=None,
        **module__params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.share_hidden_layers = share_hidden_layers
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.weight_decay = weight_decay
        self.l1 = l1
        self.noise_std = noise_std
        self.mixup_alpha = mixup_alpha
        self.augment_shift = augment_shift
        self.augment_rotation = augment_rotation
        self.augment_flip = augment_flip
        self.adversarial = adversarial
        self.adversarial_eps = adversarial_eps
        self.adversarial_steps = adversarial_steps
        self.adversarial_step_size = adversarial_step_size
        self.adversarial_weight = adversarial_weight
        self.vq_codes = vq_codes
        self.vq_commitment = vq_commitment
        self.vq_ema = vq_ema
        self.vq_reseed = vq_reseed
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.module = module
        self.callbacks = callbacks
        self._store_module_params(module__params)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _fitted_attributes(self, net):
        """What a copy of the estimator needs to predict with ``net`` (for sklearn callbacks):
        the state this (scratch) copy has fitted so far, and the net."""
        return {**vars(self), "net_": net, "device_": str(net.device)}

    # ---- fitting ----------------------------------------------------------------------

    def _seeds(self, n_iter_done):
        """Return (split seed, torch seed) for this call, without touching global RNGs."""
        if self.random_state is None:
            sequence = np.random.SeedSequence()  # fresh OS entropy
        elif isinstance(self.random_state, numbers.Integral):
            # Each partial_fit / warm-started call gets its own stream, reproducibly.
            sequence = np.random.SeedSequence([self.random_state, n_iter_done])
        else:
            sequence = np.random.SeedSequence(self.random_state.randint(np.iinfo(np.int32).max))
        split_seed, torch_seed = sequence.generate_state(2)
        return int(split_seed), int(torch_seed)

    def _normalized_sample_weight(self, X, y, sample_weight):
        """Per-sample weights (sample_weight times class weights) with mean one, or None."""
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        class_weights = self._class_sample_weight(y)
        if class_weights is not None:
            weights = class_weights if weights is None else weights * class_weights
        if weights is None:
            return None
        total = weights.sum()
        if not total > 0:
            raise ValueError("The sample weights (times the class weights) sum to zero.")
        return (weights * (len(weights) / total)).astype(np.float32)

    def _class_sample_weight(self, y):
        return None

    def _stratify(self, targets):
        return None

    def _scratch_copy(self):
        """A shallow copy of the estimator that a fit may change without touching ``self``."""
        scratch = object.__new__(type(self))
        scratch.__dict__.update(self.__dict__)
        return scratch

    # copy.copy (scikit-learn's callbacks build their fitted_estimator with it) is this
    # shallow copy too, not a round trip through __getstate__ / __setstate__.
    __copy__ = _scratch_copy

    def _commit(self, fitted):
        """Take over every attribute of ``fitted`` (a scratch copy) in one step."""
        replace_attributes(self, fitted.__dict__)

    @thread_policy()
    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
        # Transactional: validation and training work on a scratch copy (and, for partial_fit,
        # on a net whose state is restored on failure); ``self`` takes over its attributes
        # only once training succeeded, so a failing call leaves the previous model in place.
        # scikit-learn's callbacks (set_callbacks): the task begins on ``self``, whose
        # __dict__ holds its context until ``_fit_context`` tears the callbacks down on every
        # exit path (the scratch copy is made after, so a committed fit keeps it too), and
        # the hooks see the estimator the user holds.
        task, epoch_tasks = begin_epoch_tasks(
            self, X, y, sample_weight, 1 if incremental else self.max_iter,
            fitted_attributes=lambda net: fitted._fitted_attributes(net),
        )
        fitted = self._scratch_copy()
        undo = fitted._fit_scratch(
            X, y, sample_weight, incremental=incremental, classes=classes,
            on_interrupt=self._commit, epoch_tasks=epoch_tasks,
        )
        self._commit(fitted)
        try:
            task.end()  # a raising hook: task.end() puts the previous attributes back
        except BaseException:
            if undo is not None:  # partial_fit trained the previous net in place
                undo()
            raise
        return self

    def _fit_scratch(self, X, y, sample_weight, *, incremental, classes, on_interrupt,
                     epoch_tasks=None):
        continuing = hasattr(self, "net_") and (incremental or self.warm_start)
        self._check_options()  # fail on bad options before any work
        X, y = validate_data(self, X, y, reset=not continuing, dtype=np.float32,
                             **self._y_check_params)
        check_scale(X, "X")
        targets = self._prepare_targets(
            y, continuing=continuing, incremental=incremental, classes=classes
        )
        weights = self._normalized_sample_weight(X, y, sample_weight)
        device = self._resolve_device()
        split_seed, torch_seed = self._seeds(self.n_iter_ if continuing else 0)

        validation = self.early_stopping and not incremental
        if validation:
            train_rows, valid_rows = train_test_split(
                np.arange(X.shape[0]), test_size=self.validation_fraction,
                random_state=split_seed, stratify=self._stratify(targets),
            )
        else:
            train_rows, valid_rows = slice(None), None

        n_train = X.shape[0] if valid_rows is None else len(train_rows)
        if self.vq_codes is not None and not incremental and n_train < self.vq_codes:
            raise ValueError(
                f"vq_codes={self.vq_codes} needs at least as many training samples to "
                f"initialize the codebook from, got {n_train}."
            )
        in_place = incremental and continuing
        batch_size = self.net_.batch_size if in_place else self._batch_size(n_train)
        if self.batch_norm and min(batch_size, n_train) < 2:
            raise ValueError(
                "batch_norm=True normalizes each hidden unit over the mini-batch, which needs "
                f"at least 2 samples per batch; got {n_train} training sample(s) and "
                f"batch_size={batch_size}. Pass more samples per call (or batch_norm=False)."
            )
        with seeded_torch_rng(torch_seed, device):
            train = _tensor_dataset(X, targets, weights, train_rows, device)
            if in_place:
                net = self.net_
                undo = _train_in_place(
                    net, train, with_epoch_tasks(self._build_callbacks(validation=False),
                                                 epoch_tasks)
                )
            else:
                module = self._build_module(X.shape[1], self._n_outputs())
                if continuing:
                    self._load_previous_weights(module)
                net = self._build_net(
                    module, device, epochs=1 if incremental else self.max_iter,
                    batch_size=batch_size, n_train=n_train, incremental=incremental,
                    valid=(_tensor_dataset(X, targets, weights, valid_rows, device)
                           if validation else None),
                )
                add_epoch_tasks(net, epoch_tasks)
                net.initialize()
                if continuing:  # a copy: the previous model's history stays as it was
                    net.history_ = History(copy.deepcopy(list(self.net_.history_)))
                n_before = len(net.history_)
                try:
                    _train(net, train)
                except KeyboardInterrupt:
                    with sigint_deferred():  # a second Ctrl-C must not stop this half done
                        kept = net.rewind_to_last_epoch() and len(net.history_) > n_before
                        if kept:
                            self._set_fitted_net(net, device, interrupted=True)
                            on_interrupt(self)
                    if kept:
                        warnings.warn(
                            f"Training was interrupted; the estimator keeps the network of "
                            f"epoch {len(net.history_)}, the last completed one "
                            f"(n_iter_={self.n_iter_}).", UserWarning, stacklevel=4,
                        )
                    raise
        self._set_fitted_net(net, device)
        return undo if in_place else None

    def _set_fitted_net(self, net, device, interrupted=False):
        net.train_split = None  # the validation data is not part of the model
        net.last_epoch_ = None
        self.net_ = net
        self.device_ = str(device)
        self.history_ = net.history_
        self.loss_curve_ = [float(loss) for loss in net.history[:, "train_loss"]]
        self.n_iter_ = len(net.history)
        self.n_parameters_ = count_parameters(net.module_)
        early_stopping = dict(net.callbacks_).get("early_stopping")
        self.best_epoch_ = (
            None if early_stopping is None or interrupted else early_stopping.best_epoch_
        )
        # The hyperparameters that built the net, to rebuild it when unpickling.
        self._fit_params = self.get_params(deep=True)  # module__* included

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network for ``max_iter`` epochs (fewer with early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, converted once to float32.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels for the classifier).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss; see Notes of the estimator.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _load_previous_weights(self, module):
        try:
            module.load_state_dict(self.net_.module_.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                "warm_start=True continues training the previous network, but the "
                "hyperparameters now give a different architecture "
                f"(hidden_layer_sizes={self.hidden_layer_sizes!r}, "
                f"architecture={self.architecture!r}, batch_norm={self.batch_norm!r}, "
                f"vq_codes={self.vq_codes!r}). Set warm_start=False to start anew."
            ) from exc

    # ---- prediction -------------------------------------------------------------------

    def _prepare_X(self, X):
        """Validate X as ``predict`` does: a float32 array with the fitted features."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float32)

    def _non_finite_message(self, X):
        """Why the network's outputs on the rows ``X`` are NaN or infinite, as far as known."""
        largest = float(np.abs(X).max()) if X.size else 0.0
        if largest > _LARGE_SCALE:
            return (
                "The network's outputs are not finite for some of the samples; the largest "
                f"magnitude in X there is {largest:.3g}, so float32 arithmetic overflows in "
                "the network. Scale X as the training data was (e.g. with the same "
                "StandardScaler)."
            )
        module = self.net_.module_
        name = "network" if self.module is None else f"module {type(module).__name__}"
        return (
            f"The {name} returned NaN or infinite outputs for some of the samples, although "
            f"X is of ordinary scale there (largest magnitude {largest:.3g}): the module "
            "itself produces them (e.g. a division, log or sqrt of a value out of its "
            "domain in forward). Predictions are never NaN: fix the module's forward."
        )

    @thread_policy(eval_batch_size=_EVAL_BATCH_SIZE)
    def _predict_batches(self, X, columns, dtype, transform):
        """``transform(outputs)`` of the network for X, written batch by batch into one array.

        The output is allocated once and each batch's result is copied into its rows, so the
        peak memory is X's float32 copy, the output and one batch of activations. Non-finite
        outputs are an error, never a prediction.
        """
        X = self._prepare_X(X)
        net = self.net_
        out = np.empty((X.shape[0], *columns), dtype=dtype)
        batch_size = max(net.batch_size, _EVAL_BATCH_SIZE)
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                stop = start + batch_size
                outputs = net.evaluation_step((as_tensor(X[start:stop], net.device),))
                if not bool(torch.isfinite(outputs).all()):
                    raise ValueError(self._non_finite_message(X[start:stop]))
                torch.from_numpy(out[start:stop]).copy_(transform(outputs))
        return out
