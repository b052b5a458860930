"""Models ▸ Learn a Look…: the wizard in front of ``photolab-cli look learn``.

Four pages: 1. the pairs folder (``before/`` + ``after/``, or photos with PhotoLab sidecars); 2. the check
(pairs found, refused and unpaired, what was registered or converted; a Job); 3. learning, a Job with a live
loss curve and Cancel; 4. before / learned / after of held-out pairs side by side (each pair's learned result
comes from a cross-validation run that never saw it), the cross-validated scores, and Save under a name. The
work is the CLI's (:func:`photolab.core.look_pairs.load_look_pairs`,
:func:`photolab.models.training.look_learn.learn_work`, ``save_look``); torch is imported inside the Job
functions, never on the GUI thread. Closing the wizard cancels what runs; a cancelled run saves nothing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget, QWizard

from photolab.gui.develop.look_controls import installed_looks
from photolab.gui.jobs import BACKGROUND, JobHandle, JobRunner
from photolab.gui.viewer.rendering import to_qimage
from photolab.gui.widgets.actions import new_action
from photolab.gui.widgets.folder_page import FolderPage
from photolab.gui.widgets.job_pages import SavePage, TrainingCheckPage, TrainingPage, selectable_label
from photolab.jobs import Job

SHOWN_PAIRS = 4  # held-out pairs shown on the last page


# ---------------------------------------------------------------------------------------- job functions

def check_work(context, folder: str):
    """Job work: (scan, data, problem or ""): the pairs found, read and checked."""
    from photolab.core.look_pairs import LookPairsError, load_look_pairs, scan_look_pairs

    try:
        scan = scan_look_pairs(folder)
    except LookPairsError as exc:
        return None, None, str(exc)
    try:
        return scan, load_look_pairs(scan, context.progress), ""
    except LookPairsError as exc:
        return scan, None, str(exc)


def save_work(context, outcome, name: str, folder: str, looks_dir=None):
    """Job work: store the look in ``looks_dir`` (None: the user's looks folder); returns (weights path, card)."""
    from photolab.models.training.look_learn import save_look
    from photolab.services import model_manager

    context.progress(0.1, f"Saving {name}")
    return save_look(outcome, name, looks_dir or model_manager().user_look_dir, source_folder=folder)


# --------------------------------------------------------------------------------------------------- pages

def folder_page() -> FolderPage:
    """1. The folder of pairs."""
    return FolderPage(
        title="Choose your before/after pairs",
        subtitle="A folder with before/ and after/ sub-folders holding files of the same names (the befores may "
                 "be RAW, JPEG, PNG or TIFF; the afters are your edited exports), or a folder of photos you "
                 "edited in PhotoLab (their sidecars are the edits). A few dozen pairs teach a look well; at "
                 "least 4 are needed.",
        placeholder="/path/to/pairs", caption="Folder of before/after pairs",
        hint="Crops, resized exports, small misalignments, turned photos and other colour spaces are detected "
             "and fixed; your files are never changed.")


class CheckPage(TrainingCheckPage):
    """2. What was found and fixed, what was refused, and the time budget."""

    def __init__(self, wizard: "LookWizard") -> None:
        super().__init__(wizard, "Check the pairs", "learn")
        self.found = selectable_label("")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.found)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(scroll, 1)
        layout.addLayout(self.budget)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.cancel()
        self._wizard.data, self._wizard.problem = None, ""
        self.found.setText("")
        self.status.setText(f"Checking {self._wizard.folder()} …")
        self.progress.setValue(0)
        self.start(Job(check_work, self._wizard.folder(), title="Checking the pairs"))

    def _on_finished(self, result) -> None:
        scan, data, problem = result
        self._wizard.data, self._wizard.problem = data, problem
        lines = []
        if scan is not None:
            lines.append(f"<b>Layout:</b> {scan.layout} &nbsp; <b>Pairs found:</b> {len(scan.pairs)}")
            lines += [f"Unpaired {path.name}: {reason}" for path, reason in scan.unpaired]
        if data is not None:
            lines.append(f"<b>Usable pairs:</b> {len(data.pairs)}")
            lines += [f"Refused {name}: {reason}" for name, reason in data.refused]
            lines += [f"{pair.name}: {note}" for pair in data.pairs for note in pair.notes]
        if problem:
            lines.append(f"<b>Cannot learn:</b> {problem}")
        self.found.setText("<br>".join(lines))
        self.status.setText("Ready to learn." if data is not None else "These pairs cannot be used.")
        self.progress.setValue(100)


class LearnPage(TrainingPage):
    """3. The run: progress, the live loss curve, Cancel."""

    def __init__(self, wizard: "LookWizard") -> None:
        super().__init__(wizard, "Learning the look",
                         "First each group of pairs is held out in turn (cross-validation, for honest scores), "
                         "then the look learns from all of them. The window stays usable; Cancel stops without "
                         "saving anything.", "Cancel Learning")

    def job(self) -> Job:
        from photolab.models.training.look_learn import LookSettings, learn_work

        settings = LookSettings(minutes=self._wizard.check_page.minutes.value(), **self._wizard.settings)
        relay = self.relay
        return Job(learn_work, self._wizard.folder(), settings,
                   lambda run, step, loss: relay.step.emit(step, loss),
                   data=self._wizard.data, title="Learning a look")

    def _on_finished(self, result) -> None:
        outcome, _data = result
        self._wizard.outcome = outcome
        learned = f"{outcome.steps} steps" if outcome.held_out.get("grid", True) else "global colour transform"
        self.status.setText(f"Done: {learned} in {outcome.seconds / 60:.1f} min. {score_text(outcome.held_out)}")
        self.progress.setValue(100)


