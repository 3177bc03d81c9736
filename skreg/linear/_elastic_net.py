# PLACEHOLDER: replaced by the linear-baselines work (issue 2).
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class ElasticNetRegressor(RegressorMixin, BaseEstimator):
    pass


class ElasticNetClassifier(ClassifierMixin, BaseEstimator):
    pass
