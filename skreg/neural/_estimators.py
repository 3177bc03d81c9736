"""RegularizedNetClassifier and RegularizedNetRegressor: MLPs whose regularizers are parameters.

Both are plain scikit-learn estimators: ``__init__`` stores hyperparameters, ``fit`` builds a
PyTorch module, a criterion, callbacks and a skorch net (kept as ``net_``) from them and trains
it. How the pieces are composed, and where a new regularizer plugs in, is described in
:mod:`skreg.neural._net` (the training step) and :mod:`skreg.neural._base` (the ``_build_*``
methods). For code that works on a fitted estimator from outside (attacks, diagnostics):

- ``estimator._prepare_X(X)``: X validated exactly as ``predict`` does (float32 ndarray);
- ``estimator._encode_y(y)`` (classifier): labels to class indices (int64 ndarray);
- ``estimator.net_.module_``: the trained module, mapping a float32 batch to logits / outputs;
- ``estimator.device_``: the torch device it lives on (``device`` may say ``"auto"``).
"""

from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from torch import nn

from skreg.neural._base import _BaseRegularizedNet
from skreg.neural._callbacks import ValidationScore, accuracy_of_logits, r2_of_outputs
from skreg.neural._state import _OVERFLOW_SCALE

_COMMON_PARAMETERS = """\
    hidden_layer_sizes : array-like of int or int, default=(100,)
        Width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.
    architecture : {"mlp", "cnn"}, default="mlp"
        ``"cnn"`` treats each row of X as a flattened image of ``image_shape`` and starts with
        convolution blocks (3×3 kernels, "same" padding, activation, 2×2 max pooling), whose
        kernels are shared across positions (weight sharing, LeCun et al. 1989). The dense
        ``hidden_layer_sizes`` layers follow the convolutions.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of the images whose pixels, in C
        order, are the columns of X (the bundled 8×8 digits are ``(8, 8)``). Needed by
        ``architecture="cnn"`` and the ``augment_*`` options.
    conv_channels : tuple of int, default=(32, 64)
        Output channels of each convolution block of ``architecture="cnn"``.
    share_hidden_layers : bool, default=False
        MLP only: every hidden layer after the first uses one weight matrix (each keeps its
        bias), so all of them must have the same size; ``n_parameters_`` shows the saving.
    dropout : float in [0, 1), default=0.0
        Probability of zeroing each hidden unit during training (inverted dropout: the kept
        units are scaled by 1 / (1 - p), so nothing changes at prediction time).
    batch_norm : bool, default=False
        Batch normalization of each hidden layer's pre-activation over the mini-batch.
    weight_decay : float >= 0, default=0.0
        L2 regularization of the weight matrices (not of biases or normalization parameters).
        With ``optimizer="adam"`` or ``"sgd"`` it is coupled: the gradient of
        ``weight_decay / 2 * sum(W ** 2)`` is added to the loss gradient (and, for Adam, then
        rescaled per parameter). With ``"adamw"`` it is decoupled: each step also shrinks
        ``W -= learning_rate_init * weight_decay * W``.
    l1 : float >= 0, default=0.0
        Strength of the L1 penalty ``l1 * sum(|W|)`` on the weight matrices, added to the loss.
    noise_std : float >= 0, default=0.0
        Standard deviation of Gaussian noise added to every input of each training batch.
    mixup_alpha : float >= 0, default=0.0
        Mixup (Zhang et al. 2018) of training batches: each sample and its target (one-hot,
        then label-smoothed, for a classifier) are mixed with a random partner of the batch
        with weight λ ~ Beta(mixup_alpha, mixup_alpha), one λ per batch. 0 turns it off.
    augment_shift : int >= 0, default=0
        Shift each training image by up to this many pixels along each axis (needs
        ``image_shape``; uncovered pixels become 0).
    augment_rotation : float in [0, 180], default=0.0
        Rotate each training image by a random angle in ±``augment_rotation`` degrees.
    augment_flip : bool, default=False
        Mirror half of the training images left-right (off by default: a mirrored digit is
        another symbol). Augmentations apply to training batches only, never to predictions.
    adversarial : {"fgsm", "pgd"} or None, default=None
        Adversarial training: each training batch is also attacked within the L∞ ball of
        radius ``adversarial_eps`` (FGSM: ``x + eps · sign(∇ₓ loss)``; PGD: projected signed
        steps from a random start, Madry et al. 2018), with the network in evaluation mode,
        and the loss on the attacked batch is mixed in. ε is in the units of X as the network
        receives it: standardize the features first (e.g. ``StandardScaler`` in a Pipeline).
    adversarial_eps : float >= 0, default=0.1
        Radius of the attack.
    adversarial_steps : int >= 1, default=3
        Number of PGD steps (FGSM takes one).
    adversarial_step_size : float > 0, default=None
        PGD step size; None gives ``2.5 * adversarial_eps / adversarial_steps``.
    adversarial_weight : float in (0, 1], default=0.5
        Training loss ``(1 - w) * clean loss + w * adversarial loss``; 1 trains on attacked
        batches only.
    vq_codes : int or None, default=None
        Insert a vector-quantization bottleneck (:class:`skreg.nn.VQLayer`) with this many
        codes after the last hidden layer: each hidden vector is replaced by its nearest code,
        gradients pass straight through, and the codebook + ``vq_commitment`` × commitment
        loss joins the training loss. The codebook is initialized by k-means on the first
        training batches; ``history_`` records ``vq_perplexity`` and ``vq_codes_used`` per
        epoch.
    vq_commitment : float >= 0, default=0.25
        Weight β of the commitment loss (van den Oord et al. 2017).
    vq_ema : bool, default=False
        Update the codebook by exponential moving averages (decay 0.99, Laplace smoothing, as
        Sonnet's VectorQuantizerEMA) instead of by gradient. A codebook learned by gradient
        takes 10 times the learning rate of the rest of the network (and follows the same
        schedule), so that the codes keep up with the features they quantize.
    vq_reseed : bool, default=True
        Re-seed codes that no training vector chose during the last 50 batches with recent
        hidden vectors, so that the codebook does not collapse onto a few codes.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        ``torch.optim`` optimizer (fused kernels where PyTorch has them).
    learning_rate_init : float > 0, default=0.001
        Learning rate (the peak rate of a schedule).
    learning_rate_schedule : {"constant", "cosine", "onecycle"}, default="constant"
        Learning rate over the optimizer steps of one ``fit``, set before each batch:
        ``"cosine"`` decays it from ``learning_rate_init`` to 0 along a half cosine;
        ``"onecycle"`` warms up from ``learning_rate_init / 25`` over the first 30% of the
        steps, then anneals to ``learning_rate_init / 25e4`` (the shape of PyTorch's
        ``OneCycleLR``). ``partial_fit`` keeps the rate constant. With early stopping the
        schedule still spans ``max_iter`` epochs.
    momentum : float in [0, 1], default=0.9
        Momentum of ``optimizer="sgd"``; unused otherwise.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``. Clipped to the training size.
    max_iter : int >= 1, default=200
        Number of epochs (passes over the training data).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for classifiers when
        every class allows it) and stop when the validation loss has not improved by at least
        ``tol`` for ``n_iter_no_change`` epochs; the weights of the epoch with the lowest
        validation loss are restored (``best_epoch_``).
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out when ``early_stopping=True``.
    n_iter_no_change : int >= 1, default=10
        Patience of early stopping, in epochs.
    tol : float >= 0, default=1e-4
        Smallest decrease of the validation loss that counts as an improvement.
    warm_start : bool, default=False
        Continue training the previous network on the next ``fit`` (new optimizer state,
        same weights, history continued) instead of starting anew.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Torch device to train and predict on (``"cuda:1"`` picks a GPU); ``"auto"`` uses a GPU
        when there is one.
    n_threads : int >= 1 or None, default=None
        Torch CPU threads for each ``fit``, ``partial_fit`` and prediction, set for the call
        only (the caller's ``torch.get_num_threads()`` is restored afterwards). None chooses
        from the work per batch and the idle cores (see Notes); an int is used as given.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation split. Fitting
        never reseeds the global generators of torch, numpy or ``random``.
    verbose : int, default=0
        1 shows a progress bar over epochs with the latest losses and validation score
        (``tqdm.auto``: one widget in a notebook, one line in a terminal); 2 also prints
        skorch's table of per-epoch records.
    module : torch.nn.Module subclass or instance, default=None
        A network of your own instead of the built-in MLP / CNN; it maps a float32 batch of
        X to logits (classifier) or outputs (regressor). A class is called as
        ``module(n_features=..., n_outputs=..., **module_params)``, where each
        ``module__<name>`` parameter (``set_params(module__hidden=32)``, also in a
        GridSearchCV grid) gives one constructor argument; it is built inside the fit's
        seeded generator. An instance is deep-copied at each fit and trained from its
        current weights: the instance itself is never changed. The loss-level regularizers
        (``weight_decay`` and ``l1`` on the weights of its ``Linear`` / ``Conv`` layers,
        ``label_smoothing``, ``mixup_alpha``, ``noise_std``, augmentation, adversarial
        training, early stopping) apply to it; the options that build layers into the
        default network (``architecture="cnn"``, ``dropout``, ``batch_norm``,
        ``share_hidden_layers``, ``vq_codes``) raise a ValueError with it, and
        ``hidden_layer_sizes`` / ``activation`` are not used.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Extra :mod:`skorch.callbacks` run by the net (e.g. ``EpochScoring``,
        ``Checkpoint``), after skreg's own; each fit uses fresh copies
        (``sklearn.base.clone``), found after fitting in ``net_.callbacks_``."""

