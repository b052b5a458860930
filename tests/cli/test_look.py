"""photolab-cli look learn / apply / list: the contracts, the JSON line, refusals, and replay by develop."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.core.develop.look import LookParams
from photolab.core.recipe import Recipe, save_sidecar
from utils.look_pairs import make_pairs, photo, write_rgb

FAST = ["--minutes", "2", "--max-steps", "3", "--folds", "2", "--threads", "2"]
KEYS = {"name", "model_path", "card_path", "pairs", "refused", "unpaired", "minutes", "steps", "grid",
        "cross_validation", "seconds"}


def run(capsys, *args):
    code = main(["look", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("photolab-cli: error:")]


@pytest.fixture
def learned(capsys, data_dir, tmp_path):
    pairs = make_pairs(tmp_path / "pairs", 4)
    write_rgb(pairs / "after" / "stray.png", photo(5))
    code, out, err = run(capsys, "learn", pairs, "--name", "warm", "--json", *FAST)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def test_learn_prints_one_json_line_and_saves_the_look_with_its_card(learned, data_dir):
    result, err = learned
    assert KEYS <= set(result) and result["name"] == "warm" and result["pairs"] == 4 and result["unpaired"] == 1
    assert set(result["cross_validation"]) == {"psnr", "ciede2000", "identity_psnr", "identity_ciede2000", "folds"}
    assert result["cross_validation"]["folds"] == 2
    assert result["model_path"] == str(data_dir / "looks" / "warm.safetensors")
    card = json.loads((data_dir / "looks" / "warm.json").read_text())
    assert card["learning"]["pairs"] == 4 and card["metrics"]["cross_validation"]["psnr"] is not None
    assert "unpaired" in err and "stray.png" in err


def test_list_shows_the_learned_look(learned, capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and [row["name"] for row in json.loads(out)["looks"]] == ["warm"]
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.startswith("warm\t4 pairs")


def test_apply_writes_the_look_and_develop_replays_it_from_a_sidecar(learned, capsys, tmp_path):
    source = write_rgb(tmp_path / "in" / "photo.png", photo(1))
    original = source.read_bytes()
    code, _, err = run(capsys, "apply", source, "-o", tmp_path / "out.png", "--look", "warm", "--strength", "100")
    assert code == 0, err
    applied = cv2.imread(str(tmp_path / "out.png")).astype(float)
    assert np.abs(applied - cv2.imread(str(source)).astype(float)).mean() > 0.1  # the look changed it
    assert source.read_bytes() == original
    code, _, err = run(capsys, "apply", source, "-o", tmp_path / "half.png", "--look", "warm", "--strength", "0")
    assert code == 0 and np.abs(cv2.imread(str(tmp_path / "half.png")).astype(float)
                                - cv2.imread(str(source)).astype(float)).max() <= 1
    save_sidecar(source, Recipe().with_params("look", LookParams("warm", 100.0)))
    code = main(["develop", str(source), "-o", str(tmp_path / "developed.png")])
    assert code == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "developed.png")), cv2.imread(str(tmp_path / "out.png")))


def test_apply_to_several_photos_writes_into_a_folder(learned, capsys, tmp_path):
    sources = [write_rgb(tmp_path / "in" / f"photo{i}.png", photo(i)) for i in range(2)]
    code, out, err = run(capsys, "apply", *sources, "-o", tmp_path / "out", "--look", "warm", "--json")
    assert code == 0, err
    assert json.loads(out)["succeeded"] == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "photo0.jpg", "photo1.jpg"]


def test_refusals_are_one_clear_line_and_save_nothing(capsys, data_dir, tmp_path):
    few = make_pairs(tmp_path / "few", 3)
    code, _, err = run(capsys, "learn", few, "--name", "x", *FAST)
    assert code == 1 and "only 3 pair(s); at least 4 are needed" in errors(err)[0]
    code, _, err = run(capsys, "learn", tmp_path / "nowhere", "--name", "x", *FAST)
    assert code == 1 and "no such folder" in errors(err)[0]
    assert not (data_dir / "looks").exists()
    source = write_rgb(tmp_path / "p.png", photo(0))
    code, _, err = run(capsys, "apply", source, "-o", tmp_path / "o.png", "--look", "missing")
    assert code == 1 and "no look named 'missing'" in errors(err)[0]
    with pytest.raises(SystemExit):
        main(["look", "learn", str(few), "--name", "bad/name"])
    with pytest.raises(SystemExit):
        main(["look", "apply", str(source), "-o", "x.png", "--look", "warm", "--strength", "150"])