def score_text(held: dict) -> str:
    """The cross-validated scores in one sentence."""
    if held.get("psnr") is None:
        return "Too few pairs to hold any out."
    scores = (f"Held-out pairs ({held['folds']}-fold cross-validation): PSNR {held['psnr']:.2f} dB (unedited "
              f"{held['identity_psnr']:.2f} dB), CIEDE2000 {held['ciede2000']:.2f} (unedited "
              f"{held['identity_ciede2000']:.2f}).")
    if held.get("grid", True):
        return scores
    return (f"{scores} The look is global: in flat areas its local grid scored "
            f"{held['with_grid_flat_psnr']:.2f} dB, the global colour transform alone "
            f"{held['lut_alone_flat_psnr']:.2f} dB, so only that is kept.")


def _pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)))


class ComparePage(SavePage):
    """4. Held-out pairs before / learned / after, the scores, and Save under a name."""

    def __init__(self, wizard: "LookWizard") -> None:
        super().__init__(wizard, "Compare and save", "Save Look", "my-look")
        self.setSubTitle("Pairs the look never learned from: your before, the learned look, your after.")
        self.grid = QGridLayout()
        for column, title in enumerate(("Before", "Learned", "After")):
            self.grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        self.views: list[list[QLabel]] = []
        holder = QWidget()
        holder.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.score = selectable_label("")
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.score)
        self.add_save_rows(layout)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        outcome = self._wizard.outcome
        for row in self.views:
            for view in row:
                self.grid.removeWidget(view)
                view.deleteLater()
        self.views = []
        for index, (name, before, learned, after) in enumerate(outcome.previews[:SHOWN_PAIRS], 1):
            row = []
            for column, image in enumerate((before, learned, after)):
                view = QLabel()
                view.setPixmap(_pixmap(image))
                view.setToolTip(name)
                self.grid.addWidget(view, index, column)
                row.append(view)
            self.views.append(row)
        self.score.setText(score_text(outcome.held_out))
        self._check_name()

    def save_job(self, name: str) -> Job:
        return Job(save_work, self._wizard.outcome, name, self._wizard.folder(), self._wizard.looks_dir,
                   title=f"Saving {name}")

    def saved_text(self, name: str) -> str:
        return (f"Saved as {name}: choose it in the Develop panel's Look section, or use "
                f"photolab-cli look apply IN -o OUT --look {name}.")

    def _on_saved(self, name: str, result) -> None:
        super()._on_saved(name, result)
        self._wizard.look_saved.emit(name)


class LookWizard(QWizard):
    """Learn a Look (module docstring). ``looks_dir``: where looks are saved (None: the user's looks folder);
    ``settings``: LookSettings fields other than ``minutes``."""

    look_saved = Signal(str)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None, looks_dir=None, **settings):
        super().__init__(parent)
        self.runner = runner
        self.looks_dir = looks_dir
        self.settings = settings
        self.data = self.outcome = self.saved = None
        self.problem = ""
        self.setWindowTitle("Learn a Look")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.folder_page = folder_page()
        self.check_page = CheckPage(self)
        self.learn_page = LearnPage(self)
        self.compare_page = ComparePage(self)
        for page in (self.folder_page, self.check_page, self.learn_page, self.compare_page):
            self.addPage(page)
        self.resize(760, 620)

    def folder(self) -> str:
        return self.folder_page.folder()

    def done(self, result: int) -> None:
        """Closing stops what still runs (an unfinished run saves nothing)."""
        self.check_page.cancel()
        self.learn_page.cancel()
        super().done(result)


def list_looks(window) -> JobHandle:
    """Fill the Develop panel's look list in the background."""
    handle = window.runner.submit(Job(installed_looks, title="Listing looks"), lane=BACKGROUND, visible=False)
    handle.finished.connect(window.develop.look.set_looks)
    return handle


def open_look_wizard(window) -> LookWizard:
    """Show the wizard for ``window`` (modeless) and return it; a saved look appears in the Develop panel."""
    wizard = LookWizard(window.runner, window)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.look_saved.connect(lambda _name: list_looks(window))
    wizard.show()
    return wizard


def install_look_action(window) -> QAction:
    """Add "Learn a Look…" to the Models menu, after the denoiser adaptation, as action "learn_look", and list
    the installed looks in the Develop panel."""
    list_looks(window)
    return window.add_action("models", "learn_look", new_action(
        window, "&Learn a Look…", lambda: open_look_wizard(window),
        tip="Learn a look from your own before/after edits and apply it as a Develop step"), after="adapt_denoiser")
