"""The window's side of the models: one ModelManager, the chosen model and device, inference as Jobs.

``ModelService`` holds the :class:`~photolab.models.store.manager.ModelManager` and the model the window uses
(remembered in QSettings). Importing torch takes seconds, so the manager is created by a background job the
first time a panel needs it (``start()``), unless one is passed in (tests do); a remembered GPU starts it at
once. Until then, and whenever the store changes, ``models_changed`` tells the selectors to refill. The
manager's device is the window's one device: the denoise step (previews, the loupe, exports) runs there too.

Every inference runs through an :class:`InferenceChannel`: a Job on the window's ``JobRunner`` (never on the
GUI thread) that loads the chosen model (through the manager's cache) and calls a work function with it. A
channel keeps one job in flight and the newest request pending; every request takes a new generation
number and a result whose generation is no longer the newest is dropped, so a slow answer about an old
photo, edit or model never replaces a newer one.

``CurrentPhoto`` watches the window's document and turns it into a :class:`PhotoSnapshot` (proxy + recipe)
that a job renders off the GUI thread: models see the photo as edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import PrefixCache, render
from photolab.gui.jobs import BACKGROUND, JobHandle, JobRunner
from photolab.jobs import Job
from photolab.services import install_models

if TYPE_CHECKING:  # torch is imported only when the manager is created
    from photolab.models.inference import ModelEntry
    from photolab.models.store.manager import ModelManager

CURRENT_KEY = "models/current"
DEVICE_KEY = "models/device"


@dataclass(frozen=True)
class PhotoSnapshot:
    """A photo as the user sees it at one moment: the document's proxy and recipe (rendered in a job)."""

    proxy: Photo
    recipe: Recipe
    name: str
    stages: PrefixCache | None = None  # the preview's cache (the proxy, denoised): models do not denoise again

    def render(self) -> Photo:
        """The edited proxy (``render(proxy, recipe)``); call it off the GUI thread."""
        return render(self.proxy, self.recipe, cache=self.stages)


class CurrentPhoto(QObject):
    """The window's current photo for the model panels; ``changed`` fires when the photo or its edit does."""

    changed = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self._document = None
        self._stages = getattr(getattr(window, "renderer", None), "proxy_stages", None)
        window.document_changed.connect(self._on_document)

    def _on_document(self, document) -> None:
        self._document = document
        if document is not None:
            document.recipe_changed.connect(lambda *_, d=document: self._changed_if_current(d))
            document.photo_changed.connect(lambda d=document: self._changed_if_current(d))
        self.changed.emit()

    def _changed_if_current(self, document) -> None:
        if document is self._document:
            self.changed.emit()

    def snapshot(self) -> PhotoSnapshot | None:
        """The photo and recipe now, or None while no photo is shown."""
        document = self._document
        if document is None or document.proxy is None:
            return None
        return PhotoSnapshot(document.proxy, document.recipe, document.path.name, self._stages)


def _create_manager(context, device: str) -> "ModelManager":
    from photolab.models.store.manager import ModelManager, ModelStoreError

    manager = ModelManager()
    try:
        manager.set_device(device or "cpu")
    except ModelStoreError:  # a remembered CUDA device that is gone: stay on the CPU
        pass
    return manager


def _infer(context, manager: "ModelManager", entry: "ModelEntry", work: Callable, args: tuple) -> Any:
    context.check_cancelled()
    loaded = manager.load(entry)
    context.check_cancelled()
    return work(context, loaded, *args)


