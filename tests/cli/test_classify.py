"""photolab-cli classify / attention, run through their argparse functions on a temporary store."""

import argparse
import json
import shutil

import cv2
import numpy as np
import pytest

from photolab.cli import classify as cli_classify
from photolab.cli import models as cli_models
from photolab.cli import main as cli_main
from photolab.models.store.manager import ModelManager
from tests.models.store_utils import TINY_CLASSES

from .test_models import PHOTOS, run, seeded, store  # noqa: F401 - fixtures


def test_classify_json_is_one_line_per_image_and_failures_are_reported(store, tmp_path, capsys):
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((8, 8, 3), np.uint8))
    missing = str(tmp_path / "missing.jpg")
    code, out, err = run(capsys, "classify", PHOTOS[0], missing, str(tiny), PHOTOS[1], "--model", "pets",
                         "--top", "2", "--json")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["image"] for line in lines] == PHOTOS
    for line in lines:
        assert list(line) == ["image", "label", "topk"]
        assert len(line["topk"]) == 2 and line["label"] == line["topk"][0][0]
        assert line["topk"][0][1] >= line["topk"][1][1] and {l for l, _ in line["topk"]} <= set(TINY_CLASSES)
    errors = err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"photolab-cli: error: {missing}: the file does not exist")
    assert errors[1].startswith(f"photolab-cli: error: {tiny}: 8x8 px is too small")


def test_classify_matches_the_library_and_prints_text(store, capsys):
    from photolab.core.io import read_photo
    from photolab.models.inference import classify

    expected = classify(ModelManager().load("pets"), read_photo(PHOTOS[0]), 3)
    code, out, _ = run(capsys, "classify", PHOTOS[0], "--model", "pets", "--json", "--top", "3")
    assert code == 0 and json.loads(out)["topk"] == [[label, p] for label, p in expected]
    code, out, _ = run(capsys, "classify", PHOTOS[0], "--model", "pets", "--top", "2")
    label, p = expected[0]
    assert code == 0 and out.startswith(f"{PHOTOS[0]}: {label} {p:.1%}  ({expected[1][0]} ")


def test_without_model_the_first_builtin_is_used_or_the_user_is_told(store, tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, "classify", PHOTOS[0])
    assert code == 1 and "no built-in classifier is installed; choose one of yours with --model NAME (pets)" in err
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "empty"))
    code, out, err = run(capsys, "attention", PHOTOS[0], "--json")
    assert code == 1 and out == ""
    assert "no model is installed. Import one with 'photolab-cli models import WEIGHTS_FILE'" in err
    shutil.copytree(store / "models", tmp_path / "builtin")
    code, out, _ = run(capsys, "classify", PHOTOS[0], "--json")
    assert code == 0 and json.loads(out)["label"] in TINY_CLASSES


def test_attention_json_lists_every_se_block(store, capsys):
    code, out, _ = run(capsys, "attention", PHOTOS[1], "--model", "pets", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["model", "blocks"] and data["model"] == "pets"
    names = [f"layer{s}.{b}.se" for s in (1, 2, 3, 4) for b in (0, 1)]
    assert [b["name"] for b in data["blocks"]] == names
    assert [b["channels"] for b in data["blocks"]] == [64, 64, 128, 128, 256, 256, 512, 512]
    for block in data["blocks"]:
        assert list(block) == ["name", "channels", "excitation"] and len(block["excitation"]) == block["channels"]
        assert all(0.0 < v < 1.0 for v in block["excitation"])
    code, out, _ = run(capsys, "attention", PHOTOS[1], "--model", "pets")
    assert code == 0 and "layer4.1.se" in out and "channels" in out


def class_folder(root, classes=("cats", "dogs"), per_class=3):
    """A folder dataset: ``root/<class>/<i>.png``, the fixture photos shifted in brightness per class."""
    from PIL import Image

    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.asarray(Image.open(PHOTOS[i % 2]).convert("RGB"), np.float32) * (0.4 + 0.3 * k + 0.05 * i)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_attention_class_average_adds_the_views_numbers(store, tmp_path, capsys):
    """--class-average FOLDER adds the class-average analysis to the usual JSON: the very numbers of the
    Attention view's Class Average tab (one function computes both), with the too-small caveat."""
    from photolab.jobs import Job
    from photolab.models.analysis.class_average import analyse_folder

    folder = class_folder(tmp_path / "dataset")
    code, out, _ = run(capsys, "attention", PHOTOS[1], "--model", "pets", "--class-average", str(folder), "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["model", "blocks", "class_average"]
    plain = json.loads(run(capsys, "attention", PHOTOS[1], "--model", "pets", "--json")[1])
    assert data["blocks"] == plain["blocks"]
    job = Job(analyse_folder, ModelManager(cache_size=1).load(ModelManager().get("pets")), str(folder))
    job.run()
    assert data["class_average"] == json.loads(json.dumps(job.result.to_dict()))
    average = data["class_average"]
    assert average["counts"] == {"cats": 3, "dogs": 3}
    assert average["specificity"]["too_small"] is True
    assert average["specificity"]["caveat"].startswith("Too small to tell")
    assert set(average["stage_specificity"]) == {"layer1", "layer2", "layer3", "layer4"}

    code, out, _ = run(capsys, "attention", PHOTOS[1], "--model", "pets", "--class-average", str(folder))
    assert code == 0 and "layer4.1.se" in out and "chance" in out and "Too small to tell" in out
    code, _, err = run(capsys, "attention", PHOTOS[1], "--model", "pets", "--class-average", str(tmp_path / "no"))
    assert code == 1 and "photolab-cli: " in err


def test_usage_errors_exit_2(store, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["classify", PHOTOS[0], "--top", "0"])
    assert exit_info.value.code == 2


def test_commands_register_beside_other_subcommands():
    parser = argparse.ArgumentParser(prog="photolab-cli")
    sub = parser.add_subparsers(required=True)
    sub.add_parser("info").set_defaults(command="info")
    cli_classify.add_classify_commands(sub)
    cli_models.add_model_commands(sub)
    args = parser.parse_args(["classify", "a.jpg", "b.jpg", "--model", "m", "--top", "3", "--json"])
    assert (args.inputs, args.model, args.top, args.json, args.command) == (
        ["a.jpg", "b.jpg"], "m", 3, True, cli_classify.classify_command)
    assert parser.parse_args(["attention", "a.jpg"]).command is cli_classify.attention_command
    assert parser.parse_args(["models", "list", "--json"]).command is cli_models.models_list_command
    assert parser.parse_args(["info"]).command == "info"
