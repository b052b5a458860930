"""File > Merge to HDR… and Merge Burst…: pick the frames and the output, merge in the background, open the result.

The dialog only collects a ``MergeRequest``; the merge itself is the same core function the CLI runs
(``merge_hdr_files`` / ``merge_burst_files``), as a Job on the window's runner, with progress and cancel in
the status bar. ``install_merge_action(window)`` adds the two commands to an existing window's File menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from photolab.core import io
from photolab.core.burst import merge_burst_files
from photolab.core.hdr import METHODS, HdrOptions, MissingExposureError, merge_hdr_files
from photolab.core.tonemap import TONEMAPS
from photolab.gui import dialogs
from photolab.jobs import Job

HDR, BURST = "hdr", "burst"
OUTPUT_FILTER = "Tone-mapped image (*.tif *.png *.jpg);;Radiance HDR (*.hdr);;OpenEXR (*.exr)"


@dataclass(frozen=True)
class MergeRequest:
    """Everything a merge needs: which frames, where to, and how."""

    mode: str  # HDR or BURST
    paths: tuple[str, ...]
    target: Path
    times: tuple[float, ...] | None = None
    options: HdrOptions = HdrOptions()
    tonemap: str = "local"
    reference: int | str = "auto"


def parse_times(text: str) -> tuple[float, ...] | None:
    """'1/250 1/60 0.25' -> seconds; empty -> None (use the files' metadata). Raises ValueError."""
    words = text.replace(",", " ").split()
    if not words:
        return None
    times = []
    for word in words:
        numerator, _, denominator = word.partition("/")
        value = float(numerator) / float(denominator or 1)
        if not value > 0:
            raise ValueError(f"{word}: exposure times must be positive")
        times.append(value)
    return tuple(times)


class MergeDialog(QDialog):
    """Frames, output file and merge settings for one HDR or burst merge."""

    def __init__(self, mode: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.setWindowTitle("Merge to HDR" if mode == HDR else "Merge Burst")
        self.files = QListWidget()
        add, remove = QPushButton("Add…"), QPushButton("Remove")
        add.clicked.connect(self.choose_files)
        remove.clicked.connect(lambda: [self.files.takeItem(self.files.row(i)) for i in self.files.selectedItems()])
        self.output = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_output)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output)
        output_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Output:", output_row)
        self.method, self.align, self.deghost, self.times = QComboBox(), QCheckBox("Align handheld frames"), \
            QCheckBox("Remove ghosts (moving things)"), QLineEdit()
        self.method.addItems(METHODS)
        self.align.setChecked(True)
        self.deghost.setChecked(True)
        self.times.setPlaceholderText("from the files, or e.g. 1/250 1/60 1/15")
        self.tonemap = QComboBox()
        self.tonemap.addItems(TONEMAPS)
        self.reference = QSpinBox()
        self.reference.setRange(-1, 99)
        self.reference.setSpecialValueText("auto (sharpest of the first three)")
        self.reference.setValue(-1)
        if mode == HDR:
            form.addRow("Method:", self.method)
            form.addRow("Exposure times (s):", self.times)
            form.addRow(self.align)
            form.addRow(self.deghost)
        else:
            self.tonemap.setCurrentText("none")
            form.addRow("Reference frame:", self.reference)
        form.addRow("Tone mapping:", self.tonemap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Merge")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        file_buttons = QHBoxLayout()
        file_buttons.addWidget(add)
        file_buttons.addWidget(remove)
        file_buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.files)
        layout.addLayout(file_buttons)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def set_paths(self, paths) -> None:
        """Replace the frame list (and suggest an output beside the first frame)."""
        self.files.clear()
        self.files.addItems([str(p) for p in paths])
        if paths and not self.output.text():
            first = Path(paths[0])
            self.output.setText(str(first.with_name(f"{first.stem}_{self.mode}.tif")))

    def paths(self) -> tuple[str, ...]:
        return tuple(self.files.item(i).text() for i in range(self.files.count()))

    def choose_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(io.SUPPORTED_EXTENSIONS))
        chosen, _ = QFileDialog.getOpenFileNames(self, "Frames to merge", "", f"Photos ({patterns})")
        if chosen:
            self.set_paths(list(self.paths()) + chosen)

    def choose_output(self) -> None:
        chosen = dialogs.get_save_path(self, "Save the merged photo", self.output.text(), OUTPUT_FILTER)
        if chosen:
            self.output.setText(chosen)

    def request(self) -> MergeRequest:
        """The merge asked for; raises ValueError with a message for a person when something is missing."""
        paths = self.paths()
        if len(paths) < 2:
            raise ValueError("Add at least two frames to merge.")
        if not self.output.text().strip():
            raise ValueError("Choose an output file.")
        times = parse_times(self.times.text()) if self.mode == HDR else None
        if times is not None and len(times) != len(paths):
            raise ValueError(f"Give one exposure time per frame ({len(paths)}), or none to use the files'.")
        options = HdrOptions(method=self.method.currentText(), align=self.align.isChecked(),
                             deghost=self.deghost.isChecked())
        reference = "auto" if self.reference.value() < 0 else self.reference.value()
        return MergeRequest(self.mode, paths, Path(self.output.text().strip()), times, options,
                            self.tonemap.currentText(), reference)

    def accept(self) -> None:
        try:
            self.request()
        except ValueError as exc:
            dialogs.show_warning(self, self.windowTitle(), str(exc))
            return
        super().accept()


