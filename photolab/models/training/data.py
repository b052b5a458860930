"""Folder datasets for fine-tuning: one sub-folder per class, checked before any training starts.

:func:`scan_folder` walks ``root/<class>/**`` and returns a :class:`DatasetReport`: the usable images and
their labels, plus every problem in words a photographer understands: an empty or missing folder, fewer
than two classes, a class with too few images (error) or few images (warning), unreadable or corrupt files
(listed and skipped), images too small or too elongated to train on (listed and left out), unsupported
files (listed and ignored), the same file in two classes (listed and left out of both), the same file twice
in one class (one copy kept), strongly unbalanced classes, a class folder that is a link to another class
(an error: one folder cannot teach two answers). Links to folders inside a class are followed once; a link
that loops back, or leads into another class, is not followed.

:mod:`photolab.models.training.dataset` feeds the report's images to training.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from photolab.core.errors import PhotoLabError
from photolab.core.io import SUPPORTED_EXTENSIONS, check_file, read_preview
from photolab.models.preprocess import MAX_ASPECT, MIN_SIDE

MIN_IMAGES_PER_CLASS = 5
"""Fewer images than this in a class is an error: it cannot be split into training and validation sensibly."""

RECOMMENDED_IMAGES_PER_CLASS = 20
"""Fewer than this is allowed, with a warning that results will be unreliable."""

IMBALANCE_RATIO = 3.0
"""A warning is given when the largest class has more than this many times the images of the smallest."""


class DatasetError(PhotoLabError, ValueError):
    """A dataset cannot be used for training; the message lists the report's errors."""


@dataclass(frozen=True)
class DatasetIssue:
    """One finding: ``severity`` is ``error`` (training cannot start), ``warning`` or ``info``; ``code`` is
    stable for programs (e.g. ``too_few_images``); ``paths`` lists the files concerned, if any."""

    severity: str
    code: str
    message: str
    paths: tuple[str, ...] = ()