_COMMON_ATTRIBUTES = """\
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X has string column names.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the PyTorch module and ``net_.get_loss`` its loss.
    history_ : skorch.History
        Per-epoch records: ``train_loss`` (the training objective, penalties included), with
        early stopping ``valid_loss`` (the data loss on the held-out part) and the validation
        score, with ``vq_codes`` ``vq_perplexity`` and ``vq_codes_used`` (over the epoch's
        training batches), with a schedule ``lr`` (the rate of the epoch's last batch);
        per-batch records under ``"batches"``.
    loss_curve_ : list of float
        ``train_loss`` of each epoch.
    n_iter_ : int
        Number of epochs trained, over all warm-started fits and ``partial_fit`` calls.
    n_parameters_ : int
        Number of free parameters of the network (fitted by gradient), each shared tensor
        counted once: what ``share_hidden_layers`` or a CNN's shared kernels save. Batch-norm
        statistics and an EMA codebook are buffers, not counted.
    best_epoch_ : int or None
        Epoch (1-based, as in ``history_``) whose weights were restored by early stopping;
        ``None`` without early stopping.
    device_ : str
        Torch device the network lives on."""

_COMMON_NOTES = """\
    Mini-batch sample weights ``w`` (``sample_weight`` times class weights) are rescaled to
    mean one over the training data, so each batch's loss ``mean(w_i * loss_i)`` estimates
    the objective above without bias and the learning rate keeps its meaning.

    ``train_loss`` in ``history_`` is the training objective with dropout active (and, with a
    penalty, including it); ``valid_loss`` is the data term alone with the network in
    evaluation mode.

    On the CPU the dropout mask is drawn 16 bits at a time, so the drop probability is rounded
    to a multiple of 2**-16 (0.2 becomes 0.199997); the kept units are scaled by the exact
    inverse of the rounded keep rate.

    scikit-learn's callbacks (``set_callbacks`` with :mod:`sklearn.callback`'s
    ``ProgressBar`` or ``ScoringMonitor``, also inside a Pipeline or GridSearchCV) see each
    fit as one task whose subtasks are the epochs; a ``ScoringMonitor`` scores the network as
    it is after each epoch.

    Threads: with ``n_threads=None`` each call picks how many torch CPU threads to use. A
    thread is added per ``2**23`` multiply-adds of one batch's forward pass (``batch_size *
    sum(in * out)`` over the layers), because below that a step lasts about a millisecond
    and OpenMP's synchronization costs what a second thread saves: the (100,) MLP on digits
    trains on one thread. The count is at most the cores this process may use
    (``os.sched_getaffinity``, cgroup quotas) shared among calls running at the same time,
    at most the caller's ``torch.get_num_threads()`` (lowered by ``torch.set_num_threads``,
    ``threadpoolctl.threadpool_limits``, or joblib in the workers of ``GridSearchCV`` /
    ``cross_val_score`` with ``n_jobs``), and at most the cores other runnable processes
    leave idle, looked at when the call starts and at each epoch: spinning threads that
    lose their core to another process stall every step, which made fits 5-10 times slower
    on a busy machine. The caller's thread count is restored on every exit, errors and
    interrupts included; only the training thread is affected. ``n_threads=k`` skips the
    policy. Torch's OpenMP pool (MKL's matrix products included) is the only thread pool a
    fit uses; NumPy's BLAS only sees the input validation.

    Failures keep the model: ``fit``, ``partial_fit`` and ``set_params(...).fit`` either
    succeed or leave the estimator exactly as it was (``feature_names_in_`` and
    ``classes_`` included). ``partial_fit`` restores the network's weights, optimizer state
    and history when its epoch fails.

    Ctrl-C (KeyboardInterrupt) always reaches the caller within the current batch. An
    interrupted ``fit`` keeps the network of its last completed epoch, with a warning
    (``n_iter_`` counts the epochs kept, ``best_epoch_`` is None), or the previous model when
    no epoch completed; an interrupted ``partial_fit`` keeps the previous model.

    Divergence: training stops with an error naming the epoch and batch when a batch's
    training loss is NaN or infinite or exceeds ``1000 * max(L0, 1)``, ``L0`` being the loss
    of the first batch the network trained on; lower ``learning_rate_init`` or standardize X.
    X (or a regressor's y) with values beyond ``1e18`` in magnitude, whose float32 products
    overflow, is an error before training, and X whose largest magnitude is above ``1e6``
    or below ``1e-6`` gets a warning. Predictions are never NaN or infinite: a network whose
    outputs overflow on the given X raises an error naming X's magnitude.

    Persistence: pickle / joblib and ``skops.io`` both work. The state holds the network's
    weights, optimizer state and history as numpy arrays and builtins, and the skorch net is
    rebuilt on loading (nothing for ``torch.load`` to unpickle), so ``skops.io`` needs only
    the estimator's own class trusted: check ``skops.io.get_untrusted_types(file=path)``
    lists nothing else, then ``skops.io.load(path, trusted=[...])``. A loaded model predicts
    the same and keeps training with ``partial_fit`` as the original would."""


