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
        return user_linear_sweeps(values, [name])[0]
    return Sweep("codebook size", "n_codes", list(values), log=True)


def path_cv_estimator(linear, *, alphas, l1_ratios, scoring, cv):
    """The ElasticNet*CV that chooses ``linear``'s alpha and l1_ratio on the same grid.

    Inner cross-validation (``cv``: the same kind of splitter as the study's outer folds, so
    that row order cannot change the choice) along warm-started paths: far cheaper than a
    grid of fits.
    """
    cls = ElasticNetClassifierCV if is_classifier(linear) else ElasticNetRegressorCV
    return cls(alphas=sorted(set(alphas)), l1_ratio=list(l1_ratios), cv=cv, scoring=scoring,
               fit_intercept=linear.fit_intercept, tol=linear.tol, max_iter=linear.max_iter)


def linear_scales(X, y, classifier):
    """The scale of each penalty on this data: ``(lasso_alpha_max, ridge_scale)``.

    With the penalties on the mean loss (see :class:`~skreg.ElasticNetRegressor`), the
    smallest ``alpha`` at which the Lasso keeps no weight is ``max_j |x_j^T (y - mean y)| / n``
    (for logistic regression, the same with one-hot targets): it scales with y and with the
    features. Ridge's ``alpha`` is compared with the eigenvalues of ``X^T X / n`` and does not
    depend on y at all: its scale is their sum, the total variance of the features (at that
    strength every direction is shrunk several-fold). A grid drawn from the Lasso's scale for
    ridge (as glmnet's ``lambda`` sequence would be) moves with the units of y.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if classifier:
        targets = (y.reshape(-1, 1) == np.unique(y)).astype(float)
    else:
        targets = y.reshape(len(y), -1).astype(float)
    centered_X = X - X.mean(axis=0)
    centered = targets - targets.mean(axis=0)
    lasso = np.abs(centered_X.T @ centered).max() / len(X)
    ridge = np.sum(centered_X**2) / len(X)
    lasso = lasso if np.isfinite(lasso) and lasso > 0 else 1.0
    ridge = ridge if np.isfinite(ridge) and ridge > 0 else 1.0
    return float(lasso), float(ridge)


def strengths(quick):
    """Relative strengths of a penalty: 10^-4 to 1 times its scale (5 or 9 on a log grid)."""
    return np.logspace(-4, 0, 5 if quick else 9)


def linear_sweeps(scales, *, quick, requested=None):
    """Ridge, elastic net and Lasso, each over ``alpha`` on the grid of its own scale.

    Ridge (l1_ratio 0) takes ``alpha = t * ridge_scale`` and the Lasso (l1_ratio 1)
    ``alpha = t * lasso_alpha_max`` for t in :func:`strengths`. The elastic net carries half
    of each: an L1 part ``t * lasso_alpha_max / 2`` and an L2 part ``t * ridge_scale / 2``,
    that is ``alpha = t * (lasso_alpha_max + ridge_scale) / 2`` at the fixed
    ``l1_ratio = lasso_alpha_max / (lasso_alpha_max + ridge_scale)``. Multiplying y by c
    multiplies the Lasso's scale by c and the fitted weights by c at every point of the three
    grids: the same predictions up to units, hence the same scores.
    """
    lasso, ridge = scales
    relative = strengths(quick)
    sweeps = {
        "L2 (ridge)": Sweep("L2 (ridge)", "alpha", list(relative * ridge), {"l1_ratio": 0.0},
                            log=True),
        "elastic net": Sweep("elastic net", "alpha", list(relative * (lasso + ridge) / 2),
                             {"l1_ratio": lasso / (lasso + ridge)}, log=True),
        "L1 (lasso)": Sweep("L1 (lasso)", "alpha", list(relative * lasso), {"l1_ratio": 1.0},
                            log=True),
    }
    names = list(_LINEAR_SWEEPS) if requested is None else list(requested)
    return [sweeps[name] for name in names]


def user_linear_sweeps(alphas, requested):
    """Ridge, elastic net (l1_ratio 0.5) or Lasso over the user's ``alphas``."""
    return [
        Sweep(name, "alpha", list(alphas), {"l1_ratio": _LINEAR_SWEEPS[name]}, log=True)
        for name in requested
    ]


def linear_baseline(scales, classifier):
    """The linear baseline: unpenalized, or the weakest ridge penalty of the grid (classifiers).

    An unpenalized logistic regression is undefined on (nearly) separable classes, common in
    small tables: its weights grow without bound and its score depends on where the solver
    stops. The weakest L2 penalty of the ridge grid (10^-4 of its scale) makes the optimum
    unique while changing nothing measurable on non-separable data.
    """
    if not classifier:
        return {"alpha": 0.0}
    return {"alpha": float(strengths(True)[0] * scales[1]), "l1_ratio": 0.0}


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
        return {"alpha": 0.0}  # replaced by linear_baseline() where the data is known
    return {}


def describe_sweeps(estimator, sweeps):
    """``n_codes=256``: the estimator's own values of the swept hyperparameters."""
    params = estimator.get_params(deep=True)
    return ", ".join(f"{s.parameter}={params.get(s.prefix + s.parameter)!r}" for s in sweeps)
