"""Models ▸ Learn a Look…, walked page by page on tiny pairs and a temporary looks folder; the Develop panel's
Look section."""

from __future__ import annotations

import json

import torch

from photolab.core.develop.look import LookParams
from photolab.core.recipe import Recipe
from photolab.gui.develop.look_controls import LookControls
from photolab.gui.jobs import JobRunner
from photolab.gui.look.wizard import LookWizard
from utils.look_pairs import make_pairs, photo, warm_look, write_rgb
from utils.wizards import check_folder

torch.set_num_threads(2)
TIMEOUT = 300_000  # generous: a busy shared machine runs the learning jobs slowly
FAST = dict(side=64, width=8, batch=2, folds=2, max_steps=4)


def open_wizard(qtbot, tmp_path):
    wizard = LookWizard(JobRunner(), looks_dir=tmp_path / "looks", **FAST)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def test_walk_from_pairs_to_a_saved_look(qtbot, tmp_path):
    folder = make_pairs(tmp_path / "pairs", 4)
    write_rgb(folder / "after" / "p3.png", warm_look(photo(5)))  # another scene: refused
    write_rgb(folder / "before" / "p4.png", photo(4))
    write_rgb(folder / "after" / "p4.png", warm_look(photo(4)))
    write_rgb(folder / "after" / "lonely.png", photo(1))
    wizard = open_wizard(qtbot, tmp_path)
    check_folder(qtbot, wizard, folder, TIMEOUT)
    page = wizard.check_page
    assert page.isComplete()
    found = page.found.text()
    assert "<b>Usable pairs:</b> 4" in found and "Refused p3" in found and "Unpaired lonely.png" in found
    page.minutes.setValue(60)  # max_steps ends each run first
    wizard.next()
    learning = wizard.learn_page
    qtbot.waitUntil(lambda: learning.isComplete(), timeout=TIMEOUT)
    assert wizard.outcome is not None and wizard.outcome.held_out["grid"] is False  # a global look: its LUT alone
    assert len(learning.plot.losses) == 4  # the last cross-validation run's steps, relayed from the worker thread
    assert "cross-validation" in learning.status.text() and "global colour transform" in learning.status.text()
    wizard.next()
    compare = wizard.compare_page
    assert len(compare.views) == 4 and all(len(row) == 3 for row in compare.views)
    assert all(not view.pixmap().isNull() for row in compare.views for view in row)
    assert "PSNR" in compare.score.text()
    compare.name_edit.setText("bad name")
    assert not compare.save_button.isEnabled()
    compare.name_edit.setText("warm")
    with qtbot.waitSignal(wizard.look_saved, timeout=TIMEOUT) as saved:
        compare.save_button.click()
    assert saved.args == ["warm"]
    card = json.loads((tmp_path / "looks" / "warm.json").read_text())
    assert card["learning"]["pairs"] == 4 and "--look warm" in compare.status.text()


def test_too_few_pairs_are_explained_and_block_the_way(qtbot, tmp_path):
    wizard = open_wizard(qtbot, tmp_path)
    check_folder(qtbot, wizard, make_pairs(tmp_path / "few", 3), TIMEOUT)
    assert not wizard.check_page.isComplete()
    assert "at least 4 are needed" in wizard.check_page.found.text()


def test_cancel_stops_learning_and_saves_nothing(qtbot, tmp_path):
    wizard = LookWizard(JobRunner(), looks_dir=tmp_path / "looks", side=64, width=8, folds=2)
    qtbot.addWidget(wizard)
    wizard.show()
    check_folder(qtbot, wizard, make_pairs(tmp_path / "pairs", 4), TIMEOUT)
    wizard.check_page.minutes.setValue(10)
    wizard.next()
    learning = wizard.learn_page
    qtbot.waitUntil(lambda: "step" in learning.status.text(), timeout=TIMEOUT)
    learning.cancel_button.click()
    qtbot.waitUntil(lambda: learning.handle is None, timeout=TIMEOUT)
    assert "nothing was saved" in learning.status.text() and wizard.outcome is None
    assert not (tmp_path / "looks").exists()


def test_the_develop_panel_lists_looks_and_edits_the_look_step(qtbot):
    controls = LookControls()
    qtbot.addWidget(controls)
    controls.set_looks(["warm", "cold"])
    assert [controls.look.itemText(i) for i in range(controls.look.count())] == ["None", "warm", "cold"]
    assert not controls.strength.isEnabled()
    with qtbot.waitSignal(controls.edit_requested) as edit:
        controls.look.activated.emit(1)
    recipe = edit.args[0]
    assert recipe.get("look") == LookParams("warm", 100.0)
    controls.set_recipe(recipe.with_params("look", LookParams("gone", 40.0)))
    assert controls.look.currentText() == "gone (not installed)" and controls.strength.value() == 40.0
    controls.set_recipe(Recipe())
    assert controls.look.currentText() == "None"
