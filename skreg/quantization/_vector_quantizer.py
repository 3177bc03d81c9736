# PLACEHOLDER: replaced by the VectorQuantizer work (issue 3).
from sklearn.base import BaseEstimator, TransformerMixin


class VectorQuantizer(TransformerMixin, BaseEstimator):
    pass
