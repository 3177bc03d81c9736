import pytest
import torch
from torch import nn

from skreg.neural._architectures import MLP, ImageCNN, build_module, count_parameters


def _dense(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize("batch_norm", [False, True])
def test_cnn_output_shape_and_parameter_count(batch_norm):
    cnn = ImageCNN(
        (3, 8, 6),
        5,
        conv_channels=(4, 7),
        kernel_size=3,
        hidden_layer_sizes=(11,),
        dropout=0.3,
        batch_norm=batch_norm,
    )
    out = cnn(torch.randn(9, 3 * 8 * 6))
    assert out.shape == (9, 5)
    # Two conv blocks with 2x2 pooling: 8x6 -> 4x3 -> 2x1.
    expected = (3 * 4 * 9 + 4) + (4 * 7 * 9 + 7) + _dense(7 * 2 * 1, 11) + _dense(11, 5)
    if batch_norm:  # a scale and a shift per channel / unit replace the layer's bias
        expected += (4 + 7 + 11)
    assert count_parameters(cnn) == expected


def test_cnn_kernels_are_shared_across_positions():
    # One conv layer: the parameter count does not depend on the image size, unlike a dense
    # layer on the same inputs.
    small = ImageCNN((8, 8), 2, conv_channels=(4,), hidden_layer_sizes=())
    large = ImageCNN((16, 16), 2, conv_channels=(4,), hidden_layer_sizes=())
    conv_small = count_parameters(small.features)
    assert conv_small == count_parameters(large.features) == 1 * 4 * 9 + 4
    # Shifting an image by one pixel shifts the (pre-pooling) feature map by one pixel.
    conv = small.features[1]
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 3, 3] = 1.0
    shifted = torch.roll(image, 1, dims=3)
    torch.testing.assert_close(
        torch.roll(conv(image), 1, dims=3)[..., 1:-1], conv(shifted)[..., 1:-1]
    )


def test_cnn_on_tiny_images_skips_pooling():
    cnn = ImageCNN((1, 3), 4, conv_channels=(2, 2), hidden_layer_sizes=(3,))
    assert cnn(torch.randn(5, 3)).shape == (5, 4)
    assert not any(isinstance(m, nn.MaxPool2d) for m in cnn.modules())


def test_mlp_output_shape_and_parameter_count():
    mlp = MLP(10, 3, hidden_layer_sizes=(8, 6), dropout=0.2, batch_norm=True)
    assert mlp(torch.randn(4, 10)).shape == (4, 3)
    expected = _dense(10, 8) + _dense(8, 6) + _dense(6, 3) + (8 + 6)  # norms replace biases
    assert count_parameters(mlp) == expected
    assert count_parameters(MLP(10, 3, hidden_layer_sizes=())) == _dense(10, 3)


@pytest.mark.parametrize("n_hidden_layers", [1, 2, 4])
def test_shared_hidden_layers_use_one_tensor_and_save_the_expected_count(n_hidden_layers):
    h = 7
    sizes = (h,) * n_hidden_layers
    free = MLP(5, 3, hidden_layer_sizes=sizes)
    shared = MLP(5, 3, hidden_layer_sizes=sizes, share_hidden_layers=True)
    saved = max(n_hidden_layers - 2, 0) * h * h
    assert count_parameters(free) - count_parameters(shared) == saved

    later = shared.hidden_layers[1:]
    assert all(layer.weight is later[0].weight for layer in later)
    assert len({id(layer.bias) for layer in later}) == len(later)
    assert shared.hidden_layers[0].weight.shape == (h, 5)

    # One gradient step changes every tied layer identically: they stay one matrix.
    optimizer = torch.optim.SGD(shared.parameters(), lr=0.1)
    shared(torch.randn(6, 5)).sum().backward()
    optimizer.step()
    for layer in later:
        assert torch.equal(layer.weight, later[0].weight)


def test_shared_parameter_counted_once():
    linear = nn.Linear(3, 3)
    tied = nn.Sequential(linear, nn.ReLU(), linear)
    assert count_parameters(tied) == 12
    frozen = nn.Linear(3, 2)
    frozen.weight.requires_grad_(False)
    assert count_parameters(frozen) == 2


def test_build_module_dispatches_and_validates():
    assert isinstance(build_module("mlp", n_features=4, n_outputs=2), MLP)
    cnn = build_module("cnn", n_features=64, n_outputs=10, image_shape=(8, 8))
    assert isinstance(cnn, ImageCNN) and cnn(torch.zeros(2, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match="architecture"):
        build_module("resnet", n_features=4, n_outputs=2)
    with pytest.raises(ValueError, match="needs image_shape"):
        build_module("cnn", n_features=64, n_outputs=2)
    with pytest.raises(ValueError, match="64 pixels but X has 63 features"):
        build_module("cnn", n_features=63, n_outputs=2, image_shape=(8, 8))
    with pytest.raises(ValueError, match="same size"):
        MLP(4, 2, hidden_layer_sizes=(8, 6, 6), share_hidden_layers=True)
    with pytest.raises(ValueError, match="activation"):
        MLP(4, 2, activation="gelu")
    with pytest.raises(ValueError, match="dropout"):
        ImageCNN((8, 8), 2, dropout=1.0)
    with pytest.raises(ValueError, match="image_shape"):
        ImageCNN((8,), 2)
