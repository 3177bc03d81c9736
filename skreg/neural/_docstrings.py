"""Docstring sections shared by RegularizedNetClassifier and RegularizedNetRegressor.

The parameters, attributes and notes that the two estimators have in common, written once
and formatted into each class's numpydoc docstring in :mod:`skreg.neural._estimators`.
"""

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
        ``hidden_layer_sizes`` / ``activation`` are not used. The codebook and commitment
        losses of every :class:`~skreg.nn.VQLayer` inside it join the training loss and its
        perplexity is recorded in ``history_``, as for ``vq_codes``. The output of the first
        training batch is checked: one floating tensor of shape ``(batch, n_outputs)``.
        ``module__<name>`` parameters are accepted by the constructor too (as in skorch).
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Extra :mod:`skorch.callbacks` run by the net (e.g. ``EpochScoring``,
        ``Checkpoint``), after skreg's own; each fit uses fresh copies
        (``sklearn.base.clone``), found after fitting in ``net_.callbacks_``.
    **module__params : module__<name>=value
        Constructor arguments of a custom ``module`` class, as skorch takes them:
        ``RegularizedNetClassifier(module=MyModule, module__hidden=32)``. Other extra
        keywords are a TypeError."""

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
    it is after each epoch. Callbacks run inside the fit's transaction: one that raises
    (skorch's or scikit-learn's, at any point, also in ``on_train_end``, at the end of the
    fit's task or in ``teardown``) makes ``fit`` / ``partial_fit`` raise with the estimator
    as it was. A skorch callback stopping training the skorch way (``raise
    KeyboardInterrupt``) after a whole epoch keeps that epoch; in the middle of an epoch the
    network goes back to the last completed epoch of the call, and with none completed the
    call raises a ValueError saying so and keeps the previous model.

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

    Threads sharing one estimator: predictions are safe while another thread trains it
    (``partial_fit``). The module's training / evaluation mode is a flag shared by all
    threads, so each training step and each prediction batch sets it and runs its forward
    pass under one lock of the net: a prediction waits for the current step to end and
    never runs with dropout on (nor a training step with batch-norm statistics frozen).

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
    lists nothing else, then ``skops.io.load(path, trusted=[...])``. A ``module`` instance is
    stored as its class, constructor arguments and weights (as skorch's ``save_params``
    keeps weights apart from code): skops then lists the module's class too. Its arguments
    are read back as scikit-learn reads parameters, from attributes of the same names; a
    module that does not keep them is stored as its structure without tensors, and skops
    also lists the torch layer types inside it. Pickling ``net_`` itself loads its tensors
    with ``torch.load(weights_only=True)`` only. A loaded model predicts
    the same and keeps training with ``partial_fit`` as the original would."""
