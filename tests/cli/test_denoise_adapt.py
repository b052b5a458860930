"""photolab-cli denoise-adapt: the contract, the JSON line, every refusal, cancel, and use by denoise --model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photolab.cli import main
from photolab.core import io
from photolab.models.training import denoise_adapt
from utils.adapt_photos import make_adapt_folder, noisy_view, write
from utils.noisy import smooth_image

FAST = ["--minutes", "1", "--max-steps", "2", "--crop", "32", "--threads", "2"]
KEYS = {"name", "model_path", "base", "camera", "iso_range", "singles", "bursts", "pairs", "minutes", "held_out",
        "seconds"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return make_adapt_folder(tmp_path_factory.mktemp("cli-adapt") / "photos", singles=4, bursts=2, frames=3)


def errors(err: str) -> list[str]:
    """The error lines (progress lines aside)."""
    return [line for line in err.splitlines() if line.startswith("photolab-cli: error:")]


def run(capsys, *args):
    code = main(["denoise-adapt", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_adapt_prints_one_json_line_and_the_model_denoises(capsys, data_dir, photos, tmp_path):
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    code, out, err = run(capsys, photos, "--name", "my-cam", "--json", *FAST)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert KEYS <= set(result)
    assert set(result["held_out"]) >= {"generic_psnr", "adapted_psnr"}
    assert result["name"] == "my-cam" and result["base"] == "photolab-denoise-unet"
    assert result["camera"] == "SimCam Tiny 1" and result["iso_range"] == [3200.0, 3200.0]
    assert (result["singles"], result["bursts"], result["pairs"]) == (4, 2, 4)
    assert result["model_path"] == str(data_dir / "denoisers" / "my-cam.safetensors")
    card = json.loads((data_dir / "denoisers" / "my-cam.json").read_text())
    assert card["camera"] == "SimCam Tiny 1" and card["source"]["base"] == "photolab-denoise-unet"
    assert card["metrics"]["held_out"]["generic_psnr"] == result["held_out"]["generic_psnr"]
    assert {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()} == before  # the photos are only read
    # the new denoiser is usable by name, with Auto
    source = photos / "single-0.png"
    code = main(["denoise", str(source), "-o", str(tmp_path / "out.png"), "--model", "my-cam", "--auto", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["model"] == "my-cam"
    assert io.read_stored(tmp_path / "out.png")[0].shape == (96, 96, 3)
    code = main(["denoise", str(source), "-o", str(tmp_path / "out2.png"), "--model", "my-cam", "--sigma", "10"])
    assert code == 0
    # the name is taken now
    code, out, err = run(capsys, photos, "--name", "my-cam", *FAST)
    assert code == 1 and "already exists" in err and "--overwrite" in err
    code, out, err = run(capsys, photos, "--name", "my-cam", "--overwrite", *FAST)
    assert code == 0, err


def test_plain_output_says_where_the_model_is_and_how_to_use_it(capsys, data_dir, photos):
    code, out, err = run(capsys, photos, "--name", "plain", *FAST)
    assert code == 0, err
    assert "saved denoiser plain" in out and "--model plain" in out


def test_an_empty_folder_fails_clearly(capsys, data_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = run(capsys, tmp_path / "empty", "--name", "x", *FAST)
    assert code == 1 and len(errors(err)) == 1 and "no photos found" in errors(err)[0]
    assert not (data_dir / "denoisers").exists()


def test_a_missing_folder_fails(capsys, data_dir, tmp_path):
    code, out, err = run(capsys, tmp_path / "nowhere", "--name", "x", *FAST)
    assert code == 1 and "no such folder" in err


def test_clean_photos_are_refused(capsys, data_dir, tmp_path):
    for index in range(5):
        write(tmp_path / "clean" / f"{index}.png", np.round(smooth_image(96, 112 + 8 * index) * 255).astype(np.uint8))
    code, out, err = run(capsys, tmp_path / "clean", "--name", "x", *FAST)
    assert code == 1 and len(errors(err)) == 1 and "too clean to learn from" in errors(err)[0]


def test_mixed_cameras_are_refused_listing_them(capsys, data_dir, tmp_path):
    folder = make_adapt_folder(tmp_path / "mixed", singles=4, bursts=0)
    write(folder / "other.png", noisy_view(1, 12, 9), make="Nikon", model="D800")
    code, out, err = run(capsys, folder, "--name", "x", *FAST)
    assert code == 1 and "mixes cameras" in err and "SimCam Tiny 1 (4)" in err and "Nikon D800 (1)" in err


def test_too_few_photos_are_refused(capsys, data_dir, tmp_path):
    folder = make_adapt_folder(tmp_path / "few", singles=2, bursts=0)
    code, out, err = run(capsys, folder, "--name", "x", *FAST)
    assert code == 1 and "at least 4 are needed" in err


def test_corrupt_files_are_skipped_with_a_warning(capsys, data_dir, tmp_path):
    folder = make_adapt_folder(tmp_path / "some-bad", singles=4, bursts=1, frames=2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 junk")
    code, out, err = run(capsys, folder, "--name", "ok", "--json", *FAST)
    assert code == 0, err
    assert "broken.jpg" in err and "skipped" in err
    assert json.loads(out)["singles"] == 4


def test_only_corrupt_files_fail(capsys, data_dir, tmp_path):
    folder = tmp_path / "all-bad"
    folder.mkdir()
    for index in range(4):
        (folder / f"{index}.jpg").write_bytes(b"\xff\xd8\xff\xe0 junk")
    code, out, err = run(capsys, folder, "--name", "x", *FAST)
    assert code == 1 and ("could be read" in err or "unreadable" in err)


def test_usage_errors_exit_2(capsys, data_dir, photos):
    with pytest.raises(SystemExit) as exit_info:
        main(["denoise-adapt", str(photos)])  # --name is required
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["denoise-adapt", str(photos), "--name", "bad/name"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["denoise-adapt", str(photos), "--name", "x", "--minutes", "0"])
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_the_built_in_name_is_refused(capsys, data_dir, photos):
    code, out, err = run(capsys, photos, "--name", "photolab-denoise-unet", *FAST)
    assert code == 1 and "built-in" in err


def test_a_cancelled_run_saves_nothing(capsys, data_dir, photos, monkeypatch):
    real = denoise_adapt.adapt_work

    def cancelling(context, *args, **kwargs):
        context._job.cancel()  # as Ctrl+C does, once adaptation has started
        return real(context, *args, **kwargs)

    monkeypatch.setattr(denoise_adapt, "adapt_work", cancelling)
    code, out, err = run(capsys, photos, "--name", "cancelled", *FAST)
    assert code == 1 and "cancelled" in err and "nothing was saved" in err
    assert not (data_dir / "denoisers" / "cancelled.json").exists()
    assert not (data_dir / "denoisers" / "cancelled.safetensors").exists()
