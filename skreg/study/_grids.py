"""What a study sweeps: the regularizers of each skreg estimator, their grids and their baseline.

A :class:`Sweep` is one regularizer: the hyperparameter whose strength varies, its values, the
other hyperparameters it needs (``fixed``), and how to draw its axis. Names are those of the
estimator that holds them; the study adds the Pipeline prefix (``"step__"``).
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import is_classifier

from skreg.linear import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
)
from skreg.neural import RegularizedNetClassifier, RegularizedNetRegressor
from skreg.quantization import VectorQuantizer

NETS = (RegularizedNetClassifier, RegularizedNetRegressor)
LINEAR = (ElasticNetClassifier, ElasticNetRegressor)
STUDIED = NETS + LINEAR + (VectorQuantizer,)

# Every regularizer of the nets, off: the baseline of a net study.
NET_OFF = {
    "dropout": 0.0, "weight_decay": 0.0, "l1": 0.0, "noise_std": 0.0, "mixup_alpha": 0.0,
    "early_stopping": False, "batch_norm": False, "augment_shift": 0, "augment_rotation": 0.0,
    "augment_flip": False, "adversarial": None, "vq_codes": None,
}
CLASSIFIER_OFF = {"label_smoothing": 0.0}


@dataclass
class Sweep:
    """One regularizer of a study: ``parameter`` takes ``values`` (with ``fixed`` set too)."""

    name: str
    parameter: str
    values: list
    fixed: dict = field(default_factory=dict)
    log: bool = False
    prefix: str = ""

    def grid(self):
        """The sweep as a GridSearchCV ``param_grid`` (prefixed names)."""
        grid = {self.prefix + self.parameter: list(self.values)}
        grid.update({self.prefix + key: [value] for key, value in self.fixed.items()})
        return grid

    def params(self, value):
        """The prefixed hyperparameters of one point of the sweep."""
        return {self.prefix + self.parameter: value,
                **{self.prefix + key: fixed for key, fixed in self.fixed.items()}}


# name -> (parameter, values, quick values, fixed, log axis); ``"adversarial"`` only on request.
_NET_SWEEPS = {
    "dropout": ("dropout", [0.1, 0.3, 0.5], [0.2, 0.5], {}, False),
    "weight decay": ("weight_decay", [1e-4, 1e-3, 1e-2], [1e-3, 1e-2], {}, True),
    "L1": ("l1", [1e-5, 1e-4, 1e-3], [1e-4, 1e-3], {}, True),
    "label smoothing": ("label_smoothing", [0.05, 0.1, 0.2], [0.1, 0.2], {}, False),
    "early stopping": ("early_stopping", [True], [True], {}, False),
    "batch norm": ("batch_norm", [True], [True], {}, False),
    "input noise": ("noise_std", [0.05, 0.1, 0.3], [0.1, 0.3], {}, False),
    "mixup": ("mixup_alpha", [0.1, 0.2, 0.4], [0.2, 0.4], {}, False),
    "augmentation": ("augment_rotation", [0.0, 10.0], [10.0], {"augment_shift": 1}, False),
    "adversarial": ("adversarial_eps", [0.05, 0.1, 0.3], [0.1, 0.3],
                    {"adversarial": "fgsm"}, False),
}
_ON_REQUEST = {"adversarial"}

_LINEAR_SWEEPS = {"L2 (ridge)": 0.0, "elastic net": 0.5, "L1 (lasso)": 1.0}


def net_sweeps(net, *, quick, requested=None):
    """The default sweeps of a RegularizedNet* (``requested``: a list of names to run)."""
    names = [name for name in _NET_SWEEPS if name not in _ON_REQUEST]
    if requested is not None:
        names = list(requested)
    sweeps = []
    for name in names:
        parameter, values, quick_values, fixed, log = _NET_SWEEPS[name]
        if name == "label smoothing" and not is_classifier(net):
            if requested is not None:
                raise ValueError("label smoothing needs a classifier.")
            continue
        if name == "augmentation" and net.image_shape is None:
            if requested is not None:
                raise ValueError("augmentation needs image_shape (the images' height, width).")
            continue
        sweeps.append(Sweep(name, parameter, quick_values if quick else values, fixed, log))
    return sweeps


def named_sweep(estimator, name, values):
    """The sweep ``name`` of ``estimator`` over the strengths ``values`` given by the user."""
    if isinstance(estimator, NETS):
        sweep = net_sweeps(estimator, quick=False, requested=[name])[0]
        sweep.values = list(values)
        return sweep
    if isinstance(estimator, LINEAR):
        return linear_sweeps(values, requested=[name])[0]
    return Sweep("codebook size", "n_codes", list(values), log=True)


def path_cv_estimator(linear, *, alphas, l1_ratios, scoring):
    """The ElasticNet*CV that chooses ``linear``'s alpha and l1_ratio on the same grid.

    Inner 3-fold cross-validation along warm-started paths: far cheaper than a grid of fits.
    """
    cls = ElasticNetClassifierCV if is_classifier(linear) else ElasticNetRegressorCV
    return cls(alphas=list(alphas), l1_ratio=list(l1_ratios), cv=3, scoring=scoring,
               fit_intercept=linear.fit_intercept, tol=linear.tol, max_iter=linear.max_iter)


def linear_alphas(X, y, classifier, *, quick):
    """A log grid of ``alpha`` from the data: from where the Lasso keeps no weight, down 10^4.

    With the penalty on the mean loss (see :class:`~skreg.ElasticNetRegressor`), the smallest
    ``alpha`` that zeroes every weight of the Lasso is ``max_j |x_j^T (y - mean y)| / n`` (for
    logistic regression, the same with one-hot targets); the ridge and elastic net curves use
    the same grid, so that the three share an axis.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if classifier:
        targets = (y.reshape(-1, 1) == np.unique(y)).astype(float)
    else:
        targets = y.reshape(len(y), -1).astype(float)
    centered = targets - targets.mean(axis=0)
    alpha_max = np.abs((X - X.mean(axis=0)).T @ centered).max() / len(X)
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        alpha_max = 1.0
    return list(alpha_max * np.logspace(-4, 0, 5 if quick else 9))


