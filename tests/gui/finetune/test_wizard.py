"""The fine-tuning wizard, driven page by page on a tiny generated folder and a temporary model store."""

from __future__ import annotations

import errno

import numpy as np
import torch
from PIL import Image
from PySide6.QtGui import QImage

from photolab.gui.finetune.training_curves import TrainingCurves
from photolab.gui.finetune.wizard import FinetuneWizard
from photolab.gui.jobs import JobRunner
from photolab.gui.models.card_view import card_html
from photolab.gui.models.service import ModelService
from photolab.models.store import manager as manager_module
from photolab.models.training.training import EpochMetrics
from tests.cli.test_train import make_folder, seed_store

from ..model_store import make_window

torch.set_num_threads(2)
TIMEOUT = 30_000


def open_wizard(qtbot, settings, tmp_path):
    manager = seed_store(tmp_path / "store")
    runner = JobRunner()
    service = ModelService(runner, settings, manager)
    wizard = FinetuneWizard(service, runner)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard, manager, service


def go_to_data_check(qtbot, wizard, folder):
    wizard.folder_page.path_edit.setText(str(folder))
    assert wizard.folder_page.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.data_page
    qtbot.waitUntil(lambda: wizard.data_page.handle is None and wizard.report is not None, timeout=TIMEOUT)


def test_train_from_folder_to_saved_model(qtbot, settings, tmp_path):
    folder = make_folder(tmp_path / "colours")
    (folder / "odd").mkdir()  # a class of 2 images: an error until it is excluded
    for index in range(2):
        Image.fromarray(np.full((48, 48, 3), 100 + index, np.uint8)).save(folder / "odd" / f"{index}.png")
    (folder / "red" / "readme.txt").write_text("not an image")
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 220, 128
    Image.fromarray(rgba).save(folder / "red" / "transparent.png")
    wizard, manager, service = open_wizard(qtbot, settings, tmp_path)
    go_to_data_check(qtbot, wizard, folder)
    page = wizard.data_page
    assert wizard.report.counts == {"blue": 6, "green": 6, "odd": 2, "red": 7}
    assert page.classes.topLevelItemCount() == 4
    problems = [page.issues.topLevelItem(i).text(0) for i in range(page.issues.topLevelItemCount())]
    actions = [page.issues.topLevelItem(i).text(1) for i in range(page.issues.topLevelItemCount())]
    assert any("too few images in odd (2)" in p for p in problems) and "ignored" in actions
    assert not page.isComplete()  # errors block the way on ...
    page.set_excluded({"odd"})
    assert page.isComplete()  # ... until the class is excluded
    wizard.next()
    assert wizard.base_page.base_name() == "base"
    assert wizard.base_page.strategy() == "auto"  # candidates judged by cross-validation
    assert "Recommended" in wizard.base_page.reason.text()
    wizard.base_page.radios["full"].setChecked(True)
    wizard.next()
    assert wizard.settings_page.image_size.value() == 48
    wizard.settings_page.epochs.setValue(2)
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(lambda: training.isComplete(), timeout=TIMEOUT)
    assert len(training.curves.epochs) == 2  # every epoch was drawn, relayed from the worker thread
    assert wizard.outcome.result.classes == ("blue", "green", "red")
    training.curves.grab()  # paints without error
    wizard.next()
    results = wizard.results_page
    assert "Validation accuracy" in results.summary.text()
    assert results.confusion.rowCount() == 3 and results.per_class.rowCount() == 3
    assert results.confusion.verticalHeaderItem(1).text() == "2  green"
    assert results.confusion.horizontalHeaderItem(1).text() == "2"
    assert results.confusion.horizontalHeaderItem(1).toolTip() == "green"
    assert "green photos classified as" in results.confusion.item(1, 0).toolTip()
    assert results.name_edit.text() == "colours-classifier"
    results.name_edit.setText("my colours")
    assert not results.save_button.isEnabled() and "not a valid model name" in results.save_status.text()
    results.name_edit.setText("my-colours")
    results.description.setPlainText("Red, green and blue squares")
    results.save_button.click()
    qtbot.waitUntil(lambda: wizard.saved_entry is not None, timeout=TIMEOUT)
    entry = manager.get("my-colours")
    assert entry.card.classes == ("blue", "green", "red")
    assert entry.card.training["description"] == "Red, green and blue squares"
    assert entry.card.training["data"]["excluded_classes"] == ["odd"]
    assert entry.card.training["recipe"]["strategy"] == "full"
    assert "<td>user-trained; see your data</td>" in card_html(entry)  # no licence claimed for the user's model
    assert "my-colours" in [e.name for e in service.entries()]  # the Classify panel's list refills from this
    assert "model list" in results.save_status.text()


def test_the_split_note_says_what_training_holds_out(qtbot, settings, tmp_path):
    folder = make_folder(tmp_path / "colours")  # 6 images a class: a quarter of 6 rounds to 2, a third
    wizard, _, _ = open_wizard(qtbot, settings, tmp_path)
    go_to_data_check(qtbot, wizard, folder)
    wizard.next()
    wizard.base_page.radios["last"].setChecked(True)
    wizard.next()
    page = wizard.settings_page
    assert page.split_note.text().startswith("6 of the 18 images (33%) are held out")
    page.val_auto.setChecked(False)
    page.val_ratio.setValue(0.45)
    assert page.split_note.text() == "9 of the 18 images (50%) are held out to measure accuracy."
    page.epochs.setValue(1)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.training_page.isComplete(), timeout=TIMEOUT)
    assert wizard.outcome.val_images == 9


