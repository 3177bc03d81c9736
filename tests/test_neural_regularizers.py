"""The issue-5 regularizers of RegularizedNetClassifier / RegularizedNetRegressor, as used.

Augmentation, adversarial training, weight sharing / CNN, the VQ bottleneck and learning-rate
schedules, each through the estimators' hyperparameters and fitted attributes. The pieces
themselves (augmentations, attacks, modules, VQLayer) have their own tests.
"""

import math
import pickle
import random

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

import skreg.nn._vq
from skreg import RegularizedNetClassifier, RegularizedNetRegressor, robust_accuracy
from skreg.neural._bottleneck import CODEBOOK_LR_FACTOR
from skreg.neural._data import Batch

N_TRAIN, BATCH_SIZE = 300, 64
N_BATCHES = -(-N_TRAIN // BATCH_SIZE)  # 5 batches per epoch, the last one of 44 rows


@pytest.fixture(scope="module")
def digits():
    """Standardized digits (the 8x8 images' pixels as columns): 300 to train, 60 to test."""
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:360]), y[:360]
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def small(cls=RegularizedNetClassifier, **params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=4, batch_size=BATCH_SIZE,
                    learning_rate_init=0.01, random_state=0)
    return cls(**{**defaults, **params})


def eval_forward(estimator, X):
    """The trained module's outputs for X, computed directly in evaluation mode."""
    module = estimator.net_.module_
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return module(torch.as_tensor(X, dtype=torch.float32))
    finally:
        module.train(was_training)


# ---- augmentation ------------------------------------------------------------------------

AUGMENTATIONS = {
    "noise": dict(noise_std=0.5),
    "mixup": dict(mixup_alpha=0.4, label_smoothing=0.1),
    "images": dict(image_shape=(8, 8), augment_shift=1, augment_rotation=15.0, augment_flip=True),
}


@pytest.mark.parametrize("params", AUGMENTATIONS.values(), ids=AUGMENTATIONS)
def test_augmentation_changes_training_but_never_predictions(digits, params):
    X, y, X_test, _ = digits
    plain = small(label_smoothing=params.get("label_smoothing", 0.0)).fit(X, y)
    clf = small(**params).fit(X, y)
    proba = clf.predict_proba(X_test)
    assert not np.allclose(proba, plain.predict_proba(X_test))  # training did change

    # Predictions are a plain eval-mode forward of the trained module, every time.
    expected = torch.softmax(eval_forward(clf, X_test).double(), dim=1).numpy()
    assert_allclose(proba, expected, rtol=1e-12, atol=0)
    assert_array_equal(clf.predict_proba(X_test), proba)
    assert_array_equal(clf.predict(X_test), clf.classes_[expected.argmax(axis=1)])

    # The augmentation parameters play no part in predicting: changing them after fit, or
    # moving the weights into a net trained without augmentation, gives the same predictions.
    clf.set_params(noise_std=2.0, mixup_alpha=1.0, image_shape=(8, 8), augment_shift=3,
                   augment_rotation=90.0, augment_flip=True)
    assert_array_equal(clf.predict_proba(X_test), proba)
    plain.net_.module_.load_state_dict(clf.net_.module_.state_dict())
    assert_array_equal(plain.predict_proba(X_test), proba)


class _RecordingCriterion(nn.Module):
    """Wraps the estimator's criterion and keeps every target it is given, with the mode."""

    def __init__(self, criterion):
        super().__init__()
        self.criterion = criterion
        self.targets = []

    def forward(self, output, target):
        self.targets.append((self.training, target.detach().clone()))
        return self.criterion(output, target)


class _RecordingClassifier(RegularizedNetClassifier):
    def _build_criterion(self):
        self.recording_ = _RecordingCriterion(super()._build_criterion())
        return self.recording_


class _RecordingRegressor(RegularizedNetRegressor):
    def _build_criterion(self):
        self.recording_ = _RecordingCriterion(super()._build_criterion())
        return self.recording_


