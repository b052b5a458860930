"""photolab-cli classify / attention / models, run through their argparse functions on a temporary store."""

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from photolab.cli import models as cli_models
from photolab.cli import main as cli_main
from photolab.models.store import manager as manager_module
from photolab.models.store.card import Preprocessing
from photolab.models.store.manager import ModelManager
from tests.models.store_utils import TINY_CLASSES, Resource, loopback_server, save_safetensors, tiny_model

torch.set_num_threads(1)

FIXTURES = Path(__file__).parents[1] / "fixtures"
PHOTOS = [str(FIXTURES / "dandelion.png"), str(FIXTURES / "fig_bowl.png")]
SMALL = Preprocessing(input_size=(3, 64, 64))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli-data")
    ModelManager(data_dir=data, builtin_dir=data / "none").save_model(tiny_model(seed=4), "pets", TINY_CLASSES,
                                                                      preprocessing=SMALL)
    return data


@pytest.fixture
def store(tmp_path, seeded, monkeypatch):
    """PHOTOLAB_DATA_DIR -> a copy of the seeded store; no built-in models."""
    shutil.copytree(seeded, tmp_path / "data")
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(manager_module, "BUILTIN_MODELS_DIR", tmp_path / "builtin")
    return tmp_path / "data"


def run(capsys, *argv):
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


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


def test_models_list_info_rename_export_remove(store, tmp_path, capsys):
    code, out, _ = run(capsys, "models", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [m["name"] for m in listed] == ["pets"]
    assert listed[0]["architecture"] == "seresnet18" and listed[0]["num_classes"] == 3 and not listed[0]["builtin"]
    code, out, _ = run(capsys, "models", "info", "pets", "--json")
    info = json.loads(out)
    assert code == 0 and info["classes"] == list(TINY_CLASSES) and info["preprocessing"]["input_size"] == [3, 64, 64]
    code, out, _ = run(capsys, "models", "info", "pets")
    assert "architecture:  seresnet18" in out and "classes:       3: cat, dog, bird" in out
    assert run(capsys, "models", "rename", "pets", "animals")[0] == 0
    code, out, _ = run(capsys, "models", "export", "animals", "-o", str(tmp_path / "animals.pt"))
    assert code == 0 and (tmp_path / "animals.pt").is_file()
    code, out, _ = run(capsys, "models", "export", "animals", str(tmp_path / "positional.safetensors"))
    assert code == 0 and (tmp_path / "positional.safetensors").is_file()  # the older form still works
    with pytest.raises(SystemExit):
        run(capsys, "models", "export", "animals")
    code, _, err = run(capsys, "models", "export", "animals", str(tmp_path / "animals.onnx"))
    assert (code, (tmp_path / "animals.onnx").exists()) == ((1, False) if "onnx" in err else (0, True))
    assert run(capsys, "models", "remove", "animals")[0] == 0
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and out.startswith("No models installed")
    code, _, err = run(capsys, "models", "remove", "animals")
    assert code == 1 and "no model named 'animals'" in err


def test_a_backbone_is_listed_as_such_and_refused_for_classifying(store, capsys):
    card = store / "models" / "pets.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "role": "backbone"}))
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0 and json.loads(out)[0]["role"] == "backbone"
    assert "trained, backbone" in run(capsys, "models", "list")[1]
    assert "role:          backbone for fine-tuning" in run(capsys, "models", "info", "pets")[1]
    for command in ("classify", "attention"):
        code, out, err = run(capsys, command, PHOTOS[0], "--model", "pets", "--json")
        assert code == 1 and out == ""
        assert "pets is a backbone for fine-tuning, not a classifier" in err and "--base pets" in err


def test_models_import_and_refusing_a_code_carrying_pickle(store, tmp_path, capsys):
    weights = save_safetensors(tiny_model(seed=9), tmp_path / "birds.safetensors")
    (tmp_path / "labels.txt").write_text("robin\nwren\nowl\n")
    code, out, _ = run(capsys, "models", "import", str(weights), "--labels", str(tmp_path / "labels.txt"))
    assert code == 0 and out.strip() == "imported birds (seresnet18, 3 classes)"
    assert ModelManager().get("birds").card.classes == ("robin", "wren", "owl")

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    torch.save({"x": Payload()}, tmp_path / "evil.pth")
    code, _, err = run(capsys, "models", "import", str(tmp_path / "evil.pth"))
    assert code == 1 and "refused to load" in err and not (tmp_path / "pwned").exists()
    code, _, err = run(capsys, "models", "import", str(weights), "--arch", "seresnet50")
    assert code == 1 and "does not fit seresnet50" in err
    assert sorted(e.name for e in ModelManager().list_models()) == ["birds", "pets"]


def test_models_download_lists_the_catalogue_and_fetches_with_a_checksum(store, tmp_path, capsys):
    code, out, _ = run(capsys, "models", "download", "--list")
    assert code == 0 and "seresnet50.a1_in1k" in out and "legacy_seresnet18.in1k" in out
    data = save_safetensors(tiny_model(seed=6), tmp_path / "owls.safetensors").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with loopback_server({"owls.safetensors": Resource(data)}) as server:
        code, _, err = run(capsys, "models", "download", server.url("owls.safetensors"), "--sha256", "1" * 64)
        assert code == 1 and "checksum mismatch" in err
        code, out, err = run(capsys, "models", "download", server.url("owls.safetensors"), "--sha256", sha)
    assert code == 0 and out.startswith("downloaded owls (seresnet18, 3 classes")
    assert "Downloading owls.safetensors" in err  # progress on stderr
    assert ModelManager().get("owls").card.sha256


def test_usage_errors_exit_2(store, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["classify", PHOTOS[0], "--top", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        cli_main(["models", "download"])
    assert "needs SOURCE" in capsys.readouterr().err


def test_commands_register_beside_other_subcommands():
    parser = argparse.ArgumentParser(prog="photolab-cli")
    sub = parser.add_subparsers(required=True)
    sub.add_parser("info").set_defaults(command="info")
    cli_models.add_model_commands(sub)
    args = parser.parse_args(["classify", "a.jpg", "b.jpg", "--model", "m", "--top", "3", "--json"])
    assert (args.inputs, args.model, args.top, args.json, args.command) == (
        ["a.jpg", "b.jpg"], "m", 3, True, cli_models.classify_command)
    assert parser.parse_args(["models", "list", "--json"]).command is cli_models.models_list_command
    assert parser.parse_args(["info"]).command == "info"


def test_models_info_lays_the_training_record_out_line_by_line(store, capsys):
    from photolab.cli.models import outline

    recipe = {"lr": 0.0012345678, **{f"setting_{i}": i for i in range(20)}}
    training = {"data": {"photos": 30, "classes": ["a", "b"], "split": {"train": 24, "val": 6}}, "recipe": recipe,
                "history": [{"epoch": e, "val_accuracy": e / 10} for e in range(1, 21)]}
    lines = outline(training)
    assert lines[:6] == ["data:", "  photos: 30", "  classes: [a, b]", "  split: train=24, val=6", "recipe:",
                         "  lr: 0.001235"]
    assert "  ... 14 more" in lines and lines[-1] == "  - epoch=20, val_accuracy=2"
    assert max(len(line) for line in outline({"long": "x" * 500})) <= 110
    code, out, _ = run(capsys, "models", "info", "pets")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 120
