"""The Model Manager dialog over a temporary store: listing and cards, import, rename, delete (confirmed),
download from a loopback server (progress, checksum, cancel), export, device, and every error as a dialog."""

import hashlib
import shutil

import pytest
import torch
from PySide6.QtWidgets import QMessageBox
from safetensors.torch import save_file

from photolab.gui.jobs import JobRunner
from photolab.gui.models.manager_dialog import ModelManagerDialog
from photolab.gui.models.service import ModelService

from ...models.store_utils import Resource, loopback_server, tiny_model
from ..model_store import CLASSES, MODEL, manager_for, seeded_store, weights_file  # noqa: F401


@pytest.fixture
def store(tmp_path, seeded_store):
    """A user store holding 'tiny' beside a built-in folder holding 'starter' (a fine-tuned model's card)."""
    shutil.copytree(seeded_store, tmp_path / "store")
    maker = manager_for(tmp_path / "maker")
    maker.save_model(tiny_model(seed=2), "starter", CLASSES, license="cc0-1.0",
                     training={"data": {"root": "/photos/pets", "counts": {"cat": 40, "dog": 41, "bird": 39}},
                               "metrics": {"val_accuracy": 0.9125, "per_class": {"cat": {"recall": 1.0}}}})
    shutil.move(tmp_path / "maker" / "models", tmp_path / "builtin")
    from photolab.models.store.manager import ModelManager

    return ModelManager(data_dir=tmp_path / "store", builtin_dir=tmp_path / "builtin")


@pytest.fixture
def dialog(qtbot, store, settings):
    runner = JobRunner()
    service = ModelService(runner, settings, store)
    window = ModelManagerDialog(service)
    qtbot.addWidget(window)
    window.show()
    yield window
    runner.cancel_all()
    runner.wait_for_done(10000)


def wait_for_jobs(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.jobs, timeout=20000)


def test_lists_every_model_with_its_card(dialog, store):
    assert dialog.names() == ["starter", MODEL]
    dialog.select(MODEL)
    text = dialog.details.toPlainText()
    tiny = store.get(MODEL).card
    for expected in ("seresnet18", "3: cat, dog, bird", "64 × 64 px", "mean [0.485, 0.456, 0.406]",
                     "std [0.229, 0.224, 0.225]", "bilinear, center crop of 0.875", "kind: trained", tiny.created,
                     tiny.sha256):
        assert expected in text
    assert dialog.rename_button.isEnabled() and dialog.delete_button.isEnabled()
    dialog.select("starter")
    text = dialog.details.toPlainText()
    assert "starter (built-in, read-only)" in text and "cc0-1.0" in text
    assert "/photos/pets (cat 40, dog 41, bird 39)" in text and "val_accuracy: 0.9125" in text
    assert "recall" not in text  # per-class tables are left out
    assert not dialog.rename_button.isEnabled() and not dialog.delete_button.isEnabled()
    assert dialog.export_button.isEnabled()
    assert [dialog.device.itemText(i) for i in range(dialog.device.count())] == dialog._service.devices()


def test_a_backbone_says_what_it_is_for(qtbot, dialog, store):
    card = store.builtin_dir / "starter.json"
    card.write_text(card.read_text().replace('"role": "classifier"', '"role": "backbone"'))
    dialog._service.refresh()
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    assert dialog.list.item(0).text() == "starter  — built-in, backbone for fine-tuning"
    dialog.select("starter")
    assert "backbone for fine-tuning: a starting point for Train Classifier" in dialog.details.toPlainText()
    dialog.select(MODEL)
    assert "Role classifier" in dialog.details.toPlainText().replace("\t", " ").replace("\n", " ")


def test_imports_a_weights_file(qtbot, dialog, recorded_dialogs, weights_file, store):
    recorded_dialogs.open_path = str(weights_file)
    handle = dialog.choose_and_import()
    assert handle is not None
    wait_for_jobs(qtbot, dialog)
    assert dialog.names() == ["starter", "garden", MODEL] and dialog.selected_name() == "garden"
    assert store.get("garden").card.source["kind"] == "imported"
    assert store.get("garden").card.sha256 in dialog.status.text()
    assert "garden" in [e.name for e in dialog._service.entries()]
    assert recorded_dialogs.errors == []


