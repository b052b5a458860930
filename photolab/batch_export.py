"""Batch export: develop many photos (each with its sidecar's recipe) and export them at full resolution, a
few at a time on worker threads, with one progress, cancel, and a one-line error per photo that failed.

The window's filmstrip runs it as a Job (File ▸ Export Selected Photos); LibRaw, OpenCV and NumPy release the
GIL while they work, so threads keep the cores busy without a process per photo. Every file is written
atomically and never replaces one (NAME-1.jpg, ...): a cancelled batch leaves the photos it finished and no
partial file.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from photolab.core import io
from photolab.core.colorspace import DEFAULT_COLOR_SPACE
from photolab.core.errors import RecipeError
from photolab.core.export_options import ResizeSpec, SharpeningSpec
from photolab.core.naming import DEFAULT_TEMPLATE, expand_template
from photolab.core.recipe import Recipe, load_sidecar
from photolab.jobs import JobCancelled, JobContext, describe_error
from photolab.services import develop_file

MAX_WORKERS = 2
"""Photos developed at once: a 24 MP photo needs about 1 GB while it is developed (bench/bench_folder.py),
so two keep a batch within 2 GB while using two cores."""


@dataclass(frozen=True)
class BatchOptions:
    """How every photo of a batch is written (the Export dialog's choices); ``output_dir`` None puts each
    export beside its original."""

    file_format: str = "jpg"
    quality: int = 92
    resize: ResizeSpec | None = None
    sharpening: SharpeningSpec | None = None
    color_space: str = DEFAULT_COLOR_SPACE
    name_template: str = DEFAULT_TEMPLATE
    output_dir: Path | None = None
    demosaic: str = io.DEFAULT_DEMOSAIC


@dataclass
class BatchOutcome:
    """(original, written file) per exported photo and (original, message) per failed one, in batch order."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def default_workers() -> int:
    """How many photos a batch develops at once: the cores, at most MAX_WORKERS."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def export_batch(context: JobContext, paths, options: BatchOptions, *, workers: int | None = None) -> BatchOutcome:
    """Job work: export every photo of ``paths`` with ``options`` on ``workers`` threads (default
    :func:`default_workers`). A photo that fails (damaged file, unreadable sidecar, unwritable folder) is
    listed in the outcome's errors and the others go on; cancelling stops the batch after the photos being
    written are abandoned (their temporary files removed)."""
    paths = [Path(path) for path in paths]
    tracker = _Progress(context, len(paths))
    results: dict[int, tuple[str, object]] = {}
    with ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="batch-export") as pool:
        futures = {pool.submit(_export_one, tracker.for_photo(index), path, index, len(paths), options): index
                   for index, path in enumerate(paths)}
        for future, index in futures.items():
            try:
                results[index] = ("written", future.result())
            except JobCancelled:
                results[index] = ("cancelled", None)
            except Exception as exc:  # noqa: BLE001 - one photo's failure is its line in the error list
                results[index] = ("error", describe_error(exc, f"Exporting {paths[index].name}"))
            tracker.done(index)
    context.check_cancelled()
    outcome = BatchOutcome()
    for index, path in enumerate(paths):
        kind, value = results[index]
        if kind == "written":
            outcome.written.append((path, Path(value)))
        elif kind == "error":
            outcome.errors.append((path, value))
    return outcome


def export_target(path: Path, index: int, count: int, options: BatchOptions) -> Path:
    """Where photo ``index`` of ``count`` goes (before numbering): the template's name in the output folder,
    or beside the original, with the format's extension; never the original's own name."""
    template = options.name_template
    metadata = io.read_metadata(path) if "{date}" in template or "{camera}" in template else None
    name = expand_template(template, path, metadata, index=index, count=count)
    extension = io.EXPORT_FORMATS[options.file_format]
    target = (options.output_dir or path.parent) / (name + extension)
    if target.name.casefold() == path.name.casefold() and target.parent.resolve() == path.parent.resolve():
        target = target.with_name(f"{name}-edited{extension}")
    return target


def _export_one(context, path: Path, index: int, count: int, options: BatchOptions) -> Path:
    context.check_cancelled()
    recipe, warning = load_sidecar(path)
    if warning:
        raise RecipeError(f"{path.name}: not exported, its edits cannot be read ({warning})")
    return develop_file(context, path, export_target(path, index, count, options), recipe or Recipe(),
                        file_format=options.file_format, quality=options.quality, demosaic=options.demosaic,
                        resize=options.resize, sharpening=options.sharpening, color_space=options.color_space,
                        replace=False)


class _Progress:
    """The batch's progress from its photos' own, reported from whichever worker thread moves it."""

    def __init__(self, context: JobContext, count: int) -> None:
        self._context = context
        self._count = max(1, count)
        self._fractions = [0.0] * count
        self._lock = threading.Lock()
        self._done = 0

    def for_photo(self, index: int) -> "_PhotoContext":
        return _PhotoContext(self, index, 0.0, 1.0)

    def update(self, index: int, fraction: float, message: str) -> None:
        with self._lock:
            self._fractions[index] = max(self._fractions[index], fraction)
            total = sum(self._fractions) / self._count
            self._context.progress(total, f"Exporting: {self._done} of {self._count} photos done")

    def done(self, index: int) -> None:
        with self._lock:
            self._done += 1
        self.update(index, 1.0, "")

    def check_cancelled(self) -> None:
        self._context.check_cancelled()


class _PhotoContext:
    """A JobContext look-alike for one photo of the batch: its progress moves the batch's; cancel is shared."""

    def __init__(self, tracker: _Progress, index: int, start: float, span: float) -> None:
        self._tracker, self._index, self._start, self._span = tracker, index, start, span

    @property
    def cancelled(self) -> bool:
        try:
            self._tracker.check_cancelled()
        except JobCancelled:
            return True
        return False

    def check_cancelled(self) -> None:
        self._tracker.check_cancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        self.check_cancelled()
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._tracker.update(self._index, self._start + self._span * fraction, message)

    def subtask(self, start: float, end: float) -> "_PhotoContext":
        return _PhotoContext(self._tracker, self._index, self._start + self._span * start,
                             self._span * (end - start))
