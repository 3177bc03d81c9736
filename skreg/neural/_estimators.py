# PLACEHOLDER: replaced by the neural-estimators work (issue 4).
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class RegularizedNetClassifier(ClassifierMixin, BaseEstimator):
    pass


class RegularizedNetRegressor(RegressorMixin, BaseEstimator):
    pass
