"""VectorQuantizer: a k-means codebook as a scikit-learn transformer.

This module holds the estimator's parameters and its fitting; what a fitted quantizer does with
rows (transform, predict, score, ...) is in ``_encoding.py``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data

from skreg.quantization._distances import blas_single_threaded
from skreg.quantization._encoding import FLOATS, EncodingMixin
from skreg.quantization._fitting import (
    best_of_runs,
    generator,
    open_stream,
    transaction,
    update_stream,
)
from skreg.quantization._outputs import perplexity
from skreg.quantization._residual import requires_dense
from skreg.quantization._state import plain_state, restored_state
from skreg.quantization._validation import (
    check_training_rows,
    checked_weights,
    float_type_for_distances,
    initial_codebook,
)
from skreg.utils._callbacks import CallbackSupportMixin, FitTask
from skreg.utils._doc_link import DocLinkMixin
from skreg.utils._sklearn_private import Interval, StrOptions, _fit_context


class VectorQuantizer(
    CallbackSupportMixin, DocLinkMixin, EncodingMixin, ClusterMixin, BaseEstimator
):
    """Vector quantization with a k-means codebook: encode rows as code indices and rebuild them.

    Read more in the :ref:`User Guide <kmeans-codebooks>`.

    ``fit`` learns ``n_codes`` code vectors by k-means; ``transform`` maps every row to its
    nearest code (as an index, a one-hot row, the code vector itself, or distances to all
    codes) and ``inverse_transform`` maps codes back to vectors. With ``n_subspaces > 1`` the
    features are split into blocks, each with its own codebook (product quantization); with
    ``n_stages > 1`` each stage quantizes what the previous stages left (residual quantization).

    Parameters
    ----------
    n_codes : int, default=256
        Codes per codebook. Code indices are stored in the smallest unsigned integer type that
        holds them (``uint8`` up to 256 codes), so a row costs ``n_subspaces * n_stages`` such
        integers.
    init : {"k-means++", "random"} or array-like, default="k-means++"
        Initial codebook. ``"k-means++"`` seeds greedily on a subsample (at most 128 rows per
        code; 64 when Lloyd on subsamples follows, see Notes); ``"random"`` picks distinct
        rows. An array must have the shape of ``codebook_``: ``(n_codes, n_features)``, or
        ``(n_stages, n_codes, n_features)`` when ``n_stages > 1``.
        With ``max_iter=0`` a given array is kept as is (a fixed palette, for instance).
    n_init : int, default=1
        Runs from different seeds; the one with the lowest inertia is kept. An array ``init``
        runs once.
    max_iter : int, default=300
        Maximum number of Lloyd iterations over all rows (epochs when ``batch_size`` is set);
        on many rows, also the most each subsample runs before them (see Notes). ``0`` keeps
        the initial codebook.
    tol : float, default=1e-4
        Stop when an iteration (an epoch for mini-batch) lowers the inertia by no more than
        ``tol`` times its previous value. Unlike scikit-learn's ``KMeans``, this is relative to
        the inertia, not to the variance of the data.
    batch_size : int or None, default=None
        ``None`` runs full-batch k-means. An integer runs mini-batch k-means with batches of that
        many rows, and is the batch size ``partial_fit`` splits its chunks into.
    output : {"codes", "onehot", "quantized", "distances"}, default="codes"
        What ``transform`` returns: code indices ``(n, n_blocks)`` in the smallest unsigned
        integer type; a one-hot matrix ``(n, n_blocks * n_codes)`` (see ``sparse_output``);
        the reconstructed rows ``(n, n_features)``; or Euclidean distances to every code of
        every block ``(n, n_blocks * n_codes)``. ``n_blocks = n_subspaces * n_stages``.
    n_subspaces : int, default=1
        Number of contiguous feature blocks for product quantization (sizes differ by at most
        one); each block has its own ``n_codes`` codes.
    n_stages : int, default=1
        Number of residual quantization stages. Needs dense input.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, subsamples and mini-batch order.
    sparse_output : bool or "auto", default="auto"
        Type of the one-hot matrix of ``output="onehot"``: ``True`` a scipy sparse CSR matrix,
        ``False`` a dense array. ``"auto"`` is sparse, except under
        ``set_output(transform="pandas")`` (or ``"polars"``), whose data frames hold dense
        columns only; ``True`` with such an output is an error.
    verbose : int, default=0
        ``>= 1`` shows a progress bar per fitted codebook (``tqdm.auto``: a widget in
        notebooks), counting Lloyd passes (epochs for mini-batch) with the current inertia.

    Attributes
    ----------
    codebook_ : ndarray of shape (n_codes, n_features) or (n_stages, n_codes, n_features)
        The code vectors. With product quantization, row ``k`` holds code ``k`` of every
        feature block side by side.
    labels_ : ndarray of shape (n_samples,) or (n_samples, n_blocks)
        Codes of the training rows (of the last chunk after ``partial_fit``).
    inertia_ : float
        Sum over training rows of the squared distance to their reconstruction (of the last
        chunk, before its update, after ``partial_fit``).
    n_iter_ : int
        Full-data Lloyd iterations (epochs for mini-batch, calls for ``partial_fit``); the most
        over blocks.
    code_counts_ : ndarray of shape (n_codes,) or (n_blocks, n_codes)
        Training rows assigned to each code (cumulative over ``partial_fit`` calls): int64
        counts, or float64 sums of ``sample_weight`` when weights were given.
    perplexity_ : float or ndarray of shape (n_blocks,)
        ``exp(-sum_k p_k log p_k)`` with ``p_k`` the fraction of training rows using code ``k``:
        ``n_codes`` when all codes are used equally, 1 when one code takes everything.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen during ``fit``, when X has string column names.

    See Also
    --------
    sklearn.cluster.KMeans : k-means clustering; its ``transform`` returns the n x k distance
        matrix and it has no ``inverse_transform``.
    sklearn.preprocessing.KBinsDiscretizer : quantizes one feature at a time.

    Notes
    -----
    ``fit`` minimises the (weighted) k-means objective, with no penalty term::

        inertia = sum_i w_i ||x_i - c_{q(x_i)}||^2,    q(x) = argmin_k ||x - c_k||^2

    (a sum over rows, not a mean, with ``w_i = sample_weight[i]``, 1 by default, so that an
    integer weight counts as that many copies of the row, as in scikit-learn's ``KMeans``;
    ``score`` returns ``-sum_i ||x_i - rebuilt(x_i)||^2 / n_samples`` on its data). With
    product quantization the objective separates into one k-means per feature block; with
    residual quantization stage ``t`` minimises the objective on the residuals
    ``x - sum_{s<t} c^s_{q_s}`` (stages are fitted greedily, one after the other).

    Full-batch fits seeded by a string ``init`` on many rows first run Lloyd on growing random
    subsamples (faiss's ``Kmeans`` trains on one subsample of at most 256 rows per code and
    stops there; here the codes are then refined on all rows): 32 rows per code, then four
    times more each time, while the subsample is at most half of the rows and at most 1024
    rows per code or a sixteenth of the rows, whichever is more. Each subsample runs, from
    the codes the one before it left, until an iteration lowers its inertia by no more than
    ``tol`` times its previous value, or for ``max_iter`` iterations; its iterations are
    over-relaxed: each code moves 1.8 times the way to the mean of its rows, with a plain step
    after any step that did not lower the inertia. Then plain Lloyd iterations on all rows
    take over, under the same ``tol`` and ``max_iter`` (``n_iter_`` counts these); without
    subsamples (fewer rows) they are over-relaxed as above. Few passes over all rows remain,
    and after the first, each recomputes only the rows whose code may have changed: Lloyd
    iterations keep Hamerly's distance bounds (G. Hamerly, "Making k-means even faster", SDM
    2010; same result as plain Lloyd, up to rounding). The subsamples, like the seeds, are
    drawn from ``random_state``; ``sample_weight`` weighs the rows of every subsample. Fits
    from an ``init`` array run plain Lloyd iterations on all rows, the same as
    scikit-learn's ``KMeans(algorithm="lloyd")``.
    Distances are computed in chunks of rows, as ``||x||^2 - 2 x.c + ||c||^2`` (one matrix
    product per chunk) followed by an argmin, so that ``transform``, ``predict`` and ``score``
    never hold the n x n_codes distance matrix unless ``output="distances"`` asks for it.
    That expansion cancels the digits rows and codes share, so rows and codes are first
    centred on the mean of the training rows (as ``KMeans`` does), and a row whose two nearest
    codes are within the rounding error of the product is searched again from the exact
    differences ``x - c`` in float64: codes are the exact nearest codes, also for data with a
    large offset (``X + 1e8``). Rows whose squares could overflow the float type (float32
    rows of about 1e18 and beyond) are searched the same way, and float32 training rows of
    that size are fitted in float64 (the codebook is then float64); float64 rows whose squares
    overflow float64 are refused. Distances (``output="distances"``) are expanded in float64 and
    recomputed from the differences where that could lose more than 1e-7 of their value, so a
    row equal to a code is at distance 0 from it.

    Chunks are shared among as many threads as scikit-learn's OpenMP code would use
    (``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits`` apply), each running
    single-threaded BLAS. BLAS limits are process-wide: the first of any overlapping calls
    (from any threads) sets one BLAS thread and the last one restores the limits it found, so
    after the calls they are the user's again; during a call, other threads' BLAS calls also
    run single-threaded. A code that no row uses is moved onto the row that is worst quantized
    (full batch) or onto rows drawn with probability proportional to their squared error
    (mini-batch).

    ``fit`` and ``partial_fit`` either succeed or leave the estimator as it was (fitted
    attributes, ``feature_names_in_`` and the ``partial_fit`` state), also when interrupted.

    A fitted quantizer pickles, and saves with ``skops.io``: its state holds only numpy
    arrays and Python builtins, so ``skops.io.get_untrusted_types`` lists nothing but the
    ``VectorQuantizer`` class itself, which the user passes as ``trusted`` to ``skops.io.load``.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg import VectorQuantizer
    >>> palette = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0],
    ...                     [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=float)
    >>> vq = VectorQuantizer(n_codes=6, init=palette, max_iter=0).fit(palette)
    >>> lavender, slate_blue = [230, 230, 250], [106, 90, 205]
    >>> codes = vq.transform(np.array([lavender, slate_blue]) / 255)
    >>> codes.ravel()
    array([5, 1], dtype=uint8)
    >>> vq.inverse_transform(codes)
    array([[1., 1., 1.],
           [0., 0., 1.]])
    >>> X = np.random.default_rng(0).normal(size=(1000, 8))
    >>> vq = VectorQuantizer(n_codes=16, n_subspaces=2, random_state=0).fit(X)
    >>> vq.transform(X[:2]).shape, vq.codebook_.shape
    ((2, 2), (16, 8))
    """

    _parameter_constraints: dict = {
        "n_codes": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "output": [StrOptions({"codes", "onehot", "quantized", "distances"})],
        "n_subspaces": [Interval(Integral, 1, None, closed="left")],
        "n_stages": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "sparse_output": ["boolean", StrOptions({"auto"})],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_codes=256,
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        batch_size=None,
        output="codes",
        n_subspaces=1,
        n_stages=1,
        random_state=None,
        sparse_output="auto",
        verbose=0,
    ):
        self.n_codes = n_codes
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.output = output
        self.n_subspaces = n_subspaces
        self.n_stages = n_stages
        self.random_state = random_state
        self.sparse_output = sparse_output
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @blas_single_threaded
    def fit(self, X, y=None, sample_weight=None):
        """Learn the codebook(s) by k-means on X.

        A fit that fails (or is interrupted) leaves the estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows. Sparse input is taken as CSR (not with ``n_stages > 1``).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative weight of each row in the means and the inertia (weighted k-means,
            as scikit-learn's ``KMeans``): an integer weight counts as that many copies of the
            row. ``None`` weighs every row 1.

        Returns
        -------
        self : VectorQuantizer
        """
        # scikit-learn's callbacks: the task begins before the transaction, which would
        # otherwise drop its context (needed for the teardown) on failure.
        task = FitTask(self, X, None, sample_weight, max_subtasks=None)
        with transaction(self):
            self._fit(X, sample_weight, task)
        task.end()
        return self

    def _fit(self, X, sample_weight, task=None):
        X = validate_data(self, X, accept_sparse="csr", dtype=FLOATS, order="C")
        X = float_type_for_distances(X)
        sample_weight = checked_weights(sample_weight, X)
        check_training_rows(X, self.n_codes, self.n_subspaces, self.n_stages)
        init = initial_codebook(self.init, X, self.n_codes, self.n_stages)
        rng = generator(self.random_state)
        n_runs = self.n_init
        if not isinstance(init, str) and n_runs != 1:
            warnings.warn(
                f"An explicit init codebook runs once: n_init={n_runs} is ignored.",
                RuntimeWarning,
                stacklevel=5,  # past the transaction, BLAS-limit and _fit_context wrappers
            )
            n_runs = 1
        inertia, codec, fits = best_of_runs(self, X, init, n_runs, rng, sample_weight, task)
        labels = np.column_stack([fit.labels for fit in fits])
        counts = np.stack(
            [np.bincount(f.labels, weights=sample_weight, minlength=self.n_codes) for f in fits]
        )
        if sample_weight is None:
            counts = counts.astype(np.int64)
        self._set_fitted(codec, counts, labels, inertia, max(fit.n_iter for fit in fits))
        self.__dict__.pop("_stream", None)
        self.__dict__.pop("_rng", None)
        if self.max_iter > 0 and np.any(counts == 0):
            warnings.warn(
                f"{np.count_nonzero(counts == 0)} code(s) are unused: X has fewer distinct rows "
                f"(or residuals) than n_codes={self.n_codes}.",
                ConvergenceWarning,
                stacklevel=5,  # past the transaction, BLAS-limit and _fit_context wrappers
            )
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @blas_single_threaded
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the codebook(s) with one chunk of rows (mini-batch k-means on streamed data).

        The first call seeds the codebooks on its chunk, which must hold at least ``n_codes``
        rows, or continues from the codebooks of an earlier ``fit`` (each code then weighs as
        many rows as it was fitted on). Memory stays that of one chunk however many rows are
        streamed. A call that fails (or is interrupted) leaves the estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative weight of each row in the running means (see ``fit``).

        Returns
        -------
        self : VectorQuantizer
        """
        task = FitTask(self, X, None, sample_weight)  # one task per chunk
        with transaction(self):
            self._partial_fit(X, sample_weight)
        task.end()
        return self

    def _partial_fit(self, X, sample_weight):
        fitted = hasattr(self, "_codec")
        X = validate_data(self, X, accept_sparse="csr", dtype=FLOATS, order="C", reset=not fitted)
        requires_dense(X, self.n_stages)
        sample_weight = checked_weights(sample_weight, X)
        X = X.astype(self._codec.dtype, copy=False) if fitted else float_type_for_distances(X)
        weighted = sample_weight is not None or self.__dict__.get("_weighted", False)
        stream, rng, n_iter, weighted = open_stream(self, X, sample_weight, weighted)
        labels, chunk_errors = update_stream(stream, X, rng, sample_weight, self.batch_size)
        counts = stream.counts()
        if not weighted:
            counts = np.rint(counts).astype(np.int64)
        self._set_fitted(stream.codec(), counts, labels, chunk_errors, n_iter + 1)
        self._stream, self._rng, self._weighted = stream, rng, weighted
        return self

    def _set_fitted(self, codec, counts, labels, inertia, n_iter):
        self._codec = codec
        self.codebook_ = codec.codebook_array()
        single = codec.n_blocks == 1
        self.labels_ = labels[:, 0] if single else labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.code_counts_ = counts[0] if single else counts
        self.perplexity_ = perplexity(self.code_counts_)
        self._weighted = counts.dtype.kind == "f"

    # ------------------------------------------------------------------ persistence

    def __getstate__(self):
        # Plain arrays and builtins only: skops.io then trusts nothing but this class.
        return plain_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(restored_state(state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.n_stages == 1
        # Codes and one-hot rows are integers and indicators; only vectors keep the float type.
        vector_output = self.output in ("quantized", "distances")
        tags.transformer_tags.preserves_dtype = ["float64", "float32"] if vector_output else []
        return tags