class RegularizedNetClassifier(ClassifierMixin, _BaseRegularizedNet):
    __doc__ = f"""Multi-layer perceptron classifier whose regularizers are hyperparameters.

    A PyTorch MLP (or a CNN for flattened images) trained with skorch, with dropout, weight
    decay, L1, label smoothing, batch normalization, early stopping, class weights, data
    augmentation (noise, mixup, image shifts and rotations), adversarial training, weight
    sharing and a VQ bottleneck as plain parameters that
    :class:`~sklearn.model_selection.GridSearchCV` can tune. Parameter names follow
    :class:`~sklearn.neural_network.MLPClassifier` where one exists.

    Parameters
    ----------
{_COMMON_PARAMETERS}
    label_smoothing : float in [0, 1), default=0.0
        Train against ``(1 - label_smoothing) * onehot + label_smoothing / n_classes`` (the
        ``"uniform"`` mode of :func:`~skreg.smooth_labels`), which is what
        ``torch.nn.CrossEntropyLoss(label_smoothing=...)`` computes.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, multiplying ``sample_weight``; ``"balanced"`` uses
        ``n_samples / (n_classes * bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_COMMON_ATTRIBUTES}

    See Also
    --------
    RegularizedNetRegressor : the same network for regression.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP (L2 penalty only).
    smooth_labels : the smoothed targets behind ``label_smoothing``.

    Notes
    -----
    With weight matrices ``W`` (biases and normalization parameters excluded), logits
    ``f(x)`` and ``k`` classes, training minimizes by mini-batch steps

    .. math::

        \\frac{{1}}{{\\sum_i w_i}} \\sum_i w_i \\Big(-\\sum_{{c=1}}^k q_{{ic}}
        \\log \\operatorname{{softmax}}(f(x_i))_c\\Big) + \\text{{l1}} \\sum |W|
        \\;\\Big[+ \\frac{{\\text{{weight\\_decay}}}}{{2}} \\sum W^2\\Big]

    with ``q_i = (1 - label_smoothing) * onehot(y_i) + label_smoothing / k``; the bracketed
    term applies to ``"adam"`` and ``"sgd"`` (``"adamw"`` decays the weights directly). Unlike
    ``MLPClassifier``'s ``alpha``, the penalties are not divided by the number of samples.

{_COMMON_NOTES}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import RegularizedNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     RegularizedNetClassifier((32,), dropout=0.1, label_smoothing=0.1, max_iter=60,
    ...                              learning_rate_init=0.01, random_state=0),
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **_BaseRegularizedNet._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _y_check_params = {}

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
        label_smoothing=0.0,
        class_weight=None,
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
    ):
        super().__init__(
            hidden_layer_sizes, activation=activation, architecture=architecture,
            image_shape=image_shape, conv_channels=conv_channels,
            share_hidden_layers=share_hidden_layers, dropout=dropout, batch_norm=batch_norm,
            weight_decay=weight_decay, l1=l1, noise_std=noise_std, mixup_alpha=mixup_alpha,
            augment_shift=augment_shift, augment_rotation=augment_rotation,
            augment_flip=augment_flip, adversarial=adversarial, adversarial_eps=adversarial_eps,
            adversarial_steps=adversarial_steps, adversarial_step_size=adversarial_step_size,
            adversarial_weight=adversarial_weight, vq_codes=vq_codes,
            vq_commitment=vq_commitment, vq_ema=vq_ema, vq_reseed=vq_reseed,
            optimizer=optimizer, learning_rate_init=learning_rate_init,
            learning_rate_schedule=learning_rate_schedule, momentum=momentum,
            batch_size=batch_size,
            max_iter=max_iter, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, tol=tol,
            warm_start=warm_start, device=device, n_threads=n_threads, random_state=random_state,
            verbose=verbose, module=module, callbacks=callbacks,
        )
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over (X, y), continuing from the current network.

        No validation split or early stopping is done here.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes that will ever appear; required on the first call only.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        first_call = not hasattr(self, "net_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first_call and classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes)!r} is not the same as on the first call to "
                f"partial_fit: {self.classes_!r}."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits, computed in float64).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        check_is_fitted(self)
        return self._predict_batches(
            X, (len(self.classes_),), np.float64,
            lambda logits: torch.softmax(logits.double(), dim=1),
        )

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the logits."""
        check_is_fitted(self)
        return self._predict_batches(
            X, (len(self.classes_),), np.float64,
            lambda logits: torch.log_softmax(logits.double(), dim=1),
        )

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        indices = self._predict_batches(X, (), np.int64, lambda logits: logits.argmax(dim=1))
        return self.classes_[indices]

    def _encode_y(self, y):
        """Class indices (int64) of labels ``y``; unknown labels raise ValueError."""
        check_is_fitted(self, "classes_")
        y = column_or_1d(y)
        try:
            indices = np.searchsorted(self.classes_, y)
        except TypeError as exc:
            raise ValueError(
                f"y contains labels of another type than classes_={self.classes_!r}."
            ) from exc
        indices = np.minimum(indices, len(self.classes_) - 1)
        unknown = self.classes_[indices] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not in classes_={self.classes_!r}: {np.unique(y[unknown])!r}."
            )
        return indices.astype(np.int64)

    def _prepare_targets(self, y, *, continuing, incremental, classes):
        check_classification_targets(y)
        if not continuing:
            self.classes_ = np.unique(y if classes is None else classes)
            if self.classes_.size < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                    f"but the data contains only one class: {self.classes_[0]!r}."
                )
        elif not incremental and not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                "warm_start can only be used where y has the same classes as in the previous "
                f"call to fit: previously {self.classes_!r}, now {np.unique(y)!r}."
            )
        return self._encode_y(y)

    def _n_outputs(self):
        return len(self.classes_)

    def _mixup_classes(self):
        return len(self.classes_)

    def _class_sample_weight(self, y):
        if self.class_weight is None:
            return None
        return compute_sample_weight(self.class_weight, y)

    def _stratify(self, targets):
        counts = np.bincount(targets)
        counts = counts[counts > 0]
        n_valid = int(np.ceil(self.validation_fraction * len(targets)))
        n_classes = len(counts)
        if counts.min() >= 2 and n_classes <= n_valid <= len(targets) - n_classes:
            return targets
        return None

    def _build_criterion(self):
        return nn.CrossEntropyLoss(reduction="none", label_smoothing=self.label_smoothing)

    def _validation_score(self):
        return ValidationScore("valid_acc", accuracy_of_logits)


