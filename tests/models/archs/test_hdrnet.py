"""HDRNet: the fast full-resolution slicing equals the differentiable one, identity start, strength."""

import numpy as np
import pytest
import torch

from photolab.models.archs.hdrnet import (LOW_SIZE, apply_grid, apply_look, apply_lut, create_model, has_grid,
                                          identity_lut, lut_atlas, predict_grid, slice_and_apply, to_tensor,
                                          without_grid)


def smooth_image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.random((6, 9, 3)).astype(np.float32)
    import cv2

    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def random_model(seed=0):
    torch.manual_seed(seed)
    model = create_model(levels=6, cells=8, width=16)
    with torch.no_grad():
        model.head.weight.normal_(std=0.05)
        model.guide_weight.copy_(torch.tensor([0.5, 0.3, 0.3]))
    return model.eval()


@pytest.mark.parametrize("shape", [(37, 61), (130, 90), (7, 300)])
def test_the_fast_slicing_equals_the_differentiable_one(shape):
    model = random_model()
    image = smooth_image(*shape)
    grid, weight, bias, _ = predict_grid(model, image)
    fast = apply_grid(image, grid, weight, bias, band=16)
    with torch.no_grad():
        reference = slice_and_apply(torch.from_numpy(grid)[None], model.guide(to_tensor([image])), to_tensor([image]))
    np.testing.assert_allclose(fast, reference[0].numpy().transpose(1, 2, 0), atol=2e-4)
    assert np.abs(fast - image).max() > 0.01  # the random look does something


def test_a_fresh_network_is_the_identity_and_strength_mixes():
    model = create_model().eval()
    image = smooth_image(50, 80)
    np.testing.assert_allclose(apply_look(model, image), image, atol=0.02)
    look = random_model()
    full, half = apply_look(look, image), apply_look(look, image, strength=0.5)
    np.testing.assert_allclose(half, (full + image) / 2, atol=1e-5)
    np.testing.assert_allclose(apply_look(look, image, strength=0.0), image, atol=1e-6)


def test_the_lut_lookup_is_trilinear_up_to_the_blue_slices():
    rng = np.random.default_rng(1)
    lut = identity_lut() ** 1.5 + rng.normal(0, 0.01, identity_lut().shape).astype(np.float32)
    pixels = rng.random((40, 50, 3)).astype(np.float32)
    volume = torch.from_numpy(lut).permute(3, 2, 1, 0)[None]  # (1, 3, b, g, r) for grid_sample's (x, y, z)
    coords = torch.from_numpy(pixels * 2 - 1)[None, None]
    expected = torch.nn.functional.grid_sample(volume, coords, align_corners=True)[0, :, 0].permute(1, 2, 0)
    np.testing.assert_allclose(apply_lut(pixels, lut_atlas(lut)), expected.numpy().clip(0, 1), atol=4e-3)
    np.testing.assert_allclose(apply_lut(pixels, lut_atlas(identity_lut())), pixels, atol=4e-3)
    beyond = apply_lut(pixels, lut_atlas(identity_lut() * 1.5 - 0.25))  # nodes past black and white: clipped
    assert beyond.min() == 0.0 and beyond.max() == 1.0


def test_the_grid_has_one_affine_matrix_per_cell_and_level():
    model = create_model(levels=8, cells=16, width=8)
    grid = model.grid(torch.rand(2, 3, LOW_SIZE, LOW_SIZE))
    assert grid.shape == (2, 12, 8, 16, 16)
    with pytest.raises(ValueError):
        create_model(cells=12)


def test_a_look_without_a_grid_is_its_lut_alone():
    """A look kept as its global LUT alone (the grid exactly the identity) skips the network and the slicing,
    and gives what the slicing would: the LUT's colours, mixed by strength."""
    look = without_grid(random_model())
    with torch.no_grad():
        look.lut.copy_(torch.from_numpy(identity_lut() ** 1.5))
    image = smooth_image(40, 70)
    assert not has_grid(look) and has_grid(random_model())
    expected = apply_lut(image, lut_atlas(look.lut.numpy()))
    np.testing.assert_allclose(apply_look(look, image), expected, atol=1e-6)
    grid, weight, bias, atlas = predict_grid(look, image)
    np.testing.assert_allclose(apply_grid(image, grid, weight, bias, atlas=atlas), expected, atol=1e-5)
    np.testing.assert_allclose(apply_look(look, image, strength=0.25), image + 0.25 * (expected - image), atol=1e-6)
