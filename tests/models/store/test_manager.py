"""The model store: cards, atomic commits, built-ins, rename/remove/overwrite, problems, orphans, devices."""

import json
import os
import shutil
import time

import pytest
import torch

from photolab.models.store import manager as manager_module
from photolab.models.store.card import FORMAT_VERSION, ModelCard, ModelCardError, Preprocessing, sha256_file
from photolab.models.store.manager import (DATA_DIR_ENV, ModelManager, ModelStoreError, NoModelInstalledError,
                                           available_devices, resolve_device, user_data_dir)

from tests.models.store_utils import TINY_CLASSES, files_in, save_safetensors, tiny_model


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return save_safetensors(tiny_model(seed=0), tmp_path_factory.mktemp("weights") / "pets.safetensors")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, tiny_file):
    """A data folder holding one imported model, 'pets' (copied per test, so tests may change it)."""
    data = tmp_path_factory.mktemp("seeded")
    ModelManager(data_dir=data, builtin_dir=data / "none").import_file(tiny_file, labels=list(TINY_CLASSES))
    return data


@pytest.fixture
def store(tmp_path, seeded):
    shutil.copytree(seeded, tmp_path / "data")
    return ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "builtin")


def test_empty_store_lists_nothing_and_says_how_to_get_a_model(tmp_path):
    manager = ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "builtin")
    assert manager.list_models() == [] and manager.problems() == []
    with pytest.raises(NoModelInstalledError, match="no model is installed.*models import.*models download"):
        manager.default_entry()
    assert not (tmp_path / "data").exists()  # listing creates nothing


def test_data_folder_comes_from_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert user_data_dir() == tmp_path / "env"
    assert user_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert ModelManager().models_dir == tmp_path / "env" / "models"
    monkeypatch.delenv(DATA_DIR_ENV)
    assert user_data_dir().name.lower() == "photolab"


def test_import_writes_weights_and_a_complete_card(tmp_path, tiny_file):
    manager = ModelManager(data_dir=tmp_path, builtin_dir=tmp_path / "none")
    entry = manager.import_file(tiny_file, labels=list(TINY_CLASSES), license="cc0-1.0")
    assert entry.name == "pets" and not entry.builtin
    sha = sha256_file(entry.weights_path)
    assert files_in(manager.models_dir) == sorted(["pets.json", f"pets-{sha[:8]}.safetensors"])
    data = json.loads(entry.card_path.read_text())
    assert data["format_version"] == FORMAT_VERSION
    assert data["architecture"] == {"name": "seresnet18", "legacy": False}
    assert data["classes"] == list(TINY_CLASSES)
    assert data["preprocessing"] == {"input_size": [3, 224, 224], "mean": [0.485, 0.456, 0.406],
                                     "std": [0.229, 0.224, 0.225], "crop_pct": 0.875,
                                     "interpolation": "bilinear", "crop_mode": "center"}
    assert data["source"] == {"kind": "imported", "file": "pets.safetensors", "url": None, "timm_weights": None}
    assert data["license"] == "cc0-1.0" and data["training"] == {}
    assert data["weights"] == {"file": entry.weights_path.name, "sha256": sha}
    assert data["created"][:2] == "20" and "T" in data["created"]
    assert manager.list_models() == [entry]
    assert manager.get("pets") == entry


def test_save_model_records_training_and_roundtrips(tmp_path):
    manager = ModelManager(data_dir=tmp_path, builtin_dir=tmp_path / "none")
    model = tiny_model(seed=3)
    training = {"data": "garden photos, 120 images", "metrics": {"val_accuracy": 0.75}, "epochs": 4}
    entry = manager.save_model(model, "garden", TINY_CLASSES, training=training, license="cc-by-4.0")
    assert entry.card.source == {"kind": "trained"} and entry.card.training == training
    loaded = manager.load("garden")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)
    with pytest.raises(ModelStoreError, match="already installed"):
        manager.save_model(model, "garden", TINY_CLASSES)
    with pytest.raises(ModelCardError, match="not a valid model name"):
        manager.save_model(model, "../escape", TINY_CLASSES)


