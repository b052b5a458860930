"""The main window's actions (with their standard shortcuts) and menus, including Open Recent.

Like the code Qt Designer generates, these functions set the actions as attributes of the window
(``window.undo_action`` ...) and connect them to its methods.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from photolab import __version__
from photolab.gui.widgets import dialogs
from photolab.gui.window.recent_files import recent_labels

Key = QKeySequence.StandardKey


def key_sequences(*shortcuts) -> list[QKeySequence]:
    """The shortcuts as key sequences, each once (a standard key expands to the platform's bindings, which
    may be none): an action bound twice to one key makes Qt refuse that key as ambiguous."""
    sequences: list[QKeySequence] = []
    for shortcut in shortcuts:
        expanded = QKeySequence.keyBindings(shortcut) if isinstance(shortcut, Key) else [QKeySequence(shortcut)]
        sequences += [s for s in expanded if not s.isEmpty() and s not in sequences]
    return sequences


def _action(window, text: str, slot, shortcuts=(), *, checkable: bool = False, tip: str = "") -> QAction:
    action = QAction(text, window, checkable=checkable)
    action.setShortcuts(key_sequences(*shortcuts))
    action.setStatusTip(tip)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action


def create_actions(window) -> None:
    """Every menu command of the window, as ``window.<name>_action``."""
    viewer, develop = window.viewer, window.develop
    window.open_action = _action(window, "&Open…", window.choose_and_open, [Key.Open], tip="Open a photo")
    window.export_action = _action(window, "&Export…", window.choose_and_export, ["Ctrl+Shift+E"],
                                   tip="Export the developed photo")
    window.export_again_action = _action(window, "Export with &Previous Settings", window.export_with_previous,
                                         ["Ctrl+E"], tip="Export beside the original, as last time")
    window.quit_action = _action(window, "&Quit", window.close, [Key.Quit])
    window.undo_action = window.undo_stack.createUndoAction(window, "&Undo")
    window.undo_action.setShortcuts(key_sequences(Key.Undo))
    window.redo_action = window.undo_stack.createRedoAction(window, "&Redo")
    window.redo_action.setShortcuts(key_sequences(Key.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
    window.reset_action = _action(window, "Reset &All Edits", window.reset_all_edits, ["Ctrl+Shift+R"])
    window.rotate_left_action = _action(window, "Rotate &Left", lambda: develop.crop.rotate(clockwise=False),
                                        ["Ctrl+["])
    window.rotate_right_action = _action(window, "Rotate &Right", lambda: develop.crop.rotate(clockwise=True),
                                         ["Ctrl+]"])
    window.pick_action = _action(window, "&White Balance Picker", develop.eyedropper.setChecked, ["W"],
                                 checkable=True)
    develop.eyedropper.toggled.connect(window.pick_action.setChecked)
    window.crop_action = _action(window, "&Crop Tool", window.tools.set_crop_tool, ["R"], checkable=True,
                                 tip="Drag the crop rectangle on the photo")
    develop.crop.tool_button.toggled.connect(window.crop_action.setChecked)
    window.crop_action.toggled.connect(develop.crop.tool_button.setChecked)
    window.fit_action = _action(window, "Zoom to &Fit", viewer.zoom_to_fit, ["Ctrl+0"])
    window.actual_action = _action(window, "&100 %", lambda: viewer.zoom_to_actual(), ["Ctrl+1", "Ctrl+Alt+0"])
    window.zoom_in_action = _action(window, "Zoom &In", viewer.zoom_in, [Key.ZoomIn, "Ctrl+="])
    window.zoom_out_action = _action(window, "Zoom &Out", viewer.zoom_out, [Key.ZoomOut])
    window.toggle_zoom_action = _action(window, "&Toggle Fit / 100 %", lambda: viewer.toggle_zoom(), ["Z"])
    window.before_action = _action(window, "&Before / After", window.tools.set_before, ["\\"], checkable=True,
                                   tip="Show the photo without edits")
    window.attention_action = _action(window, "&Attention View", window.show_attention_view, ["Ctrl+Shift+A"],
                                      tip="What every SE block of the model responds to in this photo")
    window.model_manager_action = _action(window, "Model &Manager…", window.show_model_manager,
                                          tip="Import, download, export and remove classifiers")
    window.about_action = _action(window, "&About PhotoLab", lambda: dialogs.show_info(
        window, "About PhotoLab", f"PhotoLab {__version__}\nA desktop photo lab."))


def create_menus(window) -> None:
    """File, Edit, Photo, View, Models and Help."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(window.open_action)
    window.recent_menu = QMenu("Open &Recent", window)
    window.recent_menu.setToolTipsVisible(True)  # each entry's full path
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    file_menu.addMenu(window.recent_menu)
    file_menu.addSeparator()
    file_menu.addActions([window.export_action, window.export_again_action])
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([window.undo_action, window.redo_action])
    edit_menu.addSeparator()
    edit_menu.addAction(window.reset_action)
    photo_menu = bar.addMenu("&Photo")
    photo_menu.addActions([window.crop_action, window.rotate_left_action, window.rotate_right_action,
                           window.pick_action])
    view_menu = window.view_menu = bar.addMenu("&View")
    view_menu.addActions([window.fit_action, window.actual_action, window.zoom_in_action, window.zoom_out_action,
                          window.toggle_zoom_action])
    view_menu.addSeparator()
    view_menu.addAction(window.before_action)
    view_menu.addSeparator()
    view_menu.addAction(window.side_dock.toggleViewAction())
    models_menu = bar.addMenu("&Models")
    models_menu.addActions([window.attention_action, window.model_manager_action])
    models_menu.addSeparator()
    models_menu.addAction(window.classify_dock.toggleViewAction())
    bar.addMenu("&Help").addAction(window.about_action)


def fill_recent_menu(window) -> None:
    """Rebuild Open Recent (as it opens): entries whose file vanished are dropped, with a status message."""
    menu, recent = window.recent_menu, window.recent
    menu.clear()
    missing = recent.prune_missing()
    if missing:
        names = ", ".join(Path(p).name for p in missing)
        window.statusBar().showMessage(f"Removed from Open Recent (no longer found): {names}", 8000)
    paths = recent.paths()
    for index, (path, label) in enumerate(zip(paths, recent_labels(paths))):
        action = menu.addAction(f"&{(index + 1) % 10}  {label.replace('&', '&&')}")
        action.setToolTip(path)
        action.setStatusTip(path)
        action.setData(path)
        action.triggered.connect(lambda checked=False, p=path: window.open_recent(p))
    if paths:
        menu.addSeparator()
        menu.addAction("Clear Menu", recent.clear)
    else:
        menu.addAction("No recent photos").setEnabled(False)
