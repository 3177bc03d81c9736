"""Vector-quantization layer: nearest code, codebook and commitment loss, straight-through."""

import math
import numbers
import warnings

import torch
from torch import nn
from torch.nn import functional as F


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_real(name, value, low, high, *, closed_low=True, closed_high=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= low if closed_low else value > low) and (
            value <= high if closed_high else value < high
        )
    if not ok:
        interval = f"{'[' if closed_low else '('}{low}, {high}{']' if closed_high else ')'}"
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}.")
    return float(value)


def nearest_code(flat_x, codebook, chunk_size):
    """Index of the nearest code (squared Euclidean distance) for each row of ``flat_x``.

    Distances are computed ``chunk_size`` rows at a time, so at most a ``chunk_size × n_codes``
    block exists at once instead of the full ``n × n_codes`` matrix. ‖x‖² is the same for every
    code of a row, so the argmin only needs ‖e‖² − 2·x·e.

    That expansion overflows for rows whose squares exceed the float type (float32 rows of
    about 1e18). A score is at most ``(‖x‖ + max ‖e‖)²`` in magnitude; rows for which that
    bound comes within a factor 4 of the float type's largest value may have overflowed, and
    are decided from the differences x − e in float64 (see :func:`_exact_nearest_code`), so
    every row gets its nearest code. (Near ties are left to the expansion: deciding them
    exactly, as skreg's ``VectorQuantizer`` does, cost 40-70% more time here.)
    """
    with torch.no_grad():
        code_sq_norms = codebook.pow(2).sum(dim=1)
        largest = torch.finfo(codebook.dtype).max / 4
        reach = code_sq_norms.max().sqrt()
        indices = torch.empty(flat_x.shape[0], dtype=torch.long, device=flat_x.device)
        for start in range(0, flat_x.shape[0], chunk_size):
            rows = flat_x[start : start + chunk_size]
            scores = torch.addmm(code_sq_norms, rows, codebook.t(), alpha=-2.0)
            chunk = scores.argmin(dim=1)
            # Rows whose scores may have overflowed (an inf or NaN bound included).
            bound = (rows.pow(2).sum(dim=1).sqrt() + reach).pow(2)
            flagged = torch.nonzero(~(bound < largest))
            if flagged.numel():
                flagged = flagged.flatten()
                chunk[flagged] = _exact_nearest_code(rows[flagged], codebook)
            indices[start : start + chunk_size] = chunk
    return indices


def _exact_nearest_code(rows, codebook):
    """Nearest codes of a few rows from the differences, in float64 (float32 on MPS, which has
    no float64), rescaled by a power of two (exact) so that the squares cannot overflow.
    """
    dtype = torch.float32 if rows.device.type == "mps" else torch.float64
    rows, codebook = rows.to(dtype), codebook.to(dtype)
    top = max(float(rows.abs().max()), float(codebook.abs().max()), 1e-300)
    scale = 2.0 ** -math.ceil(math.log2(top))
    rows, codebook = rows * scale, codebook * scale
    step = max(1, (1 << 20) // max(codebook.numel(), 1))  # bounded memory
    return torch.cat([
        (rows[start : start + step, None, :] - codebook[None]).pow(2).sum(dim=2).argmin(dim=1)
        for start in range(0, rows.shape[0], step)
    ])


def _kmeans(points, n_clusters, n_iter, chunk_size):
    """Lloyd's k-means with k-means++ seeding; needs ``len(points) >= n_clusters``."""
    n_points = points.shape[0]
    centers = torch.empty(n_clusters, points.shape[1], dtype=points.dtype, device=points.device)
    first = torch.randint(n_points, (1,), device=points.device)
    centers[0] = points[first]
    closest_sq = (points - centers[0]).pow(2).sum(dim=1)
    for k in range(1, n_clusters):
        total = closest_sq.sum()
        if total > 0:
            pick = torch.multinomial(closest_sq / total, 1)
        else:  # every point already coincides with a center: duplicates are unavoidable
            pick = torch.randint(n_points, (1,), device=points.device)
        centers[k] = points[pick]
        closest_sq = torch.minimum(closest_sq, (points - centers[k]).pow(2).sum(dim=1))
    for _ in range(n_iter):
        assignment = nearest_code(points, centers, chunk_size)
        counts = torch.bincount(assignment, minlength=n_clusters).to(points.dtype)
        sums = torch.zeros_like(centers).index_add_(0, assignment, points)
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]
    return centers


