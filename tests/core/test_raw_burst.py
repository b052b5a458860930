"""RAW bursts merged on the mosaic (photolab.core.raw_burst) and through merge_burst_files."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import rawpy

from photolab.core.align import MergeError
from photolab.core.burst import merge_burst_files
from photolab.core.dng import read_mosaic
from photolab.core.raw_burst import fit_camera_motion, merge_raw_burst, planes_of, refine_camera_motion
from utils.images import load_fixture
from utils.raw_bursts import make_raw_burst


def scene(name="mountain_forest") -> np.ndarray:
    """A fixture photo at twice its size: enough tiles for the alignment's pyramid."""
    return cv2.resize(load_fixture(name), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def noise_std(mosaic: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    return float((mosaic - clean)[mask].std())


@pytest.fixture(scope="module")
def static_burst(tmp_path_factory):
    return make_raw_burst(tmp_path_factory.mktemp("static"), scene(), frames=4, moving_object=False, seed=3)


@pytest.fixture(scope="module")
def moving_burst(tmp_path_factory):
    return make_raw_burst(tmp_path_factory.mktemp("moving"), scene("wine_table"), frames=6, seed=5,
                          cfa_pattern="GRBG")


def test_a_static_handheld_burst_loses_noise_like_the_square_root_of_its_frames(static_burst):
    mosaics = [read_mosaic(p) for p in static_burst.frames]
    clean = read_mosaic(static_burst.clean).data
    result = merge_raw_burst(mosaics, 0)
    mask = static_burst.static
    single = noise_std(mosaics[0].data, clean, mask)
    merged = noise_std(result.mosaic.data, clean, mask)
    oracle = noise_std(np.mean([read_mosaic(p).data for p in static_burst.oracle], 0), clean, mask)
    assert oracle < 0.55 * single  # 1/sqrt(4) = 0.5, plus the scene's own interpolation error
    assert merged < 0.6 * single and merged < 1.15 * oracle
    assert result.merged == [0, 1, 2, 3] and not result.left_out


def test_the_moving_object_keeps_the_reference_photosites(moving_burst):
    mosaics = [read_mosaic(p) for p in moving_burst.frames]
    result = merge_raw_burst(mosaics, 0)
    clean = read_mosaic(moving_burst.clean).data
    inside = cv2.erode(moving_burst.moving.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    noise = noise_std(mosaics[0].data, clean, moving_burst.static)
    assert np.abs(result.mosaic.data - mosaics[0].data)[inside].mean() < 0.1 * noise
    # and away from the object the burst still averages
    assert noise_std(result.mosaic.data, clean, moving_burst.static) < 0.6 * noise


def test_merged_dng_opens_in_rawpy_with_the_same_colour_filter_and_develops(moving_burst, tmp_path):
    outcome = merge_burst_files([str(p) for p in moving_burst.frames], tmp_path / "merged.tif", reference=0,
                                dng=tmp_path / "merged.dng")
    assert outcome.in_mosaic and outcome.dng == tmp_path / "merged.dng" and outcome.output.exists()
    with rawpy.imread(str(moving_burst.frames[0])) as original, rawpy.imread(str(outcome.dng)) as merged:
        assert np.array_equal(original.raw_pattern, merged.raw_pattern)
        assert original.color_desc == merged.color_desc
        assert merged.raw_image_visible.shape == original.raw_image_visible.shape
    assert read_mosaic(outcome.dng).cfa == "GRBG"
    assert not list(tmp_path.glob("*.part*"))


def test_a_frame_of_another_scene_is_named_and_left_out(static_burst, tmp_path):
    stranger = make_raw_burst(tmp_path / "other", scene("nuthatch_bark"), frames=2, moving_object=False, seed=9)
    frames = [*map(str, static_burst.frames[:3]), str(stranger.frames[1])]
    mosaics = [read_mosaic(p) for p in frames]
    result = merge_raw_burst(mosaics, 0, names=["a.dng", "b.dng", "c.dng", "stranger.dng"])
    assert set(result.left_out) == {3} and result.merged == [0, 1, 2]
    assert result.describe(["a.dng", "b.dng", "c.dng", "stranger.dng"])[0].startswith("stranger.dng was left out")


def test_frames_from_different_sensors_are_refused(static_burst):
    first = read_mosaic(static_burst.frames[0])
    cropped = dataclasses.replace(first, data=first.data[:-2])
    with pytest.raises(MergeError, match="sensor"):
        merge_raw_burst([first, cropped], 0, names=["a.dng", "b.dng"])
    other_pattern = dataclasses.replace(first, cfa="BGGR")
    with pytest.raises(MergeError, match="colour filter"):
        merge_raw_burst([first, other_pattern], 0)
    with pytest.raises(MergeError, match="reference frame 5"):
        merge_raw_burst([first, first], 5)


def test_planes_of_split_the_mosaic_by_cfa_position():
    data = np.arange(24, dtype=np.float32).reshape(4, 6)
    planes = planes_of(data)
    assert [p.shape for p in planes] == [(2, 3)] * 4
    assert planes[1][0, 0] == data[0, 1] and planes[2][0, 0] == data[1, 0] and planes[3][1, 2] == data[3, 5]


def test_camera_motion_is_refined_to_a_few_hundredths_of_a_pixel():
    """The tiles' displacements lean to whole pixels; refining on the images recovers a sub-pixel rotation
    and shift exactly enough for fine detail, from a start 0.4 px off."""
    grey = cv2.cvtColor(load_fixture("mountain_forest").astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)
    reference = cv2.resize(grey, (256, 192), interpolation=cv2.INTER_AREA)
    truth = np.array([[0.002, -0.003], [0.003, 0.002], [1.3, -0.7]])  # dy, dx over [y, x, 1]
    yy, xx = np.mgrid[0:192, 0:256].astype(np.float32)
    # frame(y + d(y, x)) = reference(y): sample the reference at the inverse motion (small: one fixed point step)
    map_y, map_x = yy.copy(), xx.copy()
    for _ in range(5):
        design = np.stack([map_y, map_x, np.ones_like(map_y)], -1)
        shift = design @ truth
        map_y, map_x = (yy - shift[..., 0]).astype(np.float32), (xx - shift[..., 1]).astype(np.float32)
    frame = cv2.remap(reference, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    start = truth + np.array([[0, 0], [0, 0], [0.4, -0.3]])
    refined = refine_camera_motion(reference, frame, start)
    corners = np.array([[20, 20, 1], [20, 236, 1], [172, 20, 1], [172, 236, 1]], np.float64)
    assert np.abs(corners @ (refined - truth)).max() < 0.06
    assert np.abs(corners @ (start - truth)).max() > 0.3


def test_the_fitted_camera_motion_ignores_a_tile_that_moved():
    tiles = np.zeros((6, 8, 2), np.float32)
    tiles[..., 1] = 2.0
    tiles[2, 3] = (9.0, -7.0)  # a moving object
    coefficients = fit_camera_motion(tiles, tile=8)
    assert np.allclose(coefficients[2], (0.0, 2.0), atol=0.05)
    assert np.allclose(coefficients[:2], 0.0, atol=0.01)
