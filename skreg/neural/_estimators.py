"""RegularizedNetClassifier and RegularizedNetRegressor: MLPs whose regularizers are parameters.

Both are plain scikit-learn estimators: ``__init__`` stores hyperparameters, ``fit`` builds a
PyTorch module, a criterion, callbacks and a skorch net (kept as ``net_``) from them and trains
it. How the pieces are composed, and where a new regularizer plugs in, is described in
:mod:`skreg.neural._net` (the training step), :mod:`skreg.neural._building` (the ``_build_*``
methods) and :mod:`skreg.neural._base` (the hyperparameters and the transactional ``fit``). The
docstring sections the two estimators share are in :mod:`skreg.neural._docstrings`. For code
that works on a fitted estimator from outside (attacks, diagnostics):

- ``estimator._prepare_X(X)``: X validated exactly as ``predict`` does (float32 ndarray);
- ``estimator._encode_y(y)`` (classifier): labels to class indices (int64 ndarray);
- ``estimator.net_.module_``: the trained module, mapping a float32 batch to logits / outputs;
- ``estimator.device_``: the torch device it lives on (``device`` may say ``"auto"``).
"""

from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from torch import nn

from skreg.neural._base import _BaseRegularizedNet
from skreg.neural._callbacks import ValidationScore, accuracy_of_logits, r2_of_outputs
from skreg.neural._docstrings import _COMMON_ATTRIBUTES, _COMMON_NOTES, _COMMON_PARAMETERS
from skreg.neural._state import _OVERFLOW_SCALE
from skreg.utils._sklearn_private import Interval, StrOptions, _fit_context


class RegularizedNetClassifier(ClassifierMixin, _BaseRegularizedNet):
    __doc__ = f"""Multi-layer perceptron classifier whose regularizers are hyperparameters.

    Read more in the :ref:`User Guide <neural>`.

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
        **module__params,
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
            verbose=verbose, module=module, callbacks=callbacks, **module__params,
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

    Read more in the :ref:`User Guide <neural>`.

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
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} needs numeric targets, but y has dtype {y.dtype} "
                f"(e.g. {str(y.flat[0])!r}). Convert y to numbers; for class labels use "
                "RegularizedNetClassifier."
            )
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
