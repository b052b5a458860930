"""The Merge to HDR / Merge Burst dialog: pick the frames and the output, choose how to merge.

The dialog only collects a ``MergeRequest`` (asking before it replaces a file, and never naming an input frame
or the photo open in the viewer as the output); :mod:`photolab.gui.merge.commands` runs the merge and
:mod:`photolab.gui.merge.frames` reads what the frames' metadata say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from photolab.core import io
from photolab.core.exposure_times import (FrameInfo, exposures, format_seconds, frame_info, parse_times,
                                          sort_by_exposure)
from photolab.core.hdr import METHODS, HdrOptions
from photolab.core.raw_burst import is_raw_burst
from photolab.core.tonemap import TONEMAPS
from photolab.gui.export.dialog import same_file
from photolab.gui.jobs import JobRunner
from photolab.gui.merge.frames import THUMBNAIL_SIDE, frame_label, read_thumbnail
from photolab.gui.viewer.rendering import to_qimage
from photolab.gui.widgets import dialogs
from photolab.jobs import Job

HDR, BURST = "hdr", "burst"
OUTPUT_FILTER = "Tone-mapped image (*.tif *.png *.jpg);;Radiance HDR (*.hdr);;OpenEXR (*.exr)"
FUSION = "mertens"  # exposure fusion: needs no exposure times


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
    dng: Path | None = None  # bursts of RAW files: where to save the merged mosaic too


def merged_dng_path(target: Path) -> Path:
    """Where "also save the merged DNG" writes: beside the output, with its name."""
    return target.with_suffix(".dng")


class MergeDialog(QDialog):
    """Frames, output file and merge settings for one HDR or burst merge; ``open_photo`` (the photo in the
    viewer) is never accepted as the output."""

    def __init__(self, mode: str, parent: QWidget | None = None, runner: JobRunner | None = None, *,
                 open_photo: Path | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.open_photo = open_photo
        self.setWindowTitle("Merge to HDR" if mode == HDR else "Merge Burst")
        self._runner = runner or getattr(parent, "runner", None) or JobRunner(self)
        self._infos: dict[str, FrameInfo] = {}
        self._icons: dict[str, QIcon] = {}
        self._thumbnail_jobs: dict[str, object] = {}  # path -> JobHandle, while it runs
        self._prefill: tuple[str, tuple[float, ...] | None] = ("", None)  # text put in the times field, exact times
        self.files = QListWidget()
        self.files.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.files.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.files.setViewMode(QListWidget.ViewMode.IconMode)  # thumbnails side by side, darkest first
        self.files.setFlow(QListWidget.Flow.LeftToRight)
        self.files.setWrapping(True)
        self.files.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.files.setMovement(QListWidget.Movement.Static)
        self.files.setWordWrap(True)
        self.files.setGridSize(QSize(THUMBNAIL_SIDE + 24, THUMBNAIL_SIDE + 64))
        self.files.setMinimumSize(3 * (THUMBNAIL_SIDE + 24) + 24, THUMBNAIL_SIDE + 80)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        add, remove = QPushButton("Add…"), QPushButton("Remove")
        add.clicked.connect(self.choose_files)
        remove.clicked.connect(self.remove_selected)
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
        self.method.currentTextChanged.connect(self._method_changed)
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
        self.save_dng = QCheckBox("Also save the merged DNG (RAW frames: opens in any RAW developer)")
        self.save_dng.setToolTip("RAW bursts are merged on the sensor mosaic; this keeps that mosaic as a DNG "
                                 "beside the output, like Lightroom's merged DNGs")
        if mode == HDR:
            self.save_dng.hide()
        else:
            self.tonemap.setCurrentText("none")
            form.addRow("Reference frame:", self.reference)
            form.addRow(self.save_dng)
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
        layout.addWidget(self.summary)
        layout.addLayout(file_buttons)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def set_paths(self, paths) -> None:
        """Replace the frame list: each frame's thumbnail (read in the background) and exposure data from its
        metadata, HDR brackets sorted by exposure with their EV; prefill the exposure times when every frame
        records one (a time the user typed is kept). Suggests an output beside the first frame."""
        paths = [str(p) for p in paths]
        for path in paths:
            if path not in self._infos:
                self._infos[path] = frame_info(path)
        frames = [self._infos[p] for p in paths]
        evs = [None] * len(frames)
        if self.mode == HDR:
            frames, evs = sort_by_exposure(frames)
        self.files.clear()
        for frame, ev in zip(frames, evs):
            item = QListWidgetItem(self._icons.get(frame.path, QIcon()), frame_label(frame, ev))
            item.setData(Qt.ItemDataRole.UserRole, frame.path)
            item.setToolTip(frame.path)
            self.files.addItem(item)
            self._start_thumbnail(frame.path)
        self._update_times()
        if paths and not self.output.text():
            first = Path(paths[0])
            self.output.setText(str(first.with_name(f"{first.stem}_{self.mode}.tif")))

    def is_fusion(self) -> bool:
        """True for an HDR merge by Mertens exposure fusion, which needs no exposure times."""
        return self.mode == HDR and self.method.currentText() == FUSION

    def _method_changed(self) -> None:
        self.times.setEnabled(not self.is_fusion())
        self.times.setToolTip("Mertens fusion needs no exposure times" if self.is_fusion() else "")
        self._update_times()

    def _update_times(self) -> None:
        frames = [self._infos[p] for p in self.paths()]
        missing = [Path(f.path).name for f in frames if not f.shutter]
        if self.mode != HDR or not frames:
            self.summary.setText("")
        elif self.is_fusion():
            self.summary.setText("Mertens fusion blends the best-exposed parts of the frames: it needs no "
                                 "exposure times.")
        elif missing:
            self.summary.setText(f"No exposure time recorded for {', '.join(missing)}: type the exposure times of "
                                 f"all frames, in the order of the list, or choose Mertens fusion, which needs "
                                 f"none.")
        else:
            self.summary.setText("Sorted by exposure; the times come from the files' metadata (you may change them).")
        if self.mode != HDR or self.times.text().strip() not in ("", self._prefill[0]):
            return  # the user's own times stay
        times = None
        if frames and not missing:  # at the first frame's ISO and aperture, so the ratios are the exposures'
            values = exposures(frames)
            times = tuple(v / values[0] * frames[0].shutter for v in values)
        text = " ".join(format_seconds(t) for t in times) if times else ""
        self._prefill = (text, times)
        self.times.setText(text)

    def remove_selected(self) -> None:
        """Drop the selected frames from the list."""
        chosen = {item.data(Qt.ItemDataRole.UserRole) for item in self.files.selectedItems()}
        self.set_paths([p for p in self.paths() if p not in chosen])

    def _start_thumbnail(self, path: str) -> None:
        if path in self._icons or path in self._thumbnail_jobs:
            return
        handle = self._runner.submit(Job(read_thumbnail, path, title=f"Thumbnail of {Path(path).name}"),
                                     visible=False)
        self._thumbnail_jobs[path] = handle
        handle.finished.connect(self._thumbnail_ready)
        handle.ended.connect(self._thumbnail_ended)

    def _thumbnail_ready(self, result) -> None:
        path, rgb = result
        self._icons[path] = QIcon(QPixmap.fromImage(to_qimage(rgb)))
        for row in range(self.files.count()):
            if self.files.item(row).data(Qt.ItemDataRole.UserRole) == path:
                self.files.item(row).setIcon(self._icons[path])

    def _thumbnail_ended(self, handle) -> None:
        self._thumbnail_jobs = {p: h for p, h in self._thumbnail_jobs.items() if h is not handle}

    def thumbnails_pending(self) -> int:
        """How many thumbnails are still being read."""
        return len(self._thumbnail_jobs)

    def done(self, result: int) -> None:
        for handle in self._thumbnail_jobs.values():
            handle.cancel()
        super().done(result)

    def paths(self) -> tuple[str, ...]:
        """The frames in the list's order (HDR: darkest first)."""
        return tuple(self.files.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.files.count()))

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
        times = None
        if self.mode == HDR and not self.is_fusion():
            text = self.times.text().strip()
            times = self._prefill[1] if text and text == self._prefill[0] else parse_times(text)
        if times is not None and len(times) != len(paths):
            raise ValueError(f"Give one exposure time per frame ({len(paths)}), or none to use the files'.")
        options = HdrOptions(method=self.method.currentText(), align=self.align.isChecked(),
                             deghost=self.deghost.isChecked())
        reference = "auto" if self.reference.value() < 0 else self.reference.value()
        target = Path(self.output.text().strip())
        dng = merged_dng_path(target) if self.mode == BURST and self.save_dng.isChecked() else None
        return MergeRequest(self.mode, paths, target, times, options, self.tonemap.currentText(), reference, dng)

    def output_problem(self, request: MergeRequest) -> str:
        """Why ``request.target`` must not be written, or '' when it may (perhaps replacing a file)."""
        target = request.target
        if any(same_file(target, Path(path)) for path in request.paths):
            return f"{target} is one of the frames to merge; choose another output file."
        if self.open_photo is not None and same_file(target, self.open_photo):
            return f"{target} is the photo open in the viewer; choose another output file."
        if target.is_dir():
            return f"{target} is a folder; add a file name."
        if not target.parent.is_dir():
            return f"The folder {target.parent} does not exist."
        if request.dng is not None:
            if not is_raw_burst(request.paths):
                return "Only a burst of camera RAW files can be saved as a merged DNG; untick that option."
            if any(same_file(request.dng, Path(path)) for path in request.paths) or same_file(request.dng, target):
                return f"{request.dng} is one of the frames or the output; choose another output name."
        return ""

    def accept(self) -> None:
        """Close with the request when it is complete and its output may be written (asking before replacing
        a file); otherwise say why and stay open."""
        try:
            request = self.request()
        except ValueError as exc:
            dialogs.show_warning(self, self.windowTitle(), str(exc))
            return
        problem = self.output_problem(request)
        if problem:
            dialogs.show_warning(self, self.windowTitle(), problem)
            return
        for written in (request.target, request.dng):
            if written is not None and written.exists() and not dialogs.ask_yes_no(
                    self, "Replace file?", f"{written} already exists. Replace it?"):
                return
        super().accept()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Shown again after a failed merge: read the thumbnails that closing it cancelled."""
        for path in self.paths():
            self._start_thumbnail(path)
        super().showEvent(event)
