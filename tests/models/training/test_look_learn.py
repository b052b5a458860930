"""Learning a look: it learns, cross-validates, saves atomically (card last), loads back, and cancels cleanly."""

import json
from dataclasses import replace

import numpy as np
import pytest

from photolab.core.develop.look import LookError
from photolab.core.look_pairs import load_look_pairs, scan_look_pairs
from photolab.jobs import JobState
from photolab.models.archs.hdrnet import apply_look, apply_lut, lut_atlas
from photolab.models.store.looks import list_looks, load_look
from photolab.models.training.look_learn import (GRID_MARGIN_DB, LookLearnError, LookSettings, fit_lut, fold_groups,
                                                 learn, learn_job, learn_once, save_look)
from utils.look_pairs import make_pairs, vignette_look

FAST = LookSettings(minutes=60, folds=2, side=96, batch=2, max_steps=25, width=8)  # max_steps ends each run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_look_pairs(scan_look_pairs(make_pairs(tmp_path_factory.mktemp("look") / "pairs", 4)))


@pytest.fixture(scope="module")
def outcome(data):
    return learn(data, FAST)


@pytest.fixture(scope="module")
def local_outcome(tmp_path_factory):
    root = make_pairs(tmp_path_factory.mktemp("vignette") / "pairs", 4, look=vignette_look)
    return learn(load_look_pairs(scan_look_pairs(root)), replace(FAST, max_steps=60))


def test_the_global_lut_fits_a_global_look(data):
    lut = fit_lut(data.pairs)
    pair = data.pairs[1]
    fitted = apply_lut(pair.before, lut_atlas(lut))
    assert np.abs(fitted - pair.after).mean() < 0.25 * np.abs(pair.before - pair.after).mean()


def test_colours_the_pairs_lack_follow_the_look_rather_than_their_neighbours():
    """Pairs of greens, blues and greys under a warm look (per-channel curves: red up, blue down): a red they
    never show must come out warmed like the rest, as the per-channel curves say, rather than extrapolated from
    the colours around it."""
    from photolab.core.look_pairs import LookPair

    rng = np.random.default_rng(0)
    hues = np.concatenate([rng.uniform(0, 0.6, (4000, 1)) * [1, 0, 0] + rng.uniform(0.2, 1, (4000, 1)) * [0, 1, 0.3],
                           rng.uniform(0, 0.5, (4000, 1)) * [1, 1, 0] + rng.uniform(0.3, 1, (4000, 1)) * [0, 0, 1],
                           np.repeat(rng.uniform(0, 1, (4000, 1)), 3, axis=1)]).astype(np.float32)
    warm = lambda pixels: pixels ** np.float32([0.7, 1.0, 1.4])  # noqa: E731
    pairs = [LookPair(f"p{i}", part.reshape(40, 100, 3), warm(part).reshape(40, 100, 3))
             for i, part in enumerate(np.split(hues, 3))]
    red = np.float32([[[0.8, 0.1, 0.1]]])
    error = {fallback: float(np.abs(apply_lut(red, lut_atlas(fit_lut(pairs, fallback=fallback))) - warm(red)).max())
             for fallback in (0.5, 0.0)}
    assert error[0.5] < 0.01 and error[0.0] > 3 * error[0.5], error


def test_a_look_that_clips_keeps_its_slope_up_to_the_clipping_point():
    """Saturation doubled clips many colours in one channel: clipped afters only say "at least 1" (or "at most
    0"), so the fit that lets the LUT pass them (and clips its output) follows the look more closely than one
    pulled towards the clipped values (deterministic data: about 15 % lower RMS error on new colours)."""
    from photolab.core.look_pairs import LookPair

    rng = np.random.default_rng(1)
    pixels = rng.uniform(0, 1, (100, 600, 3)).astype(np.float32)
    saturate = lambda p: np.clip(p.mean(-1, keepdims=True) + 2 * (p - p.mean(-1, keepdims=True)), 0, 1)  # noqa: E731
    probe = rng.uniform(0, 1, (1, 20000, 3)).astype(np.float32)
    error = {}
    for rounds in (8, 0):
        lut = fit_lut([LookPair("colours", pixels, saturate(pixels))], clip_rounds=rounds)
        error[rounds] = float(np.sqrt(np.mean((apply_lut(probe, lut_atlas(lut)) - saturate(probe)) ** 2)))
    assert error[8] < 0.9 * error[0], error


