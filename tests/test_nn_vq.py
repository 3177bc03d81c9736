import math

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from skreg.nn import VQLayer


def _layer_with_codebook(codebook, **kwargs):
    """A layer whose codebook is set by hand (init="uniform" skips data initialization)."""
    codebook = torch.as_tensor(codebook, dtype=torch.float32)
    vq = VQLayer(codebook.shape[0], codebook.shape[1], init="uniform", **kwargs)
    with torch.no_grad():
        vq.codebook.copy_(codebook)
    return vq


def _nearest_brute_force(x, codebook):
    x = np.asarray(x, dtype=np.float64)
    codebook = np.asarray(codebook, dtype=np.float64)
    return ((x[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


def _perplexity_closed_form(indices, n_codes):
    p = np.bincount(indices, minlength=n_codes) / len(indices)
    p = p[p > 0]
    return math.exp(-(p * np.log(p)).sum())


def test_forward_loss_gradient_and_perplexity_match_closed_forms():
    rng = np.random.default_rng(0)
    codebook = rng.normal(size=(5, 3))
    x_np = rng.normal(size=(12, 3))
    beta = 0.4
    vq = _layer_with_codebook(codebook, commitment_cost=beta)
    x = torch.tensor(x_np, dtype=torch.float32, requires_grad=True)

    quantized, loss, perplexity = vq(x)

    idx = _nearest_brute_force(x_np, codebook)
    nearest = codebook[idx]
    np.testing.assert_allclose(quantized.detach().numpy(), nearest, rtol=1e-6, atol=1e-6)
    mse = ((x_np - nearest) ** 2).mean()
    assert loss.item() == pytest.approx((1 + beta) * mse, rel=1e-5)
    assert perplexity.item() == pytest.approx(_perplexity_closed_form(idx, 5), rel=1e-6)
    np.testing.assert_array_equal(vq.last_counts.numpy(), np.bincount(idx, minlength=5))
    assert vq.n_codes_used == len(np.unique(idx))

    # Straight-through: the output has the gradient of the identity.
    weights = torch.randn(12, 3)
    (x_grad,) = torch.autograd.grad((quantized * weights).sum(), x, retain_graph=True)
    np.testing.assert_allclose(x_grad.numpy(), weights.numpy(), rtol=1e-6)

    # Loss gradients: codebook term moves codes to inputs, commitment term moves inputs to codes.
    loss.backward()
    n_elements = x_np.size
    expected_x_grad = beta * 2 * (x_np - nearest) / n_elements
    np.testing.assert_allclose(x.grad.numpy(), expected_x_grad, rtol=1e-4, atol=1e-7)
    expected_code_grad = np.zeros_like(codebook)
    np.add.at(expected_code_grad, idx, 2 * (nearest - x_np) / n_elements)
    np.testing.assert_allclose(vq.codebook.grad.numpy(), expected_code_grad, rtol=1e-4, atol=1e-7)


def test_perplexity_is_exp_entropy_of_code_usage():
    vq = _layer_with_codebook(np.eye(4) * 10)
    _, _, uniform_use = vq(torch.tensor(np.eye(4) * 10, dtype=torch.float32))
    _, _, single_code = vq(torch.full((6, 4), 10.0) * torch.tensor([1.0, 0, 0, 0]))
    assert uniform_use.item() == pytest.approx(4.0)
    assert single_code.item() == pytest.approx(1.0)

    # p_k is the share of inputs on code k, not the notes' mean of index / K.
    torch.manual_seed(0)
    x = torch.randn(2000, 8)
    codebook = torch.randn(64, 8)
    vq = _layer_with_codebook(codebook)
    _, _, perplexity = vq(x)
    idx = _nearest_brute_force(x.numpy(), codebook.numpy())
    assert perplexity.item() == pytest.approx(_perplexity_closed_form(idx, 64), rel=1e-5)


def test_any_input_shape_with_code_dimension_last():
    torch.manual_seed(0)
    vq = _layer_with_codebook(torch.randn(8, 4))
    x = torch.randn(2, 3, 5, 4)
    quantized, loss, perplexity = vq(x)
    flat_quantized, flat_loss, flat_perplexity = vq(x.reshape(-1, 4))
    assert quantized.shape == x.shape
    torch.testing.assert_close(quantized.reshape(-1, 4), flat_quantized)
    assert loss.item() == pytest.approx(flat_loss.item())
    assert perplexity.item() == pytest.approx(flat_perplexity.item())
    assert vq.encode(x).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="code_dim=4"):
        vq(torch.randn(3, 5))


def test_chunked_distances_give_identical_results():
    torch.manual_seed(0)
    codebook = torch.randn(32, 6)
    x = torch.randn(1000, 6)
    small_chunks = _layer_with_codebook(codebook, chunk_size=7)
    one_chunk = _layer_with_codebook(codebook, chunk_size=10_000)
    for a, b in zip(small_chunks(x), one_chunk(x), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(
        small_chunks.encode(x).numpy(), _nearest_brute_force(x.numpy(), codebook.numpy())
    )


# 2**66 ~ 7.4e19 and 2**120 ~ 1.3e36: float32 squares overflow; powers of two keep every
# nearest code, so the unscaled data are the reference.
@pytest.mark.parametrize("scale", [2.0**66, 2.0**120])
def test_every_vector_gets_its_nearest_code_when_float32_squares_overflow(scale):
    torch.manual_seed(0)
    codebook, x = torch.randn(32, 6), torch.randn(1000, 6)
    expected = _nearest_brute_force(x.double().numpy(), codebook.double().numpy())
    vq = _layer_with_codebook(codebook * scale, chunk_size=256)
    np.testing.assert_array_equal(vq.encode(x * scale).numpy(), expected)
    quantized, _, _ = vq(x * scale)
    # the straight-through x + (e - x) rounds in float32 to a few ulps of |x|
    torch.testing.assert_close(quantized, codebook[expected] * scale, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("ema", [False, True])
def test_data_initialization_of_vectors_whose_squares_overflow(ema):
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    vq = VQLayer(16, 8, ema=ema).train()
    vq(x * 2.0**66)  # k-means++ on the buffer: squared distances beyond float32
    assert torch.isfinite(vq.codebook).all()
    assert len(torch.unique(vq.encode(x * 2.0**66))) > 8  # the codes spread over the data
    np.testing.assert_array_equal(
        vq.encode(x * 2.0**66).numpy(),
        _nearest_brute_force(x.double().numpy(), vq.codebook.detach().double().numpy() / 2**66),
    )


def test_large_input_never_allocates_the_full_distance_matrix():
    torch.manual_seed(0)
    n_vectors, n_codes, chunk_size = 32768, 256, 512
    x = torch.randn(n_vectors, 4)
    vq = _layer_with_codebook(torch.randn(n_codes, 4), chunk_size=chunk_size).eval()
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        quantized, _, _ = vq(x)
    largest_allocation = max(event.cpu_memory_usage for event in prof.events())
    full_matrix_bytes = n_vectors * n_codes * 4
    # The largest single allocation is the input-sized output or one chunk of distances.
    assert largest_allocation < full_matrix_bytes / 8
    reference = _layer_with_codebook(vq.codebook.detach(), chunk_size=n_vectors).eval()
    with torch.no_grad():
        torch.testing.assert_close(quantized, reference(x)[0], rtol=0, atol=0)


def test_ema_update_follows_sonnet_rule():
    rng = np.random.default_rng(1)
    codebook = rng.normal(size=(4, 2))
    decay, epsilon, beta = 0.9, 1e-3, 0.25
    vq = _layer_with_codebook(codebook, ema=True, decay=decay, epsilon=epsilon)
    assert isinstance(vq.codebook, torch.Tensor) and "codebook" in dict(vq.named_buffers())
    assert list(vq.parameters()) == []

    # The moving averages start from the initial codebook with an equal share per code.
    n_batch = 10
    cluster_size = np.full(4, n_batch / 4)

    def smoothed(cluster_size):
        total = cluster_size.sum()
        return (cluster_size + epsilon) / (total + 4 * epsilon) * total

    code_sum = codebook * smoothed(cluster_size)[:, None]
    expected_codebook = codebook
    for _ in range(3):
        x_np = rng.normal(size=(n_batch, 2)) + 0.5
        _, loss, _ = vq(torch.tensor(x_np, dtype=torch.float32))
        idx = _nearest_brute_force(x_np, expected_codebook)
        nearest = expected_codebook[idx]
        assert loss.item() == pytest.approx(beta * ((x_np - nearest) ** 2).mean(), rel=1e-5)
        counts = np.bincount(idx, minlength=4)
        sums = np.zeros_like(codebook)
        np.add.at(sums, idx, x_np)
        cluster_size = decay * cluster_size + (1 - decay) * counts
        code_sum = decay * code_sum + (1 - decay) * sums
        expected_codebook = code_sum / smoothed(cluster_size)[:, None]
        np.testing.assert_allclose(vq.ema_cluster_size.numpy(), cluster_size, rtol=1e-5)
        np.testing.assert_allclose(vq.ema_code_sum.numpy(), code_sum, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(vq.codebook.numpy(), expected_codebook, rtol=1e-5, atol=1e-6)


def test_data_initialization_finds_the_clusters():
    torch.manual_seed(0)
    centers = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0], [0.0, -5.0]])
    x = centers.repeat(50, 1) + 0.1 * torch.randn(200, 2)
    vq = VQLayer(4, 2).train()

    # Too few vectors seen for 4 codes: pass-through, no loss.
    passed, loss, _ = vq(x[:3])
    assert passed is not None and torch.equal(passed, x[:3]) and loss.item() == 0.0

    _, _, perplexity = vq(x)
    assert bool(vq.initialized)
    found = vq.codebook.detach()
    distances = torch.cdist(centers, found)
    assert distances.min(dim=1).values.max() < 0.1
    assert perplexity.item() == pytest.approx(4.0, rel=0.01)


def test_dead_codes_are_reseeded_from_recent_inputs():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    codebook = torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 100.0]])
    vq = _layer_with_codebook(codebook, reseed_interval=2)
    vq(x)
    vq(x)
    assert vq.n_codes_used == 1
    vq(x)  # the check runs before this batch is quantized
    recent = x.numpy()
    for code in vq.codebook.detach().numpy()[1:]:
        assert np.any(np.all(recent == code, axis=1)), "re-seeded code is not a recent input"
    assert vq.n_codes_used > 1

    without_reseeding = _layer_with_codebook(codebook, reseed_interval=2, dead_code_threshold=0)
    for _ in range(4):
        without_reseeding(x)
    torch.testing.assert_close(without_reseeding.codebook.detach(), codebook)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(init="data"),
        dict(init="uniform", ema=True),
        dict(init="uniform", reseed_interval=1),
    ],
)
def test_eval_mode_never_changes_the_codebook(kwargs):
    torch.manual_seed(0)
    vq = VQLayer(8, 3, **kwargs).eval()
    before = {k: v.clone() for k, v in vq.state_dict().items()}
    for _ in range(3):
        vq(torch.randn(100, 3) + 2.0)
    for key, value in vq.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_loaded_layer_is_not_initialized_again():
    torch.manual_seed(0)
    trained = VQLayer(4, 2)
    trained(torch.randn(50, 2))
    fresh = VQLayer(4, 2)
    fresh.load_state_dict(trained.state_dict())
    fresh(torch.randn(50, 2) + 10.0)  # far-away data would move k-means centers
    torch.testing.assert_close(fresh.codebook.detach(), trained.codebook.detach())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_codes=0, code_dim=2), "n_codes"),
        (dict(n_codes=4, code_dim=2, commitment_cost=-1.0), "commitment_cost"),
        (dict(n_codes=4, code_dim=2, decay=1.0), "decay"),
        (dict(n_codes=4, code_dim=2, epsilon=0.0), "epsilon"),
        (dict(n_codes=4, code_dim=2, init="kmeans++"), "init"),
        (dict(n_codes=8, code_dim=2, buffer_size=4), "buffer_size"),
        (dict(n_codes=4, code_dim=2, chunk_size=0), "chunk_size"),
    ],
)
def test_invalid_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VQLayer(**kwargs)