def test_builtin_models_come_first_are_default_and_read_only(tmp_path, tiny_file):
    ModelManager(data_dir=tmp_path / "b", builtin_dir=tmp_path / "none").import_file(tiny_file, name="zoo")
    (tmp_path / "b" / "models").rename(tmp_path / "builtin")
    manager = ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "builtin")
    manager.import_file(tiny_file, name="aardvark")
    assert [(e.name, e.builtin) for e in manager.list_models()] == [("zoo", True), ("aardvark", False)]
    assert manager.default_entry().name == "zoo"
    before = files_in(tmp_path / "builtin")
    for action in (lambda: manager.remove("zoo"), lambda: manager.rename("zoo", "zoo2")):
        with pytest.raises(ModelStoreError, match="'zoo' is a built-in model"):
            action()
    with pytest.raises(ModelStoreError, match="'zoo' is a built-in model; choose another name"):
        manager.import_file(tiny_file, name="zoo", overwrite=True)
    assert files_in(tmp_path / "builtin") == before
    assert manager.load("zoo").classes == ("class 0", "class 1", "class 2")


def make_backbone(card_path):
    """Turn the stored card at ``card_path`` into a fine-tuning backbone's (``role``)."""
    data = json.loads(card_path.read_text())
    data["role"] = "backbone"
    card_path.write_text(json.dumps(data))


def test_backbones_are_the_default_base_but_never_the_default_classifier(tmp_path, tiny_file):
    staging = ModelManager(data_dir=tmp_path / "b", builtin_dir=tmp_path / "none")
    staging.import_file(tiny_file, name="aaa-features")
    staging.import_file(tiny_file, name="zoo")
    make_backbone(tmp_path / "b" / "models" / "aaa-features.json")
    (tmp_path / "b" / "models").rename(tmp_path / "builtin")
    manager = ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "builtin")
    zoo_card = (tmp_path / "builtin" / "zoo.json").read_bytes()
    assert [(e.name, e.card.role) for e in manager.list_models()] == [("aaa-features", "backbone"),
                                                                      ("zoo", "classifier")]
    assert manager.default_entry().name == "zoo"
    assert manager.default_base().name == "aaa-features"
    (tmp_path / "builtin" / "zoo.json").unlink()
    with pytest.raises(NoModelInstalledError, match=r"only backbones for fine-tuning \(aaa-features\)"):
        manager.default_entry()
    (tmp_path / "builtin" / "zoo.json").write_bytes(zoo_card)
    (tmp_path / "builtin" / "aaa-features.json").unlink()
    assert manager.default_base().name == "zoo"  # no backbone: start from the default classifier


def test_card_role_round_trips_defaults_to_classifier_and_is_checked():
    card = ModelCard(name="feats", architecture="seresnet18", classes=("a", "b"), role="backbone")
    assert ModelCard.from_json(card.to_json()).is_backbone
    data = card.to_dict()
    del data["role"]  # cards written before the field existed
    assert ModelCard.from_dict(data).role == "classifier"
    data["role"] = "detector"
    with pytest.raises(ModelCardError, match="role must be one of classifier, backbone, got 'detector'"):
        ModelCard.from_dict(data)


def test_default_without_builtins_names_the_users_models(store):
    with pytest.raises(NoModelInstalledError, match=r"no built-in classifier.*--model NAME \(pets\)"):
        store.default_entry()


def test_rename_moves_card_and_weights(store):
    store.load("pets")
    entry = store.rename("pets", "animals")
    assert [e.name for e in store.list_models()] == ["animals"]
    assert files_in(store.models_dir) == sorted(["animals.json", entry.weights_path.name])
    assert entry.weights_path.name.startswith("animals-") and entry.card.sha256 == sha256_file(entry.weights_path)
    assert store.cached() == []
    assert store.load("animals").classes == TINY_CLASSES
    store.save_model(tiny_model(), "other", TINY_CLASSES)
    with pytest.raises(ModelStoreError, match="'other' is already installed"):
        store.rename("animals", "other")
    with pytest.raises(ModelStoreError, match=r"no model named 'pets' \(installed: animals, other\)"):
        store.rename("pets", "x")


def test_remove_deletes_both_files(store):
    store.load("pets")
    store.remove("pets")
    assert store.list_models() == [] and files_in(store.models_dir) == [] and store.cached() == []
    with pytest.raises(ModelStoreError, match="no model named 'pets'"):
        store.remove("pets")


