"""The zoom levels: Fit, Fill, 50 %, 100 % and 200 %, in the View menu and in the zoom menu that the status
bar's zoom button opens (the navigator shows the same actions as buttons)."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu, QToolButton

from photolab.gui.widgets.actions import new_action

ZOOM_LEVELS = ("fit", "fill", "zoom_50", "actual", "zoom_200")  # the zoom menu's actions, by name
ZOOM_ACTIONS = (*ZOOM_LEVELS, "zoom_in", "zoom_out", "toggle_zoom")  # every zoom action (enabled with a photo)


def install_zoom_menu(window) -> QMenu:
    """Add Fill, 50 % and 200 % beside the window's Fit and 100 %, and the zoom menu on its status bar."""
    viewer, add = window.viewer, window.add_action
    add("view", "fill", new_action(window, "Zoom to Fi&ll", viewer.zoom_to_fill, ["Ctrl+Shift+0"],
                                   tip="Fill the viewer with the photo"), after="fit")
    add("view", "zoom_50", new_action(window, "&50 %", lambda: viewer.set_zoom(0.5), ["Ctrl+5"]), before="actual")
    add("view", "zoom_200", new_action(window, "&200 %", lambda: viewer.set_zoom(2.0), ["Ctrl+2"]), after="actual")
    menu = QMenu("&Zoom", window)
    for name, short in zip(ZOOM_LEVELS, ("Fit", "Fill", "50%", "100%", "200%")):
        window.action(name).setIconText(short)  # what a button showing the action says (the navigator's)
        menu.addAction(window.action(name))
    button: QToolButton = window.zoom_label
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setAutoRaise(True)
    button.setToolTip("Zoom: fit, fill, 50 %, 100 %, 200 %")
    return menu