@dataclass
class DatasetReport:
    """What :func:`scan_folder` found. ``items`` are ``(path, class index)`` of the usable images."""

    root: Path
    classes: list[str] = field(default_factory=list)
    items: list[tuple[Path, int]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)
    duplicates: list[tuple[Path, ...]] = field(default_factory=list)
    issues: list[DatasetIssue] = field(default_factory=list)
    unsuitable: list[tuple[Path, str]] = field(default_factory=list)  # too small or too elongated, and why

    @property
    def counts(self) -> dict[str, int]:
        """Usable images per class, in class order."""
        counts = {name: 0 for name in self.classes}
        for _, label in self.items:
            counts[self.classes[label]] += 1
        return counts

    @property
    def labels(self) -> list[int]:
        """The class index of every usable item."""
        return [label for _, label in self.items]

    @property
    def errors(self) -> list[DatasetIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[DatasetIssue]:
        return [issue for issue in self.issues if issue.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when training can start (no errors; warnings may remain)."""
        return not self.errors

    def summary(self) -> str:
        """A few lines for a person: class counts, then every issue with up to five of its files."""
        lines = [f"{self.root}: {len(self.items)} usable images in {len(self.classes)} classes"]
        lines += [f"  {name}: {count}" for name, count in self.counts.items()]
        for issue in self.issues:
            lines.append(f"{issue.severity.upper()}: {issue.message}")
            lines += [f"    {path}" for path in issue.paths[:5]]
            if len(issue.paths) > 5:
                lines.append(f"    ... and {len(issue.paths) - 5} more")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready view (for a model card's training data or a log)."""
        return {"root": str(self.root), "classes": list(self.classes), "counts": self.counts,
                "issues": [{"severity": i.severity, "code": i.code, "message": i.message, "paths": list(i.paths)}
                           for i in self.issues]}


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def scan_folder(root: str | Path, *, min_images: int = MIN_IMAGES_PER_CLASS,
                recommended_images: int = RECOMMENDED_IMAGES_PER_CLASS, imbalance_ratio: float = IMBALANCE_RATIO,
                check_images: bool = True, context=None) -> DatasetReport:
    """Check a dataset folder (one sub-folder per class; images may sit in nested folders below a class).

    ``check_images`` decodes every image (a small preview) so corrupt files, and images too small or too
    elongated to train on, are found now, not mid-training; ``context`` (a JobContext) gets progress and
    may cancel. Hidden files and folders are skipped silently.
    """
    root = Path(root)
    report = DatasetReport(root)
    add = report.issues.append
    if not root.is_dir():
        add(DatasetIssue("error", "not_found", f"{root} is not a folder"))
        return report
    try:
        entries = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: p.name.lower())
    except OSError as exc:
        add(DatasetIssue("error", "not_readable", f"{root} cannot be read ({exc.strerror or exc})"))
        return report
    stray = [p for p in entries if not p.is_dir()]
    if stray:
        add(DatasetIssue("warning", "stray_files", f"{len(stray)} file(s) directly in {root.name} are ignored: "
                         f"put each image in the sub-folder named after its class", tuple(map(str, stray))))
    class_dirs = _distinct_classes([p for p in entries if p.is_dir()], root, report)
    if not class_dirs:
        if not report.errors:
            add(DatasetIssue("error", "empty", f"{root} has no class sub-folders: make one folder per class "
                             f"(e.g. {root.name}/cats, {root.name}/dogs) and put the images inside"))
        return report
    report.classes = [d.name for d in class_dirs]
    class_roots = {_real(d) for d in class_dirs}
    candidates: list[tuple[Path, int]] = []
    skipped_links: list[str] = []
    for label, folder in enumerate(class_dirs):
        for path in _class_files(folder, class_roots, skipped_links):
            if path.suffix.lower() in SUPPORTED_EXTENSIONS:
                candidates.append((path, label))
            else:
                report.unsupported.append(path)
    if skipped_links:
        add(DatasetIssue("info", "links_not_followed", f"{len(skipped_links)} link(s) to folders are not "
                         f"followed: they loop back to a folder already included or lead into another class",
                         tuple(skipped_links)))
    if report.unsupported:
        add(DatasetIssue("info", "unsupported", f"{len(report.unsupported)} file(s) are not images PhotoLab "
                         f"reads (JPEG, PNG, TIFF, WebP, camera RAW) and are ignored",
                         tuple(map(str, report.unsupported))))
    usable = _readable(candidates, report, check_images, context)
    report.items = _deduplicated(usable, report)
    check_counts(report, min_images, recommended_images, imbalance_ratio)
    return report


def _real(path: Path) -> Path | None:
    """Where a path leads once every link is followed; None for a link that loops or leads nowhere."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return None


def _distinct_classes(folders: list[Path], root: Path, report: DatasetReport) -> list[Path]:
    """The class folders that hold their own images, sorted by name. A folder that is a link to another
    class's folder (or into it, or to a folder holding it, or to the dataset folder) is an error, not a
    second class with the same images."""
    real_root = _real(root)
    owners: dict[Path, Path] = {}
    for folder in sorted(folders, key=lambda f: (f.is_symlink(), f.name.lower())):  # real folders claim first
        real = _real(folder)
        if real == real_root or real in real_root.parents:
            other = "the dataset folder itself"
        else:
            other = next((f"class {owner.name}" for path, owner in owners.items()
                          if real == path or path in real.parents or real in path.parents), None)
        if other is None:
            owners[real] = folder
            continue
        report.issues.append(DatasetIssue(
            "error", "linked_class", f"class folder {folder.name} is a link to the same images as {other}: one "
            f"folder cannot be two classes; remove the link, or give {folder.name} its own images", (str(folder),)))
    return sorted(owners.values(), key=lambda f: f.name.lower())


def _class_files(folder: Path, class_roots: set[Path], skipped_links: list[str]) -> list[Path]:
    """Every visible entry below a class folder that is not a folder (files, and links that loop or lead
    nowhere, which the readers then report), sorted. A link to a folder is followed unless it leads back to
    a folder already walked or into another class's folder (listed in ``skipped_links``)."""
    own = _real(folder)
    walked, pending, found = {own}, [folder], []
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue  # a folder that cannot be listed holds nothing we could read either
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if not os.path.isdir(path):  # follows links; False for a link that loops or leads nowhere
                found.append(path)
                continue
            real = _real(path)
            owner = next((p for p in (real, *real.parents) if p in class_roots), own)
            if real in walked or owner != own:
                skipped_links.append(f"{path} -> {real}")
                continue
            walked.add(real)
            pending.append(path)
    return sorted(found)


def _unsuitable_size(width: int, height: int) -> str | None:
    """Why a width x height image cannot be trained on (the classifiers' own limits), or None."""
    if min(width, height) < MIN_SIDE:
        return f"{width}x{height} px is too small to train on (each side needs at least {MIN_SIDE} px)"
    if max(width, height) / min(width, height) > MAX_ASPECT:
        return f"{width}x{height} px is too elongated to train on (more than {MAX_ASPECT:g}:1)"
    return None


def _readable(candidates, report: DatasetReport, check_images: bool, context) -> list[tuple[Path, int, str]]:
    """Check, hash (and, if asked, decode) every candidate; the unreadable and unsuitable ones are listed."""
    usable = []
    for index, (path, label) in enumerate(candidates):
        if context is not None:
            context.progress(index / max(1, len(candidates)), f"Checking {path.name}")
        try:
            check_file(path)  # a FIFO or a device is never opened to be hashed
            if check_images:
                metadata = read_preview(path, max_side=256).metadata
                problem = _unsuitable_size(metadata.width, metadata.height)
                if problem:
                    report.unsuitable.append((path, problem))
                    continue
            digest = _file_digest(path)
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file", reported
            report.unreadable.append((path, str(exc) or type(exc).__name__))
            continue
        usable.append((path, label, digest))
    if report.unreadable:
        report.issues.append(DatasetIssue("warning", "unreadable", f"{len(report.unreadable)} file(s) cannot be "
                                          f"read (corrupt, truncated or not really images) and are skipped",
                                          tuple(f"{path}: {reason}" for path, reason in report.unreadable)))
    if report.unsuitable:
        report.issues.append(DatasetIssue(
            "warning", "unsuitable", f"{len(report.unsuitable)} image(s) are too small or too elongated to train "
            f"on and are left out", tuple(f"{path}: {reason}" for path, reason in report.unsuitable)))
    if context is not None:
        context.progress(1.0, f"Checked {len(candidates)} files")
    return usable


def _deduplicated(usable, report: DatasetReport) -> list[tuple[Path, int]]:
    """Drop files present in two classes (contradictory labels) and extra copies within one class."""
    by_digest: dict[str, list[tuple[Path, int]]] = defaultdict(list)
    for path, label, digest in usable:
        by_digest[digest].append((path, label))
    conflicting, repeated, keep = [], [], set()
    for copies in by_digest.values():
        labels = {label for _, label in copies}
        if len(labels) > 1:
            conflicting.append(tuple(path for path, _ in copies))
        else:
            keep.add(copies[0][0])
            if len(copies) > 1:
                repeated.append(tuple(path for path, _ in copies))
    report.duplicates = conflicting + repeated
    if conflicting:
        described = tuple(" = ".join(str(p.relative_to(report.root)) for p in group) for group in conflicting)
        report.issues.append(DatasetIssue(
            "warning", "duplicate_across_classes", f"{len(conflicting)} image(s) appear in more than one class; "
            f"they are left out of training (an image cannot teach two answers)", described))
    if repeated:
        described = tuple(" = ".join(str(p.relative_to(report.root)) for p in group) for group in repeated)
        report.issues.append(DatasetIssue("info", "duplicate_within_class", f"{len(repeated)} image(s) are "
                                          f"stored more than once in the same class; one copy is used", described))
    return [(path, label) for path, label, _ in usable if path in keep]


def check_counts(report: DatasetReport, min_images: int, recommended: int, ratio: float) -> None:
    """Add the issues about class counts to ``report``: too few classes or images (errors), few images or
    heavy imbalance (warnings). The fine-tuning glue calls it again after the user leaves classes out."""
    counts = report.counts
    add = report.issues.append
    if len(report.classes) < 2:
        add(DatasetIssue("error", "too_few_classes", f"only one class ({report.classes[0]}): a classifier needs "
                         f"at least two class sub-folders"))
    too_few = [name for name, count in counts.items() if count < min_images]
    few = [name for name, count in counts.items() if min_images <= count < recommended]
    if not report.items:
        add(DatasetIssue("error", "no_images", f"{report.root} holds no usable images"))
    if too_few:
        add(DatasetIssue("error", "too_few_images", "too few images in " + ", ".join(
            f"{name} ({counts[name]})" for name in too_few) + f": each class needs at least {min_images}"))
    if few:
        add(DatasetIssue("warning", "few_images", "few images in " + ", ".join(
            f"{name} ({counts[name]})" for name in few) + f": {recommended} or more per class give more "
            f"reliable results"))
    nonzero = [count for count in counts.values() if count > 0]
    if len(nonzero) >= 2 and max(nonzero) > ratio * min(nonzero):
        largest = max(counts, key=counts.get)
        smallest = min((n for n in counts if counts[n] > 0), key=counts.get)
        add(DatasetIssue("warning", "imbalance", f"classes are unbalanced: {largest} has {counts[largest]} images, "
                         f"{smallest} only {counts[smallest]}; the model may favour the larger class"))
