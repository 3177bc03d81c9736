"""skreg: scikit-learn-compatible regularized estimators.

Linear baselines (L1, L2 and Elastic Net on one objective), a vector-quantization transformer, and
neural estimators on skorch whose regularizers are plain hyperparameters that GridSearchCV can tune.
"""

from skreg import nn as nn  # the PyTorch layers: skreg.nn.VQLayer
from skreg.linear import ElasticNetClassifier, ElasticNetRegressor
from skreg.neural import (
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    robust_accuracy,
    smooth_labels,
)
from skreg.quantization import VectorQuantizer
from skreg.study import RegularizationStudy, compare_regularizers

__version__ = "0.1.0.dev0"

__all__ = [
    "ElasticNetClassifier",
    "ElasticNetRegressor",
    "RegularizedNetClassifier",
    "RegularizedNetRegressor",
    "RegularizationStudy",
    "VectorQuantizer",
    "compare_regularizers",
    "robust_accuracy",
    "smooth_labels",
]
