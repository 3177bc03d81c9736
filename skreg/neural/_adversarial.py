"""Adversarial examples (FGSM, PGD) for PyTorch modules, and the robust accuracy of skreg nets.

ε is in the units of the inputs the network sees: with standardized features, ε = 0.3 moves
each feature by at most 0.3 standard deviations (an L∞ ball). Standardize inputs first (for
example with ``StandardScaler`` in a ``Pipeline``), or ε means something different for every
feature.
"""

import contextlib
import numbers

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch.nn import functional as F

from skreg.utils._sklearn_private import Interval, StrOptions, validate_params


def _input_gradient(module, loss_fn, X, y):
    """∇ₓ loss_fn(module(X), y), without touching the parameters' ``.grad``."""
    X = X.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(module(X), y)
        (gradient,) = torch.autograd.grad(loss, X)
    return gradient


def fgsm(module, loss_fn, X, y, eps):
    """Fast gradient sign method (Goodfellow et al. 2015): ``X + eps · sign(∇ₓ L)``.

    Parameters
    ----------
    module : torch.nn.Module
        The network, run in whatever mode (train / eval) it is in; its parameters' ``.grad``
        are left untouched.
    loss_fn : callable
        ``loss_fn(module(X), y)`` returns the scalar loss to increase.
    X : torch.Tensor
        Inputs, in the units the network sees (standardize first).
    y : torch.Tensor
        Targets passed to ``loss_fn``.
    eps : float
        L∞ size of the perturbation.

    Returns
    -------
    X_adv : torch.Tensor
        Detached adversarial inputs, ``|X_adv - X| <= eps`` elementwise.

    Examples
    --------
    >>> import torch
    >>> from torch.nn import functional as F
    >>> from skreg.neural._adversarial import fgsm
    >>> net = torch.nn.Linear(2, 2)
    >>> X, y = torch.zeros(3, 2), torch.tensor([0, 1, 0])
    >>> X_adv = fgsm(net, F.cross_entropy, X, y, eps=0.1)
    >>> round(float((X_adv - X).abs().max()), 4)
    0.1
    """
    X = X.detach()
    return (X + eps * _input_gradient(module, loss_fn, X, y).sign()).detach()


def pgd(module, loss_fn, X, y, eps, steps, step_size=None, *, random_start=True, generator=None):
    """Projected gradient descent attack in the L∞ ε-ball (Madry et al. 2018).

    Starts from a uniform random point of the ball around ``X`` (``random_start=True``), then
    takes ``steps`` signed-gradient ascent steps of size ``step_size``, each followed by a
    projection back onto the ball.

    Parameters
    ----------
    module, loss_fn, X, y, eps
        As in :func:`fgsm`.
    steps : int
        Number of projected steps.
    step_size : float, default=None
        Size of each step; ``None`` gives ``2.5 · eps / steps`` (Madry et al.), enough to
        cross the ball from the random start.
    random_start : bool, default=True
        Start from a uniform random point of the ball instead of ``X``.
    generator : torch.Generator, default=None
        Source of the random start (on ``X``'s device), for reproducible attacks.

    Returns
    -------
    X_adv : torch.Tensor
        Detached adversarial inputs, ``|X_adv - X| <= eps`` elementwise.
    """
    X = X.detach()
    if step_size is None:
        step_size = 2.5 * eps / steps
    X_adv = X
    if random_start:
        noise = torch.rand(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        X_adv = X + eps * (2 * noise - 1)
    for _ in range(steps):
        X_adv = X_adv + step_size * _input_gradient(module, loss_fn, X_adv, y).sign()
        X_adv = X + (X_adv - X).clamp(-eps, eps)
    return X_adv.detach()


def _classification_loss(logits, y):
    if logits.ndim == 1 or logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits.reshape(-1), y.to(logits.dtype))
    return F.cross_entropy(logits, y)