def test_layer_without_codebook_is_the_identity_in_training_and_evaluation():
    # Fewer training vectors than codes: no codebook yet, and evaluation computes what training
    # did (the identity), instead of quantizing with the random initial codes.
    # Not silently: each pass-through warns.
    torch.manual_seed(0)
    vq = VQLayer(8, 3)
    x = torch.randn(5, 3)
    for mode in (vq.train(), vq.eval()):
        with pytest.warns(UserWarning, match="VQLayer has no codebook yet .* n_codes=8"):
            quantized, loss, perplexity = mode(x)
        assert torch.equal(quantized, x)
        assert loss.item() == 0.0 and perplexity.item() == 0.0
    assert not bool(vq.initialized)


# ---------------------------------------------------------------- bad inputs, dtypes, init


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("init", ["data", "uniform"])
def test_non_finite_input_is_an_error_before_the_codebook_changes(bad, init):
    torch.manual_seed(0)
    vq = VQLayer(4, 2, init=init, ema=True, reseed_interval=1)
    x = torch.randn(20, 2)
    x[3, 1] = bad
    before = {k: v.clone() for k, v in vq.state_dict().items()}
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or inf\) in 1 of 20"):
        vq(x)
    for key, value in vq.state_dict().items():
        assert torch.equal(value, before[key])
    assert not torch.isnan(vq.codebook).any() and vq._n_recent == 0
    quantized, loss, _ = vq(torch.randn(20, 2))  # clean data still works
    assert torch.isfinite(quantized).all() and torch.isfinite(loss)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("ema", [False, True])