def linear_sweeps(alphas, requested=None):
    """Ridge, elastic net and Lasso: ``alpha`` over ``alphas`` at l1_ratio 0, 0.5 and 1."""
    names = list(_LINEAR_SWEEPS) if requested is None else list(requested)
    return [
        Sweep(name, "alpha", list(alphas), {"l1_ratio": _LINEAR_SWEEPS[name]}, log=True)
        for name in names
    ]


def quantizer_sweep(n_train, *, quick):
    """``n_codes`` in powers of two up to the training size of a fold."""
    largest = 64 if quick else 256
    values = [n for n in (2, 4, 8, 16, 32, 64, 128, 256) if n <= min(largest, n_train)]
    return Sweep("codebook size", "n_codes", values, log=True)


def known_names(estimator):
    """The sweep names that ``regularizers=[...]`` accepts for ``estimator``."""
    if isinstance(estimator, NETS):
        return list(_NET_SWEEPS)
    if isinstance(estimator, LINEAR):
        return list(_LINEAR_SWEEPS)
    if isinstance(estimator, VectorQuantizer):
        return ["codebook size"]
    return []


def baseline_params(estimator):
    """Hyperparameters turning every regularizer of ``estimator`` off (empty: none to turn off)."""
    if isinstance(estimator, NETS):
        off = dict(NET_OFF)
        if is_classifier(estimator):
            off.update(CLASSIFIER_OFF)
        return off
    if isinstance(estimator, LINEAR):
        return {"alpha": 0.0}
    return {}


def describe_sweeps(estimator, sweeps):
    """``n_codes=256``: the estimator's own values of the swept hyperparameters."""
    params = estimator.get_params(deep=True)
    return ", ".join(f"{s.parameter}={params.get(s.prefix + s.parameter)!r}" for s in sweeps)
