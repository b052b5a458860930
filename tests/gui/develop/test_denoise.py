"""Denoising in the window: the Denoise section, Auto, the loupe, progress and cancel, and errors.

A tiny, randomly initialised denoiser stands in for the shipped one (``tiny_denoiser``), so these tests need
no weights and stay fast; what is checked is the window's plumbing, not the quality of the network.
"""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from photolab.core.color import encode_srgb_integer
from photolab.core.develop.denoise import DenoiseParams, encode, estimate_params
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.photo import NoiseProfile, Photo, PhotoMetadata, downscaled
from photolab.core.recipe import Recipe, sidecar_path
from photolab.core.render import PrefixCache, output_size, region_around, render
from photolab.gui.develop.denoise_tools import measure_noise
from photolab.gui.export.dialog import ExportRequest
from photolab.gui.viewer.loupe_render import LoupeRequest, render_loupe
from photolab.gui.viewer.rendering import render_for_display
from photolab.jobs import Job, JobState
from photolab.core.develop import denoise as denoise_step
from photolab.core.errors import DenoiseError
from photolab.core.noise_measure import NoiseCache
from photolab.core.region_preview import CONTEXT, local_recipe
from photolab.models.archs.denoise_unet import DenoiseUNet
from photolab.models.denoise import DEFAULT_DENOISER, Denoiser
from photolab.models.store.manager import ModelManager

from ..conftest import image_array, open_and_wait, scene_image, wait_until_shown
from ..model_store import make_window, manager, manager_for, seeded_store  # noqa: F401 - fixtures


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the test machine has other work to do
    yield
    torch.set_num_threads(threads)


