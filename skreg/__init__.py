"""skreg: scikit-learn-compatible regularized estimators.

Linear baselines (L1, L2 and Elastic Net on one objective), a vector-quantization transformer, and
neural estimators on skorch whose regularizers are plain hyperparameters that GridSearchCV can tune.
"""

# Set before the subpackages are imported: their estimators' doc links (skreg/utils/_doc_link.py)
# point at this version's documentation.
__version__ = "0.1.0.dev0"

from skreg import nn as nn  # the PyTorch layers: skreg.nn.VQLayer
from skreg.linear import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
    RegularizationPathDisplay,
    enet_path,
)
from skreg.neural import (
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    robust_accuracy,
    smooth_labels,
)
from skreg.quantization import VectorQuantizer
from skreg.study import RegularizationStudy, StudyDisplay, compare_regularizers

__all__ = [
    "ElasticNetClassifier",
    "ElasticNetClassifierCV",
    "ElasticNetRegressor",
    "ElasticNetRegressorCV",
    "RegularizationPathDisplay",
    "RegularizedNetClassifier",
    "RegularizedNetRegressor",
    "RegularizationStudy",
    "StudyDisplay",
    "VectorQuantizer",
    "compare_regularizers",
    "enet_path",
    "robust_accuracy",
    "smooth_labels",
]