def test_an_import_whose_name_is_taken_offers_a_free_one(qtbot, dialog, recorded_dialogs, weights_file, store,
                                                         monkeypatch):
    asked = []
    answers = ["", "starter", None]  # cancel; a built-in's name; then whatever is offered

    def ask(title, label, text):
        asked.append((label, text))
        answer = answers.pop(0)
        return text if answer is None else answer

    monkeypatch.setattr(dialog, "ask_text", ask)
    dialog.import_file(weights_file)
    wait_for_jobs(qtbot, dialog)
    dialog.import_file(weights_file)  # "garden" is taken now: the user cancels
    wait_for_jobs(qtbot, dialog)
    offer = ("A model named garden is already installed. Import garden.safetensors as:", "garden-2")
    assert asked == [offer] and dialog.status.text() == "garden.safetensors was not imported."
    dialog.import_file(weights_file)  # "starter" is a built-in's name: offered another, which is taken
    wait_for_jobs(qtbot, dialog)
    assert asked[1:] == [offer, ("A model named starter is already installed. Import garden.safetensors as:",
                                 "starter-2")]
    assert dialog.names() == ["starter", "garden", "starter-2", MODEL] and dialog.selected_name() == "starter-2"
    assert recorded_dialogs.errors == []


def test_renames_and_keeps_the_choice(qtbot, dialog, recorded_dialogs, store, monkeypatch):
    service = dialog._service
    service.set_current(MODEL)
    dialog.select(MODEL)
    monkeypatch.setattr(dialog, "ask_text", lambda title, label, text: "pets")
    dialog.rename_selected()
    assert dialog.names() == ["starter", "pets"] and dialog.selected_name() == "pets"
    assert service.current_name() == "pets" and [e.name for e in store.list_models()] == ["starter", "pets"]
    monkeypatch.setattr(dialog, "ask_text", lambda title, label, text: "starter")
    dialog.rename_selected()
    assert recorded_dialogs.errors == ["a model named 'starter' is already installed"]
    monkeypatch.setattr(dialog, "ask_text", lambda title, label, text: "bad name!")
    dialog.rename_selected()
    assert "'bad name!' is not a valid model name" in recorded_dialogs.errors[1]
    assert dialog.names() == ["starter", "pets"]


def test_deletes_only_after_confirmation(qtbot, dialog, store, monkeypatch):
    asked, answers = [], [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *args: (asked.append(args[2]), answers.pop(0))[1])
    dialog.select(MODEL)
    weights = store.get(MODEL).weights_path
    dialog.delete_selected()
    assert asked == [f"Delete the model {MODEL} and its weights file? This cannot be undone."]
    assert MODEL in dialog.names() and weights.exists()
    dialog.delete_selected()
    assert dialog.names() == ["starter"] and not weights.exists()
    assert [e.name for e in store.list_models()] == ["starter"]
    dialog.select("starter")
    dialog.delete_selected()  # built-in: nothing asked, nothing removed
    assert len(asked) == 2 and dialog.names() == ["starter"]


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_bad_files_become_error_dialogs(qtbot, dialog, recorded_dialogs, tmp_path, weights_file):
    mlp = tmp_path / "mlp.safetensors"
    save_file({"0.weight": torch.zeros(4, 8)}, str(mlp))
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "trap": Payload(str(marker))}, evil)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(weights_file.read_bytes()[:5000])
    for path in (mlp, evil, cut):
        dialog.import_file(path)
        wait_for_jobs(qtbot, dialog)
    assert len(recorded_dialogs.errors) == 3
    assert "mlp.safetensors: these are not SE-ResNet weights" in recorded_dialogs.errors[0]
    assert "evil.pth: refused to load: not a weights-only pickle" in recorded_dialogs.errors[1]
    assert "cut.safetensors: not a readable weights file" in recorded_dialogs.errors[2]
    assert not marker.exists() and dialog.names() == ["starter", MODEL]


