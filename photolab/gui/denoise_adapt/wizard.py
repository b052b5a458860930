"""Models ▸ Adapt Denoiser to My Camera…: the wizard in front of ``photolab-cli denoise-adapt``.

Four pages: 1. the folder; 2. the check (camera, ISOs, singles and bursts, noise, every problem; the photos are
read, measured and the bursts aligned as a Job); 3. adaptation, a Job with a live loss curve and Cancel; 4. a
100 % crop before/after (noisy, generic, adapted, both with Auto) and Save under a name. The work is the CLI's:
:func:`photolab.core.adapt_folder.load_adapt_data`, :func:`photolab.models.training.denoise_adapt.adapt_work`
and ``save_adapted``; torch is imported inside the Job functions, never on the GUI thread. Closing the wizard
cancels what runs; a cancelled run saves nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget, QWizard

from photolab.gui.jobs import JobHandle, JobRunner
from photolab.gui.viewer.rendering import to_qimage
from photolab.gui.widgets.actions import new_action
from photolab.gui.widgets.folder_page import FolderPage
from photolab.gui.widgets.job_pages import SavePage, TrainingCheckPage, TrainingPage, selectable_label
from photolab.jobs import Job

CROP_SIDE = 192


# ---------------------------------------------------------------------------------------- job functions

def check_work(context, folder: str):
    """Job work: (scan, data, error message or ""): the folder scanned, read, measured and its bursts aligned."""
    from photolab.core.adapt_folder import AdaptDataError, load_adapt_data, scan_adapt_folder

    scan = scan_adapt_folder(folder, context.subtask(0.0, 0.2).progress)
    if scan.problems():
        return scan, None, "; ".join(scan.problems())
    try:
        return scan, load_adapt_data(scan, context.subtask(0.2, 1.0).progress), ""
    except AdaptDataError as exc:
        return scan, None, str(exc)


def _resolved(manager):
    return manager() if callable(manager) else manager


def compare_work(context, manager, outcome, data, side: int = CROP_SIDE):
    """Job work: 8-bit (noisy, generic, adapted) 100 % crops of one photo, both denoised with Auto's map."""
    manager = _resolved(manager)
    from photolab.core.adapt_folder import central_crop
    from photolab.models.training.denoise_adapt import adapted_denoiser

    images = [pair.input for pair in data.pairs[:1]] or data.singles[:1]
    image = images[0]
    srgb, level = central_crop(image.srgb, side), central_crop(image.noise_map, side)
    context.progress(0.1, "Denoising with the generic model")
    generic = manager.load_denoiser("", "cpu")(srgb, level, tile=512, margin=64)
    context.progress(0.5, "Denoising with the adapted model")
    adapted = adapted_denoiser(outcome)(srgb, level, tile=512, margin=64)
    to8 = lambda a: np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)  # noqa: E731
    return to8(srgb), to8(generic), to8(adapted), image.path.name


def save_work(context, manager, outcome, name: str, folder: str):
    """Job work: store the adapted denoiser in the user's denoiser folder; returns (weights path, card)."""
    manager = _resolved(manager)
    from photolab.models.store.denoisers import list_denoisers
    from photolab.models.training.denoise_adapt import save_adapted

    context.progress(0.1, f"Saving {name}")
    return save_adapted(outcome, name, manager.user_denoiser_dir, taken=list_denoisers(manager.denoiser_dir),
                        source_folder=folder)


# --------------------------------------------------------------------------------------------------- pages

def folder_page() -> FolderPage:
    """1. The folder of noisy photos."""
    return FolderPage(
        title="Choose your noisy photos",
        subtitle="Photos of ONE camera, as noisy as you usually shoot (high ISO). Put each burst (several frames "
                 "of the same scene) in its own sub-folder, or keep frames shot less than a second apart "
                 "together; other photos are used as singles. No clean photo is needed.",
        placeholder="/path/to/folder", caption="Folder of noisy photos",
        hint="JPEG, PNG, TIFF, WebP and camera RAW photos are read; your files are never changed.")


