"""photolab-cli train and the fine-tuning glue (photolab.models.training.finetune) on tiny generated folders."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photolab.cli import main
from photolab.jobs import Job, JobState
from photolab.models.training import dataset as dataset_module
from photolab.models.store import manager as manager_module
from photolab.models.store.card import Preprocessing
from photolab.models.training.data import scan_folder
from photolab.models.training.finetune import run_finetune, save_outcome, train_config, without_classes
from photolab.models.training.settings import FinetuneError, FinetuneSettings, auto_val_fraction, recommend_strategy
from photolab.models.store.manager import ModelManager
from tests.models.store_utils import tiny_model

torch.set_num_threads(2)

COLOURS = {"red": (220, 40, 30), "green": (40, 190, 60), "blue": (30, 60, 220)}


def make_folder(root: Path, classes=("red", "green", "blue"), per_class: int = 6, size: int = 48) -> Path:
    """A dataset folder: one sub-folder per class, ``per_class`` noisy 48 px images of the class's colour
    (blue has stripes, green a nested sub-folder), so the classes are easy to tell apart."""
    for name in classes:
        for index in range(per_class):
            rng = np.random.default_rng([index, len(name)])
            pixels = np.asarray(COLOURS[name], np.float32) + rng.normal(0, 18, (size, size, 3))
            if name == "blue":
                pixels[::6] = 240
            folder = root / name / ("nested" if name == "green" and index % 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{name}{index}.png")
    return root


def seed_store(folder: Path) -> ModelManager:
    """A manager over ``folder`` holding the tiny model ``base`` (48 px input), no built-ins."""
    manager = ModelManager(data_dir=folder, builtin_dir=folder / "no-builtins")
    manager.save_model(tiny_model(seed=3), "base", ("a", "b", "c"), preprocessing=Preprocessing(input_size=(3, 48, 48)))
    return manager


@pytest.fixture
def store(tmp_path, monkeypatch):
    """PHOTOLAB_DATA_DIR -> a store with the tiny model ``base``; no built-in models."""
    seed_store(tmp_path / "data")
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(manager_module, "BUILTIN_MODELS_DIR", tmp_path / "no-builtins")
    return tmp_path / "data"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def stored_files(store: Path) -> set[str]:
    return {p.name for p in (store / "models").iterdir()} if (store / "models").is_dir() else set()


def test_train_json_saves_a_model_that_classify_uses(store, tmp_path, capsys):
    folder = make_folder(tmp_path / "colours")
    (folder / "red" / "notes.txt").write_text("not an image")
    (folder / "green" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    code, out, err = run(capsys, "train", str(folder), "--name", "colours", "--base", "base", "--strategy", "full",
                         "--epochs", "2", "--seed", "1", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["model"] == "colours"
    assert set(summary["per_class"]) == {"blue", "green", "red"}
    assert np.asarray(summary["confusion_matrix"]).shape == (3, 3)
    assert sum(map(sum, summary["confusion_matrix"])) == summary["val_images"] == 6  # a quarter of 18, per class
    assert 0.0 <= summary["accuracy"] <= 1.0
    assert "not images" in err and "cannot be read" in err  # the two bad files are reported, not fatal
    card = json.loads((store / "models" / "colours.json").read_text())
    assert card["source"] == {"kind": "trained", "base_model": "base"}
    assert card["training"]["recipe"]["strategy"] == "full"
    assert card["training"]["data"]["counts"] == {"blue": 6, "green": 6, "red": 6}
    assert card["training"]["metrics"]["accuracy"] == summary["accuracy"]
    assert len(card["training"]["history"]) == 2
    image = folder / "red" / "red0.png"
    code, out, err = run(capsys, "classify", str(image), "--model", "colours", "--json")
    assert code == 0, err
    assert json.loads(out)["topk"][0][0] in {"blue", "green", "red"}


def test_training_learns_colours_well_enough(tmp_path):
    manager = seed_store(tmp_path / "data")
    report = scan_folder(make_folder(tmp_path / "colours"))
    outcome = run_finetune(manager, report, FinetuneSettings(base="base", strategy="full", epochs=6, patience=0,
                                                             lr=3e-3, seed=0))
    assert outcome.result.metrics.accuracy >= 2 / 3  # random guessing gives 1/3
    assert len(outcome.result.history) == 6
    assert all(w.true_class != w.predicted for w in outcome.wrong)


@pytest.mark.parametrize("layout, expected", [
    ({}, "no class sub-folders"),
    ({"red": 6}, "at least two class"),
    ({"red": 6, "green": 1}, "too few images in green (1)"),
])
def test_unusable_folders_are_refused_with_a_clear_message(store, tmp_path, capsys, layout, expected):
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, count in layout.items():
        make_folder(folder, (name,), count)
    before = stored_files(store)
    code, out, err = run(capsys, "train", str(folder), "--name", "nope", "--base", "base", "--epochs", "1")
    assert code == 1
    assert expected in err
    assert stored_files(store) == before


def test_a_class_of_files_that_are_not_images_is_refused(store, tmp_path, capsys):
    folder = make_folder(tmp_path / "mixed", ("red",))
    (folder / "texts").mkdir()
    for index in range(6):
        (folder / "texts" / f"note{index}.txt").write_text("hello")
    (folder / "texts" / "fake.png").write_text("not a png")
    code, _, err = run(capsys, "train", str(folder), "--name", "nope", "--base", "base")
    assert code == 1
    assert "7 file(s) are not images" not in err  # the .png is a candidate, found unreadable
    assert "6 file(s) are not images" in err and "cannot be read" in err and "too few images in texts (0)" in err


def test_a_folder_that_disappears_during_training_stops_with_a_clear_message(store, tmp_path, capsys, monkeypatch):
    folder = make_folder(tmp_path / "vanishing")
    original = dataset_module.load_srgb8
    calls = []

    def load_then_vanish(path, max_side):
        calls.append(path)
        if len(calls) == 3:
            shutil.rmtree(folder)
        return original(path, max_side)

    monkeypatch.setattr(dataset_module, "load_srgb8", load_then_vanish)
    before = stored_files(store)
    code, _, err = run(capsys, "train", str(folder), "--name", "gone", "--base", "base", "--epochs", "1")
    assert code == 1
    assert f"The folder {folder} no longer exists" in err and "nothing was saved" in err
    assert stored_files(store) == before


def test_a_full_disk_on_save_leaves_nothing_in_the_store(store, tmp_path, capsys, monkeypatch):
    folder = make_folder(tmp_path / "colours")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(manager_module, "save_file", no_space)
    before = stored_files(store)
    code, _, err = run(capsys, "train", str(folder), "--name", "full-disk", "--base", "base", "--epochs", "1")
    assert code == 1
    assert "could not be saved: the disk is full" in err and "Nothing was written" in err
    assert stored_files(store) == before


def test_bad_arguments_and_taken_names(store, tmp_path, capsys):
    folder = make_folder(tmp_path / "colours")
    with pytest.raises(SystemExit):
        run(capsys, "train", str(folder), "--name", "x", "--val-split", "0.9")
    code, _, err = run(capsys, "train", str(folder), "--name", "base", "--base", "base")
    assert code == 1 and "already installed" in err
    code, _, err = run(capsys, "train", str(folder), "--name", "bad name!", "--base", "base")
    assert code == 1 and "not a valid model name" in err


def test_cancel_before_the_first_epoch_keeps_nothing_and_later_keeps_the_best_epoch(tmp_path):
    manager = seed_store(tmp_path / "data")
    report = scan_folder(make_folder(tmp_path / "colours"))
    settings = FinetuneSettings(base="base", strategy="last", epochs=4, patience=0)
    early = Job(lambda context: run_finetune(manager, report, settings, context))
    early.on_progress(lambda fraction, message: early.cancel() if "Epoch 1" in message else None)
    early.run()
    assert early.state is JobState.CANCELLED
    late = Job(lambda context: run_finetune(manager, report, settings, context,
                                            on_epoch=lambda m: late.cancel() if m.epoch == 2 else None))
    outcome = late.run()
    assert late.state is JobState.FINISHED and outcome.cancelled
    assert len(outcome.result.history) == 2 and outcome.result.best_epoch in (1, 2)
    assert "cancelled after epoch 2" in outcome.result.stop_reason
    assert [e.name for e in manager.list_models()] == ["base"]  # nothing saved by a run itself
    entry = save_outcome(manager, outcome, "kept", "best of a cancelled run")
    assert entry.card.training["description"] == "best of a cancelled run"


def test_strategies_recommendation_split_and_exclusion(tmp_path):
    assert recommend_strategy({"a": 8, "b": 100})[0] == "auto"
    assert recommend_strategy({"a": 30, "b": 99})[0] == "auto"
    assert recommend_strategy({"a": 100, "b": 190})[0] == "full"
    assert all(reason.endswith(".") and reason.count(". ") == 0 for _, reason in
               (recommend_strategy({"a": n}) for n in (5, 30, 100)))
    assert auto_val_fraction(20) > auto_val_fraction(200) > auto_val_fraction(1000) > auto_val_fraction(5000)
    probe = train_config(FinetuneSettings(base="b", strategy="probe", epochs=5))
    assert probe.freeze_backbone_epochs == 5
    assert train_config(FinetuneSettings(base="b", strategy="full", epochs=5)).freeze_backbone_epochs == 1
    with pytest.raises(FinetuneError, match="unknown strategy"):
        train_config(FinetuneSettings(base="b", strategy="everything"))
    report = scan_folder(make_folder(tmp_path / "colours"))
    two = without_classes(report, {"green"})
    assert two.ok and two.classes == ["blue", "red"] and two.counts == {"blue": 6, "red": 6}
    assert sorted({label for _, label in two.items}) == [0, 1]
    one = without_classes(report, {"green", "blue"})
    assert not one.ok and "at least two class" in one.errors[0].message