class RegularizedNetRegressor(RegressorMixin, _BaseRegularizedNet):
    __doc__ = f"""Multi-layer perceptron regressor whose regularizers are hyperparameters.

    The network of :class:`RegularizedNetClassifier` with linear outputs and a squared error
    loss; one or several targets. Parameter names follow
    :class:`~sklearn.neural_network.MLPRegressor` where one exists. Like it, the targets are
    not rescaled: standardize them (e.g. with
    :class:`~sklearn.compose.TransformedTargetRegressor`) when their scale is far from one.

    Parameters
    ----------
{_COMMON_PARAMETERS}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
{_COMMON_ATTRIBUTES}

    See Also
    --------
    RegularizedNetClassifier : the same network for classification.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP (L2 penalty only).

    Notes
    -----
    With weight matrices ``W`` (biases and normalization parameters excluded), outputs
    ``f(x)`` and ``m`` targets, training minimizes by mini-batch steps

    .. math::

        \\frac{{1}}{{\\sum_i w_i}} \\sum_i w_i \\frac{{1}}{{m}} \\lVert y_i - f(x_i) \\rVert^2
        + \\text{{l1}} \\sum |W| \\;\\Big[+ \\frac{{\\text{{weight\\_decay}}}}{{2}} \\sum W^2\\Big]

    (the bracketed term for ``"adam"`` and ``"sgd"``; ``"adamw"`` decays the weights
    directly). ``MLPRegressor`` minimizes half this squared error.

{_COMMON_NOTES}

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skreg import RegularizedNetRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    >>> reg = RegularizedNetRegressor((64,), learning_rate_init=0.01, max_iter=200,
    ...                               random_state=0).fit(X, y / y.std())
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, y / y.std()) > 0.9)
    True
    """

    _y_check_params = {"multi_output": True, "y_numeric": True}

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over (X, y), continuing from the current network.

        No validation split or early stopping is done here.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float64, shaped like the ``y`` given to ``fit``.
        """
        check_is_fitted(self)
        outputs = self._predict_batches(
            X, (self.n_outputs_,), np.float64, lambda outputs: outputs.double()
        )
        return outputs.ravel() if self._y_was_1d else outputs

    def _prepare_targets(self, y, *, continuing, incremental, classes=None):
        y_was_1d = y.ndim == 1
        largest = float(np.max(np.abs(y))) if y.size else 0.0
        if largest > _OVERFLOW_SCALE:
            raise ValueError(
                f"y has values up to {largest:.3g} in magnitude: the network trains in float32, "
                "where the squared error of such targets overflows. Rescale the targets, e.g. "
                "with TransformedTargetRegressor(regressor, transformer=StandardScaler())."
            )
        y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if continuing and y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs, but the network was trained with {self.n_outputs_}."
            )
        self.n_outputs_ = y.shape[1]
        self._y_was_1d = y_was_1d
        return y

    def _n_outputs(self):
        return self.n_outputs_

    def _build_criterion(self):
        return nn.MSELoss(reduction="none")

    def _validation_score(self):
        return ValidationScore("valid_r2", r2_of_outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