class CheckPage(TrainingCheckPage):
    """2. What was found, what is wrong, and the time budget."""

    def __init__(self, wizard: "AdaptWizard") -> None:
        super().__init__(wizard, "Check the photos", "adapt")
        self.found = selectable_label("")
        self.problems = selectable_label("")
        layout = QVBoxLayout(self)
        for widget in (self.status, self.progress, self.found, self.problems):
            layout.addWidget(widget)
        layout.addLayout(self.budget)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.cancel()
        self._wizard.scan, self._wizard.data, self._wizard.problem = None, None, ""
        self.found.setText("")
        self.problems.setText("")
        self.status.setText(f"Reading {self._wizard.folder()} …")
        self.progress.setValue(0)
        self.start(Job(check_work, self._wizard.folder(), title="Checking the photos"))

    def _on_finished(self, result) -> None:
        scan, data, problem = result
        self._wizard.scan, self._wizard.data, self._wizard.problem = scan, data, problem
        summary = scan.summary()
        iso = summary["iso_range"]
        iso_text = "unknown" if not iso else (f"{iso[0]:g}" if iso[0] == iso[1] else f"{iso[0]:g}–{iso[1]:g}")
        lines = [f"<b>Camera:</b> {', '.join(f'{c} ({n})' for c, n in scan.cameras.most_common()) or 'none'}",
                 f"<b>ISO:</b> {iso_text}",
                 f"<b>Singles:</b> {summary['singles']} &nbsp; <b>Bursts:</b> {summary['bursts']} "
                 f"({summary['burst_frames']} frames, {summary['pairs']} aligned pairs)"]
        if data is not None:
            lines.append(f"<b>Noise (Auto's sigma, 0-255):</b> median {float(np.median(data.sigmas)):.1f}, "
                         f"{min(data.sigmas):.1f}–{max(data.sigmas):.1f}")
        self.found.setText("<br>".join(lines))
        notes = []
        skipped = data.skipped if data is not None else scan.skipped
        notes += [f"Skipped {Path(path).name}: {reason}" for path, reason in skipped]
        if problem:
            notes.append(f"<b>Cannot adapt:</b> {problem}")
        if data is not None and not data.pairs:
            notes.append("No bursts: singles only (Neighbor2Neighbor). Bursts of the same scene teach the model "
                         "more reliably.")
        self.problems.setText("<br>".join(notes))
        self.status.setText("Ready to adapt." if data is not None else "This folder cannot be used.")
        self.progress.setValue(100)


class AdaptPage(TrainingPage):
    """3. The run: progress, the live loss curve, Cancel."""

    def __init__(self, wizard: "AdaptWizard") -> None:
        super().__init__(wizard, "Adapting",
                         "The generic denoiser learns your camera's noise from pairs of noisy views. "
                         "The window stays usable; Cancel stops without saving anything.", "Cancel Adaptation")

    def job(self) -> Job:
        from photolab.models.training.denoise_adapt import AdaptSettings, adapt_work

        settings = AdaptSettings(minutes=self._wizard.check_page.minutes.value(), threads=self._wizard.threads)
        relay = self.relay
        return Job(adapt_work, self._wizard.manager(), self._wizard.folder(), "", settings,
                   lambda step, loss: relay.step.emit(step, loss), data=self._wizard.data,
                   title="Adapting the denoiser")

    def _on_finished(self, result) -> None:
        outcome, _data = result
        self._wizard.outcome = outcome
        held = outcome.held_out
        score = (f" Held-out noisy-pair PSNR: generic {held['generic_psnr']:.2f} dB, adapted "
                 f"{held['adapted_psnr']:.2f} dB." if held["generic_psnr"] is not None else "")
        self.status.setText(f"Done: {outcome.steps} steps in {outcome.seconds / 60:.1f} min.{score}")
        self.progress.setValue(100)


