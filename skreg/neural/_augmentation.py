"""Training-batch augmentations: input noise, mixup, and shifts / rotations / flips of images.

Each augmentation is a callable ``augment(X, Y, generator) -> (X, Y)`` on one training batch:
``X`` a float tensor of shape (n, n_features), ``Y`` the batch's targets, ``generator`` a
``torch.Generator`` on ``X``'s device (or None for torch's global generator) so that a seeded
generator gives the same batches again. Every operation is vectorized over the batch.
Augmentations only ever see training batches; predictions are never augmented.
"""

import math
import numbers

import numpy as np
import torch
from torch.nn import functional as F


def _check_real(name, value, low, high=math.inf, *, closed_low=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or (value < low if closed_low else value <= low):
        interval = f"{'[' if closed_low else '('}{low}, {high}]"
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}.")
    return float(value)


def _check_image_shape(image_shape):
    ok = isinstance(image_shape, (tuple, list)) and len(image_shape) in (2, 3)
    ok = ok and all(
        isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1
        for size in image_shape
    )
    if not ok:
        raise ValueError(
            f"image_shape must be (height, width) or (channels, height, width) with positive "
            f"integers, got {image_shape!r}."
        )
    image_shape = tuple(int(size) for size in image_shape)
    return (1, *image_shape) if len(image_shape) == 2 else image_shape


class GaussianNoise:
    """Add independent Gaussian noise of standard deviation ``std`` to every input feature."""

    def __init__(self, std):
        self.std = _check_real("noise_std", std, 0.0)

    def __call__(self, X, Y, generator=None):
        if self.std == 0:
            return X, Y
        noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        return X + self.std * noise, Y


class Mixup:
    """Mixup (Zhang et al. 2018): convex combinations of pairs of samples and of their targets.

    One λ ~ Beta(alpha, alpha) is drawn per batch (as in the paper) and each sample is mixed
    with a random partner from the same batch: ``λ·X + (1−λ)·X[perm]`` and
    ``λ·Y + (1−λ)·Y[perm]``. ``Y`` is either float targets (for a classifier, one-hot or
    smoothed class probabilities of shape (n, n_classes), whose rows then still sum to one) or,
    when ``n_classes`` is given, class indices, which are one-hot encoded first.
    """

    def __init__(self, alpha, *, n_classes=None):
        self.alpha = _check_real("mixup_alpha", alpha, 0.0, closed_low=False)
        self.n_classes = n_classes

    def __call__(self, X, Y, generator=None):
        if not torch.is_floating_point(Y):
            if self.n_classes is None:
                raise TypeError(
                    f"mixup needs float targets (one-hot or smoothed class probabilities), or "
                    f"n_classes to one-hot encode class indices; got a tensor of dtype {Y.dtype}."
                )
            Y = F.one_hot(Y.long(), self.n_classes).to(X.dtype)
        # torch's Beta sampler takes no generator; numpy's, seeded from it, keeps batches
        # reproducible.
        seed = int(torch.randint(2**62, (1,), generator=generator, device=X.device))
        lam = float(np.random.default_rng(seed).beta(self.alpha, self.alpha))
        partner = torch.randperm(X.shape[0], generator=generator, device=X.device)
        return lam * X + (1 - lam) * X[partner], lam * Y + (1 - lam) * Y[partner]