def _predicted_classes(logits):
    if logits.ndim == 1 or logits.shape[1] == 1:
        return (logits.reshape(-1) > 0).long()
    return logits.argmax(dim=1)


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like"],
        "y": ["array-like"],
        "attack": [StrOptions({"fgsm", "pgd"})],
        "eps": [Interval(numbers.Real, 0, None, closed="left")],
        "steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "step_size": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def robust_accuracy(
    estimator,
    X,
    y,
    *,
    attack="pgd",
    eps,
    steps=10,
    step_size=None,
    batch_size=1024,
    random_state=None,
):
    """Accuracy of a fitted skreg classifier on adversarial versions of ``X``.

    Read more in the :ref:`User Guide <adversarial-training>`.

    Each sample is perturbed within an L∞ ball of radius ``eps`` to increase the network's
    cross-entropy loss on its true label (FGSM or PGD), then classified. The network is put in
    evaluation mode for the attack and the predictions (dropout off, batch-norm running
    statistics), and its mode is restored afterwards.

    Parameters
    ----------
    estimator : fitted skreg neural classifier
        For example a fitted :class:`~skreg.RegularizedNetClassifier`.
    X : array-like of shape (n_samples, n_features)
        Clean inputs, as passed to ``estimator.predict``.
    y : array-like of shape (n_samples,)
        True labels.
    attack : {"pgd", "fgsm"}, default="pgd"
        ``"fgsm"``: one step ``X + eps · sign(∇ₓ L)``. ``"pgd"``: ``steps`` projected steps
        from a random start in the ball (Madry et al. 2018).
    eps : float
        Radius of the L∞ ball, in the units of ``X``, which the network receives as is. The
        attack cannot see through a ``Pipeline``: standardize ``X`` first and pass the fitted
        classifier itself. ``eps=0`` gives the clean accuracy.
    steps : int, default=10
        Number of PGD steps (ignored by FGSM).
    step_size : float, default=None
        PGD step size; ``None`` gives ``2.5 · eps / steps``.
    batch_size : int, default=1024
        Number of samples attacked at once.
    random_state : int, RandomState instance or None, default=None
        Seed of PGD's random start.

    Returns
    -------
    accuracy : float
        Fraction of adversarial samples classified correctly.

    See Also
    --------
    fgsm, pgd : the attacks on any PyTorch module.
    """
    if not (is_classifier(estimator) and hasattr(estimator, "_encode_y")
            and hasattr(estimator, "_prepare_X")):
        raise TypeError(
            "robust_accuracy attacks a skreg neural classifier (e.g. RegularizedNetClassifier) "
            "through the gradients of its PyTorch module; got "
            f"{type(estimator).__name__}, which is "
            + ("a classifier without a PyTorch module." if is_classifier(estimator)
               else "not a classifier.")
            + " Pass the fitted classifier itself (not a Pipeline), on standardized X."
        )
    check_is_fitted(estimator)
    X_checked = estimator._prepare_X(X)
    y_indices = np.asarray(estimator._encode_y(y))
    if len(y_indices) != len(X_checked):
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {len(X_checked)} and {len(y_indices)}."
        )
    module = estimator.net_.module_
    first_parameter = next(module.parameters(), None)
    device = first_parameter.device if first_parameter is not None else torch.device("cpu")
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    generator = torch.Generator(device=device).manual_seed(seed)

    # The module's mode is shared with any thread training the estimator: hold the net's
    # lock (training steps wait) while the module is in evaluation mode here.
    # (A net of another kind has no such lock: nothing to wait for.)
    with getattr(estimator.net_, "mode_lock", None) or contextlib.nullcontext():
        return _attacked_accuracy(module, X_checked, y_indices, attack, eps, steps, step_size,
                                  batch_size, generator, device)


def _attacked_accuracy(module, X_checked, y_indices, attack, eps, steps, step_size, batch_size,
                       generator, device):
    was_training = module.training
    module.eval()
    n_correct = 0
    try:
        for start in range(0, len(X_checked), batch_size):
            X_batch = torch.as_tensor(X_checked[start : start + batch_size], device=device)
            y_batch = torch.as_tensor(y_indices[start : start + batch_size], device=device)
            if attack == "fgsm":
                X_adv = fgsm(module, _classification_loss, X_batch, y_batch, eps)
            else:
                X_adv = pgd(
                    module,
                    _classification_loss,
                    X_batch,
                    y_batch,
                    eps,
                    steps,
                    step_size,
                    generator=generator,
                )
            with torch.no_grad():
                predicted = _predicted_classes(module(X_adv))
            n_correct += int((predicted == y_batch).sum())
    finally:
        module.train(was_training)
    return n_correct / len(X_checked)


class TrainingAdversary:
    """Adversarial versions of training batches for ``RegularizedNet`` (its ``adversary``).

    The attack maximizes the net's own training criterion (label smoothing and mixed targets
    included) within the L∞ ball of radius ``eps`` around each batch. The module runs in
    evaluation mode during the attack, so that the attack's forward passes neither update
    batch-norm statistics or a VQ codebook nor draw dropout masks, and is put back in training
    mode before the training forward pass on the perturbed batch. Randomness (PGD's start)
    comes from torch's global generator, which the estimator seeds for each fit.

    Parameters
    ----------
    attack : {"fgsm", "pgd"}
    eps : float
        Radius of the L∞ ball, in the units of the inputs the network sees.
    steps : int
        PGD steps (ignored by FGSM).
    step_size : float or None
        PGD step size; None gives ``2.5 · eps / steps``.
    """

    def __init__(self, attack, eps, steps=3, step_size=None):
        self.attack = attack
        self.eps = eps
        self.steps = steps
        self.step_size = step_size

    def __call__(self, net, batch):
        module = net.module_

        def loss_fn(output, y):
            return net.criterion_(output, y).mean()

        module.eval()
        try:
            if self.attack == "fgsm":
                X_adv = fgsm(module, loss_fn, batch.X, batch.y, self.eps)
            else:
                X_adv = pgd(module, loss_fn, batch.X, batch.y, self.eps, self.steps, self.step_size)
        finally:
            module.train()
        return batch._replace(X=X_adv)
