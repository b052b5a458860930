"""The denoise develop step: parameters, recipe and sidecar, proxies, progress and cancel, torch-free core."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from photolab.core import io
from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME
from photolab.core.develop import denoise as denoise_op
from photolab.core.noise_map import MAX_SIGMA
from photolab.core.develop.denoise import DenoiseParams, decode, encode
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.params import param_spec
from photolab.core.develop.geometry import CropParams
from photolab.core.errors import DenoiseError, RecipeError
from photolab.core.photo import Photo, downscaled
from photolab.core.quality import psnr
from photolab.core.recipe import Recipe, load_sidecar, save_sidecar
from photolab.core.render import render
from photolab.jobs import Job, JobState
from utils.images import load_fixture


def noisy_photo(sigma: float = 25.0, name: str = "wine_table", seed: int = 0) -> tuple[Photo, np.ndarray]:
    """A Photo (linear) whose sRGB encoding is a fixture plus Gaussian noise of ``sigma``; and the clean sRGB."""
    clean = load_fixture(name).astype(np.float32) / 255
    noisy = np.clip(clean + np.random.default_rng(seed).normal(0, sigma / 255, clean.shape), 0, 1)
    return Photo(decode(noisy.astype(np.float32))), clean


def test_denoise_runs_right_after_crop():
    names = [op.name for op in OPERATIONS]
    assert names.index("denoise") == names.index("crop") + 1 == names.index("white_balance") - 1
    assert OPERATIONS_BY_NAME["denoise"].params_type is DenoiseParams


def test_the_tiles_fit_the_network_and_the_strength_is_the_cores_limit():
    network = pytest.importorskip("photolab.models.archs.denoise_unet")
    assert param_spec(DenoiseParams, "sigma").range == (0.0, MAX_SIGMA)
    assert denoise_op.DEFAULT_TILE % network.ALIGN == 0 and denoise_op.DEFAULT_MARGIN % network.ALIGN == 0


def test_params_defaults_and_validation():
    assert DenoiseParams() == DenoiseParams(0.0, False, "")
    assert DenoiseParams(25).sigma == 25.0 and isinstance(DenoiseParams(25).sigma, float)
    for bad in (-0.1, 100.1, float("inf"), None, True):
        with pytest.raises(ValueError, match="denoise sigma must be"):
            DenoiseParams(bad)
    with pytest.raises(ValueError, match="between 0 and 100"):
        DenoiseParams(150)


def test_sigma_zero_is_the_identity():
    photo, _ = noisy_photo()
    op = OPERATIONS_BY_NAME["denoise"]
    assert op.is_identity(DenoiseParams()) and op.is_identity(DenoiseParams(0.0, adaptive=True, model="x"))
    assert not op.is_identity(DenoiseParams(0.5))
    kept = Recipe().with_params("denoise", DenoiseParams(0.0, adaptive=True))
    assert kept.is_neutral and kept.get("denoise").adaptive  # the setting is kept, the step skipped
    assert op.apply(photo, DenoiseParams(0.0, adaptive=True, model="whatever")) is photo
    assert render(photo, Recipe().with_params("denoise", DenoiseParams())) is photo


def test_recipe_and_sidecar_round_trip(tmp_path):
    recipe = Recipe().with_params("denoise", DenoiseParams(12.5, adaptive=True, model="photolab-denoise-unet"))
    recipe = recipe.with_params("exposure", ExposureParams(0.5))
    data = json.loads(json.dumps(recipe.to_dict()))
    entry = next(e for e in data["operations"] if e["op"] == "denoise")
    assert entry == {"op": "denoise", "version": 1, "enabled": True,
                     "params": {"sigma": 12.5, "adaptive": True, "model": "photolab-denoise-unet"}}
    assert Recipe.from_dict(data) == recipe
    photo_path = tmp_path / "photo.png"
    photo_path.write_bytes(b"")
    save_sidecar(photo_path, recipe)
    assert load_sidecar(photo_path) == (recipe, None)


def test_a_sidecar_with_a_bad_denoise_level_is_a_recipe_error():
    data = Recipe().to_dict()
    entry = next(e for e in data["operations"] if e["op"] == "denoise")
    entry["params"]["sigma"] = 250
    with pytest.raises(RecipeError, match="sigma must be between 0 and 100"):
        Recipe.from_dict(data)
    entry["params"] = {"sigma": 10, "adaptive": "yes"}
    with pytest.raises(RecipeError, match="adaptive"):
        Recipe.from_dict(data)


def test_denoising_a_photo_makes_it_closer_to_the_clean_one():
    photo, clean = noisy_photo(25)
    noisy_srgb = encode(photo.pixels)
    for params in (DenoiseParams(25), DenoiseParams(25, adaptive=True)):
        result = OPERATIONS_BY_NAME["denoise"].apply(photo, params)
        assert result.pixels.shape == photo.pixels.shape and result.pixels.dtype == np.float32
        assert result.metadata is photo.metadata and result.scale == photo.scale
        denoised = np.clip(encode(result.pixels), 0, 1)
        assert psnr(denoised, clean) >= psnr(noisy_srgb, clean) + 3.0


def test_highlight_headroom_survives():
    photo, _ = noisy_photo(10)
    bright = photo.pixels.copy()
    bright[40:60, 40:80] *= 4.0  # far above white
    result = OPERATIONS_BY_NAME["denoise"].apply(photo.with_pixels(bright), DenoiseParams(10))
    assert np.median(result.pixels[40:60, 40:80]) > 1.5
    x = np.linspace(-0.2, 8.0, 2001, dtype=np.float32)
    np.testing.assert_allclose(decode(encode(x)), x, rtol=1e-5, atol=1e-6)


def test_the_model_is_named_in_the_error_when_missing(tmp_path):
    photo, _ = noisy_photo()
    with pytest.raises(DenoiseError, match="no-such-model"):
        OPERATIONS_BY_NAME["denoise"].apply(photo, DenoiseParams(10, model="no-such-model"))
    with pytest.raises(DenoiseError, match="gone.safetensors"):
        OPERATIONS_BY_NAME["denoise"].apply(photo, DenoiseParams(10, model=str(tmp_path / "gone.safetensors")))


class FakeDenoiser:
    """Stands in for a model: halves the distance to mid-grey, and says how it was asked."""

    name = "fake"

    def __call__(self, srgb, sigma_map, *, tile, margin, progress=None):
        self.options = dict(tile=tile, margin=margin)
        return (srgb + 0.5) / 2


def test_the_step_denoises_with_the_registered_loader(monkeypatch):
    asked, fake = [], FakeDenoiser()
    monkeypatch.setattr(denoise_op, "_loader", None)
    photo, _ = noisy_photo()
    with pytest.raises(DenoiseError, match="model runtime is not installed"):
        denoise_op.apply(photo, DenoiseParams(10))
    denoise_op.register_denoiser_loader(lambda model, device: asked.append((model, device)) or fake)
    srgb = encode(photo.pixels)
    result = denoise_op.denoise_srgb(srgb, DenoiseParams(10, model="mine"), device="cuda", tile=128)
    np.testing.assert_allclose(result, (srgb + 0.5) / 2)
    denoise_op.apply(photo, DenoiseParams(10))
    assert asked == [("mine", "cuda"), ("", None)]  # "": the default model, None: the runtime's device
    assert fake.options == dict(tile=denoise_op.RUNTIME.tile, margin=denoise_op.RUNTIME.margin)


# --- proxies ----------------------------------------------------------------------------------------------

def test_photo_scale_follows_downscaling_and_survives_other_operations():
    photo = Photo(np.zeros((400, 600, 3), np.float32))
    assert photo.scale == 1.0
    proxy = downscaled(photo, 300)
    assert proxy.scale == pytest.approx(0.5) and proxy.width == 300
    assert downscaled(proxy, 150).scale == pytest.approx(0.25)
    assert downscaled(photo, 1000) is photo
    cropped = render(proxy, Recipe().with_params("crop", CropParams(0.1, 0.1, 0.6, 0.9))
                     .with_params("exposure", ExposureParams(1.0)))
    assert cropped.scale == pytest.approx(0.5)


def test_a_preview_knows_its_scale(tmp_path):
    path = tmp_path / "big.png"
    image = np.tile(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (320, 1, 3))
    import cv2

    cv2.imwrite(str(path), image)
    assert io.read_preview(path, max_side=160).scale == pytest.approx(0.25)
    assert io.read_photo(path).scale == 1.0


def test_a_proxy_asks_for_the_noise_its_downscaling_left(monkeypatch):
    """Area downscaling by k divides the noise std by k: a half-size proxy is denoised with sigma / 2."""
    models = pytest.importorskip("photolab.models.denoise")
    levels = []
    real = models.denoise_array

    def spy(model, srgb, sigma_map, **options):
        levels.append(float(np.mean(sigma_map)))
        return real(model, srgb, sigma_map, **options)

    monkeypatch.setattr(models, "denoise_array", spy)
    photo, _ = noisy_photo(20)
    op = OPERATIONS_BY_NAME["denoise"]
    op.apply(photo, DenoiseParams(20))
    op.apply(downscaled(photo, 96), DenoiseParams(20))
    op.apply(downscaled(photo, 96), DenoiseParams(20, adaptive=True))
    assert levels[0] == pytest.approx(20 / 255)
    assert levels[1] == pytest.approx(10 / 255)
    assert levels[2] == pytest.approx(10 / 255, rel=0.35)  # the measured function, scaled to sigma / 2


# --- progress and cancel ----------------------------------------------------------------------------------

@pytest.fixture
def small_tiles(monkeypatch):
    monkeypatch.setattr(denoise_op, "RUNTIME", dataclasses.replace(denoise_op.RUNTIME, tile=64, margin=32))


def test_render_reports_progress_tile_by_tile(small_tiles):
    photo, _ = noisy_photo(15)  # 128 x 192: six 64 px tiles
    recipe = Recipe().with_params("denoise", DenoiseParams(15)).with_params("exposure", ExposureParams(0.3))
    seen = []
    render(photo, recipe, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    # denoise weighs 20, exposure 1: a report before each of the six tiles, within the first 20/21 of the bar
    inside = [f for f in seen if f < 20 / 21 - 1e-9]
    assert inside == pytest.approx([20 / 21 * i / 6 for i in range(6)])


def test_cancelling_a_render_job_stops_denoising_between_tiles(small_tiles, monkeypatch):
    network = pytest.importorskip("photolab.models.archs.denoise_unet")
    tiles = []
    real_forward = network.DenoiseUNet.forward

    def counting_forward(self, *args):
        tiles.append(1)
        return real_forward(self, *args)

    monkeypatch.setattr(network.DenoiseUNet, "forward", counting_forward)
    photo, _ = noisy_photo(15)
    recipe = Recipe().with_params("denoise", DenoiseParams(15))
    job = Job(lambda context: render(photo, recipe, progress=context.progress), title="Rendering")
    job.on_progress(lambda fraction, message: job.cancel())  # cancel after the first tile
    job.run()
    assert job.state is JobState.CANCELLED
    assert len(tiles) == 1


# --- layering ---------------------------------------------------------------------------------------------

def test_core_does_not_import_torch_until_denoising_runs():
    code = ("import sys; import photolab.core.recipe, photolab.services, photolab.core.develop.denoise; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
