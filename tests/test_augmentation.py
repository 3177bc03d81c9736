import numpy as np
import pytest
import torch
from scipy import stats

from skreg.neural._augmentation import (
    Compose,
    GaussianNoise,
    ImageAugmentation,
    Mixup,
    build_augmentation,
    rotate_images,
    shift_images,
)


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def _shift_reference(image, dy, dx):
    """Shift one (h, w) image by whole pixels with zero fill, by explicit loops."""
    height, width = image.shape
    out = np.zeros_like(image)
    for r in range(height):
        for c in range(width):
            if 0 <= r - dy < height and 0 <= c - dx < width:
                out[r, c] = image[r - dy, c - dx]
    return out


@pytest.mark.parametrize(
    "augment",
    [
        GaussianNoise(0.3),
        Mixup(0.4),
        ImageAugmentation((2, 4, 5), shift=2, rotation=15.0, flip=True),
        build_augmentation(image_shape=(2, 4, 5), augment_shift=1, noise_std=0.1, mixup_alpha=1.0),
    ],
    ids=["noise", "mixup", "image", "composed"],
)
def test_shapes_preserved_and_reproducible_with_seeded_generator(augment):
    torch.manual_seed(0)
    X, Y = torch.rand(16, 40), torch.softmax(torch.randn(16, 3), dim=1)
    X1, Y1 = augment(X, Y, _generator(0))
    X2, Y2 = augment(X, Y, _generator(0))
    X3, _ = augment(X, Y, _generator(1))
    assert X1.shape == X.shape and Y1.shape == Y.shape and X1.dtype == X.dtype
    assert torch.equal(X1, X2) and torch.equal(Y1, Y2)
    assert not torch.equal(X1, X3)


def test_zero_strength_is_identity():
    X, Y = torch.rand(8, 16), torch.eye(8)
    for augment in [GaussianNoise(0.0), ImageAugmentation((4, 4))]:
        X_out, Y_out = augment(X, Y, _generator())
        assert torch.equal(X_out, X) and torch.equal(Y_out, Y)
    assert build_augmentation(image_shape=(4, 4)) is None
    zero_angles = rotate_images(X.reshape(8, 1, 4, 4), torch.zeros(8))
    torch.testing.assert_close(zero_angles.reshape(8, 16), X)


def test_gaussian_noise_has_the_requested_scale():
    X = torch.zeros(4000, 5)
    X_noisy, _ = GaussianNoise(0.5)(X, None, _generator())
    assert X_noisy.std().item() == pytest.approx(0.5, rel=0.03)
    assert abs(X_noisy.mean().item()) < 0.02


def test_shift_moves_pixels_by_the_shift_with_zero_fill():
    rng = np.random.default_rng(0)
    images = rng.random((6, 2, 5, 7)).astype(np.float32)
    dy = torch.tensor([0, 1, -2, 3, 0, -1])
    dx = torch.tensor([0, 2, 1, -3, -6, 0])
    shifted = shift_images(torch.from_numpy(images), dy, dx).numpy()
    for i in range(6):
        for channel in range(2):
            expected = _shift_reference(images[i, channel], int(dy[i]), int(dx[i]))
            np.testing.assert_array_equal(shifted[i, channel], expected)


