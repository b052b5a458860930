"""The pixel pipeline (photolab.core.render): render order, partial renders (start_after / stop_before), regions
mapped back through every step, and the prefix cache."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME, ORDER_VERSION
from photolab.core.develop import denoise as denoise_step
from photolab.core.develop import look as look_step
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.denoise import DenoiseParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.develop.saturation import SaturationParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import (PrefixCache, geometry_recipe, input_region, output_size, region_around, render,
                                  slow_prefix, steps)

from .test_recipe import EVERY_OPERATION, full_recipe, sample_photo

NAMES = [op.name for op in OPERATIONS]


def apply_in_order(photo: Photo, recipe: Recipe, names) -> Photo:
    for name in names:
        photo = OPERATIONS_BY_NAME[name].apply(photo, recipe.get(name))
    return photo


class FakeLook:
    """A pointwise stand-in for a learned look (a gamma), mixed by strength."""

    name = "test-look"

    def __call__(self, srgb, strength=1.0, progress=None):
        return (srgb + strength * (srgb ** 0.8 - srgb)).astype(np.float32)


@pytest.fixture(autouse=True)
def fake_look():
    """The full recipe's Look step renders with :class:`FakeLook` (conftest installs the real loader after)."""
    look_step.register_look_loader(lambda name: FakeLook())


@pytest.fixture
def fake_denoiser(monkeypatch):
    """The denoise step as a cheap stand-in that counts its runs: a 5x5 blur (it looks 2 pixels around), or,
    when adaptive, a shift by a tenth of the whole photo's mean (it looks at all of it)."""
    runs = []

    def fake(photo, params, progress=None):
        runs.append(photo.pixels.shape[:2])
        if params.adaptive:
            return photo.with_pixels(photo.pixels - 0.1 * photo.pixels.mean())
        return photo.with_pixels(cv2.blur(photo.pixels, (5, 5), borderType=cv2.BORDER_REFLECT))

    monkeypatch.setattr(denoise_step, "denoise_photo", fake)
    return runs


def edited(**params) -> Recipe:
    recipe = Recipe()
    for name, value in params.items():
        recipe = recipe.with_params(name, value)
    return recipe


# --- order --------------------------------------------------------------------------------------------------

def test_the_order_is_fixed_and_versioned():
    assert ORDER_VERSION >= 1
    assert NAMES == ["lens_correction", "orient", "straighten", "crop", "denoise", "white_balance", "exposure", "highlights", "shadows", "contrast",
                     "saturation", "hsl", "tone_curve", "vignette", "sharpen", "look"]


def test_render_applies_operations_in_pipeline_order_whatever_the_edit_order():
    photo = sample_photo()
    forward = full_recipe()
    backward = Recipe()
    for name in reversed(list(EVERY_OPERATION)):
        backward = backward.with_params(name, EVERY_OPERATION[name])
    expected = apply_in_order(photo, forward, NAMES)
    np.testing.assert_array_equal(render(photo, forward).pixels, expected.pixels)
    np.testing.assert_array_equal(render(photo, backward).pixels, expected.pixels)
    # Turned first (36 rows x 24 columns), straightened by 2.5 degrees (k = 18 / (24 cos + 36 sin) = 0.704 with
    # 3 pixels kept clear: 25 x 16), then cropped: rows 1..22, columns 2..13.
    assert render(photo, forward).pixels.shape == (21, 11, 3)
    assert output_size((36, 24), forward) == (11, 21)


def test_order_matters_so_the_check_above_can_fail():
    photo = sample_photo()
    recipe = full_recipe()
    swapped = NAMES[:5] + [NAMES[7], NAMES[6], NAMES[5]] + NAMES[8:]  # contrast before highlights
    assert not np.allclose(apply_in_order(photo, recipe, swapped).pixels, render(photo, recipe).pixels)


def test_render_skips_disabled_and_neutral_operations():
    photo = sample_photo()
    recipe = full_recipe().with_enabled("exposure", False).with_params("contrast", ContrastParams())
    expected = apply_in_order(photo, recipe, [name for name in NAMES if name not in ("exposure", "contrast")])
    np.testing.assert_array_equal(render(photo, recipe).pixels, expected.pixels)
    assert render(photo, Recipe()) is photo


def test_render_stop_before_gives_the_input_of_that_stage():
    photo = sample_photo()
    recipe = full_recipe()
    stage = render(photo, recipe, stop_before="white_balance")
    np.testing.assert_array_equal(stage.pixels, apply_in_order(photo, recipe, ["lens_correction", "orient", "straighten", "crop",
                                                                                 "denoise"]).pixels)


def test_render_stop_before_a_neutral_operation_still_stops_there():
    photo = sample_photo()
    recipe = Recipe().with_params("exposure", ExposureParams(1.0))  # white balance stays as shot
    assert render(photo, recipe, stop_before="white_balance") is photo


