"""The small pieces the neural estimators are composed of, each against a closed form."""

import re

import pytest
import torch
from numpy.testing import assert_allclose
from skorch.history import History
from torch import nn

from skreg.neural._bottleneck import CODEBOOK_LR_FACTOR, VQBottleneck
from skreg.neural._callbacks import DivergenceGuard, EarlyStopping
from skreg.neural._data import Batch, BatchIterator, TensorDataset
from skreg.neural._modules import MLP, Dropout, penalized_parameters
from skreg.neural._net import L1Penalty, RegularizedNet


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest_without_bias(p):
    torch.manual_seed(0)
    layer = Dropout(p).train()
    x = torch.ones(400, 500, requires_grad=True)
    out = layer(x)
    kept = out != 0
    keep_rate = 1 - round(p * 2**16) / 2**16  # p is rounded to a multiple of 2**-16
    # 200,000 Bernoulli draws: 5 standard deviations of the observed drop rate is ~0.005.
    assert abs((~kept).float().mean().item() - p) < 0.005
    assert_allclose(out[kept].detach().numpy(), 1 / keep_rate, rtol=1e-6)
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # d(out)/dx is the same mask times scale


def test_dropout_is_identity_in_eval_mode_and_at_zero_rate():
    x = torch.randn(8, 4)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


def test_mlp_layout_and_penalized_parameters():
    module = MLP(5, 2, hidden_layer_sizes=[7, 3], activation="tanh", dropout=0.1,
                 batch_norm=True)
    first = module.features[0]
    assert isinstance(first[0], nn.Linear) and first[0].bias is None  # the norm shifts instead
    assert [type(layer) for layer in first[1:]] == [nn.BatchNorm1d, nn.Tanh]
    # Dropout after every hidden activation: between the blocks and at the head's input.
    assert isinstance(module.features[1], Dropout) and isinstance(module.head[0], Dropout)
    assert module(torch.randn(4, 5)).shape == (4, 2)
    penalized = penalized_parameters(module)
    assert [tuple(w.shape) for w in penalized] == [(7, 5), (3, 7), (2, 3)]
    norm_parameters = {id(p) for m in module.modules() if isinstance(m, nn.BatchNorm1d)
                       for p in m.parameters()}
    assert not norm_parameters & {id(w) for w in penalized}


def test_penalized_parameters_lists_a_shared_weight_once():
    shared = nn.Linear(4, 4)
    module = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(penalized_parameters(module)) == 1


def _dataset(n=10):
    X = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2)
    return TensorDataset(X, torch.arange(n), torch.ones(n))


def test_batch_iterator_visits_every_row_once_per_pass():
    dataset = _dataset(10)
    torch.manual_seed(0)
    iterator = BatchIterator(dataset, batch_size=4, shuffle=True)
    assert len(iterator) == 3
    first, second = ([row for b in iterator for row in b.y.tolist()] for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second  # a new permutation each pass
    for batch in iterator:  # rows stay aligned across X, y and weights
        assert torch.equal(batch.X[:, 0], 2 * batch.y.float())
        assert batch.X.dtype == torch.float32


def test_batch_iterator_keeps_order_and_merges_a_trailing_single_row():
    sizes = [len(b.X) for b in BatchIterator(_dataset(9), batch_size=4)]
    assert sizes == [4, 4, 1]
    batches = list(BatchIterator(_dataset(9), batch_size=4, merge_singleton=True))
    assert [len(b.X) for b in batches] == [4, 5]
    assert torch.equal(torch.cat([b.y for b in batches]), torch.arange(9))


def _net(module, criterion, **kwargs):
    return RegularizedNet(module=module, criterion=criterion, **kwargs).initialize()


def test_get_loss_is_the_weighted_mean_of_per_sample_losses():
    net = _net(nn.Linear(3, 2), nn.CrossEntropyLoss(reduction="none"))
    logits, y = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 0])
    w = torch.tensor([0.5, 2.0, 1.0, 0.0, 1.5, 1.0])
    per_sample = nn.functional.cross_entropy(logits, y, reduction="none")
    assert_allclose(net.get_loss(logits, y).item(), per_sample.mean().item(), rtol=1e-6)
    assert_allclose(
        net.get_loss(logits, y, sample_weight=w).item(), (w * per_sample).mean().item(),
        rtol=1e-6,
    )
    # several outputs: averaged per sample first
    net = _net(nn.Linear(3, 2), nn.MSELoss(reduction="none"))
    pred, target = torch.randn(4, 2), torch.randn(4, 2)
    assert_allclose(net.get_loss(pred, target).item(), ((pred - target) ** 2).mean().item(),
                    rtol=1e-6)


