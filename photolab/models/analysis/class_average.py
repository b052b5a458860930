"""Class-average excitations over a folder dataset: the analysis of the SENet paper's Fig. 6.

Hu et al. (Squeeze-and-Excitation Networks, Fig. 6) average each SE block's excitations over the images of
each class: in early blocks the class curves coincide (the features are class-agnostic), in later blocks
they part (class-specific). :func:`analyse_folder` runs that over a folder with one sub-folder per class (the
layout of a fine-tuning dataset, checked by :func:`photolab.models.training.data.scan_folder`) as a job with progress
and cancel, and measures the class-specificity of every block and stage with its chance level and confidence
interval (:func:`photolab.models.analysis.specificity.specificity_report`). The Attention view's Class Average
tab and ``photolab-cli attention --class-average`` both call it, so they give the same numbers.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from photolab.core.errors import PhotoLabError
from photolab.models.analysis.specificity import SpecificityReport, specificity_report
from photolab.models.training.data import scan_folder
from photolab.models.training.dataset import load_srgb8
from photolab.models.inference import excitations


@dataclass(frozen=True)
class ClassAverageResult:
    """Excitations of every usable image of a folder dataset, and what they say per class, block and stage."""

    model: str
    root: str
    classes: tuple[str, ...]
    labels: np.ndarray  # (N,) class index of each image
    paths: tuple[str, ...]
    excitations: "OrderedDict[str, np.ndarray]"  # block -> (N, C)
    specificity: SpecificityReport
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason) of images that could not be read

    @property
    def block_specificity(self) -> "OrderedDict[str, float]":
        """Block -> its class specificity (the measured value)."""
        return OrderedDict((name, s.value) for name, s in self.specificity.blocks.items())

    @property
    def stage_specificity(self) -> "OrderedDict[str, float]":
        """Stage -> its class specificity (the measured value)."""
        return OrderedDict((name, s.value) for name, s in self.specificity.stages.items())

    def class_means(self, block: str) -> np.ndarray:
        """(K, C): the average excitation of each class in ``block``."""
        values = self.excitations[block]
        return np.stack([values[self.labels == k].mean(axis=0) for k in range(len(self.classes))])

    def counts(self) -> dict[str, int]:
        """Images per class."""
        return {name: int((self.labels == k).sum()) for k, name in enumerate(self.classes)}

    def to_dict(self) -> dict:
        """JSON-ready: classes, counts, per-block class means, block and stage specificity (values), and the
        specificity with chance levels, intervals and the caveat (``specificity``)."""
        return {"model": self.model, "root": self.root, "classes": list(self.classes), "counts": self.counts(),
                "images": [{"path": p, "class": self.classes[k]} for p, k in zip(self.paths, self.labels)],
                "class_means": {block: {name: means.tolist() for name, means in zip(self.classes,
                                                                                      self.class_means(block))}
                                for block in self.excitations},
                "block_specificity": dict(self.block_specificity),
                "stage_specificity": dict(self.stage_specificity),
                "specificity": self.specificity.to_dict(),
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


def analyse_folder(context, loaded, root: str) -> ClassAverageResult:
    """Job work: the excitations of every image below ``root/<class>/`` under the ``loaded`` model, and their
    class-specificity."""
    report = scan_folder(root, min_images=1, recommended_images=1, imbalance_ratio=float("inf"),
                         check_images=False, context=context.subtask(0.0, 0.05))
    if not report.ok:
        raise PhotoLabError("\n".join(issue.message for issue in report.errors))
    side = max(512, 4 * max(loaded.card.preprocessing.input_size[1:]))
    records: list[OrderedDict] = []
    labels, paths, skipped = [], [], []
    total = len(report.items)
    for index, (path, label) in enumerate(report.items):
        context.progress(0.05 + 0.9 * index / total, f"{path.name} ({index + 1} of {total})")
        try:
            image = load_srgb8(path, side)
        except PhotoLabError as exc:
            skipped.append((str(path), str(exc)))
            continue
        records.append(excitations(loaded, image))
        labels.append(label)
        paths.append(str(path))
    present = sorted(set(labels))
    if len(present) < 2:
        raise PhotoLabError(f"{root}: fewer than two classes have readable images; nothing to compare")
    remap = {old: new for new, old in enumerate(present)}  # classes whose every image was unreadable drop out
    labels_array = np.array([remap[label] for label in labels])
    stacked = OrderedDict((block, np.stack([r[block] for r in records])) for block in records[0])
    context.progress(0.95, "Measuring class specificity against shuffled labels")
    specificity = specificity_report(stacked, labels_array, progress=context.subtask(0.95, 1.0).progress)
    return ClassAverageResult(loaded.name, str(root), tuple(report.classes[k] for k in present), labels_array,
                              tuple(paths), stacked, specificity, tuple(skipped))
