"""Edit ▸ Copy Settings / Paste Settings and Edit ▸ Presets: selective copy and paste of a photo's develop
settings, and named presets (``photolab.core.presets``), each applied as one undoable step.

``SettingsCommands(window)`` adds the actions through the window's command API. Paste Settings and a preset
apply to the open photo, or, with several photos selected in the filmstrip, to all of them
(``photolab.gui.folder.commands.FolderCommands.apply_to_selection``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QListWidget, QMenu, QPushButton, QVBoxLayout,
                               QWidget)

from photolab.core.presets import PresetError, delete_preset, list_presets, load_preset, save_preset
from photolab.core.recipe import CopiedSettings
from photolab.gui.presets.dialog import ChooseOperationsDialog
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.actions import new_action


class SettingsCommands(QObject):
    """Copy / Paste Settings and the Presets menu of one window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.copied: CopiedSettings | None = None
        section = QAction(window)
        section.setSeparator(True)
        window.add_action("edit", "settings_section", section)
        window.add_action("edit", "copy_settings", new_action(
            window, "&Copy Settings…", self.copy_settings, ["Ctrl+Shift+C"],
            tip="Choose develop settings of this photo to paste onto another"))
        window.add_action("edit", "paste_settings", new_action(
            window, "&Paste Settings", self.paste_settings, ["Ctrl+Shift+V"],
            tip="Apply the copied settings to this photo"))
        menu = QMenu("Pre&sets", window)
        menu.aboutToShow.connect(self.fill_presets_menu)
        window.commands.add_submenu("edit", "presets", menu)
        self.fill_presets_menu()

    def update_enabled(self) -> None:
        has_photo = self.window.document is not None
        self.window.action("copy_settings").setEnabled(has_photo)
        self.window.action("paste_settings").setEnabled(has_photo and self.copied is not None)

    # --- copy and paste -------------------------------------------------------------------------------
    def copy_settings(self) -> None:
        """Ask which edited operations to copy (geometry unchecked at first) and keep them."""
        document = self.window.document
        if document is None:
            return
        dialog = ChooseOperationsDialog(document.recipe, "Copy Settings", self.window)
        if not dialog.checkboxes:
            dialogs.show_info(self.window, "Copy Settings", "This photo has no edits to copy.")
            return
        if self.window.exec_dialog(dialog):
            self.copied = dialog.settings()
            names = ", ".join(dialog.chosen())
            self.window.statusBar().showMessage(f"Copied settings: {names}", 5000)
        self.update_enabled()

    def paste_settings(self) -> None:
        """Apply the copied settings to the photo as one undoable step."""
        if self.copied is not None:
            self._apply(self.copied, "Paste settings")

    def _apply(self, settings: CopiedSettings, text: str) -> None:
        folder = getattr(self.window, "folder", None)  # several photos selected in the filmstrip: all of them
        if folder is not None and folder.apply_to_selection(settings, text):
            return
        document = self.window.document
        if document is not None:
            self.window.apply_edit(settings.paste_onto(document.recipe), text)

    # --- presets --------------------------------------------------------------------------------------
    def fill_presets_menu(self) -> None:
        """Rebuild Edit ▸ Presets (as it opens): Save Preset…, Manage Presets…, then one entry per preset."""
        menu = self.window.menu("presets")
        menu.clear()
        has_photo = self.window.document is not None
        menu.addAction("&Save Preset…", self.save_preset).setEnabled(has_photo)
        menu.addAction("&Manage Presets…", self.manage_presets)
        menu.addSeparator()
        try:
            names = list_presets()
        except PresetError as exc:
            menu.addAction(str(exc)).setEnabled(False)
            return
        for name in names:
            action = menu.addAction(name.replace("&", "&&"))
            action.setData(name)
            action.setEnabled(has_photo)
            action.triggered.connect(lambda checked=False, n=name: self.apply_preset(n))
        if not names:
            menu.addAction("No presets").setEnabled(False)

    def apply_preset(self, name: str) -> None:
        """Apply the preset ``name`` as one undoable step (a damaged one is reported)."""
        try:
            preset = load_preset(name)
        except PresetError as exc:
            dialogs.show_error(self.window, "Preset", str(exc))
            return
        self._apply(preset.settings, f"Apply preset {name}")

    def save_preset(self) -> None:
        """Ask for a name and the operations, then save them as a preset (asking before replacing one)."""
        window = self.window
        if window.document is None:
            return
        dialog = ChooseOperationsDialog(window.document.recipe, "Save Preset", window, ask_name=True)
        if not dialog.checkboxes:
            dialogs.show_info(window, "Save Preset", "This photo has no edits to save as a preset.")
            return
        if not window.exec_dialog(dialog):
            return
        name = dialog.preset_name()
        try:
            replace = name in list_presets()
            if replace and not dialogs.ask_yes_no(window, "Save Preset", f"A preset named “{name}” exists. Replace it?"):
                return
            save_preset(name, dialog.settings(), replace=replace)
        except PresetError as exc:
            dialogs.show_error(window, "Save Preset", str(exc))
            return
        window.statusBar().showMessage(f"Saved preset {name}", 5000)
        self.fill_presets_menu()

    def manage_presets(self) -> None:
        self.window.exec_dialog(ManagePresetsDialog(self.window))
        self.fill_presets_menu()


class ManagePresetsDialog(QDialog):
    """The saved presets, with Delete."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manage Presets")
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.delete_button = QPushButton("&Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(lambda row: self.delete_button.setEnabled(row >= 0))
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        try:
            self.list.addItems(list_presets())
        except PresetError as exc:
            dialogs.show_error(self, "Presets", str(exc))
        self.delete_button.setEnabled(self.list.currentRow() >= 0)

    def delete_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = item.text()
        if not dialogs.ask_yes_no(self, "Delete Preset", f"Delete the preset “{name}”?"):
            return
        try:
            delete_preset(name)
        except PresetError as exc:
            dialogs.show_error(self, "Delete Preset", str(exc))
        self.refresh()