def test_unknown_operation_names_are_refused():
    with pytest.raises(KeyError):
        render(sample_photo(), full_recipe(), stop_before="no_such_step")
    with pytest.raises(KeyError):
        steps(full_recipe(), start_after="no_such_step")


def test_render_reports_progress_up_to_one():
    seen = []
    render(sample_photo(), full_recipe(), progress=seen.append)
    # one report per operation at least (slow ones, like denoise, report within their step too)
    assert len(seen) >= len(OPERATIONS) and seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("split", range(len(OPERATIONS) - 1))
def test_start_after_and_stop_before_compose_to_a_full_render(split, fake_denoiser):
    photo = sample_photo()
    recipe = full_recipe().with_params("denoise", DenoiseParams(10.0))
    first = render(photo, recipe, stop_before=NAMES[split + 1])
    rest = render(first, recipe, start_after=NAMES[split])
    np.testing.assert_array_equal(rest.pixels, render(photo, recipe).pixels)
    middle = render(first, recipe, start_after=NAMES[split], stop_before=NAMES[-1])
    np.testing.assert_array_equal(render(middle, recipe, start_after=NAMES[-2]).pixels, rest.pixels)


def test_geometry_recipe_keeps_only_the_geometry():
    recipe = full_recipe().with_enabled("crop", False).with_enabled("exposure", False)
    before = geometry_recipe(recipe)
    assert before == Recipe(params={"lens_correction": recipe.get("lens_correction"), "orient": OrientParams(1),
                                    "straighten": recipe.get("straighten"), "crop": recipe.get("crop")},
                            disabled=frozenset({"crop"}))
    assert [op.name for op, _ in steps(before)] == ["lens_correction", "orient", "straighten"]


# --- regions ------------------------------------------------------------------------------------------------

def test_region_around_stays_inside_the_image():
    assert region_around((100, 50), (50, 25), 10) == (45, 20, 55, 30)
    assert region_around((100, 50), (0, 0), 10) == (0, 0, 10, 10)
    assert region_around((100, 50), (100, 50), 10) == (90, 40, 100, 50)
    assert region_around((8, 50), (3, 25), 10) == (0, 20, 8, 30)  # smaller than the side: all of it


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("crop", [CropParams(), CropParams(0.1, 0.2, 0.83, 0.9)])
def test_a_region_render_is_the_crop_of_the_whole_render_for_every_geometry(turns, crop):
    photo = Photo(np.random.default_rng(0).random((37, 53, 3), dtype=np.float32))
    for recipe in (Recipe(params={"orient": OrientParams(turns), "crop": crop}),
                   Recipe(params={"orient": OrientParams(turns), "crop": crop}, disabled=frozenset({"crop"})),
                   edited(orient=OrientParams(turns), crop=crop, exposure=ExposureParams(0.5),
                          saturation=SaturationParams(20.0, 10.0))):
        whole = render(photo, recipe).pixels
        assert output_size((53, 37), recipe) == (whole.shape[1], whole.shape[0])
        for center in ((0, 0), (10, 7), (100, 100), (20.4, 3.3)):
            x0, y0, x1, y1 = region_around((whole.shape[1], whole.shape[0]), center, 9)
            part = render(photo, recipe, region=(x0, y0, x1, y1)).pixels
            if recipe.is_active("exposure"):  # the same up to rounding (vectorised code runs on other lengths)
                np.testing.assert_allclose(part, whole[y0:y1, x0:x1], rtol=1e-6, atol=1e-6)
            else:
                assert np.array_equal(part, whole[y0:y1, x0:x1])


@pytest.mark.parametrize("turns", [0, 1, 3])
def test_a_region_is_developed_from_the_input_pixels_it_needs_only(turns):
    recipe = edited(orient=OrientParams(turns), crop=CropParams(0.1, 0.2, 0.8, 0.9), exposure=ExposureParams(1.0))
    box = (3, 4, 10, 12)
    x0, y0, x1, y1 = input_region((53, 37), recipe, box)
    assert (x1 - x0) * (y1 - y0) == 7 * 8
    rng = np.random.default_rng(1)
    photo = Photo(rng.random((37, 53, 3), dtype=np.float32))
    elsewhere = photo.pixels.copy()
    elsewhere[:y0] = elsewhere[y1:] = elsewhere[:, :x0] = elsewhere[:, x1:] = np.nan  # never looked at
    np.testing.assert_allclose(render(photo.with_pixels(elsewhere), recipe, region=box).pixels,
                               render(photo, recipe).pixels[4:12, 3:10], rtol=1e-6, atol=1e-6)


