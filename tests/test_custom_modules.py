"""A user's ``module=``: its constructor arguments, its mistakes, and VQ layers inside it."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from torch import nn

from skreg import RegularizedNetClassifier, RegularizedNetRegressor
from skreg.nn import VQLayer
from skreg.utils._robustness_extensions import ReturnsWrongly  # a module with mistakes


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=90, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    return X.astype(np.float32), y


def small(cls=RegularizedNetClassifier, **params):
    defaults = dict(max_iter=2, learning_rate_init=0.01, random_state=0, batch_size=30)
    return cls(**{**defaults, **params})


class Hidden(nn.Module):
    def __init__(self, n_features, n_outputs, hidden=8):
        super().__init__()
        self.hidden = hidden
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(),
                                  nn.Linear(hidden, n_outputs))

    def forward(self, X):
        return self.body(X)


# ---- module__* in the constructor ----------------------------------------------------------

def test_module_params_in_the_constructor_survive_clone_get_and_set_params(data):
    X, y = data
    clf = small(module=Hidden, module__hidden=5)
    twin = clone(clf)
    assert twin.module__hidden == 5 and twin.get_params() == clf.get_params()
    assert clone(clf.set_params(module__hidden=7)).module__hidden == 7
    assert twin.fit(X, y).net_.module_.hidden == 5
    with pytest.raises(TypeError, match="unexpected keyword argument 'hiden_layer_sizes'"):
        RegularizedNetClassifier(hiden_layer_sizes=(3,))


def test_a_module_without_the_data_size_arguments_gets_a_clear_error(data):
    X, y = data

    class Fixed(nn.Module):
        def __init__(self, hidden=4):
            super().__init__()
            self.layer = nn.Linear(6, 3)

        def forward(self, X):
            return self.layer(X)

    with pytest.raises(ValueError, match=r"Fixed.__init__ does not accept n_features, "
                       r"n_outputs.*Fixed\(n_features=6, n_outputs=3, hidden=2\).*instance"):
        small(module=Fixed, module__hidden=2).fit(X, y)
    assert small(module=Fixed()).fit(X, y).predict(X).shape == y.shape  # the opt-out


# ---- the module's output, checked on the first batch ---------------------------------------

@pytest.mark.parametrize("cls, kind, returned, expected", [
    (RegularizedNetClassifier, "too wide", r"shape \(30, 4\)", r"\(30, 3\)"),
    (RegularizedNetClassifier, "one column", r"shape \(30, 1\)",
     r"\(30, 3\).*one logit per class"),
    (RegularizedNetClassifier, "vector", r"shape \(30,\)", r"\(30, 3\)"),
    (RegularizedNetClassifier, "tuple", "returned a tuple", r"\(30, 3\)"),
    (RegularizedNetRegressor, "vector", r"shape \(30,\)", r"\(30, 1\).*unsqueeze"),
    (RegularizedNetRegressor, "too wide", r"shape \(30, 2\)", r"\(30, 1\)"),
    (RegularizedNetRegressor, "tuple", "returned a tuple", r"\(30, 1\)"),
])
def test_a_module_returning_the_wrong_shape_is_named_with_both_shapes(data, cls, kind,
                                                                     returned, expected):
    X, y = data
    target = y if cls is RegularizedNetClassifier else y / 2.0
    with pytest.raises(ValueError, match=rf"module ReturnsWrongly .*{returned}.*{expected}"):
        small(cls, module=ReturnsWrongly, module__kind=kind).fit(X, target)
    assert small(cls, module=ReturnsWrongly).fit(X, target).predict(X).shape == target.shape


class NaNAtPredict(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.layer = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        out = self.layer(X)
        return out if self.training else out * torch.log(X[:, :1] - 1e3)


def test_nan_at_predict_names_the_module_not_the_scale_of_x(data):
    X, y = data
    clf = small(module=NaNAtPredict).fit(X, y)
    with pytest.raises(ValueError, match=r"module NaNAtPredict returned NaN.*largest "
                       r"magnitude [0-9.]+\)") as info:
        clf.predict(X)
    assert "overflow" not in str(info.value)


# ---- VQ layers inside a custom module ------------------------------------------------------

class Quantized(nn.Module):
    """A user's bottleneck: the recipe of the user guide (VQLayer between two layers)."""

    def __init__(self, n_features, n_outputs, n_codes=4, ema=False, init="data"):
        super().__init__()
        self.encode = nn.Linear(n_features, 3)
        self.vq = VQLayer(n_codes, 3, ema=ema, init=init)
        self.decode = nn.Linear(3, n_outputs)

    def forward(self, X):
        quantized, _, _ = self.vq(self.encode(X))  # the VQ loss is dropped here
        return self.decode(quantized)


def _quantized_instance(n_codes=4):
    torch.manual_seed(0)
    return Quantized(6, 3, n_codes=n_codes, init=torch.randn(n_codes, 3))


def test_the_training_loss_includes_the_vq_loss_of_a_custom_module(data):
    X, y = data
    instance = _quantized_instance()
    clf = small(module=instance, batch_size=len(X), max_iter=1).fit(X, y)
    # one full batch: the recorded loss is the initial module's cross-entropy plus its VQ
    # loss (codebook + commitment) on that batch
    with torch.no_grad():
        quantized, vq_loss, _ = instance.vq(instance.encode(torch.as_tensor(X)))
        data_loss = nn.functional.cross_entropy(instance.decode(quantized), torch.as_tensor(y))
    assert float(vq_loss) > 0.01 * float(data_loss)
    assert clf.history_[0, "train_loss"] == pytest.approx(float(data_loss + vq_loss), rel=1e-5)


def test_a_vq_layer_in_a_custom_module_has_its_codebook_trained_and_usage_recorded(data):
    X, y = data
    instance = _quantized_instance()
    clf = small(module=instance, max_iter=3).fit(X, y)
    codebook = clf.net_.module_.vq.codebook.detach()
    # the straight-through output passes no gradient to the codes: only the VQ loss moves them
    assert not torch.allclose(codebook, instance.vq.codebook.detach(), atol=1e-4)
    assert len(clf.history_[:, "vq_perplexity"]) == 3
    assert all(1 <= p <= 4 for p in clf.history_[:, "vq_perplexity"])
    assert all(1 <= n <= 4 for n in clf.history_[:, "vq_codes_used"])
    assert not clf.net_.module_.vq._forward_hooks  # nothing of the training left behind
    assert not hasattr(clf.net_, "vq_tracker_")
    plain = small(module=Hidden).fit(X, y)  # a module without VQ layers records nothing
    assert "vq_perplexity" not in plain.history_[-1]


class TwoQuantizers(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.first = VQLayer(4, n_features, init=torch.randn(4, n_features))
        self.second = VQLayer(3, n_features, init=torch.randn(3, n_features), ema=True)
        self.out = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.out(self.second(self.first(X)[0])[0])


def test_several_vq_layers_get_their_own_usage_records(data):
    X, y = data
    torch.manual_seed(0)
    clf = small(module=TwoQuantizers(6, 3)).fit(X, y)
    last = clf.history_[-1]
    assert 1 <= last["vq_perplexity_first"] <= 4 and 1 <= last["vq_perplexity_second"] <= 3
    assert "vq_perplexity" not in last
