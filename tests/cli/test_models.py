"""photolab-cli models, run through its argparse functions on a temporary store (the fixtures here serve
tests/cli/test_classify.py too)."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

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
        cli_main(["models", "download"])
    assert exit_info.value.code == 2
    assert "needs SOURCE" in capsys.readouterr().err


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
