"""Entry point of the ``photolab`` window: ``photolab`` opens the window, ``photolab PATH`` opens a photo and
``photolab FOLDER`` shows a folder's photos in the filmstrip."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QThread
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from photolab import __version__
from photolab.gui.widgets import dialogs

ORGANIZATION = "PhotoLab"
APPLICATION = "PhotoLab"
APP_ID = "org.photolab.PhotoLab"  # the desktop entry, AppStream id and installed icon name (packaging/)
ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"


def app_icon() -> QIcon:
    """The aperture icon from resources/icons, or the icon theme's (as installed by a package)."""
    icon = QIcon()
    for name in ("photolab.svg", "photolab-256.png"):
        if (ICON_DIR / name).is_file():
            icon.addFile(str(ICON_DIR / name))
    return icon if not icon.isNull() else QIcon.fromTheme(APP_ID)


def configure_application(app: QApplication) -> None:
    """Names for QSettings, the icon and the dark theme."""
    from photolab.gui.theme import apply_dark_theme

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    apply_dark_theme(app)


class ErrorReporter:
    """``sys.excepthook``: an unexpected error becomes an error dialog (with the traceback behind
    "Show Details") instead of ending the program. Errors on worker threads are printed."""

    def __init__(self, parent_widget=None) -> None:
        self.parent_widget = parent_widget
        self._showing = False

    def __call__(self, exc_type, exc_value, exc_traceback) -> None:
        details = "".join(traceback.format_exception(exc_type, exc_value, exc_traceback))
        sys.stderr.write(details)
        if issubclass(exc_type, KeyboardInterrupt):
            QCoreApplication.quit()
            return
        app = QApplication.instance()
        if app is None or self._showing or QThread.currentThread() is not app.thread():
            return
        self._showing = True
        try:
            dialogs.show_error(self.parent_widget, "Unexpected error",
                               f"Something went wrong: {exc_type.__name__}: {exc_value}\n\n"
                               "PhotoLab keeps running; your edits are saved as you make them.", details)
        finally:
            self._showing = False

    def install(self) -> None:
        sys.excepthook = self
        threading.excepthook = lambda args: self(args.exc_type, args.exc_value, args.exc_traceback)


def launch(paths: list[str]):
    """Show the main window and open the first of ``paths``, a photo or a folder (the QApplication must exist)."""
    from photolab.gui.window.main_window import MainWindow

    window = MainWindow()
    window.show()
    if paths and Path(paths[0]).is_dir():
        window.folder.open_folder(paths[0])
    elif paths:
        window.open_path(paths[0])
    return window


def main(argv: list[str] | None = None) -> int:
    """Run the window; ``argv`` are the command-line arguments after the program name."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(arg in ("-h", "--help") for arg in argv):
        print("usage: photolab [PHOTO | FOLDER]\n\nOpen PhotoLab, optionally with a photo, or a folder's photos in "
              "the filmstrip.")
        return 0
    if "--version" in argv:
        print(f"PhotoLab {__version__}")
        return 0
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "photolab", *argv])
        argv = app.arguments()[1:]  # Qt has taken its own options (-platform, -style, ...)
    configure_application(app)
    paths = [arg for arg in argv if not arg.startswith("-")]
    reporter = ErrorReporter()
    reporter.install()
    window = launch(paths)
    reporter.parent_widget = window
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