def shift_images(images, shift_rows, shift_cols):
    """Shift each image by whole pixels, filling the uncovered border with zeros.

    Parameters
    ----------
    images : torch.Tensor of shape (n, channels, height, width)
    shift_rows, shift_cols : torch.Tensor of int of shape (n,)
        Per-image shifts: positive moves the content down / right.
    """
    n, channels, height, width = images.shape
    pad = int(max(shift_rows.abs().max(), shift_cols.abs().max(), 0))
    if pad == 0:
        return images
    padded = F.pad(images, (pad, pad, pad, pad))
    rows = torch.arange(height, device=images.device) + (pad - shift_rows)[:, None]
    cols = torch.arange(width, device=images.device) + (pad - shift_cols)[:, None]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def rotate_images(images, angles_degrees):
    """Rotate each image about its centre (bilinear interpolation, zeros outside).

    Parameters
    ----------
    images : torch.Tensor of shape (n, channels, height, width)
    angles_degrees : torch.Tensor of shape (n,)
        Per-image angles; positive turns the content counter-clockwise as displayed (row 0
        at the top), so 90 gives ``torch.rot90(images, 1, (2, 3))``.
    """
    height, width = images.shape[-2:]
    angles = torch.deg2rad(angles_degrees.to(images.dtype))
    cos, sin = torch.cos(angles), torch.sin(angles)
    zero = torch.zeros_like(angles)
    # affine_grid works in coordinates normalized to [-1, 1] on each axis; the aspect-ratio
    # factors keep a rotation of a non-square image a rotation in pixel space.
    theta = torch.stack(
        [
            torch.stack([cos, -sin * height / width, zero], dim=1),
            torch.stack([sin * width / height, cos, zero], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class ImageAugmentation:
    """Random shifts, small rotations and horizontal flips of flattened images.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` or ``(channels, height, width)``; rows of ``X`` are images
        flattened in C order (as in scikit-learn's 8×8 digits).
    shift : int, default=0
        Each image is shifted by an integer number of pixels drawn uniformly in
        [-shift, shift], independently along rows and columns; uncovered pixels become 0.
    rotation : float, default=0.0
        Each image is rotated by an angle drawn uniformly in [-rotation, rotation] degrees.
    flip : bool, default=False
        Mirror each image left-right with probability 1/2 (off by default: mirrored digits
        are different symbols).
    """

    def __init__(self, image_shape, *, shift=0, rotation=0.0, flip=False):
        self.image_shape = _check_image_shape(image_shape)
        if isinstance(shift, bool) or not isinstance(shift, numbers.Integral) or shift < 0:
            raise ValueError(f"augment_shift must be a non-negative integer, got {shift!r}.")
        self.shift = int(shift)
        self.rotation = _check_real("augment_rotation", rotation, 0.0, 180.0)
        self.flip = bool(flip)

    def __call__(self, X, Y, generator=None):
        n_features = math.prod(self.image_shape)
        if X.shape[1] != n_features:
            raise ValueError(
                f"image_shape {self.image_shape} has {n_features} pixels but X has "
                f"{X.shape[1]} features."
            )
        n = X.shape[0]
        if n == 0 or not (self.shift or self.rotation or self.flip):
            return X, Y
        images = X.reshape(n, *self.image_shape)
        if self.rotation:
            angles = torch.rand(n, generator=generator, device=X.device, dtype=X.dtype)
            images = rotate_images(images, (2 * angles - 1) * self.rotation)
        if self.shift:
            shifts = torch.randint(
                -self.shift, self.shift + 1, (2, n), generator=generator, device=X.device
            )
            images = shift_images(images, shifts[0], shifts[1])
        if self.flip:
            flipped = torch.rand(n, generator=generator, device=X.device) < 0.5
            images = torch.where(flipped[:, None, None, None], images.flip(-1), images)
        return images.reshape(n, n_features), Y


class Compose:
    """Apply augmentations in order, threading ``(X, Y)`` and the generator through them."""

    def __init__(self, augmentations):
        self.augmentations = list(augmentations)

    def __call__(self, X, Y, generator=None):
        for augment in self.augmentations:
            X, Y = augment(X, Y, generator)
        return X, Y


def build_augmentation(
    *,
    noise_std=0.0,
    mixup_alpha=0.0,
    image_shape=None,
    augment_shift=0,
    augment_rotation=0.0,
    augment_flip=False,
    n_classes=None,
):
    """The training-batch augmentation for the estimators' hyperparameters, or None if none.

    Geometric image transforms come first, then input noise, then mixup (which mixes the
    augmented samples). ``mixup_alpha=0`` turns mixup off. ``n_classes`` lets mixup take class
    indices as targets (see :class:`Mixup`).

    Examples
    --------
    >>> import torch
    >>> from skreg.neural._augmentation import build_augmentation
    >>> augment = build_augmentation(image_shape=(8, 8), augment_shift=1, noise_std=0.1)
    >>> X, Y = torch.rand(5, 64), torch.eye(5)
    >>> X_aug, Y_aug = augment(X, Y, torch.Generator().manual_seed(0))
    >>> tuple(X_aug.shape), bool(torch.equal(Y_aug, Y))
    ((5, 64), True)
    >>> build_augmentation() is None
    True
    """
    augmentations = []
    image_options = augment_shift or augment_rotation or augment_flip
    if image_options and image_shape is None:
        raise ValueError(
            "augment_shift, augment_rotation and augment_flip need image_shape=(height, width) "
            "or (channels, height, width)."
        )
    if image_options:
        augmentations.append(
            ImageAugmentation(
                image_shape, shift=augment_shift, rotation=augment_rotation, flip=augment_flip
            )
        )
    if _check_real("noise_std", noise_std, 0.0) > 0:
        augmentations.append(GaussianNoise(noise_std))
    if _check_real("mixup_alpha", mixup_alpha, 0.0) > 0:
        augmentations.append(Mixup(mixup_alpha, n_classes=n_classes))
    if not augmentations:
        return None
    return augmentations[0] if len(augmentations) == 1 else Compose(augmentations)