def test_downloads_with_progress_and_checks_the_checksum(qtbot, dialog, recorded_dialogs, weights_file, store):
    data = weights_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with loopback_server({"w/birds.safetensors": Resource(data),
                          "w/cut.safetensors": Resource(data, truncate_at=len(data) // 3)}) as server:
        dialog.source.setCurrentText(server.url("w/birds.safetensors"))
        dialog.sha256.setText("0" * 64)
        dialog.start_download()
        wait_for_jobs(qtbot, dialog)
        assert "checksum mismatch" in recorded_dialogs.errors[0]
        assert dialog.names() == ["starter", MODEL]

        progress = []
        dialog.sha256.setText(digest)
        handle = dialog.start_download()
        handle.progress.connect(lambda fraction, message: progress.append(fraction))
        assert not dialog.download_button.isEnabled() and dialog.cancel_button.isEnabled()
        wait_for_jobs(qtbot, dialog)
        assert dialog.names() == ["starter", "birds", MODEL] and progress
        assert dialog.progress.value() == 1000 and dialog.download_button.isEnabled()
        assert store.get("birds").card.source["url"] == server.url("w/birds.safetensors")
        assert store.get("birds").card.sha256 in dialog.status.text()

        dialog.source.setCurrentText(server.url("w/cut.safetensors"))
        dialog.sha256.clear()
        dialog.start_download()
        wait_for_jobs(qtbot, dialog)
        assert "truncated" in recorded_dialogs.errors[1]


def test_download_can_be_cancelled(qtbot, dialog, recorded_dialogs, weights_file):
    data = weights_file.read_bytes()
    with loopback_server({"slow.safetensors": Resource(data, chunk_delay=0.05)}) as server:
        dialog.source.setCurrentText(server.url("slow.safetensors"))
        handle = dialog.start_download()
        qtbot.waitUntil(lambda: handle.fraction > 0, timeout=10000)
        dialog.cancel_button.click()
        wait_for_jobs(qtbot, dialog)
    assert dialog.status.text().startswith("Download cancelled")
    assert recorded_dialogs.errors == [] and dialog.names() == ["starter", MODEL]


def test_catalogue_entries_show_their_checksum(dialog):
    names = [dialog.source.itemText(i) for i in range(dialog.source.count())]
    assert "legacy_seresnet18.in1k" in names and "seresnet50.a1_in1k" in names
    dialog.source.setCurrentIndex(names.index("legacy_seresnet18.in1k"))
    assert dialog.sha256.text() == "4bb0ce65" and "apache-2.0" in dialog.status.text()
    dialog.source.setCurrentText("https://example.org/weights.safetensors")  # typed: not the catalogue's hash
    assert dialog.sha256.text() == ""
    dialog.sha256.setText("abcd1234")
    dialog.source.setCurrentText("https://example.org/other.safetensors")
    assert dialog.sha256.text() == "abcd1234"  # what the user typed stays


def test_exports_and_explains_what_cannot_be_exported(qtbot, dialog, recorded_dialogs, tmp_path, store):
    from photolab.models.store.export import onnx_available

    dialog.export(MODEL, tmp_path / "tiny.safetensors")
    wait_for_jobs(qtbot, dialog)
    assert (tmp_path / "tiny.safetensors").read_bytes() == store.get(MODEL).weights_path.read_bytes()
    assert dialog.status.text() == f"Exported {MODEL} to {tmp_path / 'tiny.safetensors'}."
    dialog.export(MODEL, tmp_path / "tiny.zip")
    wait_for_jobs(qtbot, dialog)
    assert "cannot tell the export format" in recorded_dialogs.errors[0]
    if not onnx_available():
        dialog.export(MODEL, tmp_path / "tiny.onnx")
        wait_for_jobs(qtbot, dialog)
        assert "ONNX export needs the 'onnx' Python package" in recorded_dialogs.errors[1]


def test_device_choice(dialog, recorded_dialogs, settings):
    if torch.cuda.is_available():
        dialog.set_device("cuda")
        assert dialog._service.device() == "cuda" and settings.value("models/device") == "cuda"
        dialog.set_device("cpu")
    else:
        dialog.set_device("cuda")
        assert "CUDA is not available" in recorded_dialogs.errors[0]
    assert dialog._service.device() == "cpu" and dialog.device.currentText() == "cpu"
