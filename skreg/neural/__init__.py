"""Neural estimators on skorch whose regularizers are plain hyperparameters."""

from skreg.neural._adversarial import robust_accuracy
from skreg.neural._estimators import RegularizedNetClassifier, RegularizedNetRegressor
from skreg.neural._labels import smooth_labels

__all__ = [
    "RegularizedNetClassifier",
    "RegularizedNetRegressor",
    "robust_accuracy",
    "smooth_labels",
]