def test_random_shifts_are_whole_pixel_shifts_within_range():
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.random((20, 36)).astype(np.float32))
    X_out, _ = ImageAugmentation((6, 6), shift=2)(X, None, _generator())
    seen = set()
    for original, out in zip(X.numpy(), X_out.numpy(), strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(out.reshape(6, 6), _shift_reference(original.reshape(6, 6), dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 5


def test_rotation_matches_rot90_and_keeps_small_angles_close():
    images = torch.rand(3, 2, 6, 6)
    quarter_turn = rotate_images(images, torch.full((3,), 90.0))
    torch.testing.assert_close(quarter_turn, torch.rot90(images, 1, (2, 3)), atol=1e-5, rtol=0)
    half_turn = rotate_images(torch.rand(1, 1, 3, 5), torch.tensor([180.0]))
    assert half_turn.shape == (1, 1, 3, 5)

    X = torch.rand(50, 64)
    X_out, _ = ImageAugmentation((8, 8), rotation=10.0)(X, None, _generator())
    assert not torch.equal(X_out, X)
    # A rotation of at most 10 degrees moves a pixel of an 8x8 image by at most ~0.9 pixel
    # at the corners: the centre 4x4 stays close to the original.
    centre = (slice(None), slice(2, 6), slice(2, 6))
    difference = (X_out.reshape(50, 8, 8) - X.reshape(50, 8, 8))[centre]
    assert difference.abs().mean() < (X - X[torch.randperm(50)]).abs().mean() / 2


def test_flip_mirrors_some_images_and_flipping_twice_is_identity():
    X = torch.rand(64, 2 * 3 * 4)
    augment = ImageAugmentation((2, 3, 4), flip=True)
    X_once, _ = augment(X, None, _generator(3))
    images, once = X.reshape(64, 2, 3, 4), X_once.reshape(64, 2, 3, 4)
    mirrored = torch.all((once == images.flip(-1)).reshape(64, -1), dim=1)
    unchanged = torch.all((once == images).reshape(64, -1), dim=1)
    assert torch.all(mirrored ^ unchanged)
    assert 10 < int(mirrored.sum()) < 54
    X_twice, _ = augment(X_once, None, _generator(3))
    assert torch.equal(X_twice, X)


def test_mixup_targets_sum_to_one_and_mixing_is_convex():
    torch.manual_seed(0)
    n = 12
    X = torch.randn(n, 5)
    # Distinct one-hot targets reveal each sample's partner and λ.
    Y = torch.eye(n)
    X_mixed, Y_mixed = Mixup(0.4)(X, Y, _generator(2))
    torch.testing.assert_close(Y_mixed.sum(dim=1), torch.ones(n))
    assert torch.all(Y_mixed >= 0)
    lam = Y_mixed.max(dim=1).values.min()
    for i in range(n):
        weights = Y_mixed[i]
        assert torch.all(
            (weights == 0) | torch.isclose(weights, lam) | torch.isclose(weights, 1 - lam)
        )
        torch.testing.assert_close(X_mixed[i], weights @ X, rtol=1e-5, atol=1e-6)


def test_mixup_lambda_follows_beta_distribution():
    X, Y = torch.zeros(20, 1), torch.eye(20)
    augment = Mixup(0.4)
    generator = _generator(5)
    lambdas = []
    for _ in range(1000):
        _, Y_mixed = augment(X, Y, generator)
        # A sample mixed with another keeps weight λ on itself (1 if paired with itself).
        lambdas.append(float(Y_mixed.diagonal().min()))
    assert stats.kstest(lambdas, stats.beta(0.4, 0.4).cdf).pvalue > 1e-3


def test_compose_threads_the_batch_in_order():
    X, Y = torch.zeros(4, 4), torch.eye(4)
    composed = build_augmentation(image_shape=(2, 2), augment_shift=1, noise_std=1.0)
    assert isinstance(composed, Compose)
    assert [type(a) for a in composed.augmentations] == [ImageAugmentation, GaussianNoise]
    X_out, Y_out = composed(X, Y, _generator())
    # Noise comes after the shift, so the zero-filled border is noisy too.
    assert torch.all(X_out != 0) and torch.equal(Y_out, Y)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="noise_std"):
        GaussianNoise(-1.0)
    with pytest.raises(ValueError, match="mixup_alpha"):
        Mixup(0.0)
    with pytest.raises(ValueError, match="image_shape"):
        ImageAugmentation((8,))
    with pytest.raises(ValueError, match="augment_shift"):
        ImageAugmentation((8, 8), shift=-1)
    with pytest.raises(ValueError, match="augment_rotation"):
        ImageAugmentation((8, 8), rotation=float("nan"))
    with pytest.raises(ValueError, match="need image_shape"):
        build_augmentation(augment_rotation=10.0)
    with pytest.raises(ValueError, match="64 pixels but X has 10 features"):
        ImageAugmentation((8, 8), shift=1)(torch.rand(3, 10), None)
    with pytest.raises(TypeError, match="float targets"):
        Mixup(1.0)(torch.rand(3, 2), torch.tensor([0, 1, 1]))


def test_mixup_one_hot_encodes_class_indices_when_given_n_classes():
    X, y = torch.rand(6, 3), torch.tensor([0, 2, 1, 2, 0, 1])
    from_indices = build_augmentation(mixup_alpha=0.5, n_classes=3)(X, y, _generator(4))
    from_one_hot = Mixup(0.5)(X, torch.nn.functional.one_hot(y, 3).float(), _generator(4))
    for a, b in zip(from_indices, from_one_hot, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
