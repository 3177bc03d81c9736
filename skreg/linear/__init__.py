"""Linear baselines: L1, L2 and Elastic Net on one objective, with paths and cross-validation."""

from skreg.linear._cv import ElasticNetClassifierCV, ElasticNetRegressorCV
from skreg.linear._display import RegularizationPathDisplay
from skreg.linear._elastic_net import ElasticNetRegressor
from skreg.linear._logistic import ElasticNetClassifier
from skreg.linear._path import enet_path

__all__ = [
    "ElasticNetClassifier",
    "ElasticNetClassifierCV",
    "ElasticNetRegressor",
    "ElasticNetRegressorCV",
    "RegularizationPathDisplay",
    "enet_path",
]
