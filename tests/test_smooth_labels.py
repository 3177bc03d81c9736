import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skreg import smooth_labels


def test_uniform_mode_is_the_formula():
    # (1 - 0.1) * onehot + 0.1 / 3
    assert_allclose(smooth_labels([0], 0.1, n_classes=3), [[0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3]])
    assert_allclose(smooth_labels([0], 0.1, n_classes=3).round(4), [[0.9333, 0.0333, 0.0333]])


def test_others_mode_is_the_notes_worked_example():
    assert_allclose(smooth_labels([0], 0.1, n_classes=3, mode="others"), [[0.9, 0.05, 0.05]])


def test_four_class_example_fits_both_conventions():
    # The notes' row [0.1, 0.7, 0.1, 0.1]: formula with 0.4, the other convention with 0.3.
    assert_allclose(smooth_labels([1], 0.4, n_classes=4), [[0.1, 0.7, 0.1, 0.1]])
    assert_allclose(smooth_labels([1], 0.3, n_classes=4, mode="others"), [[0.1, 0.7, 0.1, 0.1]])


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.35])
def test_uniform_mode_matches_pytorch_label_smoothing(epsilon):
    rng = np.random.RandomState(0)
    logits = torch.from_numpy(rng.randn(50, 5))
    y = rng.randint(0, 5, size=50)
    expected = torch.nn.CrossEntropyLoss(label_smoothing=epsilon)(logits, torch.from_numpy(y))
    soft = torch.from_numpy(smooth_labels(y, epsilon, n_classes=5))
    assert_allclose(torch.nn.CrossEntropyLoss()(logits, soft).item(), expected.item(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["uniform", "others"])
def test_rows_are_distributions_peaked_on_the_true_class(mode):
    y = np.array([2, 0, 1, 2, 4])
    targets = smooth_labels(y, 0.25, n_classes=5, mode=mode)
    assert targets.shape == (5, 5)
    assert_allclose(targets.sum(axis=1), 1.0)
    assert np.all(targets >= 0)
    assert np.array_equal(targets.argmax(axis=1), y)


def test_zero_epsilon_gives_one_hot_and_n_classes_defaults_to_max_label():
    assert_allclose(smooth_labels([1, 0, 2], 0.0), np.eye(3)[[1, 0, 2]])


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        ([0, 3], {"n_classes": 3}, r"class indices in \[0, 2\]"),
        ([-1, 1], {"n_classes": 3}, r"indices >= 0, got the negative label -1"),
        ([0, -1], {}, r"indices >= 0, got the negative label -1"),  # not "cannot be inferred"
        ([0.5, 1.0], {"n_classes": 3}, "integers"),
        ([0, 0], {}, "pass n_classes"),
        ([0, 1], {"mode": "formula"}, "mode"),
        ([0, 1], {"n_classes": 1}, "n_classes"),
    ],
)
def test_bad_input_raises_a_clear_error(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        smooth_labels(y, 0.1, **kwargs)


def test_epsilon_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="epsilon"):
        smooth_labels([0, 1], 1.5)