def test_neighbourhood_steps_get_their_margin_and_whole_image_steps_all_of_it(fake_denoiser):
    photo = Photo(np.random.default_rng(2).random((90, 120, 3), dtype=np.float32))
    crop = CropParams(0.1, 0.1, 0.9, 0.9)
    for denoise in (DenoiseParams(10.0), DenoiseParams(10.0, adaptive=True)):
        for balance in (WhiteBalanceParams(), WhiteBalanceParams(mode="auto")):
            recipe = edited(orient=OrientParams(1), crop=crop, denoise=denoise, white_balance=balance,
                            exposure=ExposureParams(0.3))
            whole = render(photo, recipe).pixels
            for box in ((0, 0, 9, 9), (30, 40, 50, 52), (whole.shape[1] - 5, 3, whole.shape[1], 20)):
                part = render(photo, recipe, region=box).pixels
                np.testing.assert_allclose(part, whole[box[1]:box[3], box[0]:box[2]], rtol=0, atol=1e-6)
    size = output_size((120, 90), recipe)
    margin = denoise_step.RUNTIME.margin
    assert input_region(size, recipe, (0, 0, 9, 9), start_after="crop") == (0, 0, *size)  # auto balance
    plain = edited(denoise=DenoiseParams(10.0))
    assert input_region((200, 200), plain, (80, 90, 90, 100)) == (80 - margin, 90 - margin, 90 + margin,
                                                                 100 + margin)
    assert input_region((200, 200), plain.with_params("denoise", DenoiseParams(10.0, adaptive=True)),
                        (80, 90, 90, 100)) == (0, 0, 200, 200)


def test_a_region_outside_the_result_is_refused():
    with pytest.raises(ValueError):
        render(sample_photo(), Recipe(), region=(40, 0, 50, 10))


# --- the prefix cache ---------------------------------------------------------------------------------------

def test_a_change_late_in_the_recipe_reuses_the_cached_prefix(fake_denoiser):
    photo = sample_photo()
    cache = PrefixCache()
    recipe = edited(orient=OrientParams(1), denoise=DenoiseParams(10.0), exposure=ExposureParams(0.5))
    assert cache.runs_slow_step(photo, recipe)
    first = render(photo, recipe, cache=cache)
    assert len(fake_denoiser) == 1 and np.array_equal(first.pixels, render(photo, recipe).pixels)
    del fake_denoiser[:]
    later = recipe.with_params("exposure", ExposureParams(1.0)).with_params("contrast", ContrastParams(20.0))
    assert not cache.runs_slow_step(photo, later) and slow_prefix(later) == slow_prefix(recipe)
    np.testing.assert_array_equal(render(photo, later, cache=cache).pixels, render(photo, later).pixels)
    assert len(fake_denoiser) == 1  # only the render without the cache denoised
    # A region of the result starts from the cached prefix too.
    del fake_denoiser[:]
    np.testing.assert_allclose(render(photo, later, cache=cache, region=(2, 3, 9, 7)).pixels,
                               render(photo, later, cache=cache).pixels[3:7, 2:9], rtol=1e-6, atol=1e-6)
    assert fake_denoiser == []


def test_the_cache_runs_the_prefix_again_for_an_earlier_change_or_another_photo(fake_denoiser):
    photo = sample_photo()
    cache = PrefixCache()
    recipe = edited(denoise=DenoiseParams(10.0), exposure=ExposureParams(0.5))
    render(photo, recipe, cache=cache)
    stronger = recipe.with_params("denoise", DenoiseParams(20.0))
    turned = recipe.with_params("orient", OrientParams(2))
    for changed in (stronger, turned):
        assert cache.runs_slow_step(photo, changed) and slow_prefix(changed) != slow_prefix(recipe)
    render(photo, stronger, cache=cache)
    render(sample_photo(1), stronger, cache=cache)  # an equal recipe on another photo
    render(photo, stronger, start_after="orient", cache=cache)  # the photo as another step's output
    assert len(fake_denoiser) == 4
    render(photo, stronger, start_after="orient", cache=cache)  # the last one is kept: no run
    assert len(fake_denoiser) == 4


def test_recipes_without_a_slow_step_keep_nothing():
    cache = PrefixCache()
    recipe = edited(exposure=ExposureParams(0.5))
    assert slow_prefix(recipe) is None and not cache.runs_slow_step(sample_photo(), recipe)
    render(sample_photo(), recipe, cache=cache)
    assert cache.lookup(sample_photo(), steps(recipe)) is None


def test_the_cache_keeps_the_geometry_so_a_slider_further_down_does_not_turn_the_photo_again():
    from photolab.core.develop.straighten import StraightenParams

    photo = sample_photo()
    cache = PrefixCache()
    recipe = edited(orient=OrientParams(1), straighten=StraightenParams(3.0), crop=CropParams(0.1, 0.1, 0.9, 0.9),
                    exposure=ExposureParams(0.5))
    render(photo, recipe, cache=cache)
    later = recipe.with_params("exposure", ExposureParams(1.0))
    done, stage = cache.lookup(photo, steps(later))
    assert done == 3  # orient, straighten and crop
    np.testing.assert_array_equal(stage.pixels, render(photo, recipe, stop_before="denoise").pixels)
    np.testing.assert_array_equal(render(photo, later, cache=cache).pixels, render(photo, later).pixels)
    assert cache.lookup(photo, steps(later.with_params("straighten", StraightenParams(2.0)))) is None