def _check_codebook(codebook, n_codes, code_dim):
    """A user's initial codebook as a finite float tensor of shape (n_codes, code_dim)."""
    codebook = torch.as_tensor(codebook).detach()
    if tuple(codebook.shape) != (n_codes, code_dim):
        raise ValueError(
            f"init codebook has shape {tuple(codebook.shape)}, expected (n_codes, code_dim) = "
            f"({n_codes}, {code_dim})."
        )
    if not (torch.is_floating_point(codebook) or codebook.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"init codebook must hold real numbers, got {codebook.dtype}.")
    if not bool(torch.isfinite(codebook.to(torch.get_default_dtype())).all()):
        raise ValueError("init codebook contains NaN or inf.")
    return codebook.to(dtype=torch.get_default_dtype(), copy=True)


class VQLayer(nn.Module):
    r"""Vector-quantization bottleneck (van den Oord et al. 2017) for any PyTorch model.

    Read more in the :ref:`User Guide <vq-layer>`.

    Each input vector (the last dimension of the input) is replaced by its nearest code in a
    codebook of ``n_codes`` vectors of size ``code_dim``. The gradient passes straight through
    the quantization to the input, and the returned loss pulls codes and inputs together.

    Parameters
    ----------
    n_codes : int
        Number of codes in the codebook.
    code_dim : int
        Size of each code; the last dimension of the input.
    commitment_cost : float, default=0.25
        Weight β of the commitment loss (0.25 in van den Oord et al. 2017).
    ema : bool, default=False
        Update the codebook with exponential moving averages of the assigned inputs (Sonnet's
        ``VectorQuantizerEMA``) instead of by gradient. The codebook is then a buffer, not a
        parameter, and the returned loss is the commitment loss only. A codebook learned by
        gradient moves only on the steps that select its codes; give it a larger learning rate
        than the rest of the model (skreg's estimators use 10 times the rate), or the codes
        lag behind the inputs and fewer of them stay in use.
    decay : float, default=0.99
        Decay of the moving averages when ``ema=True``.
    epsilon : float, default=1e-5
        Laplace smoothing of the moving cluster sizes when ``ema=True``, so that a code with
        no assignment never divides by zero.
    init : {"data", "uniform"} or tensor of shape (n_codes, code_dim), default="data"
        ``"data"``: on the first training batches, once ``n_codes`` input vectors have been
        seen, run k-means (k-means++ seeding, ``kmeans_iters`` Lloyd iterations) on them and
        use the centers as codebook; until then the layer passes its input through unchanged
        with zero loss and zero perplexity, in training and evaluation mode alike, and warns
        that it does. ``"uniform"``: codes drawn uniformly in ±1/``n_codes`` (van den Oord et
        al.'s choice; far from inputs of unit scale). A tensor (or array) is the initial
        codebook itself, copied in the default float type. A codebook the user sets later,
        by copying into ``codebook`` (as one sets an ``nn.Embedding``'s weights) or with
        ``load_state_dict``, counts as initialized too: data initialization never overwrites
        it.
    kmeans_iters : int, default=10
        Lloyd iterations of the data initialization.
    dead_code_threshold : int, default=1
        A code assigned fewer than this many training vectors during the last
        ``reseed_interval`` training batches is dead and is re-seeded with a random recent
        training vector. 0 turns re-seeding off.
    reseed_interval : int, default=50
        Number of training batches between two dead-code checks.
    buffer_size : int, default=4096
        Number of recent training vectors kept for initialization and re-seeding; at least
        ``n_codes``.
    chunk_size : int, default=4096
        Number of input vectors whose distances to all codes are computed at once; memory for
        distances is ``chunk_size × n_codes`` floats, whatever the input size.

    Attributes
    ----------
    codebook : torch.Tensor of shape (n_codes, code_dim)
        The codes: an ``nn.Parameter`` when ``ema=False``, a buffer when ``ema=True``.
    initialized : torch.Tensor (bool scalar buffer)
        Whether the codebook holds codes to quantize with (saved in the ``state_dict``).
    last_counts : torch.Tensor of shape (n_codes,) or None
        Number of input vectors assigned to each code in the last forward call.
    n_codes_used : int
        Number of codes with at least one assignment in the last forward call.

    Notes
    -----
    With :math:`z` an input vector, :math:`e` its nearest code and :math:`\mathrm{sg}` the
    stop-gradient operator, the returned loss is

    .. math::

        \mathrm{mean}\,(\mathrm{sg}[z] - e)^2 + \beta\,\mathrm{mean}\,(z - \mathrm{sg}[e])^2

    where each mean runs over all elements of the input (``F.mse_loss``). With ``ema=True``
    only the second (commitment) term is returned. The output is :math:`z + \mathrm{sg}[e - z]`:
    it equals :math:`e` in value and has the gradient of the identity.

    The perplexity is :math:`\exp(-\sum_k p_k \log p_k)` with :math:`p_k` the fraction of the
    input vectors assigned to code :math:`k`: ``n_codes`` when all codes are used equally, 1
    when one code takes everything.

    The EMA update, in training mode, follows Sonnet's ``VectorQuantizerEMA``: with
    :math:`n_k` the number of vectors assigned to code :math:`k` in the batch and :math:`s_k`
    their sum, :math:`N_k \leftarrow \gamma N_k + (1-\gamma) n_k`,
    :math:`m_k \leftarrow \gamma m_k + (1-\gamma) s_k`,
    :math:`\tilde N_k = (N_k + \epsilon) / (\sum_j N_j + K\epsilon) \cdot \sum_j N_j` and
    :math:`e_k = m_k / \tilde N_k`. The averages start from the initial codebook (each code
    holding an equal share of the first batch) rather than from zero with bias correction, so
    a code left unassigned keeps its place instead of collapsing to the origin.

    In evaluation mode the codebook never changes: no initialization, no EMA update, no
    re-seeding.

    Inputs may have any floating type: distances, codes and losses are computed in the
    codebook's type (``float32`` unless the module was converted) and the quantized output is
    cast back to the input's type. Non-finite inputs (NaN, inf) are an error, raised before
    the codebook is used or changed. An empty batch returns its (empty) input, zero loss and
    a perplexity of 1.

    Examples
    --------
    >>> import torch
    >>> from skreg.nn import VQLayer
    >>> _ = torch.manual_seed(0)
    >>> vq = VQLayer(n_codes=16, code_dim=4)
    >>> quantized, loss, perplexity = vq(torch.randn(2, 32, 4))
    >>> tuple(quantized.shape), tuple(vq.codebook.shape)
    ((2, 32, 4), (16, 4))
    >>> bool(perplexity <= 16)
    True
    """

    def __init__(
        self,
        n_codes,
        code_dim,
        *,
        commitment_cost=0.25,
        ema=False,
        decay=0.99,
        epsilon=1e-5,
        init="data",
        kmeans_iters=10,
        dead_code_threshold=1,
        reseed_interval=50,
        buffer_size=4096,
        chunk_size=4096,
    ):
        super().__init__()
        self.n_codes = _check_int("n_codes", n_codes, 1)
        self.code_dim = _check_int("code_dim", code_dim, 1)
        self.commitment_cost = _check_real("commitment_cost", commitment_cost, 0.0, math.inf)
        self.ema = bool(ema)
        self.decay = _check_real("decay", decay, 0.0, 1.0, closed_high=False)
        self.epsilon = _check_real("epsilon", epsilon, 0.0, math.inf, closed_low=False)
        if isinstance(init, str):
            if init not in ("data", "uniform"):
                raise ValueError(
                    f'init must be "data", "uniform" or a codebook tensor, got {init!r}.'
                )
            initial = torch.empty(n_codes, code_dim).uniform_(-1.0 / n_codes, 1.0 / n_codes)
        else:
            initial = _check_codebook(init, self.n_codes, self.code_dim)
            init = "tensor"
        self.init = init
        self.kmeans_iters = _check_int("kmeans_iters", kmeans_iters, 0)
        self.dead_code_threshold = _check_int("dead_code_threshold", dead_code_threshold, 0)
        self.reseed_interval = _check_int("reseed_interval", reseed_interval, 1)
        self.buffer_size = _check_int("buffer_size", buffer_size, self.n_codes)
        self.chunk_size = _check_int("chunk_size", chunk_size, 1)

        if self.ema:
            self.register_buffer("codebook", initial)
            self.register_buffer("ema_cluster_size", torch.zeros(n_codes))
            self.register_buffer("ema_code_sum", torch.zeros(n_codes, code_dim))
        else:
            self.codebook = nn.Parameter(initial)
        # Persistent, so that a loaded trained layer is not initialized again.
        self.register_buffer("initialized", torch.tensor(init != "data"))
        # The codebook as this layer last wrote it before initialization: a codebook that
        # differs from it was set by the user, and counts as initialized.
        self.register_buffer("_own_codebook", initial.detach().clone(), persistent=False)
        self.register_buffer("_recent", torch.zeros(self.buffer_size, code_dim), persistent=False)
        self._n_recent = 0
        self._recent_pos = 0
        self.register_buffer("_usage", torch.zeros(n_codes), persistent=False)
        self._batches_since_check = 0
        self.last_counts = None

    @property
    def n_codes_used(self):
        """Number of codes assigned at least one vector in the last forward call."""
        return 0 if self.last_counts is None else int((self.last_counts > 0).sum())

    def extra_repr(self):
        return (
            f"n_codes={self.n_codes}, code_dim={self.code_dim}, "
            f"commitment_cost={self.commitment_cost}, ema={self.ema}, init={self.init!r}"
        )

    def encode(self, x):
        """Index of the nearest code for each vector of ``x`` (shape ``x.shape[:-1]``)."""
        flat_x = self._checked(x)
        self._adopt_user_codebook()
        if not bool(self.initialized):
            self._warn_uninitialized(stacklevel=2)
        codebook = self.codebook.detach()
        return nearest_code(flat_x.detach().to(codebook.dtype), codebook, self.chunk_size).view(
            x.shape[:-1]
        )

    def forward(self, x):
        """Quantize ``x`` (any shape, code dimension last, any floating type).

        Returns
        -------
        quantized : torch.Tensor, same shape and type as ``x``
            Nearest codes in value, identity in gradient (straight-through).
        loss : torch.Tensor, scalar
            Codebook loss + ``commitment_cost`` × commitment loss (commitment only with EMA).
        perplexity : torch.Tensor, scalar
            exp of the entropy of the code-usage distribution in this call.
        """
        flat_x = self._checked(x)
        self._adopt_user_codebook()
        codebook = self.codebook
        work_x = x.to(codebook.dtype)  # differentiable cast: gradients reach x in its type
        flat_work = flat_x.detach().to(codebook.dtype)
        if self.training:
            self._remember(flat_work)
            if not bool(self.initialized) and self._n_recent >= self.n_codes:
                self._initialize_from_data()
            if bool(self.initialized):
                self._reseed_dead_codes()
        if not bool(self.initialized):
            # No codebook yet (fewer than n_codes training vectors seen): the identity, in
            # training and in evaluation alike, so that both compute the same function.
            self._warn_uninitialized(stacklevel=4)  # past torch's Module.__call__
            self.last_counts = None
            zero = work_x.new_zeros(())
            return x, zero, zero.clone()
        if flat_work.shape[0] == 0:
            # Nothing to quantize: a zero loss (still in x's graph) instead of mse's NaN.
            self.last_counts = torch.zeros(self.n_codes, dtype=torch.long, device=x.device)
            return x, work_x.sum() * 0.0, work_x.new_ones(())

        indices = nearest_code(flat_work, codebook.detach(), self.chunk_size)
        counts = torch.bincount(indices, minlength=self.n_codes)
        self.last_counts = counts.detach()
        quantized = F.embedding(indices, codebook).view_as(work_x)

        commitment_loss = F.mse_loss(work_x, quantized.detach())
        if self.ema:
            loss = self.commitment_cost * commitment_loss
        else:
            loss = F.mse_loss(quantized, work_x.detach()) + self.commitment_cost * commitment_loss

        if self.training:
            self._usage += counts
            self._batches_since_check += 1
            if self.ema:
                self._ema_update(flat_work, indices, counts)

        probs = counts.to(codebook.dtype) / max(indices.numel(), 1)
        perplexity = torch.exp(-torch.special.xlogy(probs, probs).sum())
        quantized = x + (quantized.detach().to(x.dtype) - x).detach()
        return quantized, loss, perplexity

    def _checked(self, x):
        """``x`` flattened to (n, code_dim), after its shape, type and values are checked."""
        if not torch.is_tensor(x) or not torch.is_floating_point(x):
            dtype = x.dtype if torch.is_tensor(x) else type(x).__name__
            raise TypeError(f"VQLayer expects a floating-point tensor, got {dtype}.")
        flat_x = self._flatten(x)
        if not bool(torch.isfinite(flat_x).all()):
            n_bad = int((~torch.isfinite(flat_x)).any(dim=1).sum())
            raise ValueError(
                f"VQLayer got non-finite values (NaN or inf) in {n_bad} of {flat_x.shape[0]} "
                "input vectors; the codebook was left unchanged. Check the data for NaN, and "
                "the layers before this one for a diverged training (a learning rate too high)."
            )
        return flat_x

    @torch.no_grad()
    def _adopt_user_codebook(self):
        """Count a codebook the user copied in (not written by this layer) as initialized."""
        if bool(self.initialized):
            return
        own = self._own_codebook
        codebook = self.codebook
        if own.shape != codebook.shape or not torch.equal(own.to(codebook), codebook):
            self.initialized.fill_(True)

    def _warn_uninitialized(self, stacklevel):
        warnings.warn(
            f"VQLayer has no codebook yet (init='data' builds it from the first "
            f"n_codes={self.n_codes} training vectors, and fewer have been seen): it passes its "
            "input through unchanged. Train on more vectors, pass init= a codebook tensor, or "
            "copy a codebook into .codebook.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if prefix + "codebook" not in state_dict:
            return
        with torch.no_grad():
            if prefix + "initialized" not in state_dict:
                # A codebook from elsewhere (no flag saved with it): the user's codes.
                self.initialized.fill_(True)
            elif self._own_codebook.shape == self.codebook.shape:
                # A layer's own saved state: its flag says whether it was initialized.
                self._own_codebook.copy_(self.codebook)

    def _flatten(self, x):
        if x.shape[-1] != self.code_dim:
            raise ValueError(
                f"VQLayer expects inputs whose last dimension is code_dim={self.code_dim}, "
                f"got shape {tuple(x.shape)}."
            )
        return x.reshape(-1, self.code_dim)

    @torch.no_grad()
    def _remember(self, flat_x):
        """Keep the latest training vectors (a random subset of a batch larger than the buffer)."""
        if flat_x.shape[0] > self.buffer_size:
            keep = torch.randperm(flat_x.shape[0], device=flat_x.device)[: self.buffer_size]
            flat_x = flat_x[keep]
        n_new = flat_x.shape[0]
        offsets = torch.arange(n_new, device=flat_x.device)
        positions = (self._recent_pos + offsets) % self.buffer_size
        self._recent[positions] = flat_x.to(self._recent.dtype)
        self._recent_pos = (self._recent_pos + n_new) % self.buffer_size
        self._n_recent = min(self._n_recent + n_new, self.buffer_size)

    @torch.no_grad()
    def _initialize_from_data(self):
        recent = self._recent[: self._n_recent]
        # k-means++ sums squared distances, which overflow for float32 vectors of about 1e18:
        # large vectors are clustered rescaled by a power of two (exact) and scaled back.
        top = float(recent.abs().max()) if recent.numel() else 0.0
        scale = 1.0
        if top > torch.finfo(recent.dtype).max ** 0.25:
            scale = 2.0 ** math.ceil(math.log2(top))
        centers = _kmeans(recent / scale, self.n_codes, self.kmeans_iters, self.chunk_size)
        centers *= scale
        self.codebook.copy_(centers.to(self.codebook.dtype))
        self.initialized.fill_(True)
        self._usage.zero_()
        self._batches_since_check = 0

    @torch.no_grad()
    def _start_ema(self, n_vectors):
        """Start the moving averages from the current codebook, each code with an equal share."""
        self.ema_cluster_size.fill_(n_vectors / self.n_codes)
        self.ema_code_sum.copy_(self.codebook * self._smoothed_cluster_size()[:, None])

    def _smoothed_cluster_size(self):
        total = self.ema_cluster_size.sum()
        smoothing = self.n_codes * self.epsilon
        return (self.ema_cluster_size + self.epsilon) / (total + smoothing) * total

    @torch.no_grad()
    def _ema_update(self, flat_x, indices, counts):
        if not bool(self.ema_cluster_size.any()):
            self._start_ema(flat_x.shape[0])
        code_sum = torch.zeros_like(self.ema_code_sum).index_add_(
            0, indices, flat_x.to(self.ema_code_sum.dtype)
        )
        counts = counts.to(self.ema_cluster_size.dtype)
        self.ema_cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_code_sum.mul_(self.decay).add_(code_sum, alpha=1 - self.decay)
        self.codebook.copy_(self.ema_code_sum / self._smoothed_cluster_size()[:, None])

    @torch.no_grad()
    def _reseed_dead_codes(self):
        if self.dead_code_threshold == 0 or self._batches_since_check < self.reseed_interval:
            return
        dead = torch.nonzero(self._usage < self.dead_code_threshold).flatten()
        n_dead = dead.numel()
        if n_dead and self._n_recent:
            picks = torch.randperm(self._n_recent, device=dead.device)[:n_dead]
            if picks.numel() < n_dead:  # fewer recent vectors than dead codes
                picks = torch.randint(self._n_recent, (n_dead,), device=dead.device)
            self.codebook[dead] = self._recent[picks].to(self.codebook.dtype)
            if self.ema and bool(self.ema_cluster_size.any()):
                # A re-seeded code starts as if it held an average share of the assignments.
                self.ema_cluster_size[dead] = self.ema_cluster_size.mean()
                smoothed = self._smoothed_cluster_size()
                self.ema_code_sum[dead] = self.codebook[dead] * smoothed[dead, None]
        self._usage.zero_()
        self._batches_since_check = 0
