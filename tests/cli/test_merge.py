"""photolab-cli hdr / burst."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.core.io import read_photo
from photolab.core.color import decode_srgb_integer, encode_srgb_integer
from utils.dng import ShotInfo, write_dng
from utils.images import load_fixture


def run(argv) -> int:
    return main([str(a) for a in argv])


def radiance(name="rock_snow_sky") -> np.ndarray:
    linear = decode_srgb_integer(load_fixture(name)).astype(np.float64)
    return np.power(linear + 2e-3, 1.8) * 40.0


def png_brackets(folder, times=(1 / 64, 1 / 8, 1.0), name="rock_snow_sky"):
    paths = []
    for index, time in enumerate(times):
        encoded = encode_srgb_integer(np.clip(radiance(name) * time, 0, 1).astype(np.float32))
        path = folder / f"{name}_{index}.png"
        cv2.imwrite(str(path), encoded[..., ::-1])
        paths.append(path)
    return paths


def test_hdr_from_dng_brackets_uses_the_recorded_exposures(tmp_path):
    scene = radiance()
    paths = []
    for index, denominator in enumerate((1000, 125, 15)):
        path = tmp_path / f"b{index}.dng"
        write_dng(path, scene * (125 / denominator) * 0.05, shot=ShotInfo(exposure_time=Fraction(1, denominator)),
                  seed=index)
        paths.append(path)
    target = tmp_path / "merged.hdr"
    assert run(["hdr", *paths, "-o", target, "--align", "--deghost"]) == 0
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert written.dtype == np.float32 and written.shape == scene.shape
    well = (scene.max(axis=2) * 0.05 > 0.002)
    ours, truth = np.log(written.mean(axis=2)[well] + 1e-9), np.log(scene.mean(axis=2)[well])
    merged_fit = np.corrcoef(ours, truth)[0, 1]
    for path in paths:  # the merge follows the scene better than any single exposure
        frame = read_photo(path)
        assert frame.metadata.shutter_seconds is not None
        single = np.log(np.maximum(frame.pixels.mean(axis=2)[well], 1e-6))
        assert merged_fit > np.corrcoef(single, truth)[0, 1] + 0.02
    assert written.max() / np.percentile(written, 50) > 20  # more range than any one 8-bit frame


@pytest.mark.parametrize("tonemap", ["local", "reinhard"])
def test_hdr_png_brackets_with_times_to_a_tone_mapped_jpeg(tmp_path, tonemap):
    paths = png_brackets(tmp_path)
    target = tmp_path / "out.jpg"
    assert run(["hdr", *paths, "-o", target, "--times", "1/64", "1/8", "1", "--tonemap", tonemap]) == 0
    image = cv2.imread(str(target))
    assert image.shape == (128, 192, 3)
    assert 40 < image.mean() < 200 and image.std() > 20


def test_hdr_errors_say_what_to_do(tmp_path, capsys):
    paths = png_brackets(tmp_path)
    assert run(["hdr", *paths, "-o", tmp_path / "a.hdr"]) == 1
    assert "pass --times" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # a usage error, not a failed merge
        run(["hdr", paths[0], "-o", tmp_path / "b.hdr", "--times", "1"])
    assert usage.value.code == 2 and "at least 2 frames" in capsys.readouterr().err
    assert run(["hdr", *paths[:2], "-o", tmp_path / "c.hdr", "--times", "1", "1"]) == 1
    assert "same exposure" in capsys.readouterr().err
    stranger = png_brackets(tmp_path, times=(1.0,), name="nuthatch_bark")[0]
    assert run(["hdr", paths[0], paths[1], stranger, "-o", tmp_path / "d.hdr", "--times", "1/64", "1/8", "1",
                "--align"]) == 1
    assert "nuthatch_bark_0.png: cannot be aligned" in capsys.readouterr().err
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), cv2.imread(str(paths[2]))[:64])
    assert run(["hdr", paths[0], small, "-o", tmp_path / "e.hdr", "--times", "1", "2"]) == 1
    assert "same size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["hdr", *paths, "-o", tmp_path / "f.bmp", "--times", "1", "2", "3"])
    exr = run(["hdr", *paths, "-o", tmp_path / "g.exr", "--times", "1/64", "1/8", "1"])
    if not cv2.haveImageWriter("x.exr"):
        assert exr == 1 and "cannot write OpenEXR" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.part*"))


def test_burst_merges_and_reports_a_bad_reference(tmp_path, capsys):
    rng = np.random.default_rng(0)
    clean = decode_srgb_integer(load_fixture("mountain_forest"))
    paths = []
    for index in range(4):
        noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), 0, 1).astype(np.float32)
        path = tmp_path / f"burst{index}.png"
        cv2.imwrite(str(path), encode_srgb_integer(noisy, np.uint16)[..., ::-1])
        paths.append(path)
    target = tmp_path / "merged.png"
    assert run(["burst", *paths, "-o", target, "--reference", "0"]) == 0
    merged = decode_srgb_integer(cv2.imread(str(target))[..., ::-1])
    first = decode_srgb_integer(cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)[..., ::-1])
    assert np.abs(merged - clean).mean() < 0.7 * np.abs(first - clean).mean()
    assert run(["burst", *paths, "-o", tmp_path / "x.png", "--reference", "9"]) == 1
    assert "reference frame 9 does not exist" in capsys.readouterr().err
    assert run(["burst", *paths, "-o", target, "--reference", "0"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_raw_burst_merges_on_the_mosaic_and_saves_the_merged_dng(tmp_path, capsys):
    from utils.raw_bursts import make_raw_burst

    big = cv2.resize(load_fixture("mountain_forest"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    burst = make_raw_burst(tmp_path / "burst", big, frames=3, moving_object=False, seed=2)
    target, dng = tmp_path / "merged.tif", tmp_path / "merged.dng"
    assert run(["burst", *burst.frames, "-o", target, "--dng", dng, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output"] == str(target) and report["dng"] == str(dng) and report["merged_in"] == "mosaic"
    assert report["frames_merged"] == 3 and report["left_out"] == [] and report["reference"] == "auto"
    clean = read_photo(burst.clean).pixels
    single = np.abs(read_photo(burst.frames[report["reference_used"]]).pixels - clean)[burst.static].mean()
    assert np.abs(read_photo(dng).pixels - clean)[burst.static].mean() < 0.75 * single
    assert run(["burst", *burst.frames, "-o", tmp_path / "again.tif", "--dng", dng]) == 1
    assert "already exists" in capsys.readouterr().err
    assert run(["burst", *burst.frames, "-o", tmp_path / "again.tif", "--dng", burst.frames[0], "--overwrite"]) == 1
    assert "refusing to overwrite an input frame" in capsys.readouterr().err


def test_a_merged_dng_needs_raw_frames(tmp_path, capsys):
    paths = png_brackets(tmp_path, times=(1 / 8, 1 / 8))
    assert run(["burst", *paths, "-o", tmp_path / "m.png", "--dng", tmp_path / "m.dng"]) == 1
    assert "needs a burst of camera RAW files" in capsys.readouterr().err
    assert not (tmp_path / "m.dng").exists() and not (tmp_path / "m.png").exists()


def test_times_before_the_frames_do_not_swallow_them(tmp_path, capsys):
    paths = png_brackets(tmp_path)
    target = tmp_path / "out.jpg"
    assert run(["hdr", "--times", "1/64", "1/8", "1", *paths, "-o", target, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["inputs"] == [str(p) for p in paths] and result["times"] == [1 / 64, 1 / 8, 1.0]
    assert result["output"] == str(target) and result["method"] == "radiance" and result["seconds"] > 0
    assert run(["hdr", "--times", "1/64,1/8,1", *paths, "-o", tmp_path / "list.jpg"]) == 0
    with pytest.raises(SystemExit) as usage:
        run(["hdr", "--times", "1/64", "1/0", *paths, "-o", tmp_path / "bad.jpg"])
    assert usage.value.code == 2 and "'1/0'" in capsys.readouterr().err


def test_mertens_needs_no_exposure_times(tmp_path, capsys):
    paths = png_brackets(tmp_path)
    target = tmp_path / "fused.jpg"
    assert run(["hdr", *paths, "-o", target, "--method", "mertens", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == str(target)
    assert 40 < cv2.imread(str(target)).mean() < 220


def test_burst_json_and_too_few_frames(tmp_path, capsys):
    paths = png_brackets(tmp_path, times=(0.5, 0.5, 0.5))
    assert run(["burst", *paths, "-o", tmp_path / "m.tif", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["inputs"] == [str(p) for p in paths] and result["reference"] == "auto"
    with pytest.raises(SystemExit) as usage:
        run(["burst", paths[0], "-o", tmp_path / "n.tif"])
    assert usage.value.code == 2 and "at least 2 frames" in capsys.readouterr().err


def test_merging_never_replaces_an_input_even_through_a_link(tmp_path, capsys):
    paths = png_brackets(tmp_path, times=(0.5, 0.5))
    link = tmp_path / "link.png"
    link.symlink_to(paths[0])
    before = paths[0].read_bytes()
    assert run(["burst", *paths, "-o", link, "--overwrite"]) == 1
    assert "refusing to overwrite an input frame" in capsys.readouterr().err
    assert paths[0].read_bytes() == before
