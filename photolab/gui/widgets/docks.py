"""Dock panels of the main window, built one way."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget


def add_dock(window: QMainWindow, title: str, object_name: str, widget: QWidget, area: Qt.DockWidgetArea, *,
             floatable: bool = False, orientation: Qt.Orientation | None = None, hidden: bool = False) -> QDockWidget:
    """A movable, closable (and, if ``floatable``, floatable) dock titled ``title`` holding ``widget``, added to
    ``window`` at ``area`` (split along ``orientation`` if given) and hidden if ``hidden``. ``object_name``
    keys the dock in the saved window state."""
    dock = QDockWidget(title, window)
    dock.setObjectName(object_name)
    dock.setWidget(widget)
    features = QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
    if floatable:
        features |= QDockWidget.DockWidgetFeature.DockWidgetFloatable
    dock.setFeatures(features)
    if orientation is None:
        window.addDockWidget(area, dock)
    else:
        window.addDockWidget(area, dock, orientation)
    if hidden:
        dock.hide()
    return dock