class TinyDenoiser:
    """What ``ModelManager.load_denoiser`` returns in these tests: a small random network that counts its tiles
    and records the device each load was for."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.model = DenoiseUNet((8, 16, 32), 1).eval()
        self.tiles = 0
        self.shapes: list[tuple[str, tuple]] = []  # (thread, tile size) of each tile, to tell passes apart
        self.devices: list[str] = []
        self.delay_s = 0.0  # per tile, to make a render slow enough to cancel
        self.threads: set[str] = set()
        self.model.register_forward_pre_hook(self._on_tile)

    def _on_tile(self, module, inputs) -> None:
        self.tiles += 1
        self.shapes.append((threading.current_thread().name, tuple(inputs[0].shape[2:])))
        self.threads.add(threading.current_thread().name)
        if self.delay_s:
            time.sleep(self.delay_s)

    def load(self, manager: ModelManager, name="", device=None):
        if str(name).endswith(".safetensors"):  # a file named in the recipe: the real loader
            return real_load_denoiser(manager, name, device)
        self.devices.append(str(device if device is not None else manager.device))
        return Denoiser(str(name or DEFAULT_DENOISER), self.model)  # a CPU network: it runs where it lives


real_load_denoiser = ModelManager.load_denoiser


@pytest.fixture
def tiny_denoiser(monkeypatch, one_thread) -> TinyDenoiser:
    tiny = TinyDenoiser()
    monkeypatch.setattr(ModelManager, "load_denoiser", lambda manager, name="", device=None:
                        tiny.load(manager, name, device))
    monkeypatch.setattr(ModelManager, "list_denoisers", lambda manager: [DEFAULT_DENOISER])
    return tiny


def noisy_scene(width: int = 192, height: int = 128, sigma: float = 12.0) -> np.ndarray:
    """The GUI tests' scene (BGR, 8-bit) with Gaussian noise of ``sigma`` (0-255) added."""
    clean = cv2.resize(scene_image(96, 64), (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    noise = np.random.default_rng(1).normal(0.0, sigma, clean.shape)
    return np.clip(clean + noise + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture
def noisy_photo(tmp_path):
    path = tmp_path / "noisy.png"
    cv2.imwrite(str(path), noisy_scene())
    return path


def denoised(sigma: float, recipe: Recipe = Recipe(), **params) -> Recipe:
    return recipe.with_params("denoise", DenoiseParams(sigma=sigma, **params))


def set_strength(window, sigma: float) -> None:
    window.develop.denoise.strength.spin.setValue(sigma)


def wait_for_loupe(qtbot, window, center=None, recipe=None, timeout=15000):
    loupe = window.denoise_tools.loupe

    def done():
        result = loupe.result
        if result is None or loupe.is_busy:
            return False
        if recipe is not None and result.recipe != recipe:
            return False
        if center is not None:
            x0, y0, x1, y1 = result.box
            return x0 <= center[0] <= x1 and y0 <= center[1] <= y1
        return True

    qtbot.waitUntil(done, timeout=timeout)
    return loupe.result


# --- the Denoise section ------------------------------------------------------------------------------

def test_strength_drag_is_one_merge_key_and_set_recipe_emits_nothing(panel):
    edits = []
    panel.edit_requested.connect(lambda recipe, text, key: edits.append((recipe, text, key)))
    panel.set_recipe(denoised(7.5, adaptive=True))
    assert edits == [] and panel.denoise.strength.value() == 7.5 and panel.denoise.adaptive.isChecked()
    slider = panel.denoise.strength.slider
    slider.setSliderDown(True)
    for position in (20, 40, 60):  # half a unit per position
        slider.setValue(position)
    slider.setSliderDown(False)
    assert [recipe.get("denoise") for recipe, _, _ in edits] == [DenoiseParams(s, adaptive=True) for s in (10, 20, 30)]
    assert len({key for _, _, key in edits}) == 1 and edits[0][1] == "Denoise strength"
    panel.denoise.adaptive.click()
    assert edits[-1][0].get("denoise") == DenoiseParams(7.5, adaptive=False)  # the recipe shown, not the drag


def test_model_selector_only_when_there_is_a_choice(panel):
    controls = panel.denoise
    controls.set_models(["photolab-denoise-unet"], "photolab-denoise-unet")
    assert controls.model.isHidden()
    controls.set_models(["photolab-denoise-unet", "strong"], "photolab-denoise-unet")
    assert not controls.model.isHidden() and controls.model.count() == 2
    edits = []
    panel.edit_requested.connect(lambda recipe, text, key: edits.append(recipe))
    controls.model.activated.emit(1)
    assert edits[-1].get("denoise").model == "strong"
    panel.set_recipe(denoised(5, model="elsewhere.safetensors"))  # named by a sidecar, not installed
    assert "not installed" in controls.model.currentText()


# --- the loupe ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("adaptive", [False, True])
def test_loupe_shows_what_the_full_render_shows_there(tiny_denoiser, adaptive, monkeypatch):
    measured = []
    real_estimate = denoise_step.estimate_strength
    monkeypatch.setattr(denoise_step, "estimate_strength",
                        lambda srgb: measured.append(srgb.shape[:2]) or real_estimate(srgb))
    rng = np.random.default_rng(3)
    gradient = np.linspace(0.02, 0.8, 420, dtype=np.float32)[None, :, None]
    photo = Photo(np.clip(gradient + rng.normal(0, 0.03, (300, 420, 3)).astype(np.float32), 0, 1))
    proxy = Photo(cv2.resize(photo.pixels, (210, 150), interpolation=cv2.INTER_AREA), scale=0.5)
    recipe = denoised(20, Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.05, 0.1, 0.95, 0.9),
                                         "white_balance": WhiteBalanceParams(mode="auto"),
                                         "exposure": ExposureParams(ev=0.5)}), adaptive=adaptive)
    noise = NoiseCache()
    result = render_loupe(None, LoupeRequest(photo, proxy, recipe, (120, 200), side=64, noise=noise))
    size = output_size((420, 300), recipe)
    assert measured == ([(size[1], size[0])] if adaptive else [])  # the noise of the whole photo, not the crop
    if adaptive:
        assert noise.estimate(photo, recipe).levels and len(measured) == 1  # measured once
    x0, y0, x1, y1 = result.box
    assert (x1 - x0, y1 - y0) == (64, 64) and x0 <= 120 < x1 and y0 <= 200 < y1
    # The whole photo, auto white balance measured on the proxy as the loupe does:
    balance = local_recipe(recipe, proxy).get("white_balance")
    whole = render(photo, recipe.with_params("white_balance", balance)).pixels
    expected = encode_srgb_integer(whole[y0:y1, x0:x1], np.uint8)
    after, before = image_array(result.after), image_array(result.before)
    assert np.abs(after.astype(int) - expected).max() <= 1
    undenoised = encode_srgb_integer(render(photo, recipe.with_params("white_balance", balance)
                                            .with_enabled("denoise", False)).pixels[y0:y1, x0:x1], np.uint8)
    assert np.array_equal(before, undenoised) and not np.array_equal(before, after)
    assert CONTEXT >= 32  # context the network needs around the region