def test_classifier_mixup_one_hot_encodes_classes_with_label_smoothing(digits):
    X, y, X_test, y_test = digits
    # Three classes with labels that are not 0..2: one-hot over classes_, not over label values.
    keep, keep_test = np.isin(y, [2, 5, 9]), np.isin(y_test, [2, 5, 9])
    labels = np.array(list("abcdefghij"))
    clf = small(_RecordingClassifier, mixup_alpha=0.4, label_smoothing=0.1, max_iter=10,
                early_stopping=True, validation_fraction=0.2, n_iter_no_change=20)
    clf.fit(X[keep], labels[y[keep]])
    assert list(clf.classes_) == ["c", "f", "j"]

    training = [t for is_training, t in clf.recording_.targets if is_training]
    validation = [t for is_training, t in clf.recording_.targets if not is_training]
    n_fit = keep.sum() - math.ceil(0.2 * keep.sum())  # rows left after the validation split
    assert sum(len(t) for t in training) == clf.n_iter_ * n_fit
    for target in training:  # mixed one-hot rows: two classes at most, summing to one
        assert target.dtype == torch.float32 and target.shape[1] == 3
        assert_allclose(target.sum(dim=1).numpy(), 1.0, rtol=1e-6)
        assert bool((target >= 0).all()) and bool(((target > 0).sum(dim=1) <= 2).all())
    assert any(float(t.max(dim=1).values.min()) < 0.99 for t in training)  # something mixed
    for target in validation:  # validation batches are not augmented
        assert target.dtype == torch.int64
    assert clf.score(X_test[keep_test], labels[y_test[keep_test]]) > 0.6  # chance: 1/3


def test_regressor_mixup_mixes_float_targets_single_and_multi_output():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_TRAIN, 4))
    Y = np.column_stack([X @ [1.0, -1.0, 0.5, 0.0], X[:, 2] - X[:, 3]])
    for targets in (Y, Y[:, 0]):
        reg = small(_RecordingRegressor, mixup_alpha=0.4, max_iter=20).fit(X, targets)
        assert reg.predict(X).shape == targets.shape
        assert reg.score(X, targets) > 0.8
        recorded = torch.cat([t for _, t in reg.recording_.targets]).numpy()
        Y2 = targets.reshape(len(targets), -1)
        assert recorded.dtype == np.float32 and recorded.shape == (20 * N_TRAIN, Y2.shape[1])
        # Mixed targets lie between the extremes of y, and most are no row of y.
        assert np.all(recorded >= Y2.min(axis=0) - 1e-5)
        assert np.all(recorded <= Y2.max(axis=0) + 1e-5)
        distance = np.abs(recorded[:, None, :] - Y2[None].astype(np.float32)).max(axis=2).min(1)
        assert np.mean(distance > 1e-4) > 0.5


# ---- validation of the new hyperparameters -------------------------------------------------

