"""photolab-cli: the sub-commands, flags and JSON shapes are contracts other tools rely on."""

import json

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.core.develop.exposure import ExposureParams
from photolab.core.recipe import Recipe, save_sidecar, sidecar_path


@pytest.fixture
def photo_file(tmp_path):
    """A small 8-bit PNG with a grey ramp and colour patches."""
    ramp = np.tile(np.linspace(40, 200, 96, dtype=np.uint8), (64, 1))
    image = np.dstack([ramp, ramp, ramp])
    image[:16, :16] = (30, 60, 200)  # BGR: a red patch
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), image)
    return path


def mean_level(path):
    return float(cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64).mean())


def test_info_prints_metadata_json(photo_file, capsys):
    assert main(["info", str(photo_file)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["width"] == 96 and info["height"] == 64
    assert info["file_format"] == "png"
    assert info["path"] == str(photo_file)


def test_info_on_a_missing_file_fails_with_a_message(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.cr2")]) == 1
    assert "missing.cr2" in capsys.readouterr().err


def test_develop_writes_beside_the_photo_and_never_touches_it(photo_file):
    original = photo_file.read_bytes()
    assert main(["develop", str(photo_file)]) == 0
    output = photo_file.with_suffix(".jpg")
    assert output.exists() and cv2.imread(str(output)).shape == (64, 96, 3)
    assert photo_file.read_bytes() == original


def test_develop_png_to_png_does_not_collide_with_the_original(photo_file):
    assert main(["develop", str(photo_file), "--format", "png"]) == 0
    assert (photo_file.parent / "photo_developed.png").exists()


def test_develop_formats_and_bit_depths(photo_file, tmp_path):
    for file_format, name, dtype in [("png16", "a.png", np.uint16), ("tiff16", "a.tif", np.uint16),
                                     ("png", "b.png", np.uint8), ("jpg", "c.jpg", np.uint8)]:
        target = tmp_path / "out" / name
        target.parent.mkdir(exist_ok=True)
        assert main(["develop", str(photo_file), "-o", str(target), "--format", file_format]) == 0
        assert cv2.imread(str(target), cv2.IMREAD_UNCHANGED).dtype == dtype


def test_format_is_taken_from_the_output_name(photo_file, tmp_path):
    target = tmp_path / "x.tiff"
    assert main(["develop", str(photo_file), "-o", str(target)]) == 0
    assert cv2.imread(str(target), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_sidecar_is_applied_by_default_and_flags_override_it(photo_file, tmp_path):
    save_sidecar(photo_file, Recipe().with_params("exposure", ExposureParams(ev=1.0)))
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "with.png"), "--format", "png"]) == 0
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "without.png"), "--no-sidecar"]) == 0
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "flag.png"), "--exposure", "0"]) == 0
    assert mean_level(tmp_path / "with.png") > mean_level(tmp_path / "without.png") + 20
    assert mean_level(tmp_path / "flag.png") == pytest.approx(mean_level(tmp_path / "without.png"), abs=0.5)


def test_recipe_flag_replaces_the_sidecar(photo_file, tmp_path):
    recipe_file = tmp_path / "dark.json"
    recipe_file.write_text(json.dumps(Recipe().with_params("exposure", ExposureParams(ev=-1.0)).to_dict()))
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "dark.png"), "--recipe", str(recipe_file)]) == 0
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "plain.png")]) == 0
    assert mean_level(tmp_path / "dark.png") < mean_level(tmp_path / "plain.png") - 20


def test_white_balance_kelvin_warms_and_cools(photo_file, tmp_path):
    for kelvin in ("3000", "12000"):
        assert main(["develop", str(photo_file), "-o", str(tmp_path / f"{kelvin}.png"), "--wb", kelvin]) == 0
    warm = cv2.imread(str(tmp_path / "12000.png")).astype(float)[20:, 20:].mean(axis=(0, 1))  # BGR
    cool = cv2.imread(str(tmp_path / "3000.png")).astype(float)[20:, 20:].mean(axis=(0, 1))
    assert warm[2] - warm[0] > 10  # red above blue: a higher temperature setting warms the photo
    assert cool[0] - cool[2] > 10


def test_invalid_sidecar_is_ignored_with_a_warning_and_kept(photo_file, tmp_path, capsys):
    sidecar_path(photo_file).write_text("{ not json")
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "out.png")]) == 0
    assert "invalid JSON" in capsys.readouterr().err
    assert sidecar_path(photo_file).read_text() == "{ not json"


def test_batch_reports_each_failure_and_exits_non_zero(photo_file, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    out = tmp_path / "exports"
    code = main(["develop", str(photo_file), str(broken), "-o", str(out), "--json"])
    assert code == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["succeeded"] == 1 and summary["failed"] == 1
    by_input = {r["input"]: r for r in summary["results"]}
    assert by_input[str(photo_file)]["ok"] and (out / "photo.jpg").exists()
    assert not by_input[str(broken)]["ok"] and "broken.jpg" in by_input[str(broken)]["error"]
    assert "broken.jpg" in captured.err
    assert not (out / "broken.jpg").exists()


def test_existing_output_needs_overwrite(photo_file, tmp_path, capsys):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"keep me")
    assert main(["develop", str(photo_file), "-o", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err and target.read_bytes() == b"keep me"
    assert main(["develop", str(photo_file), "-o", str(target), "--overwrite"]) == 0
    assert target.read_bytes() != b"keep me"


def test_usage_errors_exit_2(photo_file):
    for argv in (["develop", str(photo_file), "--wb", "purple"], ["develop", str(photo_file), "--quality", "0"],
                 ["develop", str(photo_file), "--format", "gif"], ["frobnicate"],
                 ["develop", str(photo_file), "--exposure", "20"],
                 ["develop", str(photo_file), "--wb", "5000", "--tint", "900"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2


def test_raw_photos_develop_with_each_demosaic_choice(tmp_path):
    from utils.dng import write_dng

    ramp = np.tile(np.linspace(30, 220, 64, dtype=np.uint8), (48, 1))
    raw_path = tmp_path / "IMG_0001.dng"
    write_dng(raw_path, np.dstack([ramp, ramp[::-1], ramp]))
    outputs = {}
    for method in ("ppg", "vng"):
        target = tmp_path / f"{method}.png"
        assert main(["develop", str(raw_path), "-o", str(target), "--demosaic", method]) == 0
        outputs[method] = cv2.imread(str(target)).astype(np.float64)
    assert outputs["ppg"].shape == (48, 64, 3)
    assert 0 < np.abs(outputs["ppg"] - outputs["vng"]).mean() < 5  # different methods, same photo