def test_any_float_input_type_quantizes_in_the_codebook_type(dtype, ema):
    codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    vq = VQLayer(3, 2, init=codebook, ema=ema)
    x = torch.tensor([[0.1, -0.1], [0.9, 1.2], [-1.1, 1.8], [0.6, 0.6]], dtype=dtype)
    x.requires_grad_(True)
    quantized, loss, perplexity = vq(x)
    assert quantized.dtype == dtype and loss.dtype == torch.float32
    expected = codebook[_nearest_brute_force(x.detach().float(), codebook)]
    torch.testing.assert_close(quantized.detach().float(), expected.to(dtype).float())
    (quantized.float().sum() + loss).backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad.float()).all()
    assert torch.isfinite(perplexity)


def test_empty_batch_gives_zero_loss_not_nan():
    vq = VQLayer(3, 2, init=torch.eye(3, 2))
    x = torch.empty(0, 5, 2, requires_grad=True)
    quantized, loss, perplexity = vq(x)
    assert quantized.shape == (0, 5, 2)
    assert loss.item() == 0.0 and perplexity.item() == 1.0
    loss.backward()  # part of x's graph: backward works
    assert vq.last_counts.sum() == 0


def test_init_takes_a_codebook_tensor():
    codebook = torch.tensor([[0.0, 0.0], [5.0, 5.0]], dtype=torch.float64)
    vq = VQLayer(2, 2, init=codebook).eval()
    assert bool(vq.initialized) and vq.init == "tensor"
    assert vq.codebook.dtype == torch.float32 and torch.equal(vq.codebook.double(), codebook)
    codebook[0, 0] = 9.0  # copied, not shared
    assert vq.codebook[0, 0] == 0.0
    quantized, _, _ = vq(torch.tensor([[4.0, 6.0], [0.5, -0.2]]))
    torch.testing.assert_close(quantized, torch.tensor([[5.0, 5.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"init codebook has shape \(3, 2\), expected"):
        VQLayer(2, 2, init=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="init codebook contains NaN"):
        VQLayer(2, 2, init=torch.tensor([[0.0, float("nan")], [1.0, 1.0]]))


@pytest.mark.parametrize("ema", [False, True])
@pytest.mark.parametrize("how", ["copy_", "load_state_dict"])
def test_codebook_set_by_the_user_counts_as_initialized(ema, how):
    codebook = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]])
    vq = VQLayer(3, 2, ema=ema)  # init="data": would wait for training data
    if how == "copy_":
        with torch.no_grad():
            vq.codebook.copy_(codebook)
    else:
        vq.load_state_dict({"codebook": codebook}, strict=False)
    x = torch.tensor([[4.0, 6.0], [0.5, -0.2], [0.1, 4.0]])
    vq.eval()
    quantized, loss, _ = vq(x)  # evaluation mode too: quantized with the user's codes
    torch.testing.assert_close(quantized, codebook[[1, 0, 2]])
    assert loss.item() > 0 and bool(vq.initialized)
    vq.train()
    vq(torch.randn(50, 2) * 100)  # training data never replace the user's codebook by k-means
    if not ema:
        assert torch.equal(vq.codebook.detach(), codebook)


def test_state_of_an_uninitialized_layer_stays_uninitialized():
    # A layer's own saved state carries its flag: loading a fresh layer's state keeps it
    # waiting for data, as the layer it was saved from.
    torch.manual_seed(0)
    source, target = VQLayer(4, 2), VQLayer(4, 2)
    target.load_state_dict(source.state_dict())
    assert not bool(target.initialized)
    target(torch.randn(40, 2) + 3.0)
    assert bool(target.initialized) and target.codebook.mean() > 1.0  # k-means on the data