@pytest.mark.parametrize("params, message", [
    (dict(augment_shift=1), "need image_shape"),
    (dict(augment_rotation=10.0), "need image_shape"),
    (dict(augment_flip=True), "need image_shape"),
    (dict(architecture="cnn"), "needs image_shape"),
    (dict(architecture="cnn", image_shape=(7, 7)), "49 pixels but X has 64 features"),
    (dict(image_shape=(4, 4), augment_shift=1), "16 pixels but X has 64 features"),
    (dict(hidden_layer_sizes=(16, 8, 8), share_hidden_layers=True), "same size"),
    (dict(architecture="cnn", image_shape=(8, 8), share_hidden_layers=True), "mlp"),
    (dict(hidden_layer_sizes=(), vq_codes=4), "at least one hidden layer"),
])
def test_inconsistent_options_raise_a_clear_error_from_fit(digits, params, message):
    X, y, _, _ = digits
    clf = small(**params, max_iter=1)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize("name, value", [
    ("noise_std", -0.1), ("mixup_alpha", -1.0), ("augment_shift", -1),
    ("augment_rotation", 181.0), ("adversarial", "foo"), ("adversarial_weight", 0.0),
    ("adversarial_weight", 1.5), ("adversarial_eps", -0.1), ("adversarial_steps", 0),
    ("adversarial_step_size", 0.0), ("vq_codes", 0), ("vq_commitment", -1.0),
    ("learning_rate_schedule", "step"), ("architecture", "rnn"),
])
@pytest.mark.parametrize("cls", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_invalid_values_raise_invalid_parameter_error(digits, cls, name, value):
    X, y, _, _ = digits
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        small(cls, **{name: value}).fit(X, y)


# ---- n_parameters_: weight sharing, CNN, VQ codebook ---------------------------------------

def test_n_parameters_hand_count_and_the_saving_of_shared_layers(digits):
    X, y, _, _ = digits
    d, h, k, n_layers = 64, 16, 10, 4
    expected = (d * h + h) + (n_layers - 1) * (h * h + h) + (h * k + k)
    clf = small(hidden_layer_sizes=(h,) * n_layers, max_iter=1).fit(X, y)
    assert clf.n_parameters_ == expected
    shared = small(hidden_layer_sizes=(h,) * n_layers, share_hidden_layers=True, max_iter=2)
    shared.fit(X, y)
    assert shared.n_parameters_ == expected - (n_layers - 2) * h * h
    layers = shared.net_.module_.hidden_layers
    assert all(layer.weight is layers[1].weight for layer in layers[2:])  # still tied
    restored = pickle.loads(pickle.dumps(shared))
    layers = restored.net_.module_.hidden_layers
    assert all(layer.weight is layers[1].weight for layer in layers[2:])


def test_n_parameters_of_the_cnn(digits):
    X, y, _, _ = digits
    clf = small(architecture="cnn", image_shape=(8, 8), conv_channels=(4, 8), max_iter=1)
    clf.fit(X, y)
    # conv 1->4 and 4->8 (3x3 + bias), two 2x2 poolings leave 8 x 2 x 2, dense 32->16, output.
    expected = (4 * 9 + 4) + (8 * 4 * 9 + 8) + (32 * 16 + 16) + (16 * 10 + 10)
    assert clf.n_parameters_ == expected
    assert clf.n_parameters_ == sum(p.numel() for p in clf.net_.module_.parameters())


@pytest.mark.parametrize("vq_ema", [False, True])
def test_n_parameters_counts_a_gradient_codebook_but_not_an_ema_one(digits, vq_ema):
    X, y, _, _ = digits
    n_codes, h = 12, 16
    mlp = (64 * h + h) + (h * 10 + 10)
    clf = small(vq_codes=n_codes, vq_ema=vq_ema, max_iter=1).fit(X, y)
    assert clf.n_parameters_ == mlp + (0 if vq_ema else n_codes * h)
    assert tuple(clf.net_.module_.vq.codebook.shape) == (n_codes, h)


# ---- adversarial training ------------------------------------------------------------------

class _AuditedAdversary:
    """Calls the estimator's TrainingAdversary and records what a training step gets from it."""

    def __init__(self, adversary, label_smoothing):
        self.adversary = adversary
        self.label_smoothing = label_smoothing
        self.calls = []

    def __call__(self, net, batch):
        module = net.module_
        state = {key: value.clone() for key, value in module.state_dict().items()}
        was_training = module.training
        adversarial = self.adversary(net, batch)
        unchanged = all(
            torch.equal(value, state[key]) for key, value in module.state_dict().items()
        )
        self.calls.append(dict(
            X=batch.X, y=batch.y, X_adv=adversarial.X, was_training=was_training,
            training_after=module.training, state_unchanged=unchanged,
            fgsm=self.hand_fgsm(module, batch.X, batch.y),
        ))
        return adversarial

    def hand_fgsm(self, module, X, y):
        """x + eps * sign(grad_x loss), the loss being the training criterion, in eval mode."""
        module.eval()
        X = X.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(module(X), y, label_smoothing=self.label_smoothing)
        (gradient,) = torch.autograd.grad(loss, X)
        module.train()
        return (X + self.adversary.eps * gradient.sign()).detach()


class _AuditedClassifier(RegularizedNetClassifier):
    def _build_adversary(self):
        adversary, weight = super()._build_adversary()
        self.audit_ = _AuditedAdversary(adversary, self.label_smoothing)
        return self.audit_, weight


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_training_step_attacks_in_eval_mode_within_the_ball(digits, attack):
    X, y, _, _ = digits
    eps = 0.2
    # Dropout and batch norm make eval mode matter; mixup gives soft targets to attack.
    clf = small(_AuditedClassifier, hidden_layer_sizes=(16, 16), dropout=0.2, batch_norm=True,
                label_smoothing=0.1, mixup_alpha=0.3, adversarial=attack, adversarial_eps=eps,
                max_iter=2)
    clf.fit(X, y)
    calls = clf.audit_.calls
    assert len(calls) == 2 * N_BATCHES
    for call in calls:
        assert call["was_training"] and call["training_after"]
        assert call["state_unchanged"]  # no batch-norm statistics moved by the attack
        assert call["y"].dtype == torch.float32  # the attack sees the mixed targets
        delta = call["X_adv"] - call["X"]
        assert float(delta.abs().max()) <= eps + 1e-5  # float32 rounding of x + eps
        if attack == "fgsm":
            assert torch.equal(call["X_adv"], call["fgsm"])
        else:
            assert float(delta.abs().mean()) > eps / 2  # it does move the inputs
    if attack == "fgsm":
        # The attack of a batch is deterministic: eval mode, no dropout mask drawn.
        net, first = clf.net_, calls[-1]
        batch = Batch(first["X"], first["y"])
        net.module_.train()
        assert torch.equal(net.adversary(net, batch).X, net.adversary(net, batch).X)


@pytest.mark.parametrize("attack, weight", [("fgsm", 0.5), ("pgd", 0.5), ("pgd", 1.0)])
def test_batch_norm_statistics_see_only_the_training_forward_passes(digits, attack, weight):
    X, y, X_test, _ = digits
    max_iter = 3
    clf = small(hidden_layer_sizes=(16, 16), batch_norm=True, adversarial=attack,
                adversarial_steps=4, adversarial_weight=weight, max_iter=max_iter)
    clf.fit(X, y)
    # One clean and one adversarial training forward per batch (adversarial only for
    # adversarial_weight=1); the attack's own forward passes are not counted.
    passes_per_batch = 1 if weight == 1 else 2
    norms = [m for m in clf.net_.module_.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 2
    for norm in norms:
        assert int(norm.num_batches_tracked) == max_iter * N_BATCHES * passes_per_batch
    assert np.all(np.isfinite(clf.loss_curve_))
    assert clf.predict_proba(X_test).shape == (len(X_test), 10)


def test_robust_accuracy_of_the_estimator_against_its_clean_accuracy(digits):
    X, y, X_test, y_test = digits
    clf = small(max_iter=10, dropout=0.1).fit(X, y)
    clean = clf.score(X_test, y_test)
    for attack in ("fgsm", "pgd"):
        assert robust_accuracy(clf, X_test, y_test, attack=attack, eps=0.0,
                               random_state=0) == clean
        attacked = robust_accuracy(clf, X_test, y_test, attack=attack, eps=0.5, steps=5,
                                   random_state=0)
        assert attacked <= clean
    assert attacked < clean  # PGD at eps=0.5 standard deviations does hurt a plain net


# ---- VQ bottleneck -------------------------------------------------------------------------

class _VQRecordingClassifier(RegularizedNetClassifier):
    """Recomputes each training forward's code assignments by hand (float64 distances)."""

    def _build_module(self, n_features, n_outputs):
        module = super()._build_module(n_features, n_outputs)
        self.counts_ = []

        def record(layer, inputs, output):
            if layer.training and bool(layer.initialized):
                hidden = inputs[0].detach().double()
                distances = torch.cdist(hidden, layer.codebook.detach().double())
                codes = distances.argmin(dim=1)
                self.counts_.append(torch.bincount(codes, minlength=layer.n_codes))

        module.vq.register_forward_hook(record)
        return module


def test_vq_history_records_code_usage_of_each_epoch(digits):
    X, y, _, _ = digits
    n_codes, max_iter = 16, 4
    clf = small(_VQRecordingClassifier, vq_codes=n_codes, max_iter=max_iter).fit(X, y)
    used = np.asarray(clf.history_[:, "vq_codes_used"])
    perplexity = np.asarray(clf.history_[:, "vq_perplexity"])
    assert len(used) == len(perplexity) == max_iter
    assert np.all((used >= 1) & (used <= n_codes))
    assert np.all((perplexity >= 1) & (perplexity <= used + 1e-9))
    # The last epoch: usage over all its training vectors, by hand.
    assert len(clf.counts_) == max_iter * N_BATCHES
    counts = torch.stack(clf.counts_[-N_BATCHES:]).sum(dim=0).double().numpy()
    assert counts.sum() == N_TRAIN
    p = counts[counts > 0] / counts.sum()
    assert used[-1] == np.count_nonzero(counts)
    assert perplexity[-1] == pytest.approx(math.exp(-np.sum(p * np.log(p))), rel=1e-9)


@pytest.mark.parametrize("vq_ema", [False, True])
def test_vq_reseed_revives_dead_codes(digits, vq_ema):
    X, y, _, _ = digits
    # Small batches: 38 batches an epoch, so re-seeding (every 50 batches) runs 3 times. Twice
    # as many codes as hidden units: without re-seeding about half of them die.
    params = dict(hidden_layer_sizes=(8,), vq_codes=64, vq_ema=vq_ema, batch_size=8,
                  max_iter=4)
    without = small(vq_reseed=False, **params).fit(X, y)
    with_reseed = small(vq_reseed=True, **params).fit(X, y)
    used_without = without.history_[-1, "vq_codes_used"]
    used_with = with_reseed.history_[-1, "vq_codes_used"]
    assert used_without < 40
    assert used_with > used_without + 10


def test_vq_usage_and_loss_cover_clean_and_adversarial_passes(digits, monkeypatch):
    # With adversarial training each step runs two training passes through the bottleneck:
    # the usage counts both batches, and the penalty is the mean of both passes' VQ losses.
    X, y, _, _ = digits
    from skreg.neural import _bottleneck

    penalties, losses, n_counted = [], [], []
    pop_loss = _bottleneck.VQLayerTracker.pop_step_loss
    pop_counts = _bottleneck.VQLayerTracker.pop_step_counts

    def recording_pop_loss(tracker):
        (step_losses,) = tracker._losses.values()  # the bottleneck's one layer
        losses.append([loss.item() for loss in step_losses])
        penalty = pop_loss(tracker)
        penalties.append(penalty.item())
        return penalty

    def recording_pop_counts(tracker):
        (counts,) = pop_counts(tracker).values()
        n_counted.append(int(counts.sum()))
        return {"vq": counts}

    monkeypatch.setattr(_bottleneck.VQLayerTracker, "pop_step_loss", recording_pop_loss)
    monkeypatch.setattr(_bottleneck.VQLayerTracker, "pop_step_counts", recording_pop_counts)
    max_iter = 2
    clf = small(vq_codes=8, adversarial="fgsm", adversarial_eps=0.1, max_iter=max_iter)
    clf.fit(X, y)
    # The codebook exists from the first batch on (64 rows >= 8 codes): every pass quantizes.
    assert len(losses) == max_iter * N_BATCHES
    assert all(len(step) == 2 for step in losses)
    assert penalties == pytest.approx([np.mean(step) for step in losses], rel=1e-6)
    assert sum(n_counted) == max_iter * 2 * N_TRAIN


def test_vq_layer_without_codebook_is_the_identity_in_both_modes(digits):
    # partial_fit on fewer rows than codes: no codebook yet, and prediction must compute what
    # training computed (the identity), not quantize with the random initial codes.
    X, y, X_test, _ = digits
    clf = small(vq_codes=64)
    clf.partial_fit(X[:20], y[:20], classes=np.unique(y))
    assert not bool(clf.net_.module_.vq.initialized)
    features = clf.net_.module_.features
    with torch.no_grad():
        features.eval()
        hidden = features(torch.as_tensor(X_test, dtype=torch.float32))
        expected = clf.net_.module_.head.eval()(hidden)
    assert_allclose(eval_forward(clf, X_test).numpy(), expected.numpy(), rtol=1e-6)
    clf.partial_fit(X, y)  # enough rows now: the codebook is initialized from them
    assert bool(clf.net_.module_.vq.initialized)


def test_vq_codes_above_the_number_of_training_samples_is_an_error(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="vq_codes=64 needs at least"):
        small(vq_codes=64).fit(X[:40], y[:40])


@pytest.mark.parametrize("vq_ema", [False, True])
def test_predictions_never_change_the_codebook(digits, vq_ema):
    X, y, X_test, y_test = digits
    clf = small(vq_codes=16, vq_ema=vq_ema, max_iter=3).fit(X, y)
    state = {key: value.clone() for key, value in clf.net_.module_.state_dict().items()}
    proba = clf.predict_proba(X_test)
    clf.predict_proba(10 * X_test)  # far from every code
    clf.predict(X_test[:3])
    robust_accuracy(clf, X_test, y_test, eps=0.3, steps=3, random_state=0)
    after = clf.net_.module_.state_dict()
    assert all(torch.equal(after[key], value) for key, value in state.items())
    assert_array_equal(clf.predict_proba(X_test), proba)


ROUND_TRIPS = {
    "vq": dict(vq_codes=16),
    "vq_ema": dict(vq_codes=16, vq_ema=True, dropout=0.1),
    "cnn": dict(architecture="cnn", image_shape=(8, 8), conv_channels=(4, 8), batch_norm=True,
                augment_shift=1, dropout=0.1),
}


@pytest.mark.parametrize("params", ROUND_TRIPS.values(), ids=ROUND_TRIPS)
def test_pickle_joblib_and_clone_keep_predictions(digits, tmp_path, params):
    X, y, X_test, _ = digits
    clf = small(**params, max_iter=3).fit(X, y)
    proba = clf.predict_proba(X_test)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_test), proba)
    assert restored.n_parameters_ == clf.n_parameters_
    joblib.dump(clf, tmp_path / "clf.joblib")
    assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X_test), proba)
    unfitted = clone(clf)
    assert not hasattr(unfitted, "net_") and unfitted.get_params() == clf.get_params()
    assert_array_equal(unfitted.fit(X, y).predict_proba(X_test), proba)


