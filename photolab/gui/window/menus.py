"""The main window's menus and its own actions (with their standard shortcuts), including Open Recent.

``WindowCommands`` is the one way a feature adds a command to the window: menus by id ("file", "edit",
"photo", "view", "models", "help", and "recent" for Open Recent), actions by name. A feature builds its
``QAction`` and calls ``window.add_action(menu_id, name, action, after=... / before=...)``; code and tests find
it again with ``window.action(name)``. The window's own actions are added here the same way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from photolab import __version__
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.actions import Key, key_sequences, new_action
from photolab.gui.window.recent_files import recent_labels

MENUS = (("file", "&File"), ("edit", "&Edit"), ("photo", "&Photo"), ("view", "&View"), ("models", "&Models"),
         ("help", "&Help"))


class WindowCommands:
    """The window's menus by id and its actions by name (module docstring)."""

    def __init__(self, window) -> None:
        self._window = window
        self._menus: dict[str, QMenu] = {}
        self._actions: dict[str, QAction] = {}
        for menu_id, title in MENUS:
            self._menus[menu_id] = window.menuBar().addMenu(title)

    def menu(self, menu_id: str) -> QMenu:
        """The menu registered as ``menu_id``."""
        if menu_id not in self._menus:
            raise KeyError(f"the window has no menu {menu_id!r} (it has {', '.join(self._menus)})")
        return self._menus[menu_id]

    def action(self, name: str) -> QAction:
        """The action registered as ``name``."""
        if name not in self._actions:
            raise KeyError(f"the window has no action {name!r}")
        return self._actions[name]

    def add_action(self, menu_id: str, name: str, action: QAction, *, after: str | None = None,
                   before: str | None = None) -> QAction:
        """Put ``action`` in the menu ``menu_id`` (at the end, or just after / before the action registered as
        ``after`` / ``before``) and register it as ``name``."""
        if name in self._actions:
            raise ValueError(f"an action named {name!r} is already registered")
        menu = self.menu(menu_id)
        actions = menu.actions()
        if before is not None:
            menu.insertAction(self.action(before), action)
        elif after is not None and actions.index(self.action(after)) + 1 < len(actions):
            menu.insertAction(actions[actions.index(self.action(after)) + 1], action)
        else:
            menu.addAction(action)
        self._actions[name] = action
        return action

    def add_submenu(self, menu_id: str, name: str, submenu: QMenu) -> QMenu:
        """Put ``submenu`` at the end of the menu ``menu_id``; it is registered as menu ``name`` and its entry as
        action ``name``."""
        self._menus[name] = submenu
        self.add_action(menu_id, name, submenu.menuAction())
        return submenu


def separator(window) -> QAction:
    """A separator line, as an action that can be registered (and so placed before or after)."""
    action = QAction(window)
    action.setSeparator(True)
    return action


def install_window_actions(window) -> None:
    """The window's own commands, menu by menu: File, Edit, Photo, View, Models and Help."""
    viewer, develop, add = window.viewer, window.develop, window.add_action
    add("file", "open", new_action(window, "&Open…", window.choose_and_open, [Key.Open], tip="Open a photo"))
    recent = QMenu("Open &Recent", window)
    recent.setToolTipsVisible(True)  # each entry's full path
    recent.aboutToShow.connect(lambda: fill_recent_menu(window))
    window.commands.add_submenu("file", "recent", recent)
    add("file", "export_section", separator(window))  # Export… and Export with Previous Settings go below it
    add("file", "quit_section", separator(window))
    add("file", "quit", new_action(window, "&Quit", window.close, [Key.Quit]))
    undo = add("edit", "undo", window.undo_stack.createUndoAction(window, "&Undo"))
    undo.setShortcuts(key_sequences(Key.Undo))
    redo = add("edit", "redo", window.undo_stack.createRedoAction(window, "&Redo"))
    redo.setShortcuts(key_sequences(Key.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
    window.menu("edit").addSeparator()
    add("edit", "reset", new_action(window, "Reset &All Edits", window.reset_all_edits, ["Ctrl+Shift+R"]))
    crop = add("photo", "crop", new_action(window, "&Crop Tool", window.tools.set_crop_tool, ["R"], checkable=True,
                                           tip="Drag the crop rectangle on the photo"))
    develop.crop.tool_button.toggled.connect(crop.setChecked)
    crop.toggled.connect(develop.crop.tool_button.setChecked)
    add("photo", "rotate_left", new_action(window, "Rotate &Left", lambda: develop.crop.rotate(clockwise=False),
                                           ["Ctrl+["]))
    add("photo", "rotate_right", new_action(window, "Rotate &Right", lambda: develop.crop.rotate(clockwise=True),
                                            ["Ctrl+]"]))
    pick = add("photo", "pick", new_action(window, "&White Balance Picker", develop.eyedropper.setChecked, ["W"],
                                           checkable=True))
    develop.eyedropper.toggled.connect(pick.setChecked)
    add("view", "fit", new_action(window, "Zoom to &Fit", viewer.zoom_to_fit, ["Ctrl+0"]))
    add("view", "actual", new_action(window, "&100 %", lambda: viewer.zoom_to_actual(), ["Ctrl+1", "Ctrl+Alt+0"]))
    add("view", "zoom_in", new_action(window, "Zoom &In", viewer.zoom_in, [Key.ZoomIn, "Ctrl+="]))
    add("view", "zoom_out", new_action(window, "Zoom &Out", viewer.zoom_out, [Key.ZoomOut]))
    add("view", "toggle_zoom", new_action(window, "&Toggle Fit / 100 %", lambda: viewer.toggle_zoom(), ["Z"]))
    window.menu("view").addSeparator()
    add("view", "before", new_action(window, "&Before / After", window.tools.set_before, ["\\"], checkable=True,
                                     tip="Show the photo without edits"))
    add("view", "clipping", new_action(window, "&Clipping Warnings", viewer.set_show_clipping, ["J"], checkable=True,
                                       tip="Clipped highlights in red, crushed shadows in blue"))
    window.menu("view").addSeparator()
    add("view", "show_develop", window.side_dock.toggleViewAction())
    add("models", "attention", new_action(window, "&Attention View", window.show_attention_view, ["Ctrl+Shift+A"],
                                          tip="What every SE block of the model responds to in this photo"))
    add("models", "model_manager", new_action(window, "Model &Manager…", window.show_model_manager,
                                              tip="Import, download, export and remove classifiers"))
    window.menu("models").addSeparator()
    add("models", "show_classify", window.classify_dock.toggleViewAction())
    add("help", "about", new_action(window, "&About PhotoLab", lambda: dialogs.show_info(
        window, "About PhotoLab", f"PhotoLab {__version__}\nA desktop photo lab.")))


def fill_recent_menu(window) -> None:
    """Rebuild Open Recent (as it opens): entries whose file vanished are dropped, with a status message."""
    menu, recent = window.menu("recent"), window.recent
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