def test_l1_penalty_is_strength_times_sum_of_absolute_weights():
    module = MLP(3, 2, hidden_layer_sizes=[4])
    net = _net(module, nn.CrossEntropyLoss(reduction="none"))
    expected = 0.3 * (module.features[0][0].weight.abs().sum() + module.output.weight.abs().sum())
    assert_allclose(L1Penalty(0.3)(net).item(), expected.item(), rtol=1e-6)


def test_optimizer_decays_weight_matrices_only():
    module = MLP(3, 2, hidden_layer_sizes=[4], batch_norm=True)
    net = _net(module, nn.CrossEntropyLoss(reduction="none"), optimizer=torch.optim.AdamW,
               optimizer__weight_decay=0.5)
    decayed, not_decayed = net.optimizer_.param_groups
    assert decayed["weight_decay"] == 0.5 and not_decayed["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(w) for w in penalized_parameters(module)}
    assert len(not_decayed["params"]) == 3  # norm scale, norm shift, output bias


@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
@pytest.mark.parametrize("ema", [False, True])
def test_optimizer_steps_a_gradient_codebook_faster_and_never_decays_it(weight_decay, ema):
    module = VQBottleneck(MLP(3, 2, hidden_layer_sizes=[4]), 5, ema=ema)
    net = _net(module, nn.CrossEntropyLoss(reduction="none"), optimizer=torch.optim.Adam,
               lr=0.01, optimizer__weight_decay=weight_decay)
    groups = {id(p): group for group in net.optimizer_.param_groups for p in group["params"]}
    for name, param in module.named_parameters():
        group = groups.pop(id(param))
        codebook = name == "vq.codebook"
        decayed = weight_decay and param.ndim == 2 and not codebook
        assert group["lr"] == pytest.approx(0.01 * (CODEBOOK_LR_FACTOR if codebook else 1))
        assert group["weight_decay"] == (weight_decay if decayed else 0.0)
    assert not groups  # every optimized parameter is one of the module's
    assert ("vq.codebook" in dict(module.named_parameters())) is not ema  # EMA: a buffer


def test_training_step_composes_transform_adversary_and_penalty():
    torch.manual_seed(0)
    module = nn.Linear(2, 2)
    seen = {}

    def transform(X, y, generator):
        seen["transform"] = X.clone()
        return X + 1, y

    def adversary(net, batch):
        seen["adversary"] = batch.X.clone()
        return batch._replace(X=-batch.X)

    def constant_penalty(net):
        return torch.tensor(10.0)

    net = _net(module, nn.CrossEntropyLoss(reduction="none"), batch_transforms=[transform],
               adversary=adversary, adversarial_weight=0.25, penalties=[constant_penalty])
    X, y = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
    step = net.train_step_single(Batch(X, y))
    assert torch.equal(seen["transform"], X) and torch.equal(seen["adversary"], X + 1)
    ce = nn.functional.cross_entropy
    with torch.no_grad():
        expected = 0.75 * ce(module(X + 1), y) + 0.25 * ce(module(-(X + 1)), y) + 10.0
    assert_allclose(step["loss"].item(), expected.item(), rtol=1e-6)
    # validation and prediction see neither the transform nor the adversary
    seen.clear()
    assert_allclose(net.validation_step(Batch(X, y))["loss"].item(), ce(module(X), y).item(),
                    rtol=1e-6)
    assert torch.equal(net.evaluation_step(Batch(X)), module(X).detach())
    assert not seen


def test_soft_targets_give_the_same_loss_as_class_indices():
    net = _net(nn.Linear(3, 4), nn.CrossEntropyLoss(reduction="none", label_smoothing=0.1))
    logits, y = torch.randn(6, 4), torch.tensor([0, 3, 1, 2, 2, 0])
    one_hot = nn.functional.one_hot(y, 4).float()
    assert_allclose(net.get_loss(logits, one_hot).item(), net.get_loss(logits, y).item(),
                    rtol=1e-6)


def test_evaluation_does_not_depend_on_what_a_row_is_predicted_with():
    torch.manual_seed(0)
    module = MLP(3, 1, hidden_layer_sizes=[16])
    net = _net(module, nn.MSELoss(reduction="none"))
    X = torch.rand(20, 3) * 3
    full = net.forward(TensorDataset(X))
    one_by_one = torch.cat([net.forward(TensorDataset(X[i : i + 1])) for i in range(20)])
    assert torch.equal(full, one_by_one)


class _FakeNet:
    def __init__(self):
        self.history = History()
        self.module_ = nn.Linear(1, 1)
        self.verbose = 0


def _run_early_stopping(losses, n_iter_no_change, tol):
    net, callback = _FakeNet(), EarlyStopping(patience=n_iter_no_change, threshold=tol)
    callback.on_train_begin(net)
    try:
        for epoch, loss in enumerate(losses, start=1):
            net.history.new_epoch()
            net.history.record("epoch", epoch)
            net.history.record("valid_loss", loss)
            nn.init.constant_(net.module_.weight, float(epoch))
            callback.on_epoch_end(net)
    except KeyboardInterrupt:
        pass
    callback.on_train_end(net)
    return callback, net


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    # best at epoch 3; epoch 4 improves by less than tol: no improvement, but the new best
    callback, net = _run_early_stopping([1.0, 0.8, 0.5, 0.49, 0.6, 0.7, 0.3], 3, tol=0.05)
    assert callback.stopped_epoch_ == 6  # epochs 4, 5, 6 did not improve by tol
    # the lowest loss seen, even if below tol (skorch's own rule would restore epoch 3)
    assert callback.best_epoch_ == 4
    assert net.module_.weight.item() == 4.0
    assert callback.best_model_weights_ is None  # no second copy of the weights kept


def test_early_stopping_restores_best_weights_when_epochs_run_out():
    callback, net = _run_early_stopping([1.0, 0.5, 0.6], 5, tol=0.0)
    assert callback.stopped_epoch_ is None and callback.best_epoch_ == 2
    assert net.module_.weight.item() == 2.0


@pytest.mark.parametrize("loss", [float("nan"), float("inf")])
def test_divergence_guard_names_the_epoch_and_batch(loss):
    net = _FakeNet()
    net.history.new_epoch()
    net.history.record("epoch", 3)
    net.history.new_batch()
    net.history.record_batch("train_loss", loss)
    with pytest.raises(ValueError, match=r"diverged.*training loss became (nan|inf) at epoch 3, "
                                         r"batch 1.*StandardScaler"):
        DivergenceGuard().on_batch_end(net, training=True)
    net.history.record("valid_loss", loss)
    with pytest.raises(ValueError, match="validation loss"):
        DivergenceGuard().on_epoch_end(net)


def test_divergence_guard_flags_a_loss_a_thousand_times_its_first_value():
    net = _FakeNet()
    net.history.new_epoch()
    net.history.record("epoch", 1)
    guard = DivergenceGuard()
    # the limit is 1e3 * max(first loss, 1): 1e3 from a first loss of 0.5, 5e3 from 5
    for first, fine, diverged in [(0.5, 999.0, 1001.0), (5.0, 4999.0, 5001.0)]:
        del net.history[-1]["batches"][:]
        for loss in (first, fine):
            net.history.new_batch()
            net.history.record_batch("train_loss", loss)
            guard.on_batch_end(net, training=True)
        net.history.new_batch()
        net.history.record_batch("train_loss", diverged)
        message = f"rose to {diverged:.3g}, over 1e+03 times its first value {first:.3g} at " \
                  "epoch 1, batch 3"
        with pytest.raises(ValueError, match=re.escape(message)):
            guard.on_batch_end(net, training=True)