def test_warm_start_continues_with_the_trained_codebook(digits, monkeypatch):
    X, y, X_test, _ = digits
    # At a small rate the codes move by far less than their size in 15 steps.
    clf = small(vq_codes=16, warm_start=True, max_iter=3, learning_rate_init=1e-3).fit(X, y)
    codebook = clf.net_.module_.vq.codebook.detach().clone()
    proba = clf.predict_proba(X_test)

    def no_kmeans(*args, **kwargs):
        raise AssertionError("the codebook was initialized again")

    monkeypatch.setattr(skreg.nn._vq, "_kmeans", no_kmeans)
    clf.fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 6
    assert np.all(np.asarray(clf.history_[:, "vq_codes_used"]) > 0)
    new_codebook = clf.net_.module_.vq.codebook.detach()
    assert not torch.equal(new_codebook, codebook)  # trained further, from where it was
    assert float((new_codebook - codebook).abs().max()) < 1.0
    assert not np.allclose(clf.predict_proba(X_test), proba)


# ---- learning-rate schedule ----------------------------------------------------------------

class _LRRecorder(Callback):
    def on_train_begin(self, net, **kwargs):
        self.lrs_ = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.lrs_.append([group["lr"] for group in net.optimizer_.param_groups])


class _LRRecordingClassifier(RegularizedNetClassifier):
    def _build_callbacks(self, validation):
        self.lr_recorder_ = _LRRecorder()
        return super()._build_callbacks(validation) + [("lr_recorder", self.lr_recorder_)]


