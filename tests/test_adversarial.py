from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array
from torch import nn
from torch.nn import functional as F

from skreg.neural._adversarial import fgsm, pgd, robust_accuracy


class _StandInNetClassifier(ClassifierMixin, BaseEstimator):
    """The part of RegularizedNetClassifier's contract that robust_accuracy uses."""

    def __init__(self, n_hidden=16):
        self.n_hidden = n_hidden

    def _prepare_X(self, X):
        return check_array(X, dtype=np.float32)

    def _encode_y(self, y):
        return np.searchsorted(self.classes_, y)

    def fit(self, X, y):
        X = self._prepare_X(X)
        self.classes_ = np.unique(y)
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        torch.manual_seed(0)
        module = nn.Sequential(
            nn.Linear(X.shape[1], self.n_hidden), nn.ReLU(), nn.Linear(self.n_hidden, n_outputs)
        )
        optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(self._encode_y(y))
        for _ in range(150):
            optimizer.zero_grad()
            logits = module(X_t)
            if n_outputs == 1:
                loss = F.binary_cross_entropy_with_logits(logits[:, 0], y_t.float())
            else:
                loss = F.cross_entropy(logits, y_t)
            loss.backward()
            optimizer.step()
        self.net_ = SimpleNamespace(module_=module)
        self.device = "cpu"
        return self

    def predict(self, X):
        with torch.no_grad():
            logits = self.net_.module_(torch.from_numpy(self._prepare_X(X)))
        if logits.shape[1] == 1:
            return self.classes_[(logits[:, 0] > 0).long().numpy()]
        return self.classes_[logits.argmax(dim=1).numpy()]


def _data(n_classes=3):
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    return StandardScaler().fit_transform(X), np.array(["a", "b", "c"])[y]


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return _StandInNetClassifier().fit(X, y), X, y


def test_fgsm_equals_hand_computed_signed_gradient():
    torch.manual_seed(0)
    linear = nn.Linear(4, 3)
    X = torch.randn(20, 4)
    y = torch.randint(3, (20,))
    eps = 0.2

    X_adv = fgsm(linear, F.cross_entropy, X, y, eps)

    # Mean cross-entropy of a linear model: ∇ₓ L = (softmax(XWᵀ + b) − onehot(y)) W / n.
    with torch.no_grad():
        probs = torch.softmax(linear(X), dim=1)
        gradient = (probs - F.one_hot(y, 3).float()) @ linear.weight / len(X)
    torch.testing.assert_close(X_adv, X + eps * gradient.sign())
    assert not X_adv.requires_grad


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
@pytest.mark.parametrize("training", [True, False])
def test_attacks_leave_parameter_grads_and_mode_untouched(attack, training):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train(training)
    module[0].weight.grad = torch.ones_like(module[0].weight)
    X, y = torch.randn(10, 4), torch.randint(3, (10,))
    if attack == "fgsm":
        fgsm(module, F.cross_entropy, X, y, 0.1)
    else:
        pgd(module, F.cross_entropy, X, y, 0.1, steps=3)
    assert module.training is training
    torch.testing.assert_close(module[0].weight.grad, torch.ones_like(module[0].weight))
    assert module[0].bias.grad is None and module[2].weight.grad is None


def test_pgd_stays_in_the_ball_increases_the_loss_and_is_reproducible(fitted):
    estimator, X, y = fitted
    module = estimator.net_.module_.eval()
    X_t = torch.from_numpy(estimator._prepare_X(X))
    y_t = torch.from_numpy(estimator._encode_y(y))
    eps = 0.3
    X_adv = pgd(
        module, F.cross_entropy, X_t, y_t, eps, steps=10, generator=torch.Generator().manual_seed(0)
    )
    again = pgd(
        module, F.cross_entropy, X_t, y_t, eps, steps=10, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(X_adv, again, rtol=0, atol=0)
    assert (X_adv - X_t).abs().max().item() <= eps + 1e-6
    with torch.no_grad():
        clean_loss = F.cross_entropy(module(X_t), y_t).item()
        adversarial_loss = F.cross_entropy(module(X_adv), y_t).item()
        fgsm_loss = F.cross_entropy(module(fgsm(module, F.cross_entropy, X_t, y_t, eps)), y_t)
    assert adversarial_loss > clean_loss
    assert adversarial_loss >= fgsm_loss.item() - 1e-4


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_robust_accuracy_against_clean_accuracy(fitted, attack):
    estimator, X, y = fitted
    clean = estimator.score(X, y)
    assert robust_accuracy(estimator, X, y, attack=attack, eps=0.0) == pytest.approx(clean)
    robust = robust_accuracy(estimator, X, y, attack=attack, eps=0.5, random_state=0)
    assert robust < clean
    stronger = robust_accuracy(estimator, X, y, attack=attack, eps=1.0, random_state=0)
    assert stronger <= robust


def test_robust_accuracy_is_reproducible_and_restores_train_mode(fitted):
    estimator, X, y = fitted
    module = estimator.net_.module_.train()
    first = robust_accuracy(estimator, X, y, eps=0.4, steps=3, random_state=1, batch_size=64)
    second = robust_accuracy(estimator, X, y, eps=0.4, steps=3, random_state=1)
    assert first == second
    assert module.training
    module.eval()


def test_robust_accuracy_binary_single_logit():
    X, y = _data(n_classes=2)
    estimator = _StandInNetClassifier().fit(X, y)
    clean = estimator.score(X, y)
    assert robust_accuracy(estimator, X, y, eps=0.0) == pytest.approx(clean)
    assert robust_accuracy(estimator, X, y, eps=0.5, random_state=0) < clean


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(attack="cw", eps=0.1), "attack"),
        (dict(eps=-0.1), "eps"),
        (dict(eps=float("inf")), "eps"),
        (dict(eps=0.1, steps=0), "steps"),
        (dict(eps=0.1, step_size=0.0), "step_size"),
    ],
)
def test_robust_accuracy_rejects_bad_arguments(fitted, kwargs, message):
    estimator, X, y = fitted
    with pytest.raises(ValueError, match=message):
        robust_accuracy(estimator, X, y, **kwargs)


def test_robust_accuracy_requires_a_fitted_estimator_and_matching_lengths(fitted):
    estimator, X, y = fitted
    with pytest.raises(NotFittedError):
        robust_accuracy(_StandInNetClassifier(), X, y, eps=0.1)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        robust_accuracy(estimator, X, y[:-1], eps=0.1)
