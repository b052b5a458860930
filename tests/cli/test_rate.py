"""photolab-cli rate (ratings and the reject flag in the sidecars), info showing them, presets apply onto many
photos, and develop on rated photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.core.develop.exposure import ExposureParams
from photolab.core.presets import save_preset
from photolab.core.rating import Rating, read_rating
from photolab.core.recipe import Recipe, copy_settings, load_sidecar, save_sidecar, sidecar_path


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"p{index}.png"), np.full((32, 48, 3), 80 + 40 * index, np.uint8))
    (folder / "notes.txt").write_text("not a photo")
    return folder


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_rate_sets_stars_and_reject_and_lists_them_filtered(capsys, folder):
    assert run(capsys, "rate", folder / "p0.png", folder / "p1.png", "--stars", 4)[0] == 0
    code, out, _ = run(capsys, "rate", folder / "p1.png", "--reject")
    assert code == 0 and out.strip() == f"4 ★★★★☆  rejected  {folder / 'p1.png'}"
    assert read_rating(folder / "p0.png") == Rating(4) and read_rating(folder / "p1.png") == Rating(4, True)
    code, out, _ = run(capsys, "rate", folder, "--json")
    listed = json.loads(out)["photos"]
    assert code == 0 and [(p["path"].rsplit("/", 1)[1], p["rating"], p["rejected"]) for p in listed] == [
        ("p0.png", 4, False), ("p1.png", 4, True), ("p2.png", 0, False)]
    code, out, _ = run(capsys, "rate", folder, "--min-stars", 4, "--rejected", "exclude")
    assert out.splitlines() == [f"4 ★★★★☆  {folder / 'p0.png'}"]
    assert run(capsys, "rate", folder, "--rejected", "only")[1].splitlines()[0].endswith("p1.png")
    run(capsys, "rate", folder / "p1.png", "--unreject")
    assert read_rating(folder / "p1.png") == Rating(4)


def test_info_shows_the_rating(capsys, folder):
    run(capsys, "rate", folder / "p2.png", "--stars", 2, "--reject")
    info = json.loads(run(capsys, "info", folder / "p2.png")[1])
    assert info["rating"] == 2 and info["rejected"] is True and info["width"] == 48


def test_rate_reports_bad_input_on_one_line_and_rates_the_rest(capsys, folder):
    sidecar_path(folder / "p0.png").write_text("{broken")
    code, _, err = run(capsys, "rate", folder / "p0.png", folder / "missing.png", folder / "p2.png", "--stars", 3)
    assert code == 1 and read_rating(folder / "p2.png") == Rating(3)
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "p0.png.photolab.json" in lines[0] and "missing.png" in lines[1]
    assert sidecar_path(folder / "p0.png").read_text() == "{broken"
    with pytest.raises(SystemExit):
        main(["rate", str(folder), "--stars", "7"])
    with pytest.raises(SystemExit):
        main(["rate", str(folder), "--stars", "2", "--min-stars", "1"])
    code, _, err = run(capsys, "rate", folder / "nowhere")
    assert code == 1 and "nowhere" in err


def test_presets_apply_writes_every_sidecar_and_develop_still_uses_them(capsys, folder, tmp_path):
    save_sidecar(folder / "p0.png", Recipe().with_params("exposure", ExposureParams(ev=-0.5)))
    run(capsys, "rate", folder / "p0.png", "--stars", 5)
    save_preset("Bright", copy_settings(Recipe().with_params("exposure", ExposureParams(ev=1.0))))
    code, out, _ = run(capsys, "presets", "apply", "Bright", folder)
    assert code == 0 and "to 3 of 3 photos" in out
    for index in range(3):
        assert load_sidecar(folder / f"p{index}.png")[0].get("exposure") == ExposureParams(ev=1.0)
    assert read_rating(folder / "p0.png") == Rating(5)
    assert run(capsys, "presets", "apply", "Nope", folder)[0] == 2
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "develop", folder / "p0.png", folder / "p1.png", "-o", out_dir, "--format", "png")
    assert code == 0, err
    plain = np.full((32, 48, 3), 80, np.uint8)
    assert cv2.imread(str(out_dir / "p0.png")).mean() > plain.mean() + 30  # +1 EV from the sidecar


def test_a_terminal_without_stars_gets_asterisks(folder, monkeypatch, capsys):
    import io

    run(capsys, "rate", folder / "p0.png", "--stars", 2)
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", ascii_out)
    assert main(["rate", str(folder / "p0.png")]) == 0
    ascii_out.seek(0)
    assert ascii_out.read().startswith("2 **...  ")
