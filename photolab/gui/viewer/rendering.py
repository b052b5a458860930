"""Rendering for the screen, always off the GUI thread.

``PreviewRenderer`` turns the document's recipe into display images: the screen-sized proxy after every
edit (coalesced, newest request wins) and, when the viewer is zoomed in, the full-resolution photo a
moment after the edits settle. Results carry a generation number; a result older than what is already
shown, or made for another photo or before/after state, is dropped.

Denoising is by far the slowest step, so each of the two renders keeps the photo as it stands after it (a
``PrefixCache``): edits further down the pipeline (white balance, tone, colour) do not denoise again. A
denoiser that cannot run (missing or damaged weights) does not stop the preview: the photo is shown without
denoising and the render carries the message (``warning``).

While a slider (or a curve point) is dragged, each preview is a *draft* (as in Lightroom and darktable): the
proxy shrunk so that, at the per-pixel cost the last full preview measured, it renders in ``DRAFT_BUDGET_S``.
It has the proxy's ``scale`` (pixel-sized parameters such as the sharpening radius follow it), its own
prefix cache, and the full preview's ``scene_size`` (and fitted size), so it fills the same place. When
the handle is let go, or ``DRAFT_SETTLE_MS`` after the last change, the full preview replaces it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from photolab.core.color import encode_srgb_integer
from photolab.core.errors import PhotoLabError
from photolab.core.photo import Photo, downscaled
from photolab.core.recipe import Recipe
from photolab.core.render import PrefixCache, geometry_recipe, output_size, render, slow_prefix
from photolab.gui.jobs import BACKGROUND, INTERACTIVE, JobHandle, JobRunner
from photolab.jobs import Job, JobState

DENOISE = "denoise"  # the steps that can fail (missing or damaged weights): the photo is then shown without them
LEARNED_STEPS = (DENOISE, "look")
FULL_RENDER_DELAY_MS = 300  # wait for the edits to settle before rendering the full photo
DRAFT_BUDGET_S = 0.07  # a draft's render time (the rest of the 100 ms goes to queueing and painting)
DRAFT_SCALES = (0.7, 0.5, 0.35, 0.25)  # linear draft sizes tried, the largest within the budget first
DRAFT_SETTLE_MS = 150  # a drag held still this long gets the full preview


@dataclass(frozen=True)
class RenderedImage:
    """A display-ready render. ``scene_size`` is its size in full-resolution pixels (the viewer's units)."""

    image: QImage
    histogram: np.ndarray | None  # (3, 256) counts of the 8-bit R, G, B values, or None
    recipe: Recipe
    before: bool
    full_resolution: bool
    scene_size: tuple[float, float]
    generation: int
    seconds: float
    source: Photo  # the photo that was rendered (the document's proxy or its full photo)
    fitted: QImage | None = None  # ``image`` already shrunk to fit the viewer (device pixels), if smaller
    warning: str = ""  # why a step was left out (the denoiser could not run), or ""
    draft: bool = False  # a reduced-resolution preview made while a slider is dragged


def draft_scale(seconds_per_pixel: float | None, pixels: int, budget: float | None = None) -> float:
    """The linear size (a fraction of the preview's) of a draft whose render fits ``budget`` seconds at
    ``seconds_per_pixel``: the largest of ``DRAFT_SCALES`` that does, else the smallest; 1.0 when the full
    preview fits already; 0.5 before anything was measured. ``budget`` defaults to ``DRAFT_BUDGET_S``."""
    budget = DRAFT_BUDGET_S if budget is None else budget
    if seconds_per_pixel is None:
        return 0.5
    if seconds_per_pixel * pixels <= budget:
        return 1.0
    wanted = math.sqrt(budget / (seconds_per_pixel * pixels))
    return next((scale for scale in DRAFT_SCALES if scale <= wanted), DRAFT_SCALES[-1])


class DraftSource:
    """The proxy shrunk for drafts, made once per proxy and size (thread-safe: made in the preview job)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: tuple[Photo, int, Photo] | None = None  # (proxy, long side, shrunk proxy)

    def get(self, proxy: Photo, scale: float) -> Photo:
        """``proxy`` shrunk to ``scale`` of its long side (area-averaged; its ``scale`` follows)."""
        side = max(1, round(max(proxy.width, proxy.height) * scale))
        with self._lock:
            kept = self._kept
            if kept is not None and kept[0] is proxy and kept[1] == side:
                return kept[2]
        shrunk = downscaled(proxy, side)
        with self._lock:
            self._kept = (proxy, side, shrunk)
        return shrunk

    def clear(self) -> None:
        with self._lock:
            self._kept = None


def to_qimage(rgb8: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels (every numpy -> QImage in the GUI).

    The image is 32-bit (``Format_RGB32``: B, G, R, 255 in memory), the format Qt's raster painter
    scales fastest, so the GUI thread spends a few milliseconds, not tens, drawing a screen-sized preview.
    OpenCV writes the pixels straight into the image's memory without holding the GIL (copying a 24 MP
    QImage would hold it for ~50 ms and stall the GUI thread).
    """
    height, width = rgb8.shape[:2]
    image = QImage(width, height, QImage.Format.Format_RGB32)
    memory = np.frombuffer(image.bits(), np.uint8, count=image.sizeInBytes())
    target = memory.reshape(height, image.bytesPerLine())[:, : width * 4].reshape(height, width, 4)
    cv2.cvtColor(np.ascontiguousarray(rgb8), cv2.COLOR_RGB2BGRA, dst=target)
    return image


def channel_histogram(rgb8: np.ndarray) -> np.ndarray:
    """(3, 256) float32 counts of each channel of an (H, W, 3) uint8 image."""
    return np.stack([cv2.calcHist([rgb8], [c], None, [256], [0, 256]).ravel() for c in range(3)])


def fitted_size(width: int, height: int, area: tuple[int, int]) -> tuple[int, int]:
    """The size of a width x height image shrunk to fit ``area`` (what the viewer's fit zoom shows)."""
    scale = min(area[0] / width, area[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_for_display(photo: Photo, recipe: Recipe, *, histogram: bool, context=None,
                       fit_area: tuple[int, int] | None = None, cache: PrefixCache | None = None,
                       fit_as: tuple[int, int] | None = None,
                       ) -> tuple[QImage, np.ndarray | None, QImage | None, str]:
    """Render, encode to 8-bit sRGB, and wrap as a QImage; plus the histogram when asked, the image
    shrunk (area-averaged) to fit ``fit_area`` when it is larger, so the GUI thread draws it 1:1, and a
    warning when a learned step (denoise, look) could not run (the image is then rendered without them).

    ``fit_as``: the size the image stands for (a draft: its full preview's); the fitted copy is then what the
    full preview's would be, resized from this image (enlarged, for a draft), or None where that has none."""
    progress = None
    if context is not None:
        stage = context.subtask(0.0, 0.9)
        progress = stage.progress
    warning = ""
    try:
        rendered = render(photo, recipe, cache=cache, progress=progress)
    except PhotoLabError as error:
        learned = [name for name in LEARNED_STEPS if recipe.is_active(name)]
        if not learned:
            raise
        warning = str(error)
        for name in learned:
            recipe = recipe.with_enabled(name, False)
        rendered = render(photo, recipe, progress=progress)
    if context is not None:
        context.check_cancelled()
    rgb8 = encode_srgb_integer(rendered.pixels, np.uint8)
    fitted = None
    if fit_area is not None:
        stands_for = fit_as or (rgb8.shape[1], rgb8.shape[0])
        size = fitted_size(*stands_for, fit_area)
        if size[0] < stands_for[0]:
            shrink = size[0] <= rgb8.shape[1]
            fitted = to_qimage(cv2.resize(rgb8, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
    return to_qimage(rgb8), (channel_histogram(rgb8) if histogram else None), fitted, warning


def _render_job(context, photo: Photo, recipe: Recipe, scale: float, before: bool, full: bool,
                generation: int, fit_area: tuple[int, int] | None, cache: PrefixCache) -> RenderedImage:
    started = time.perf_counter()
    image, histogram, fitted, warning = render_for_display(photo, recipe, histogram=not full, context=context,
                                                           fit_area=fit_area, cache=cache)
    scene = (image.width() / scale, image.height() / scale)
    return RenderedImage(image, histogram, recipe, before, full, scene, generation, time.perf_counter() - started,
                         photo, fitted, warning)


def _draft_job(context, proxy: Photo, fraction: float, sources: DraftSource, recipe: Recipe, scale: float,
               before: bool, generation: int, fit_area: tuple[int, int] | None, cache: PrefixCache) -> RenderedImage:
    """A draft of the proxy's preview: rendered from the proxy shrunk to ``fraction`` of its size, placed where
    the proxy's render would be (``scene_size`` and the fitted copy's size from the proxy's geometry)."""
    started = time.perf_counter()
    photo = sources.get(proxy, fraction)
    width, height = output_size((proxy.width, proxy.height), recipe)
    image, histogram, fitted, warning = render_for_display(photo, recipe, histogram=True, context=context,
                                                           fit_area=fit_area, cache=cache, fit_as=(width, height))
    return RenderedImage(image, histogram, recipe, before, False, (width / scale, height / scale), generation,
                         time.perf_counter() - started, photo, fitted, warning, draft=True)


class PreviewRenderer(QObject):
    """Keeps the viewer's images in step with a document's recipe."""

    preview_ready = Signal(object)  # RenderedImage of the proxy
    full_ready = Signal(object)  # RenderedImage at full resolution

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._document = None
        self._before = False
        self._crop_editing = False  # the crop tool is on: show the whole photo, crop switched off
        self._want_full = False
        self._fit_area: tuple[int, int] | None = None  # the viewer's room for a fitted photo, device pixels
        self._generation = 0
        self._shown_generation = 0
        self._oldest_valid_generation = 0  # renders made before the last photo or mode switch are stale
        self._preview_handle: JobHandle | None = None
        self._preview_slow: tuple | None = None  # the slow steps the running preview runs (see slow_prefix)
        self._preview_pending = False
        self._proxy_stage = PrefixCache(entries=2)  # the proxy, denoised (and just lens-corrected or turned)
        self._full_stage = PrefixCache()  # the full photo, denoised
        self._full_handle: JobHandle | None = None
        self._full_denoising: tuple[Photo, tuple] | None = None  # (photo, slow steps) the full job runs
        self._full_again = False  # render the full photo again when the running job ends
        self._full_result: RenderedImage | None = None
        self._coalesce = QTimer(self, singleShot=True, interval=0)
        self._coalesce.timeout.connect(self._start_preview)
        self._full_timer = QTimer(self, singleShot=True, interval=FULL_RENDER_DELAY_MS)
        self._full_timer.timeout.connect(self._start_full)
        self._dragging = False  # a slider or curve point is held: previews are drafts
        self._settled = False  # ... but held still for DRAFT_SETTLE_MS: the full preview
        self._owes_full = False  # a draft was started since the last full preview
        self._preview_is_draft = False  # the running preview job is a draft
        self._draft_scale = 0.5  # the drag's draft size (linear, of the proxy), chosen when the drag starts
        self._seconds_per_pixel: float | None = None  # measured on the last full preview with no slow step
        self._draft_stage = PrefixCache(entries=2)  # the drafts' own cache: never mixed with the proxy's
        self._draft_sources = DraftSource()
        self._settle = QTimer(self, singleShot=True, interval=DRAFT_SETTLE_MS)
        self._settle.timeout.connect(self._on_settled)

    @property
    def before(self) -> bool:
        return self._before

    @property
    def is_busy(self) -> bool:
        return self._preview_handle is not None or self._coalesce.isActive()

    @property
    def proxy_stages(self) -> PrefixCache:
        """The proxy after geometry and denoise, shared with whoever renders the proxy too (the models)."""
        return self._proxy_stage

    def set_document(self, document) -> None:
        """Render this document from now on (None for no photo)."""
        self._document = document
        self._full_result = None
        self._proxy_stage.clear()
        self._full_stage.clear()
        self._draft_stage.clear()
        self._draft_sources.clear()
        self.invalidate(drop_older=True)

    def set_before(self, before: bool) -> None:
        """Show the unedited ("before") render, or the edited one."""
        if before != self._before:
            self._before = before
            self.invalidate(drop_older=True)

    def set_crop_editing(self, editing: bool) -> None:
        """Show the whole photo (crop switched off) while the crop rectangle is edited on it."""
        if editing != self._crop_editing:
            self._crop_editing = editing
            self.invalidate(drop_older=True)

    def set_fit_area(self, width: int, height: int) -> None:
        """The viewer's room for the whole photo (device pixels): previews come with a copy that fits it."""
        self._fit_area = (width, height)

    def set_full_resolution_wanted(self, wanted: bool) -> None:
        """The viewer is zoomed in far enough that the proxy would look soft."""
        self._want_full = wanted
        if wanted:
            self._schedule_full()
        else:
            self._cancel_full()

    def set_dragging(self, dragging: bool) -> None:
        """A slider or curve point is held (drafts from now on, sized from the measured cost) or let go (the
        full preview replaces the draft)."""
        if dragging == self._dragging:
            return
        self._dragging = dragging
        self._settled = False
        self._settle.stop()
        document = self._document
        if dragging and document is not None and document.proxy is not None:
            self._draft_scale = draft_scale(self._seconds_per_pixel, document.proxy.width * document.proxy.height)
        elif not dragging:
            self._render_full_if_owed()

    @property
    def draft_size(self) -> float:
        """The linear size of the drafts (a fraction of the proxy's; 1.0: no drafts needed)."""
        return self._draft_scale

    def _on_settled(self) -> None:
        self._settled = True
        self._render_full_if_owed()

    def _render_full_if_owed(self) -> None:
        if self._owes_full:
            self._generation += 1
            self._coalesce.start()

    def current_recipe(self) -> Recipe | None:
        """The recipe being shown (the "before" recipe in before mode; crop off while it is edited)."""
        if self._document is None:
            return None
        recipe = self._document.recipe
        recipe = geometry_recipe(recipe) if self._before else recipe
        return recipe.with_enabled("crop", False) if self._crop_editing else recipe

    def invalidate(self, *, drop_older: bool = False) -> None:
        """The recipe, photo or mode changed: render again. A render older than one already shown is
        always dropped; with ``drop_older`` (another photo or mode), so is every render still running."""
        self._generation += 1
        if drop_older:
            self._oldest_valid_generation = self._generation
        self._coalesce.start()
        self._settled = False
        if self._dragging:
            self._settle.start()
        self._cancel_full(keep_denoising=not drop_older)
        self._schedule_full()

    # --- proxy ------------------------------------------------------------------------------------
    def _start_preview(self) -> None:
        document = self._document
        if document is None or document.proxy is None:
            return
        recipe = self.current_recipe()
        # Drafts while a drag goes on, unless the proxy is fast enough or denoised (a draft would denoise again).
        draft = self._dragging and not self._settled and self._draft_scale < 1.0 and slow_prefix(recipe) is None
        if self._preview_handle is not None:
            self._preview_pending = True  # the newest request starts when the running one ends
            if self._preview_slow is not None and slow_prefix(recipe) != self._preview_slow:
                self._preview_handle.cancel()  # it is denoising for a strength no longer wanted
            elif draft and not self._preview_is_draft and self._preview_slow is None:
                self._preview_handle.cancel()  # a full preview of a drag that moved on: draft the new value
            return
        self._preview_pending = False
        self._preview_is_draft = draft
        if draft:
            self._owes_full = True
            job = Job(_draft_job, document.proxy, self._draft_scale, self._draft_sources, recipe,
                      document.proxy_scale, self._before, self._generation, self._fit_area, self._draft_stage,
                      title="Preview draft")
            self._submit_preview(job, visible=False)
            self._preview_slow = None
            return
        self._owes_full = False
        # Denoising the proxy takes seconds on a CPU: then the job shows in the status bar, with Cancel.
        slow = self._proxy_stage.runs_slow_step(document.proxy, recipe)
        job = Job(_render_job, document.proxy, recipe, document.proxy_scale, self._before,
                  False, self._generation, self._fit_area, self._proxy_stage,
                  title="Denoising the preview" if slow else "Preview")
        self._submit_preview(job, visible=slow)
        self._preview_slow = slow_prefix(recipe) if slow else None

    def _submit_preview(self, job: Job, *, visible: bool) -> None:
        handle = self._runner.submit(job, lane=INTERACTIVE, visible=visible, ask_before_quit=False)
        handle.finished.connect(self._on_preview)
        handle.ended.connect(self._on_preview_ended)
        self._preview_handle = handle

    def _on_preview(self, result: RenderedImage) -> None:
        if not result.draft and slow_prefix(result.recipe) is None:  # what a preview pixel costs (sizes drafts)
            self._seconds_per_pixel = result.seconds / (result.source.width * result.source.height)
        if result.generation <= self._shown_generation or result.generation < self._oldest_valid_generation:
            return
        self._shown_generation = result.generation
        self.preview_ready.emit(result)

    def _on_preview_ended(self, handle: JobHandle) -> None:
        self._preview_handle = None
        self._preview_slow = None
        if self._preview_pending:
            self._start_preview()
        if handle.job.error is not None:
            # A render failing is a programming error, not the user's: report it (excepthook -> dialog).
            raise RuntimeError(f"Preview render failed: {handle.job.error_message}\n{handle.job.error_details}")

    # --- full resolution --------------------------------------------------------------------------
    def _schedule_full(self) -> None:
        if self._want_full:
            self._full_timer.start()

    def _cancel_full(self, *, keep_denoising: bool = False) -> None:
        """Stop the full-resolution render; with ``keep_denoising``, one that is denoising exactly as the
        current recipe wants goes on (its denoised stage is kept for the next render, which follows it)."""
        self._full_timer.stop()
        if self._full_handle is None:
            return
        document, recipe = self._document, self.current_recipe()
        if keep_denoising and document is not None and recipe is not None and self._full_denoising == (
                document.full_photo, slow_prefix(recipe)):
            self._full_again = True
            return
        self._full_handle.cancel()
        self._full_handle = None
        self._full_denoising = None
        self._full_again = False

    def _start_full(self) -> None:
        document = self._document
        if document is None or document.full_photo is None or not self._want_full:
            return
        recipe = self.current_recipe()
        cached = self._full_result
        if cached is not None and cached.recipe == recipe and cached.before == self._before:
            self.full_ready.emit(cached)
            return
        if self._full_handle is not None:
            self._full_again = True
            return
        slow = self._full_stage.runs_slow_step(document.full_photo, recipe)
        job = Job(_render_job, document.full_photo, recipe, 1.0, self._before, True, self._generation, None,
                  self._full_stage,
                  title="Denoising at full resolution" if slow else "Rendering at full resolution")
        handle = self._runner.submit(job, lane=BACKGROUND, visible=True, ask_before_quit=False)
        handle.finished.connect(lambda result, source=document: self._on_full(result, source))
        handle.ended.connect(lambda ended: self._forget_full(ended))
        self._full_handle = handle
        self._full_denoising = (document.full_photo, slow_prefix(recipe)) if slow else None

    def _forget_full(self, handle: JobHandle) -> None:
        if self._full_handle is handle:
            self._full_handle = None
            self._full_denoising = None
            if self._full_again and handle.job.state is not JobState.CANCELLED:  # not cancelled by the user
                self._schedule_full()
            self._full_again = False

    def _on_full(self, result: RenderedImage, source) -> None:
        if source is not self._document or result.recipe != self.current_recipe() or result.before != self._before:
            return
        self._full_result = result
        self.full_ready.emit(result)


# --- clipping warnings (J), as in Lightroom: clipped highlights red, crushed shadows blue ---------------

HIGHLIGHT = (255, 40, 40)  # red
SHADOW = (40, 90, 255)  # blue


def clipping_overlay(image: QImage) -> QImage:
    """A transparent image the size of ``image`` (a displayed 8-bit RGB32 QImage), opaque red where a channel
    is at 255 and blue where a channel is at 0 (red wins where both are)."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    height, width = image.height(), image.width()
    memory = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    pixels = memory.reshape(height, image.bytesPerLine())[:, :width * 4].reshape(height, width, 4)[:, :, :3]
    high = (pixels >= 255).any(axis=2)
    low = (pixels <= 0).any(axis=2) & ~high
    overlay = np.zeros((height, width, 4), np.uint8)  # B, G, R, A (ARGB32 in memory)
    overlay[high] = (*HIGHLIGHT[::-1], 255)
    overlay[low] = (*SHADOW[::-1], 255)
    out = QImage(width, height, QImage.Format.Format_ARGB32)
    target = np.frombuffer(out.bits(), np.uint8, count=out.sizeInBytes())
    target.reshape(height, out.bytesPerLine())[:, :width * 4].reshape(height, width, 4)[:] = overlay
    return out