def test_pixels_in_texture_weigh_less_in_the_lut_fit():
    """An after exported as a JPEG is off mostly on edges and texture. Here flat tiles carry the exact look
    and a textured half carries it with an error (an offset, as ringing and halved colour resolution move
    colours): the fit that weighs textured pixels less follows the look far more closely (colours only the
    texture shows still pull it off, as they should: they are all it knows there)."""
    from photolab.core.look_pairs import LookPair
    from photolab.models.training.look_learn import detail_weights

    rng = np.random.default_rng(2)
    tiles = np.repeat(np.repeat(rng.uniform(0, 1, (8, 40, 3)), 10, axis=0), 10, axis=1)  # flat 10 x 10 tiles
    texture = rng.uniform(0, 1, (80, 400, 3))  # every pixel differs from its neighbours
    before = np.concatenate([tiles, texture]).astype(np.float32)
    look = lambda p: p ** np.float32([0.8, 1.0, 1.25])  # noqa: E731
    after = look(before)
    after[80:] = np.clip(after[80:] + 0.15, 0, 1)
    weights = detail_weights(before)
    assert weights[12:18, 12:18].min() > 0.99 and weights[82:, :].max() < 0.2  # inside a tile; the texture
    probe = rng.uniform(0, 1, (1, 20000, 3)).astype(np.float32)
    error = {}
    for detail in (0.02, None):
        lut = fit_lut([LookPair("textured", before, after)], detail=detail)
        error[detail] = float(np.sqrt(np.mean((apply_lut(probe, lut_atlas(lut)) - look(probe)) ** 2)))
    assert error[0.02] < 0.5 * error[None], error  # 0.057 against 0.123


def test_flat_psnr_scores_flat_areas_where_jpeg_afters_are_exact():
    from photolab.core.color_difference import psnr
    from photolab.core.look_pairs import LookPair
    from photolab.models.training.look_learn import flat_psnr

    rng = np.random.default_rng(3)
    flat = np.full((40, 100, 3), 0.4, np.float32)
    before = np.concatenate([flat, rng.uniform(0, 1, (40, 100, 3)).astype(np.float32)])
    pair = LookPair("half textured", before, before.copy())
    off_in_texture = before.copy()
    off_in_texture[44:] += 0.05
    off_in_flat = before.copy()
    off_in_flat[:36] += 0.05
    assert flat_psnr(off_in_texture, pair) > psnr(off_in_texture, pair.after) + 12  # 45.7 against 29.6 dB
    assert flat_psnr(off_in_flat, pair) < 30


def test_folds_split_every_pair_into_exactly_one_group():
    assert fold_groups(7, 3) == [[0, 3, 6], [1, 4], [2, 5]]
    assert fold_groups(4, 0) == [] and fold_groups(4, 1) == []


def test_the_grid_learns_a_look_without_the_lut(data):
    _, losses = learn_once(data.pairs, replace(FAST, lut=False), 600.0)
    assert len(losses) == 25 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_a_global_look_is_kept_as_its_lut_alone(outcome):
    """The warm look is global: cross-validation finds the grid adds nothing, so no grid is learned at the end."""
    held = outcome.held_out
    assert held["grid"] is False and held["lut_alone_flat_psnr"] + GRID_MARGIN_DB >= held["with_grid_flat_psnr"]
    assert outcome.steps == 0 and held["psnr"] == held["lut_alone_psnr"]
    assert not outcome.model().head.weight.any()  # the grid is exactly the identity


def test_a_local_look_keeps_its_grid(local_outcome):
    held = local_outcome.held_out
    assert held["grid"] is True and held["with_grid_flat_psnr"] > held["lut_alone_flat_psnr"] + GRID_MARGIN_DB, held
    assert held["with_grid_psnr"] > held["lut_alone_psnr"] + 0.3, held
    assert local_outcome.steps == 60 and held["psnr"] == held["with_grid_psnr"]


def test_learning_scores_every_pair_held_out(outcome, data):
    held = outcome.held_out
    assert held["folds"] == 2 and held["pairs"] == 4
    assert sorted(row["name"] for row in held["per_pair"]) == [p.name for p in data.pairs]
    assert held["psnr"] > held["identity_psnr"] and held["ciede2000"] < held["identity_ciede2000"]
    assert len(outcome.previews) == 4 and outcome.previews[0][1].shape == outcome.previews[0][3].shape


def test_saved_looks_load_back_and_damage_is_detected(outcome, data, tmp_path):
    weights, card = save_look(outcome, "warm", tmp_path)
    assert list_looks(tmp_path) == ["warm"] and card["task"] == "look"
    stored = json.loads((tmp_path / "warm.json").read_text())
    assert stored["metrics"]["cross_validation"]["psnr"] == outcome.held_out["psnr"]
    assert stored["learning"]["pairs"] == 4 and stored["weights"]["sha256"]
    look = load_look(tmp_path, "warm")
    np.testing.assert_array_equal(look(data.pairs[0].before), apply_look(outcome.model(), data.pairs[0].before))
    with pytest.raises(LookLearnError, match="already exists"):
        save_look(outcome, "warm", tmp_path)
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(LookError, match="damaged or truncated"):
        load_look(tmp_path, "warm")
    with pytest.raises(LookError, match="no look named 'cold'"):
        load_look(tmp_path, "cold")


def test_a_cancelled_run_returns_nothing_and_saves_nothing(tmp_path):
    root = make_pairs(tmp_path / "pairs", 4)
    job = learn_job(root, LookSettings(minutes=5, folds=2, side=64, width=8))
    job.on_progress(lambda fraction, message: job.cancel() if "step 3" in message else None)
    job.run()
    assert job.state is JobState.CANCELLED and job.result is None
    assert not (tmp_path / "looks").exists()
