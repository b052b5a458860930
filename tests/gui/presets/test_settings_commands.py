"""Edit ▸ Copy / Paste Settings and Edit ▸ Presets: chosen operations, one undo step each."""

from __future__ import annotations

import pytest

from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams
from photolab.core.presets import list_presets, load_preset
from photolab.core.recipe import Recipe
from photolab.gui.presets.dialog import GROUPS, ChooseOperationsDialog
from photolab.core.recipe import GEOMETRY_OPERATIONS

from ..conftest import open_and_wait, wait_until_shown

EDITED = (Recipe().with_params("exposure", ExposureParams(ev=0.6)).with_params("contrast", ContrastParams(amount=0.3))
          .with_params("crop", CropParams(left=0.2)))


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_groups_cover_every_operation_once():
    names = [name for _, group in GROUPS for name in group]
    assert sorted(names) == sorted(OPERATIONS_BY_NAME) and set(GROUPS[0][1]) == GEOMETRY_OPERATIONS


def test_the_dialog_offers_the_edited_operations_geometry_unchecked(qtbot):
    dialog = ChooseOperationsDialog(EDITED, "Copy Settings")
    qtbot.addWidget(dialog)
    assert list(dialog.checkboxes) == ["crop", "exposure", "contrast"]
    assert dialog.chosen() == ["exposure", "contrast"]
    dialog.select_all(False)
    assert dialog.chosen() == [] and not dialog.buttons.buttons()[0].isEnabled()
    dialog.select_all(True)
    assert dialog.settings().operations == ("crop", "exposure", "contrast")


def test_copy_then_paste_is_one_undo_step(qtbot, window, png_photo, monkeypatch):
    open_and_wait(qtbot, window, png_photo)
    assert not window.action("paste_settings").isEnabled()
    window.apply_edit(EDITED, "edit")

    def choose(dialog):
        dialog.checkboxes["contrast"].setChecked(False)  # exposure only (crop is unchecked already)
        return True

    monkeypatch.setattr(window, "exec_dialog", choose)
    window.action("copy_settings").trigger()
    assert window.action("paste_settings").isEnabled()
    other = Recipe().with_params("contrast", ContrastParams(amount=-0.5)).with_params("crop", CropParams(top=0.1))
    window.apply_edit(other, "other")
    steps = window.undo_stack.count()
    window.action("paste_settings").trigger()
    assert window.undo_stack.count() == steps + 1
    assert window.document.recipe == other.with_params("exposure", ExposureParams(ev=0.6))
    wait_until_shown(qtbot, window)
    window.undo_stack.undo()
    assert window.document.recipe == other


def test_save_preset_from_the_menu_then_apply_it_as_one_step(qtbot, window, png_photo, monkeypatch, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    window.apply_edit(EDITED, "edit")

    def name_it(dialog):
        dialog.name.setText("Punchy")
        dialog.checkboxes["crop"].setChecked(True)
        return True

    monkeypatch.setattr(window, "exec_dialog", name_it)
    menu = window.menu("presets")
    menu.aboutToShow.emit()
    next(a for a in menu.actions() if a.text() == "&Save Preset…").trigger()
    assert list_presets() == ["Punchy"]
    assert load_preset("Punchy").settings.operations == ("crop", "exposure", "contrast")
    window.apply_edit(Recipe(), "reset")
    menu.aboutToShow.emit()
    entry = next(a for a in menu.actions() if a.data() == "Punchy")
    steps = window.undo_stack.count()
    entry.trigger()
    assert window.undo_stack.count() == steps + 1 and window.document.recipe == EDITED
    assert window.undo_stack.undoText() == "Apply preset Punchy"
    # saving again under the same name asks first; "no" keeps the old preset
    monkeypatch.setattr(window, "exec_dialog", lambda dialog: dialog.name.setText("Punchy") or
                        dialog.checkboxes["crop"].setChecked(False) or True)
    window.presets.save_preset()
    assert recorded_dialogs.questions and load_preset("Punchy").settings.operations[0] == "crop"


def test_a_damaged_preset_is_reported_and_changes_nothing(qtbot, window, png_photo, data_dir, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    (data_dir / "presets").mkdir(parents=True)
    (data_dir / "presets" / "Bad.json").write_text("{")
    steps = window.undo_stack.count()
    window.presets.apply_preset("Bad")
    assert window.undo_stack.count() == steps
    assert len(recorded_dialogs.errors) == 1 and "Bad.json: invalid JSON" in recorded_dialogs.errors[0]


def test_manage_presets_deletes_after_asking(qtbot, data_dir, recorded_dialogs):
    from photolab.core.presets import save_preset
    from photolab.core.recipe import copy_settings
    from photolab.gui.presets.commands import ManagePresetsDialog

    save_preset("One", copy_settings(EDITED))
    save_preset("Two", copy_settings(EDITED))
    dialog = ManagePresetsDialog()
    qtbot.addWidget(dialog)
    dialog.list.setCurrentRow(0)
    dialog.delete_selected()  # answered no
    assert list_presets() == ["One", "Two"]
    recorded_dialogs.answers = [True]
    dialog.delete_selected()
    assert list_presets() == ["Two"] and dialog.list.count() == 1