def test_overwrite_replaces_weights_and_drops_the_old_file(store, tmp_path):
    old = store.get("pets")
    other = save_safetensors(tiny_model(seed=1), tmp_path / "pets.safetensors")
    with pytest.raises(ModelStoreError, match="'pets' is already installed"):
        store.import_file(other)
    assert files_in(store.models_dir) == sorted(["pets.json", old.weights_path.name])
    new = store.import_file(other, overwrite=True)
    assert new.card.sha256 != old.card.sha256 and not old.weights_path.exists()
    assert files_in(store.models_dir) == sorted(["pets.json", new.weights_path.name])


def test_failed_card_write_leaves_nothing_behind(tmp_path, tiny_file, monkeypatch):
    manager = ModelManager(data_dir=tmp_path, builtin_dir=tmp_path / "none")

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(manager_module, "write_bytes_atomic", disk_full)
    with pytest.raises(OSError, match="No space left"):
        manager.import_file(tiny_file)
    assert files_in(manager.models_dir) == [] and manager.list_models() == []


def test_damaged_weights_are_detected_on_load(store):
    path = store.get("pets").weights_path
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError.__mro__[1], match=r"pets.*is damaged: its SHA-256 is [0-9a-f]{64}, the card says"):
        store.load("pets")


def test_bad_cards_are_reported_not_fatal(store):
    good = store.get("pets")
    (store.models_dir / "broken.json").write_text("{not json")
    newer = json.loads(good.card_path.read_text())
    newer.update(name="future", format_version=FORMAT_VERSION + 1)
    (store.models_dir / "future.json").write_text(json.dumps(newer))
    lost = json.loads(good.card_path.read_text())
    lost.update(name="lost", weights={"file": "lost-00000000.safetensors", "sha256": ""})
    (store.models_dir / "lost.json").write_text(json.dumps(lost))
    (store.models_dir / "mismatch.json").write_text(good.card_path.read_text())
    assert [e.name for e in store.list_models()] == ["pets"]
    problems = "\n".join(store.problems())
    assert "broken.json: not valid JSON" in problems
    assert "format version 2 is newer than this PhotoLab understands (1); update PhotoLab" in problems
    assert "lost.json: its weights file 'lost-00000000.safetensors' is missing" in problems
    assert "mismatch.json: the card names 'pets'; expected 'mismatch'" in problems


def test_card_validation_catches_inconsistencies():
    card = ModelCard(name="m", architecture="seresnet18", classes=("a", "b"))
    assert ModelCard.from_json(card.to_json()) == card
    data = card.to_dict()
    data["architecture"]["legacy"] = True
    with pytest.raises(ModelCardError, match="has legacy=False, the card says True"):
        ModelCard.from_dict(data)
    for changes, message in ((dict(architecture="resnet9000"), "unknown model 'resnet9000'"),
                             (dict(classes=()), "non-empty list"),
                             (dict(source={"kind": "stolen"}), "source kind"),
                             (dict(weights_file="../x.safetensors"), "plain .safetensors file name"),
                             (dict(sha256="abc"), "64 lower-case hex")):
        with pytest.raises(ModelCardError, match=message):
            card.replace(**changes)
    with pytest.raises(ModelCardError, match="preprocessing: crop_pct"):
        ModelCard.from_dict({**card.to_dict(), "preprocessing": {"crop_pct": 3}})


def test_orphans_are_removed_only_when_old(store):
    used = store.get("pets").weights_path
    old_orphan = store.models_dir / "gone-12345678.safetensors"
    young_orphan = store.models_dir / ".incoming.safetensors.part"
    for path in (old_orphan, young_orphan):
        path.write_bytes(b"x")
    long_ago = time.time() - 7200
    os.utime(old_orphan, (long_ago, long_ago))
    os.utime(used, (long_ago, long_ago))
    assert store.remove_orphans() == [old_orphan]
    assert used.exists() and young_orphan.exists()


def test_devices():
    assert available_devices()[0] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelStoreError, match="unknown device 'gpu'"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelStoreError, match="CUDA is not available"):
            ModelManager(device="cuda")


def test_cpu_models_stay_where_asked(store):
    loaded = store.load("pets", device="cpu")
    assert loaded.device == torch.device("cpu") and next(loaded.model.parameters()).device.type == "cpu"
    assert not loaded.model.training
    assert isinstance(loaded.card.preprocessing, Preprocessing)