class ModelService(QObject):
    """The model store, the chosen model and device, and the channels that run inference as jobs."""

    models_changed = Signal()  # the manager became ready or the store changed
    current_changed = Signal(str)  # the chosen model's name ('' for none)
    device_changed = Signal(str)
    manager_failed = Signal(str)

    def __init__(self, runner: JobRunner, settings: QSettings | None = None, manager: "ModelManager | None" = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.settings = settings if settings is not None else QSettings()
        self._manager = manager
        self._loading: JobHandle | None = None
        self._entries: list = []
        self._current = ""
        install_models(manager)  # until the manager exists, the denoiser runs on a default one (the CPU)
        if manager is not None:
            self._apply_remembered_device()
            self._refill()
        elif str(self.settings.value(DEVICE_KEY, "cpu")) != "cpu":
            self.start()  # check the remembered GPU now, so denoising runs there from the start

    # --- the manager -----------------------------------------------------------------------------------
    @property
    def manager(self) -> "ModelManager | None":
        """The ModelManager, or None until ``start()`` has created it."""
        return self._manager

    @property
    def is_ready(self) -> bool:
        """True once the manager exists (the model list is known)."""
        return self._manager is not None

    def start(self) -> None:
        """Create the manager in the background if that has not happened yet (panels call this when shown)."""
        if self._manager is not None or self._loading is not None:
            return
        device = str(self.settings.value(DEVICE_KEY, "cpu"))
        self._loading = self.runner.submit(Job(_create_manager, device, title="Loading models"), visible=False)
        self._loading.finished.connect(self._on_manager)
        self._loading.failed.connect(self.manager_failed)

    def _on_manager(self, manager: "ModelManager") -> None:
        self._manager = manager
        install_models(manager)  # the denoise step now loads through this manager, on its device
        self._refill()

    def _apply_remembered_device(self) -> None:
        from photolab.models.store.manager import ModelStoreError

        try:
            self._manager.set_device(str(self.settings.value(DEVICE_KEY, str(self._manager.device))))
        except ModelStoreError:
            pass

    # --- the models --------------------------------------------------------------------------------------
    def entries(self) -> list["ModelEntry"]:
        """Every usable model (built-ins first), as last listed."""
        return list(self._entries)

    def classifiers(self) -> list["ModelEntry"]:
        """The models that classify photos: every entry but fine-tuning backbones (the card's ``role``)."""
        return [e for e in self._entries if not e.card.is_backbone]

    def default_base(self) -> str:
        """The name of the suggested starting point for fine-tuning (``manager.suggested_base``), else of the
        first model ('' when nothing is installed)."""
        from photolab.models.store.manager import suggested_base

        base = suggested_base(self._entries) or (self._entries[0] if self._entries else None)
        return base.name if base else ""

    def refresh(self) -> None:
        """List the store again (after an import, rename or delete) and tell the selectors."""
        if self._manager is not None:
            self._refill()

    def _refill(self) -> None:
        self._entries = self._manager.list_models()
        names = [e.name for e in self.classifiers()]
        remembered = str(self.settings.value(CURRENT_KEY, ""))
        if self._current in names:
            current = self._current
        elif remembered in names:
            current = remembered
        else:
            builtins = [e.name for e in self.classifiers() if e.builtin]
            current = (builtins or names or [""])[0]
        changed = current != self._current
        self._current = current
        self.models_changed.emit()
        if changed:
            self.current_changed.emit(current)

    def current_name(self) -> str:
        """The chosen model's name ('' when none is installed or the list is not known yet)."""
        return self._current

    def current_entry(self) -> "ModelEntry | None":
        """The chosen model's store entry, or None."""
        return next((e for e in self._entries if e.name == self._current), None)

    def set_current(self, name: str) -> None:
        """Use model ``name`` from now on (remembered)."""
        if name == self._current or name not in [e.name for e in self.classifiers()]:
            return
        self._current = name
        self.settings.setValue(CURRENT_KEY, name)
        self.current_changed.emit(name)

    # --- the device -------------------------------------------------------------------------------------
    def devices(self) -> list[str]:
        """Devices models can run on here (``cpu``, and ``cuda`` with a GPU)."""
        from photolab.models.store.manager import available_devices

        return available_devices()

    def device(self) -> str:
        """The device models are loaded on."""
        return str(self._manager.device) if self._manager is not None else str(self.settings.value(DEVICE_KEY, "cpu"))

    def set_device(self, device: str) -> None:
        """Run models and the denoiser on ``device`` from now on (remembered); the manager's error if it is not
        available."""
        if self._manager is not None:
            self._manager.set_device(device)
        self.settings.setValue(DEVICE_KEY, device)
        self.device_changed.emit(device)
        self.current_changed.emit(self._current)  # results on the old device are stale

    def channel(self, parent: QObject | None = None, *, lane: str = BACKGROUND, visible: bool = False,
                title: str = "Running the model") -> "InferenceChannel":
        """A new channel for one kind of result (the top classes, one photo's excitations...)."""
        return InferenceChannel(self, lane=lane, visible=visible, title=title, parent=parent)


class InferenceChannel(QObject):
    """Runs ``work(context, loaded_model, *args)`` jobs with the chosen model; only the newest result counts."""

    result_ready = Signal(object)  # the newest request's result
    failed = Signal(str)  # the newest request failed: a message for a person
    cancelled = Signal()  # the newest request was cancelled
    busy_changed = Signal(bool)
    progress = Signal(float, str)  # of the newest request

    def __init__(self, service: ModelService, *, lane: str, visible: bool, title: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._lane, self._visible, self._title = lane, visible, title
        self.generation = 0  # of the newest request
        self._handle: JobHandle | None = None
        self._pending: tuple | None = None

    @property
    def busy(self) -> bool:
        """A job runs or waits for this channel."""
        return self._handle is not None or self._pending is not None

    def request(self, work: Callable[..., Any], *args: Any, title: str = "") -> int:
        """Run ``work`` with the chosen model (the running job is asked to stop; its result will be dropped).
        Returns the request's generation, or -1 when no model is available (nothing runs)."""
        self.generation += 1
        entry, manager = self._service.current_entry(), self._service.manager
        if entry is None or manager is None:
            self._pending = None
            self._cancel_running()
            return -1
        self._pending = (self.generation, manager, entry, work, args, title or self._title)
        self._cancel_running()
        if self._handle is None:
            self._start_pending()
        return self.generation

    def invalidate(self) -> None:
        """Drop every running or waiting request (its result will never be shown)."""
        self.generation += 1
        self._pending = None
        self._cancel_running()
        self.busy_changed.emit(self.busy)

    def cancel(self) -> None:
        """Stop the newest request (the user pressed Cancel); ``cancelled`` follows."""
        self._pending = None
        self._cancel_running()

    def _cancel_running(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _start_pending(self) -> None:
        generation, manager, entry, work, args, title = self._pending
        self._pending = None
        job = Job(_infer, manager, entry, work, args, title=title)
        handle = self._service.runner.submit(job, lane=self._lane, visible=self._visible)
        handle.finished.connect(lambda result, g=generation: self._deliver(g, self.result_ready, result))
        handle.failed.connect(lambda message, g=generation: self._deliver(g, self.failed, message))
        handle.cancelled.connect(lambda g=generation: self._deliver(g, self.cancelled))
        handle.progress.connect(lambda f, m, g=generation: self._deliver(g, self.progress, f, m))
        handle.ended.connect(self._on_ended)
        self._handle = handle
        self.busy_changed.emit(True)

    def _deliver(self, generation: int, signal, *values) -> None:
        if generation == self.generation and shiboken6.isValid(self):  # not after the window closed
            signal.emit(*values)

    def _on_ended(self, handle: JobHandle) -> None:
        if handle is self._handle:
            self._handle = None
        if self._pending is not None and self._handle is None:
            self._start_pending()
        else:
            self.busy_changed.emit(self.busy)


class ModelSelector(QComboBox):
    """A combo box showing the service's models and setting its chosen one."""

    def __init__(self, service: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._filling = False
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)
        self.setToolTip("The classifier used by the Classify panel and the Attention view")
        service.models_changed.connect(self.refill)
        service.current_changed.connect(self._show_current)
        self.currentIndexChanged.connect(self._on_index)
        self.refill()

    def refill(self) -> None:
        """List the models again."""
        self._filling = True
        try:
            self.clear()
            entries = self._service.classifiers()
            for entry in entries:
                self.addItem(f"{entry.name}  (built-in)" if entry.builtin else entry.name, entry.name)
            if not self._service.is_ready:
                self.addItem("Loading models…", "")
            elif not entries:
                self.addItem("No model installed", "")
            self.setEnabled(bool(entries))
            self._show_current(self._service.current_name())
        finally:
            self._filling = False

    def _show_current(self, name: str) -> None:
        index = self.findData(name)
        if index >= 0 and index != self.currentIndex():
            filling, self._filling = self._filling, True
            self.setCurrentIndex(index)
            self._filling = filling

    def _on_index(self, index: int) -> None:
        if not self._filling and index >= 0 and self.itemData(index):
            self._service.set_current(self.itemData(index))