def test_auto_and_the_loupe_follow_a_raw_photos_noise_profile(tiny_denoiser, monkeypatch):
    """A camera RAW photo's noise comes from its profile (measured on the mosaic), never from its pixels."""
    monkeypatch.setattr(denoise_step, "estimate_strength", lambda srgb: pytest.fail("the image was measured"))
    rng = np.random.default_rng(4)
    gradient = np.linspace(0.01, 0.7, 420, dtype=np.float32)[None, :, None]
    profile = NoiseProfile(0.004, 2e-5, 0.004, 2e-5, 1.0)
    photo = Photo(np.clip(gradient + rng.normal(0, 0.03, (300, 420, 3)).astype(np.float32), 0, 1),
                  PhotoMetadata(file_format="raw", noise_profile=profile))
    proxy = downscaled(photo, 210)
    recipe = Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.05, 0.1, 0.95, 0.9),
                            "exposure": ExposureParams(ev=0.5)})
    job = Job(measure_noise, photo, recipe)
    job.run()
    region = render(photo, recipe, stop_before="denoise")  # oriented and cropped: what the step sees
    expected, _ = estimate_params(encode(region.pixels), profile=profile)
    params = job.result
    assert params.adaptive and params.sigma == round(expected.sigma, 1) > 0
    recipe = recipe.with_params("denoise", params)
    result = render_loupe(None, LoupeRequest(photo, proxy, recipe, (120, 200), side=64, noise=NoiseCache()))
    x0, y0, x1, y1 = result.box
    expected = encode_srgb_integer(render(photo, recipe).pixels[y0:y1, x0:x1], np.uint8)
    assert np.abs(image_array(result.after).astype(int) - expected).max() <= 1


# --- the window ------------------------------------------------------------------------------------------

def test_strength_edits_are_undoable_rendered_and_saved(qtbot, window, noisy_photo, tiny_denoiser):
    plain = open_and_wait(qtbot, window, noisy_photo)
    set_strength(window, 25)
    recipe = window.document.recipe
    assert recipe.get("denoise") == DenoiseParams(25.0)
    shown = wait_until_shown(qtbot, window, timeout=20000)
    assert tiny_denoiser.tiles > 0 and not np.array_equal(shown, plain)
    assert "MainThread" not in tiny_denoiser.threads  # never on the GUI thread
    assert window.undo_stack.undoText() == "Denoise strength"
    sidecar = sidecar_path(noisy_photo)
    qtbot.waitUntil(sidecar.exists, timeout=5000)
    saved = json.loads(sidecar.read_text())
    assert {"op": "denoise", "version": 1, "enabled": True, "params": {"sigma": 25.0, "adaptive": False, "model": ""}} \
        in saved["operations"]
    window.undo_stack.undo()
    assert window.document.recipe.get("denoise") == DenoiseParams() and window.develop.denoise.strength.value() == 0
    window.undo_stack.redo()
    assert window.develop.denoise.strength.value() == 25