def test_a_two_entry_cache_also_keeps_the_first_step_so_a_straighten_drag_starts_after_it():
    from photolab.core.develop.straighten import StraightenParams

    photo = sample_photo()
    cache = PrefixCache(entries=2)
    recipe = edited(orient=OrientParams(1), straighten=StraightenParams(3.0), exposure=ExposureParams(0.5))
    render(photo, recipe, cache=cache)
    dragged = recipe.with_params("straighten", StraightenParams(2.0))
    done, stage = cache.lookup(photo, steps(dragged))
    assert done == 1  # the turned photo: only straighten and what follows run again
    np.testing.assert_array_equal(stage.pixels, render(photo, recipe, stop_before="straighten").pixels)
    np.testing.assert_array_equal(render(photo, dragged, cache=cache).pixels, render(photo, dragged).pixels)
    assert cache.lookup(photo, steps(dragged.with_params("exposure", ExposureParams(1.0))))[0] == 2
    assert cache.lookup(photo, steps(recipe))[0] == 1  # the drag's start is still kept
    single = PrefixCache()
    render(photo, recipe, cache=single)
    assert single.lookup(photo, steps(dragged)) is None  # one entry: only the whole geometry


def denoiser_held_until(release: threading.Event, monkeypatch) -> list:
    """The denoise step as a stand-in that counts its runs and blocks each until ``release`` is set."""
    runs = []

    def held(photo, params, progress=None):
        runs.append(threading.current_thread().name)
        assert release.wait(10)
        return photo.with_pixels(photo.pixels * 0.5)

    monkeypatch.setattr(denoise_step, "denoise_photo", held)
    return runs


def render_in_thread(*args, **kwargs) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=lambda: results.append(render(*args, **kwargs)))
    thread.start()
    return thread, results


def test_two_renders_of_one_slow_prefix_at_once_denoise_once(monkeypatch):
    """The preview and a model panel render the same photo at the same moment: the second waits for the
    first's denoised stage instead of denoising too."""
    release = threading.Event()
    runs = denoiser_held_until(release, monkeypatch)
    photo, cache = sample_photo(), PrefixCache(entries=2)
    recipe = edited(denoise=DenoiseParams(10.0), exposure=ExposureParams(0.5))
    first, first_result = render_in_thread(photo, recipe, cache=cache)
    wait_until(lambda: len(runs) == 1)
    polls = []
    later = recipe.with_params("exposure", ExposureParams(1.0))  # the same slow prefix, another edit after it
    second, second_result = render_in_thread(photo, later, cache=cache, progress=polls.append)
    wait_until(lambda: len(polls) >= 2)  # waiting, and reporting progress (how its job could cancel)
    assert len(runs) == 1 and set(polls) == {0.0}
    release.set()
    first.join(10), second.join(10)
    assert len(runs) == 1
    np.testing.assert_array_equal(second_result[0].pixels, render(photo, later).pixels)
    np.testing.assert_array_equal(first_result[0].pixels, render(photo, recipe).pixels)


def test_a_waiting_render_can_be_cancelled_and_a_failed_one_does_not_block_the_next(monkeypatch):
    release = threading.Event()
    runs = denoiser_held_until(release, monkeypatch)
    photo, cache = sample_photo(), PrefixCache()
    recipe = edited(denoise=DenoiseParams(10.0))
    first, _ = render_in_thread(photo, recipe, cache=cache)
    wait_until(lambda: len(runs) == 1)

    def cancelled(fraction):
        raise InterruptedError("cancelled")

    with pytest.raises(InterruptedError):
        render(photo, recipe, cache=cache, progress=cancelled)  # it was waiting: the cancel ends the wait
    hit, claim = cache.claim(photo, steps(edited(denoise=DenoiseParams(20.0))))  # another prefix: no wait
    assert hit is None and claim is not None
    cache.release(claim)
    release.set()
    first.join(10)
    assert len(runs) == 1

    def failing(photo, params, progress=None):
        raise RuntimeError("the denoiser broke")

    monkeypatch.setattr(denoise_step, "denoise_photo", failing)
    stronger = edited(denoise=DenoiseParams(30.0))
    with pytest.raises(RuntimeError):
        render(photo, stronger, cache=cache)
    hit, claim = cache.claim(photo, steps(stronger))
    assert hit is None and claim is not None  # the failed render's claim was released
    cache.release(claim)


def wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