class ComparePage(SavePage):
    """4. Before/after of a 100 % crop, and Save under a name."""

    def __init__(self, wizard: "AdaptWizard") -> None:
        super().__init__(wizard, "Compare and save", "Save Denoiser")
        self.handle: JobHandle | None = None
        self.views = [QLabel() for _ in range(3)]
        self.captions = [selectable_label(text) for text in ("Noisy (100 %)", "Generic + Auto", "Adapted + Auto")]
        grid = QHBoxLayout()
        for view, caption in zip(self.views, self.captions):
            view.setFixedSize(CROP_SIDE, CROP_SIDE)
            column = QVBoxLayout()
            column.addWidget(view)
            column.addWidget(caption)
            grid.addLayout(column)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        self.add_save_rows(layout)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        wizard = self._wizard
        if not self.name_edit.text():
            camera = wizard.outcome.data.get("camera") or "camera"
            self.name_edit.setText("denoise-" + "".join(c if c.isalnum() or c in "._+-" else "-"
                                                        for c in camera.lower()).strip("-")[:60])
        handle = self.handle = wizard.runner.submit(Job(compare_work, wizard.manager(), wizard.outcome, wizard.data,
                                                        title="Comparing"), visible=False)
        handle.finished.connect(self._show)
        handle.ended.connect(lambda _h: setattr(self, "handle", None))

    def _show(self, result) -> None:
        *images, name = result
        for view, image in zip(self.views, images):
            view.setPixmap(QPixmap.fromImage(to_qimage(image)))
        self.captions[0].setText(f"Noisy (100 %, {name})")

    def save_job(self, name: str) -> Job:
        return Job(save_work, self._wizard.manager(), self._wizard.outcome, name, self._wizard.folder(),
                   title=f"Saving {name}")

    def saved_text(self, name: str) -> str:
        return (f"Saved as {name}: choose it in the Denoise panel's model list, or use "
                f"photolab-cli denoise --model {name}.")

    def _on_saved(self, name: str, result) -> None:
        super()._on_saved(name, result)
        self._wizard.denoiser_saved.emit(name)


class AdaptWizard(QWizard):
    """Adapt Denoiser to My Camera (module docstring)."""

    denoiser_saved = Signal(str)

    def __init__(self, manager_source, runner: JobRunner, parent: QWidget | None = None, threads: int | None = None):
        super().__init__(parent)
        self._manager_source = manager_source  # a ModelManager, or a callable that returns one
        self.runner = runner
        self.threads = threads
        self.scan = self.data = self.outcome = self.saved = None
        self.problem = ""
        self.setWindowTitle("Adapt Denoiser to My Camera")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.folder_page = folder_page()
        self.check_page = CheckPage(self)
        self.adapt_page = AdaptPage(self)
        self.compare_page = ComparePage(self)
        for page in (self.folder_page, self.check_page, self.adapt_page, self.compare_page):
            self.addPage(page)
        self.resize(720, 560)

    def manager(self):
        """What the jobs get: the ModelManager, or the callable that returns it (resolved in the job, off the GUI
        thread)."""
        return self._manager_source

    def folder(self) -> str:
        return self.folder_page.folder()

    def done(self, result: int) -> None:
        """Closing stops what still runs (an unfinished run saves nothing)."""
        self.check_page.cancel()
        self.adapt_page.cancel()
        super().done(result)


def open_adapt_wizard(window) -> AdaptWizard:
    """Show the wizard for ``window`` (modeless) and return it; a saved denoiser appears in the Denoise list."""
    from photolab.services import model_manager

    wizard = AdaptWizard(model_manager, window.runner, window)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def relist(_name: str) -> None:
        tools = getattr(window, "denoise_tools", None)
        if tools is not None:
            tools.relist_models()

    wizard.denoiser_saved.connect(relist)
    wizard.show()
    return wizard


def install_adapt_action(window) -> QAction:
    """Add "Adapt Denoiser to My Camera…" to the Models menu, after Train Classifier…, as action "adapt_denoiser"."""
    return window.add_action("models", "adapt_denoiser", new_action(
        window, "&Adapt Denoiser to My Camera…", lambda: open_adapt_wizard(window),
        tip="Teach the denoiser your camera's noise from your own noisy photos"), after="train")
