"""Linear baselines: L1, L2 and Elastic Net on one objective."""

from skreg.linear._elastic_net import ElasticNetClassifier, ElasticNetRegressor

__all__ = ["ElasticNetClassifier", "ElasticNetRegressor"]