def test_automatic_training_explains_its_cross_validation(qtbot, settings, tmp_path):
    folder = make_folder(tmp_path / "colours")
    wizard, _, _ = open_wizard(qtbot, settings, tmp_path)
    go_to_data_check(qtbot, wizard, folder)
    wizard.next()
    assert wizard.base_page.strategy() == "auto" and "cross-validation" in wizard.base_page.reason.text()
    wizard.next()
    page = wizard.settings_page
    assert "5-fold cross-validation" in page.split_note.text() and "all 18 images" in page.split_note.text()
    assert not page.epochs.isEnabled() and not page.val_auto.isEnabled() and page.image_size.isEnabled()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.training_page.isComplete(), timeout=2 * TIMEOUT)  # five folds, then all
    assert not wizard.training_page.curves.isVisible()
    assert "cross-validated accuracy over 5 folds" in wizard.training_page.status.text()
    wizard.next()
    summary = wizard.results_page.summary.text()
    assert "Cross-validated accuracy" in summary and "all 18 photos" in summary and "chosen" in summary
    assert sum(map(sum, wizard.outcome.result.metrics.confusion)) == 18


def test_messy_and_empty_folders_do_not_crash_and_block_training(qtbot, settings, tmp_path):
    wizard, _, _ = open_wizard(qtbot, settings, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    go_to_data_check(qtbot, wizard, empty)
    assert not wizard.data_page.isComplete()
    assert "no class sub-folders" in wizard.data_page.issues.topLevelItem(0).text(0)
    wizard.back()
    messy = tmp_path / "messy"
    (messy / "only").mkdir(parents=True)
    (messy / "only" / "a.jpg").write_bytes(b"garbage")
    (messy / "only" / "b.txt").write_text("text")
    (messy / "stray.png").write_bytes(b"")
    go_to_data_check(qtbot, wizard, messy)
    problems = " ".join(wizard.data_page.issues.topLevelItem(i).text(0)
                        for i in range(wizard.data_page.issues.topLevelItemCount()))
    assert "at least two class" in problems and "cannot be read" in problems
    assert not wizard.data_page.isComplete()


def test_cancel_keeps_nothing_before_the_first_epoch_and_save_on_a_full_disk_fails_cleanly(
        qtbot, settings, tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "colours")
    wizard, manager, _ = open_wizard(qtbot, settings, tmp_path)
    go_to_data_check(qtbot, wizard, folder)
    wizard.next()
    wizard.base_page.radios["probe"].setChecked(True)
    wizard.next()
    wizard.settings_page.epochs.setValue(1)
    wizard.next()
    training = wizard.training_page
    training.cancel()  # before any epoch: nothing to keep
    qtbot.waitUntil(lambda: training.handle is None, timeout=TIMEOUT)
    assert "nothing was saved" in training.status.text() and not training.isComplete()
    training.again_button.click()
    qtbot.waitUntil(lambda: training.isComplete(), timeout=TIMEOUT)
    wizard.next()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(manager_module, "save_file", no_space)
    before = sorted(p.name for p in (tmp_path / "store" / "models").iterdir())
    wizard.results_page.save_button.click()
    qtbot.waitUntil(lambda: wizard.results_page.save_button.isEnabled(), timeout=TIMEOUT)
    assert "the disk is full" in wizard.results_page.save_status.text()
    assert sorted(p.name for p in (tmp_path / "store" / "models").iterdir()) == before
    assert wizard.saved_entry is None


def test_curves_draw_train_and_validation(qtbot):
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(600, 220)
    curves.reset(3)
    blank = curves.grab().toImage()
    for epoch, (loss, acc) in enumerate([(1.2, 0.4), (0.8, 0.6), (0.5, 0.9)], start=1):
        curves.add_epoch(EpochMetrics(epoch, loss, acc, loss + 0.1, acc - 0.1, 1e-3, 0.1, False))
    drawn = curves.grab().toImage()
    assert curves.best_epoch() == 3
    assert drawn.convertToFormat(QImage.Format.Format_RGB32) != blank.convertToFormat(QImage.Format.Format_RGB32)


def test_models_menu_gets_train_classifier(qtbot, settings, recorded_dialogs, tmp_path):
    window = make_window(qtbot, settings, seed_store(tmp_path / "store"))
    action = window.action("train")  # the window installs it itself
    assert action in window.menu("models").actions()
    action.trigger()
    wizard = window.findChild(FinetuneWizard)  # the window's child, deleted when it closes
    assert wizard.isVisible() and wizard.base_page.base_name() == "base"
    wizard.reject()


def test_a_builtin_backbone_is_the_suggested_base_and_not_a_classify_choice(qtbot, settings, tmp_path):
    from photolab.gui.models.service import ModelSelector
    from photolab.models.store.manager import ModelManager
    from tests.models.store_utils import tiny_model

    staging = ModelManager(data_dir=tmp_path / "staging", builtin_dir=tmp_path / "none")
    staging.save_model(tiny_model(seed=5), "features", ("region 0", "region 1", "region 2"))
    card = tmp_path / "staging" / "models" / "features.json"
    card.write_text(card.read_text().replace('"role": "classifier"', '"role": "backbone"'))
    (tmp_path / "store").mkdir()
    (tmp_path / "staging" / "models").rename(tmp_path / "store" / "no-builtins")
    wizard, manager, service = open_wizard(qtbot, settings, tmp_path)
    assert [e.name for e in service.entries()] == ["features", "base"]
    assert service.current_name() == "base" and [e.name for e in service.classifiers()] == ["base"]
    selector = ModelSelector(service)
    qtbot.addWidget(selector)
    assert [selector.itemData(i) for i in range(selector.count())] == ["base"]
    page = wizard.base_page
    assert page.base_name() == "features" and "backbone, recommended" in page.models.currentText()
