"""photolab-cli presets list|show|save|delete and develop --preset NAME."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams
from photolab.core.presets import load_preset, save_preset
from photolab.core.recipe import Recipe, copy_settings, save_sidecar


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def photo(tmp_path):
    ramp = np.tile(np.linspace(40, 200, 96, dtype=np.uint8), (64, 1))
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.dstack([ramp, ramp, ramp]))
    return path


EDITED = (Recipe().with_params("exposure", ExposureParams(ev=0.5)).with_params("contrast", ContrastParams(amount=0.4))
          .with_params("crop", CropParams(left=0.25)))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_save_from_a_photo_leaves_geometry_out_and_lists_shows_deletes(capsys, photo):
    save_sidecar(photo, EDITED)
    code, out, err = run(capsys, "presets", "save", "Bright", "--from", str(photo))
    assert code == 0 and "exposure, contrast" in out, err
    assert load_preset("Bright").settings == copy_settings(EDITED, ["exposure", "contrast"])
    code, out, _ = run(capsys, "presets", "list")
    assert (code, out) == (0, "Bright: exposure, contrast\n")
    code, out, _ = run(capsys, "presets", "list", "--json")
    listed = json.loads(out)["presets"]
    assert [entry["name"] for entry in listed] == ["Bright"]
    assert [op["op"] for op in listed[0]["operations"]] == ["exposure", "contrast"]
    code, out, _ = run(capsys, "presets", "show", "Bright", "--json")
    shown = json.loads(out)
    assert shown["operations"][0] == {"op": "exposure", "version": 1, "enabled": True, "params": {"ev": 0.5}}
    code, out, _ = run(capsys, "presets", "show", "Bright")
    assert code == 0 and 'exposure v1: {"ev": 0.5}' in out
    code, out, _ = run(capsys, "presets", "delete", "Bright", "--json")
    assert code == 0 and json.loads(out)["deleted"] == "Bright"
    assert run(capsys, "presets", "list", "--json")[1].strip() == '{\n  "presets": []\n}'


def test_save_with_only_and_from_a_sidecar_file(capsys, photo):
    sidecar = save_sidecar(photo, EDITED)
    code, out, err = run(capsys, "presets", "save", "Framing", "--from", str(sidecar), "--only", "crop,shadows",
                         "--json")
    assert code == 0, err
    assert [op["op"] for op in json.loads(out)["operations"]] == ["crop", "shadows"]
    code, _, err = run(capsys, "presets", "save", "Framing", "--from", str(sidecar))
    assert code == 2 and "already exists" in err and "--overwrite" in err
    code, _, err = run(capsys, "presets", "save", "Framing", "--from", str(sidecar), "--overwrite")
    assert code == 0 and load_preset("Framing").settings.operations == ("exposure", "contrast")


def test_save_errors_are_one_line(capsys, photo, tmp_path):
    code, _, err = run(capsys, "presets", "save", "X", "--from", str(photo))
    assert code == 1 and "has no edits to save" in err and err.count("\n") == 1
    code, _, err = run(capsys, "presets", "save", "X", "--from", str(tmp_path / "gone.png"))
    assert code == 1 and "no such file" in err
    save_sidecar(photo, Recipe().with_params("crop", CropParams(left=0.25)))
    code, _, err = run(capsys, "presets", "save", "X", "--from", str(photo))
    assert code == 1 and "--only" in err
    code, _, err = run(capsys, "presets", "save", "../X", "--from", str(photo), "--only", "crop")
    assert code == 2 and "not a usable preset name" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["presets", "save", "X", "--from", str(photo), "--only", "crop,bogus"])
    assert exit_info.value.code == 2 and "bogus" in capsys.readouterr().err


def test_unknown_and_damaged_presets(capsys, data_dir):
    save_preset("Soft", copy_settings(EDITED))
    code, _, err = run(capsys, "presets", "show", "Hard")
    assert code == 2 and "no preset named 'Hard' (presets: Soft)" in err
    code, _, err = run(capsys, "presets", "delete", "Hard")
    assert code == 2 and "presets: Soft" in err
    (data_dir / "presets" / "Broken.json").write_text("{oops")
    code, out, err = run(capsys, "presets", "show", "Broken")
    assert code == 1 and "Broken.json: invalid JSON" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "presets", "list", "--json")
    entries = {entry["name"]: entry for entry in json.loads(out)["presets"]}
    assert "invalid JSON" in entries["Broken"]["error"] and "operations" in entries["Soft"]


def test_develop_applies_presets_after_the_sidecar_and_before_the_overrides(capsys, photo, tmp_path):
    save_sidecar(photo, Recipe().with_params("contrast", ContrastParams(amount=-0.3)).with_params(
        "crop", CropParams(left=0.5)))
    save_preset("Bright", copy_settings(Recipe().with_params("exposure", ExposureParams(ev=1.0))
                                        .with_params("contrast", ContrastParams(amount=0.2))))
    save_preset("Brighter", copy_settings(Recipe().with_params("exposure", ExposureParams(ev=1.5))))
    expected = (Recipe().with_params("contrast", ContrastParams(amount=0.2)).with_params("crop", CropParams(left=0.5))
                .with_params("exposure", ExposureParams(ev=1.5)))
    save_sidecar(tmp_path / "expected.png", expected)
    cv2.imwrite(str(tmp_path / "expected.png"), cv2.imread(str(photo)))
    assert main(["develop", str(tmp_path / "expected.png"), "-o", str(tmp_path / "want.png")]) == 0
    assert main(["develop", str(photo), "--preset", "Bright", "--preset", "Brighter", "-o",
                 str(tmp_path / "got.png")]) == 0
    want, got = (cv2.imread(str(tmp_path / name)) for name in ("want.png", "got.png"))
    assert got.shape == want.shape and got.shape[1] < 96  # the sidecar's crop stayed
    np.testing.assert_array_equal(got, want)
    # --exposure overrides the preset's exposure
    assert main(["develop", str(photo), "--preset", "Bright", "--exposure", "1.5", "-o",
                 str(tmp_path / "override.png")]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "override.png")), want)


def test_develop_with_an_unknown_preset_lists_the_available_ones(capsys, photo, tmp_path):
    save_preset("Soft", copy_settings(EDITED))
    code, out, err = run(capsys, "develop", str(photo), "--preset", "Nope", "-o", str(tmp_path / "x.png"))
    assert code == 2 and err.strip() == "photolab-cli: error: --preset: no preset named 'Nope' (presets: Soft)"
    assert not (tmp_path / "x.png").exists()
