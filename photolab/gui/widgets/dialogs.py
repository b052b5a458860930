"""Every message box and file chooser the GUI shows goes through these functions.

One place to read what the user is asked, and one place for tests to replace (monkeypatch the module
attribute, as callers use ``dialogs.show_error(...)``), so no test ever blocks on a modal dialog.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from photolab.core import io


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> None:
    """A modal error message; ``details`` (a traceback, say) goes behind the "Show Details" button."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()


def show_warning(parent: QWidget | None, title: str, message: str) -> None:
    """A modal warning the user should read (the photo still opened, say, but an edit file was ignored)."""
    QMessageBox.warning(parent, title, message)


def show_info(parent: QWidget | None, title: str, message: str) -> None:
    """A modal piece of information."""
    QMessageBox.information(parent, title, message)


def ask_yes_no(parent: QWidget | None, title: str, question: str, *, default_yes: bool = False) -> bool:
    """Ask a yes/no question; True for yes."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    default = QMessageBox.StandardButton.Yes if default_yes else QMessageBox.StandardButton.No
    return QMessageBox.question(parent, title, question, buttons, default) == QMessageBox.StandardButton.Yes


def open_file_filter() -> str:
    """'Photos (*.cr2 *.CR2 …);;All files (*)' from the extensions io can read."""
    patterns = " ".join(f"*{ext} *{ext.upper()}" for ext in sorted(io.SUPPORTED_EXTENSIONS))
    return f"Photos ({patterns});;All files (*)"


def get_open_path(parent: QWidget | None, title: str, folder: str, name_filter: str) -> str:
    """Ask for an existing file; '' when the user cancels."""
    path, _ = QFileDialog.getOpenFileName(parent, title, folder, name_filter)
    return path


def get_save_path(parent: QWidget | None, title: str, suggested: str, name_filter: str) -> str:
    """Ask for a file to write (the chooser asks before replacing); '' when the user cancels."""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, name_filter)
    return path


def get_folder_path(parent: QWidget | None, title: str, folder: str) -> str:
    """Ask for an existing folder; '' when the user cancels."""
    return QFileDialog.getExistingDirectory(parent, title, folder)