def test_other_edits_reuse_the_denoised_preview(qtbot, window, noisy_photo, tiny_denoiser):
    open_and_wait(qtbot, window, noisy_photo)
    window.apply_edit(denoised(15), "Denoise")
    wait_until_shown(qtbot, window, timeout=20000)
    tiles = tiny_denoiser.tiles
    window.develop.sliders["exposure.ev"].spin.setValue(0.5)
    wait_until_shown(qtbot, window)
    assert tiny_denoiser.tiles == tiles  # the exposure changed; the denoised stage was kept


def test_auto_measures_the_full_photo_in_the_background(qtbot, window, noisy_photo, tiny_denoiser, monkeypatch):
    threads = []
    real_estimate = denoise_step.estimate_strength

    def estimate(srgb, *args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_estimate(srgb, *args, **kwargs)

    monkeypatch.setattr(denoise_step, "estimate_strength", estimate)
    open_and_wait(qtbot, window, noisy_photo)
    window.develop.denoise.auto_button.click()
    qtbot.waitUntil(lambda: window.document.recipe.get("denoise").sigma > 0, timeout=15000)
    params = window.document.recipe.get("denoise")
    assert 8 <= params.sigma <= 16 and params.adaptive  # 12 was added
    assert threads and not any(threads)
    assert window.undo_stack.undoText() == "Denoise auto"
    assert window.develop.denoise.strength.value() == params.sigma
    qtbot.waitUntil(lambda: window.develop.denoise.auto_button.isEnabled(), timeout=5000)


def test_loupe_follows_the_cursor_and_the_strength(qtbot, window, noisy_photo, tiny_denoiser):
    open_and_wait(qtbot, window, noisy_photo)
    window.develop.denoise.loupe_button.click()
    assert window.denoise_tools.loupe_dock.isVisible() and window.action("loupe").isChecked()
    first = wait_for_loupe(qtbot, window)
    assert np.array_equal(image_array(first.before), image_array(first.after))  # nothing to denoise yet
    for x in range(5, 60, 5):  # a quick cursor movement: only the newest position matters
        window.viewer.hovered.emit(float(x), 40.0)
    result = wait_for_loupe(qtbot, window, center=(55, 40))
    assert result.box == region_around((192, 128), (55, 40), window.denoise_tools.loupe_panel.view.device_side())
    assert window.viewer._marker is not None
    set_strength(window, 30)
    result = wait_for_loupe(qtbot, window, recipe=window.document.recipe)
    assert not np.array_equal(image_array(result.before), image_array(result.after))
    window.action("loupe").trigger()  # View ▸ Loupe hides it again
    assert not window.denoise_tools.loupe_dock.isVisible() and window.viewer._marker is None


def test_full_resolution_denoise_has_progress_and_cancel(qtbot, window, tmp_path, tiny_denoiser):
    path = tmp_path / "large.png"
    cv2.imwrite(str(path), noisy_scene(1800, 900))  # larger than the proxy; four tiles by two
    open_and_wait(qtbot, window, path)
    window.apply_edit(denoised(20), "Denoise")
    wait_until_shown(qtbot, window, timeout=30000)  # the denoised proxy
    qtbot.waitUntil(lambda: not window.renderer.is_busy, timeout=30000)
    tiny_denoiser.delay_s = 0.3
    tiles = tiny_denoiser.tiles
    window.viewer.zoom_to_actual()
    qtbot.waitUntil(lambda: window.job_status.current is not None
                    and window.job_status.current.title == "Denoising at full resolution", timeout=5000)
    handle = window.job_status.current
    qtbot.waitUntil(lambda: 0 < handle.fraction < 0.9, timeout=10000)  # per-tile progress
    cancelled = []
    handle.cancelled.connect(lambda: cancelled.append(True))
    window.job_status.cancel_button.click()
    qtbot.waitUntil(lambda: handle.is_done, timeout=10000)
    assert cancelled and handle.job.state is JobState.CANCELLED
    assert tiny_denoiser.tiles - tiles < 8  # stopped inside its pass over the 4 x 2 tiles


def test_edits_after_denoise_do_not_restart_full_resolution_denoising(qtbot, window, tmp_path, tiny_denoiser):
    path = tmp_path / "large.png"
    cv2.imwrite(str(path), noisy_scene(1800, 900))
    open_and_wait(qtbot, window, path)
    window.apply_edit(denoised(20), "Denoise")
    wait_until_shown(qtbot, window, timeout=30000)
    qtbot.waitUntil(lambda: not window.renderer.is_busy, timeout=30000)
    tiny_denoiser.delay_s = 0.1
    tiles = tiny_denoiser.tiles
    window.viewer.zoom_to_actual()
    qtbot.waitUntil(lambda: window.job_status.current is not None and window.job_status.current.fraction > 0,
                    timeout=10000)  # denoising at full resolution
    handle = window.job_status.current
    assert handle.title == "Denoising at full resolution"
    window.develop.sliders["exposure.ev"].spin.setValue(0.4)  # a later step changes: the denoising goes on
    qtbot.waitUntil(lambda: window.viewer.displayed.full_resolution
                    and window.viewer.displayed.recipe == window.document.recipe, timeout=30000)
    assert handle.job.state is JobState.FINISHED
    assert tiny_denoiser.tiles - tiles == 8, tiny_denoiser.shapes[-(tiny_denoiser.tiles - tiles):]  # one pass


def test_export_cancel_stops_inside_the_denoise_step(tiny_denoiser, tmp_path):
    from photolab.gui.export.dialog import export_job

    photo = Photo(np.random.default_rng(0).random((560, 1100, 3), dtype=np.float32))
    job = export_job(photo, denoised(20), ExportRequest(tmp_path / "out.png", "png"))
    fractions = []
    job.on_progress(lambda fraction, message: (fractions.append(fraction), fraction > 0.1 and job.cancel()))
    job.run()
    assert job.state is JobState.CANCELLED and tiny_denoiser.tiles < 6
    assert not (tmp_path / "out.png").exists() and any(0 < f < 0.5 for f in fractions)


def test_display_render_cancel_stops_inside_the_denoise_step(tiny_denoiser):
    photo = Photo(np.random.default_rng(0).random((560, 1100, 3), dtype=np.float32))

    def work(context):
        return render_for_display(photo, denoised(20), histogram=False, context=context, cache=PrefixCache())

    job = Job(work)
    job.on_progress(lambda fraction, message: fraction > 0 and job.cancel())
    job.run()
    assert job.state is JobState.CANCELLED and tiny_denoiser.tiles <= 2  # of 6: stopped at the next tile


def test_damaged_weights_are_reported_once_and_the_photo_still_shows(qtbot, window, noisy_photo, tmp_path,
                                                                     recorded_dialogs, tiny_denoiser):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    plain = open_and_wait(qtbot, window, noisy_photo)
    window.denoise_tools.set_loupe_visible(True)
    window.apply_edit(denoised(20, model=str(broken)), "Denoise")
    shown = wait_until_shown(qtbot, window)
    assert np.array_equal(shown, plain)  # shown without denoising
    qtbot.waitUntil(lambda: len(recorded_dialogs.errors) == 1, timeout=5000)
    assert "broken.safetensors" in recorded_dialogs.errors[0]
    result = wait_for_loupe(qtbot, window, recipe=window.document.recipe)
    assert "broken.safetensors" in result.warning
    assert "broken.safetensors" in window.denoise_tools.loupe_panel.view.message
    window.develop.sliders["exposure.ev"].spin.setValue(0.3)  # another edit: not asked again
    wait_until_shown(qtbot, window)
    assert len(recorded_dialogs.errors) == 1


def test_missing_weights_fail_an_export_and_auto_errors_become_dialogs(qtbot, window, noisy_photo, tmp_path,
                                                                       recorded_dialogs, monkeypatch, one_thread):
    def missing(*args, **kwargs):
        raise DenoiseError("the denoiser weights /nowhere/photolab-denoise-unet.safetensors are missing")

    monkeypatch.setattr(ModelManager, "load_denoiser", missing)
    open_and_wait(qtbot, window, noisy_photo)
    window.apply_edit(denoised(10), "Denoise")
    wait_until_shown(qtbot, window)
    handle = window.exports.start(ExportRequest(tmp_path / "out.jpg", "jpg"))
    qtbot.waitUntil(lambda: handle.is_done, timeout=10000)
    assert handle.job.state is JobState.FAILED
    assert any("are missing" in error for error in recorded_dialogs.errors)

    def no_estimate(srgb, *args, **kwargs):
        raise DenoiseError("the image is too small to estimate its noise")

    monkeypatch.setattr(denoise_step, "estimate_strength", no_estimate)
    recipe = window.document.recipe
    assert window.denoise_tools.estimate() is not None
    assert not window.develop.denoise.auto_button.isEnabled()  # one measurement at a time
    qtbot.waitUntil(lambda: any("too small" in error for error in recorded_dialogs.errors), timeout=10000)
    qtbot.waitUntil(window.develop.denoise.auto_button.isEnabled, timeout=5000)
    assert window.document.recipe == recipe


def test_auto_and_the_loupe_wait_for_the_full_photo(qtbot, window, noisy_photo, recorded_dialogs, tiny_denoiser,
                                                     monkeypatch):
    from photolab.core import io

    release = threading.Event()
    real_read = io.read_photo

    def gated_read(*args, **kwargs):
        release.wait(10)  # the full-resolution photo is still being read
        return real_read(*args, **kwargs)

    monkeypatch.setattr(io, "read_photo", gated_read)
    window.open_path(noisy_photo)
    qtbot.waitUntil(lambda: window.document is not None and window.viewer.has_image, timeout=10000)
    assert window.denoise_tools.estimate() is None and "still loading" in recorded_dialogs.infos[-1]
    window.denoise_tools.set_loupe_visible(True)
    view = window.denoise_tools.loupe_panel.view
    qtbot.waitUntil(lambda: "Loading" in view.message, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: window.document.is_fully_loaded, timeout=10000)
    wait_for_loupe(qtbot, window)
    assert view.message == "" and view.after is not None


@pytest.fixture
def fake_gpu(monkeypatch):
    """torch says a GPU is there (the CI has none): a device choice of "cuda" is accepted."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_the_device_chosen_in_the_model_manager_runs_the_denoiser(qtbot, settings, manager, fake_gpu,
                                                                  tiny_denoiser, noisy_photo):
    window = make_window(qtbot, settings, manager)
    open_and_wait(qtbot, window, noisy_photo)
    window.show_model_manager().set_device("cuda")
    assert window.models.device() == "cuda" and settings.value("models/device") == "cuda"
    set_strength(window, 10.0)
    wait_until_shown(qtbot, window)
    assert tiny_denoiser.devices and set(tiny_denoiser.devices) == {"cuda"}
    window.model_manager_dialog.set_device("cpu")
    set_strength(window, 20.0)
    wait_until_shown(qtbot, window)
    assert tiny_denoiser.devices[-1] == "cpu"


def test_a_remembered_device_reaches_the_denoiser_when_it_is_there(qtbot, settings, tmp_path, fake_gpu,
                                                                    tiny_denoiser, monkeypatch):
    def step_device() -> str:
        denoise_step.load_denoiser()  # as the denoise step loads it, through the installed model runtime
        return tiny_denoiser.devices[-1]

    settings.setValue("models/device", "cuda")
    make_window(qtbot, settings, manager_for(tmp_path / "store"))
    assert step_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the GPU is gone: the CPU it is
    make_window(qtbot, settings, manager_for(tmp_path / "store"))
    assert step_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    window = make_window(qtbot, settings, None)  # the manager is made in the background, at once for a GPU
    qtbot.waitUntil(lambda: window.models.is_ready, timeout=20000)
    assert step_device() == "cuda" and window.models.manager.device.type == "cuda"