def _torch_schedule(kind, lr, total):
    """The rates torch's own scheduler gives, stepped once per batch by hand."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr)
    if kind == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - 1)
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total, cycle_momentum=False
        )
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.asarray(rates)


@pytest.mark.parametrize("kind", ["cosine", "onecycle"])
def test_schedule_sets_the_rate_of_each_batch_and_restores_it(digits, kind):
    X, y, _, _ = digits
    lr, max_iter = 0.01, 4
    total = max_iter * N_BATCHES
    clf = small(_LRRecordingClassifier, learning_rate_schedule=kind, learning_rate_init=lr,
                weight_decay=1e-4, max_iter=max_iter).fit(X, y)
    expected = _torch_schedule(kind, lr, total)
    per_batch = np.asarray(clf.lr_recorder_.lrs_)
    assert per_batch.shape == (total, 2)  # weight decay: two parameter groups, both scheduled
    assert_allclose(per_batch, np.column_stack([expected, expected]), rtol=1e-12)
    assert_allclose(clf.history_[:, "lr"], expected[N_BATCHES - 1::N_BATCHES], rtol=1e-12)
    if kind == "cosine":  # the closed form: lr (1 + cos(pi t)) / 2 from t = 0 to 1
        closed_form = lr * (1 + np.cos(np.pi * np.arange(total) / (total - 1))) / 2
        assert_allclose(per_batch[:, 0], closed_form, rtol=1e-6, atol=1e-12)
    else:  # warm-up from lr / 25 to lr, then down to lr / 25e4
        assert per_batch[0, 0] == pytest.approx(lr / 25)
        assert per_batch[:, 0].max() == pytest.approx(lr, rel=0.02)
        assert per_batch[-1, 0] == pytest.approx(lr / 25e4)
    assert [group["lr"] for group in clf.net_.optimizer_.param_groups] == [lr, lr]


def test_onecycle_peaks_each_parameter_group_at_its_own_rate(digits):
    X, y, _, _ = digits
    lr = 0.01
    clf = small(_LRRecordingClassifier, learning_rate_schedule="onecycle", learning_rate_init=lr,
                vq_codes=8, max_iter=2).fit(X, y)
    per_batch = np.asarray(clf.lr_recorder_.lrs_)  # the network's group, then the codebook's
    assert_allclose(per_batch.max(axis=0) / per_batch.max(axis=0)[0],
                    [1.0, CODEBOOK_LR_FACTOR], rtol=1e-12)


def test_partial_fit_ignores_the_schedule(digits):
    X, y, _, _ = digits
    lr = 0.01
    clf = small(_LRRecordingClassifier, learning_rate_schedule="cosine", learning_rate_init=lr)
    for _ in range(2):
        clf.partial_fit(X, y, classes=np.arange(10))
        assert np.all(np.asarray(clf.lr_recorder_.lrs_) == lr)
    assert "lr" not in clf.history_[-1]
    clf.fit(X, y)  # fit follows the schedule, and a later partial_fit is constant again
    assert np.asarray(clf.lr_recorder_.lrs_)[-1, 0] < lr / 10
    clf.partial_fit(X, y)
    assert np.all(np.asarray(clf.lr_recorder_.lrs_) == lr)
    assert clf.n_iter_ == 5


def test_schedule_ends_when_a_singleton_last_batch_is_merged(digits):
    X, y, _, _ = digits
    n, max_iter = 2 * BATCH_SIZE + 1, 3  # 2 batches an epoch, the last one of 65 rows
    clf = small(_LRRecordingClassifier, learning_rate_schedule="cosine", max_iter=max_iter)
    clf.fit(X[:n], y[:n])
    lrs = np.asarray(clf.lr_recorder_.lrs_)[:, 0]
    assert len(lrs) == 2 * max_iter
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert clf.history_[-1, "lr"] == pytest.approx(0.0, abs=1e-12)


# ---- composition ---------------------------------------------------------------------------

def test_grid_search_over_the_new_regularizers(digits):
    X, y, _, _ = digits
    grid = [{"dropout": [0.0, 0.3]}, {"mixup_alpha": [0.2]}, {"adversarial": ["fgsm", "pgd"]},
            {"vq_codes": [8]}]
    search = GridSearchCV(small(max_iter=5), grid, cv=2, error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 6 and np.all(scores > 0.3)
    assert search.best_params_ in search.cv_results_["params"]
    assert search.best_estimator_.get_params()["vq_codes"] == search.best_params_.get("vq_codes")


EVERYTHING = {
    "mlp": dict(hidden_layer_sizes=(16, 16, 16), share_hidden_layers=True, dropout=0.1,
                batch_norm=True, weight_decay=1e-4, l1=1e-5, label_smoothing=0.1,
                class_weight="balanced", noise_std=0.1, mixup_alpha=0.2, image_shape=(8, 8),
                augment_shift=1, augment_rotation=10.0, augment_flip=True, adversarial="pgd",
                adversarial_steps=2, vq_codes=8, learning_rate_schedule="onecycle",
                early_stopping=True, optimizer="adamw"),
    "cnn": dict(architecture="cnn", image_shape=(8, 8), conv_channels=(4,), dropout=0.1,
                batch_norm=True, noise_std=0.1, mixup_alpha=0.2, augment_shift=1,
                adversarial="fgsm", vq_codes=8, vq_ema=True, learning_rate_schedule="cosine"),
    "regressor": dict(hidden_layer_sizes=(16, 16), dropout=0.1, noise_std=0.1, mixup_alpha=0.2,
                      adversarial="pgd", vq_codes=8, learning_rate_schedule="cosine",
                      early_stopping=True),
}


@pytest.mark.parametrize("name", EVERYTHING)
def test_every_regularizer_at_once_is_reproducible_and_leaves_global_rngs(digits, name):
    X, y, X_test, _ = digits
    cls = RegularizedNetRegressor if name == "regressor" else RegularizedNetClassifier
    target = np.column_stack([X[:, 10], X[:, 20] - X[:, 30]]) if name == "regressor" else y
    predict = "predict" if name == "regressor" else "predict_proba"
    torch_state, numpy_state, python_state = (
        torch.get_rng_state(), np.random.get_state(), random.getstate()  # noqa: NPY002
    )
    first = small(cls, **EVERYTHING[name], max_iter=3).fit(X, target)
    assert torch.equal(torch.get_rng_state(), torch_state)
    numpy_after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(numpy_after, numpy_state, strict=True))
    assert random.getstate() == python_state

    expected = getattr(first, predict)(X_test)
    assert np.all(np.isfinite(expected))
    again = small(cls, **EVERYTHING[name], max_iter=3).fit(X, target)
    assert_array_equal(getattr(again, predict)(X_test), expected)
    other = small(cls, **EVERYTHING[name], max_iter=3, random_state=1).fit(X, target)
    assert not np.allclose(getattr(other, predict)(X_test), expected)
