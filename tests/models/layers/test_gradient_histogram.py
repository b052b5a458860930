"""The HOG layer: its shape, its normalisation, and that gradients vote in the right orientation bin."""

import torch

from photolab.models.layers.gradient_histogram import BINS, FEATURES, GradientHistogram

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def normalised(rgb: torch.Tensor) -> torch.Tensor:
    return (rgb - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def test_descriptor_shape_and_l2_hys_blocks():
    layer = GradientHistogram(MEAN, STD)
    out = layer(normalised(torch.rand(2, 3, 96, 80)))
    assert out.shape == (2, FEATURES) and torch.isfinite(out).all()
    blocks = out.view(2, -1, 4 * BINS)
    assert torch.allclose(blocks.norm(dim=2), torch.ones(2, blocks.shape[1]), atol=1e-3)


def test_vertical_stripes_vote_for_horizontal_gradients_and_contrast_does_not_matter():
    stripes = (torch.arange(96) // 8 % 2).float().view(1, 1, 1, 96).expand(1, 3, 96, 96)
    layer = GradientHistogram(MEAN, STD)
    descriptor = layer(normalised(0.2 + 0.6 * stripes)).view(-1, BINS)
    assert descriptor.sum(0).argmax() == 0  # gradients along x: orientation 0
    fainter = layer(normalised(0.4 + 0.2 * stripes)).view(-1, BINS)
    assert torch.allclose(descriptor, fainter, atol=1e-3)


def test_the_inputs_normalisation_is_saved_with_the_weights():
    layer = GradientHistogram()
    layer.set_normalisation(MEAN, STD)
    again = GradientHistogram()
    again.load_state_dict(layer.state_dict())
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(layer(x), again(x)) and set(layer.state_dict()) == {"mean", "std"}