def merge_job(request: MergeRequest) -> Job:
    """The background job for ``request`` (its result is the path written)."""
    if request.mode == HDR:
        return Job(lambda context: merge_hdr_files(request.paths, request.target, times=request.times,
                                                   options=request.options, tonemap_name=request.tonemap,
                                                   context=context),
                   title=f"Merging {len(request.paths)} brackets to HDR")
    return Job(lambda context: merge_burst_files(request.paths, request.target, reference=request.reference,
                                                 tonemap_name=request.tonemap, context=context),
               title=f"Merging a burst of {len(request.paths)} frames")


def start_merge(window, request: MergeRequest):
    """Run the merge on the window's job runner; when it ends, open the result (or show why it failed)."""
    handle = window.runner.submit(merge_job(request))
    window._merge_handles = getattr(window, "_merge_handles", [])
    window._merge_handles.append(handle)
    handle.ended.connect(lambda h: window._merge_handles.remove(h) if h in window._merge_handles else None)
    handle.finished.connect(lambda path: window.open_path(path))

    def failed(message: str) -> None:
        if isinstance(handle.job.error, MissingExposureError):
            message += " (enter them in the Exposure times field)"
        dialogs.show_error(window, "Merge failed", message)

    handle.failed.connect(failed)
    handle.cancelled.connect(lambda: window.statusBar().showMessage("Merge cancelled", 5000))
    return handle


def open_merge_dialog(window, mode: str) -> None:
    """Show the merge dialog for ``mode`` and start the merge when accepted."""
    dialog = MergeDialog(mode, window)
    if window.exec_dialog(dialog):
        start_merge(window, dialog.request())


def _file_menu(window):
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            return action.menu()
    return window.menuBar().addMenu("&File")


def install_merge_action(window) -> None:
    """Add "Merge to HDR…" and "Merge Burst…" to the window's File menu (after Open Recent)."""
    menu = _file_menu(window)
    window.merge_hdr_action = QAction("Merge to &HDR…", window)
    window.merge_hdr_action.setStatusTip("Merge exposure brackets into one high-dynamic-range photo")
    window.merge_hdr_action.triggered.connect(lambda: open_merge_dialog(window, HDR))
    window.merge_burst_action = QAction("Merge &Burst…", window)
    window.merge_burst_action.setStatusTip("Align and merge a burst of equal exposures into one less noisy photo")
    window.merge_burst_action.triggered.connect(lambda: open_merge_dialog(window, BURST))
    separators = [a for a in menu.actions() if a.isSeparator()]
    if separators:
        menu.insertActions(separators[0], [window.merge_hdr_action, window.merge_burst_action])
    else:
        menu.addActions([window.merge_hdr_action, window.merge_burst_action])
