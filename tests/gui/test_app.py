"""The entry point: icon, application names, error dialog for unexpected exceptions, opening a path."""

import sys

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from photolab.gui import app


def test_icon_is_found(qapp):
    icon = app.app_icon()
    assert not icon.isNull()
    assert not icon.pixmap(64, 64).isNull()


def test_unexpected_exception_becomes_an_error_dialog(qtbot, recorded_dialogs, capsys):
    reporter = app.ErrorReporter()
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        reporter(*sys.exc_info())
    assert len(recorded_dialogs.errors) == 1
    assert "ZeroDivisionError: division by zero" in recorded_dialogs.errors[0]
    assert "Traceback" in capsys.readouterr().err


def test_main_opens_the_window_with_a_photo(qtbot, png_photo, monkeypatch, tmp_path, recorded_dialogs):
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    windows = []
    real_launch = app.launch

    def launch_and_keep(paths):
        window = real_launch(paths)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    monkeypatch.setattr(app, "launch", launch_and_keep)
    monkeypatch.setattr(QApplication, "exec", staticmethod(lambda: 0))
    hooks = (sys.excepthook, __import__("threading").excepthook)
    try:
        assert app.main([str(png_photo)]) == 0
        assert isinstance(sys.excepthook, app.ErrorReporter)
    finally:
        sys.excepthook, __import__("threading").excepthook = hooks
    assert QCoreApplication.organizationName() == "PhotoLab" and QCoreApplication.applicationName() == "PhotoLab"
    window = windows[0]
    qtbot.waitUntil(lambda: window.document is not None and window.document.is_fully_loaded, timeout=10000)
    assert window.document.path == png_photo and not QApplication.windowIcon().isNull()
    window.close()


@pytest.mark.parametrize("flag, text", [("--version", "PhotoLab "), ("--help", "usage: photolab")])
def test_version_and_help(flag, text, capsys):
    assert app.main([flag]) == 0
    assert text in capsys.readouterr().out
