"""Linear baselines: L1, L2 and Elastic Net on one objective."""

from skreg.linear._elastic_net import ElasticNetRegressor
from skreg.linear._logistic import ElasticNetClassifier

__all__ = ["ElasticNetClassifier", "ElasticNetRegressor"]
