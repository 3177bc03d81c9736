"""What a fitted VectorQuantizer does with rows: encode, rebuild, score and name its outputs.

A mixin of :class:`~skreg.VectorQuantizer` (kept apart from fitting, in
``_vector_quantizer.py``). It needs ``_codec`` (a ``ResidualCodec``), ``n_codes``, ``n_stages``,
``output`` and ``sparse_output`` on the estimator.
"""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from skreg.quantization._distances import blas_single_threaded
from skreg.quantization._outputs import (
    CodeUsage,
    code_dtype,
    codes_from_array,
    codes_from_scores,
    one_hot,
    output_feature_names,
    perplexity,
    sparse_onehot,
)
from skreg.quantization._residual import requires_dense
from skreg.utils._sklearn_private import _check_feature_names_in, _get_output_config

FLOATS = [np.float64, np.float32]


class EncodingMixin(TransformerMixin):
    """transform, inverse_transform, predict, score, code_usage, get_feature_names_out.

    A ``TransformerMixin`` itself: scikit-learn wraps ``transform`` for ``set_output`` only in
    the class that defines it.
    """

    # ------------------------------------------------------------------ validation

    def _validated(self, X):
        """X checked against the fit, in the codebook's float type unless X is float32."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=FLOATS, order="C", reset=False)
        requires_dense(X, self.n_stages)
        return X, self._codec.astype(X.dtype)

    # ------------------------------------------------------------------ encoding

    @blas_single_threaded
    def transform(self, X):
        """Encode X as set by ``output``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        X_out : ndarray or scipy sparse CSR matrix
            ``"codes"``: (n_samples, n_blocks) unsigned integers; ``"onehot"``:
            (n_samples, n_blocks * n_codes), sparse or dense as ``sparse_output`` says;
            ``"quantized"``: (n_samples, n_features); ``"distances"``: (n_samples,
            n_blocks * n_codes) Euclidean distances.
        """
        sparse_onehot = self._sparse_onehot()
        X, codec = self._validated(X)
        if self.output == "codes":
            return codec.encode(X, dtype=code_dtype(self.n_codes))
        if self.output == "onehot":
            matrix = one_hot(codec.encode(X), self.n_codes, X.dtype)
            return matrix if sparse_onehot else matrix.toarray()
        if self.output == "quantized":
            return codec.quantize(X)
        return codec.distances(X)

    def _sparse_onehot(self):
        """Whether ``output="onehot"`` is sparse, checked against the ``set_output`` container."""
        container = _get_output_config("transform", self)["dense"]
        return sparse_onehot(self.sparse_output, container, self.output)

    def inverse_transform(self, X):
        """Rebuild vectors from the output of ``transform``.

        Codes and one-hot rows map to their code vectors (summed over stages, side by side over
        feature blocks); distances map to their nearest codes' vectors; quantized rows are
        returned as they are.

        Parameters
        ----------
        X : array-like or sparse matrix
            An output of ``transform`` with the current ``output``.

        Returns
        -------
        X_rebuilt : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        n_blocks = self._codec.n_blocks
        if self.output == "quantized":
            return check_array(X, dtype=FLOATS, input_name="X")
        if self.output == "codes":
            codes = codes_from_array(X, n_blocks, self.n_codes)
        else:
            codes = codes_from_scores(X, n_blocks, self.n_codes, self.output)
        return self._codec.decode(codes)

    @blas_single_threaded
    def predict(self, X):
        """Index of the nearest code of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of shape (n_samples,), or (n_samples, n_blocks) with product or
            residual quantization
        """
        X, codec = self._validated(X)
        codes = codec.encode(X, dtype=np.intp)
        return codes[:, 0] if codec.n_blocks == 1 else codes

    @blas_single_threaded
    def score(self, X, y=None):
        """Minus the mean squared quantization error, ``-mean_i ||x_i - rebuilt(x_i)||^2``.

        Higher is better, so that ``GridSearchCV`` can tune ``n_codes``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        X, codec = self._validated(X)
        error, _ = codec.error_and_counts(X)
        return -error / X.shape[0]

    @blas_single_threaded
    def code_usage(self, X):
        """How often each code is used on X, and the perplexity of that usage.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        usage : CodeUsage
            Named tuple ``(counts, perplexity)``: counts of shape (n_codes,) (or (n_blocks,
            n_codes)) and ``exp(-sum_k p_k log p_k)`` with ``p_k = counts_k / n_samples``.
        """
        X, codec = self._validated(X)
        _, counts = codec.error_and_counts(X)
        counts = counts[0] if codec.n_blocks == 1 else counts
        return CodeUsage(counts, perplexity(counts))

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns of ``transform``.

        Parameters
        ----------
        input_features : array-like of str or None
            Input feature names, checked against ``feature_names_in_``.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        input_features = _check_feature_names_in(self, input_features)
        if self.output == "quantized":
            return input_features
        return output_feature_names(self.output, self._codec.n_blocks, self.n_codes)
