"""How class-specific SE excitations are (SENet paper, Fig. 6), with a chance level and a confidence interval.

The measure of a block (or of a stage, over all its blocks' channels) is the share of the excitations'
variance across images that the class explains: the between-class sum of squares over the total sum of
squares, summed over the channels (the correlation ratio eta^2 of the excitation vectors, in [0, 1]; 0 when
every class has the same average, 1 when the excitations are constant within each class). It is a ratio of
sums over channels, so it does not grow with the channel count: for excitations that carry no class
information its expected value is (K - 1) / (N - 1) for K classes and N images, whether a block has 64 or
2048 channels. That value is far from 0 in a small folder, so every measure comes with

- a chance level: the same measure with the class labels shuffled (``PERMUTATIONS`` times, fixed seed), its
  mean, its 95th percentile and the p-value of the measured value against it;
- a confidence interval: the measured value +- 1.96 standard deviations of the measure over ``BOOTSTRAP``
  resamplings of the images with replacement within each class.

:func:`specificity_report` also says in words when the folder is too small to tell the stages apart.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable, Mapping, Sequence

import numpy as np

from photolab.models.analysis.records import default_stage_of

PERMUTATIONS = 200
BOOTSTRAP = 200
SEED = 0
CONFIDENCE = 0.95
SIGNIFICANCE = 0.05  # a p-value below this is "above chance"
MIN_IMAGES_PER_CLASS = 10  # fewer images in a class and the folder is too small to tell stages apart
MEASURE = ("between-class / total sum of squares of the excitations, summed over the channels (eta squared); "
           "chance: the same with shuffled labels")
_BATCH = 16  # label shufflings or resamplings computed per matrix product
_EMPTY = 1e-12  # a group whose total sum of squares is below this has no variance to explain


@dataclass(frozen=True)
class Specificity:
    """One block's or stage's class specificity, its chance level and its confidence interval."""

    value: float  # the measure (NaN when the excitations do not vary)
    chance: float  # its mean over shuffled labels
    chance_high: float  # its 95th percentile over shuffled labels
    p_value: float  # share of shufflings reaching the measured value (with the measured labels counted once)
    low: float  # bootstrap confidence interval
    high: float

    @property
    def above_chance(self) -> bool:
        """True when shuffled labels rarely reach the measured value (p < SIGNIFICANCE)."""
        return bool(self.p_value < SIGNIFICANCE)

    def to_dict(self) -> dict:
        """JSON-ready: value, chance, chance_high, p_value, ci [low, high], above_chance."""
        return {"value": self.value, "chance": self.chance, "chance_high": self.chance_high,
                "p_value": self.p_value, "ci": [self.low, self.high], "above_chance": self.above_chance}


@dataclass(frozen=True)
class SpecificityReport:
    """The specificity of every block and stage of one folder, and whether the folder can tell."""

    blocks: "OrderedDict[str, Specificity]"
    stages: "OrderedDict[str, Specificity]"
    counts: tuple[int, ...]  # images per class
    permutations: int = PERMUTATIONS
    bootstrap: int = BOOTSTRAP
    seed: int = SEED

    @property
    def too_small(self) -> bool:
        """True when a class has fewer than MIN_IMAGES_PER_CLASS images."""
        return min(self.counts) < MIN_IMAGES_PER_CLASS

    @property
    def caveat(self) -> str:
        """Why the stages cannot be ranked from this folder ('' when they can)."""
        chance = np.nanmean([s.chance for s in self.stages.values()])
        if self.too_small:
            return (f"Too small to tell: the smallest class has {min(self.counts)} images (at least "
                    f"{MIN_IMAGES_PER_CLASS} per class are needed); shuffled labels alone give about {chance:.2f} "
                    "here, so the differences between stages mean little.")
        if not any(s.above_chance for s in self.stages.values()):
            return ("No stage is more class-specific than shuffled labels: this folder cannot tell the stages "
                    "apart.")
        return ""

    def ranking(self) -> list[str]:
        """The stages above chance, the most class-specific (largest measure above its chance level) first."""
        above = [name for name, s in self.stages.items() if s.above_chance]
        return sorted(above, key=lambda name: -(self.stages[name].value - self.stages[name].chance))

    def summary(self) -> str:
        """One sentence: the caveat, or which stage is most class-specific and whether it is clearly ahead."""
        if self.caveat:
            return self.caveat
        first, *others = self.ranking()
        best = self.stages[first]
        sentence = f"{first} is the most class-specific stage ({best.value:.2f}, chance {best.chance:.2f})"
        overlapping = [name for name in others if self.stages[name].high >= best.low]
        if overlapping:
            sentence += f", though not clearly ahead of {', '.join(overlapping)} (their intervals overlap)"
        return sentence + "."

    def to_dict(self) -> dict:
        """JSON-ready: the measure's definition, its settings, every block and stage, too_small, caveat, summary."""
        return {"measure": MEASURE, "permutations": self.permutations, "bootstrap": self.bootstrap,
                "seed": self.seed, "confidence": CONFIDENCE,
                "blocks": {name: s.to_dict() for name, s in self.blocks.items()},
                "stages": {name: s.to_dict() for name, s in self.stages.items()},
                "too_small": self.too_small, "caveat": self.caveat, "summary": self.summary()}


def class_specificity(excitations: Mapping[str, np.ndarray], labels: Sequence) -> "OrderedDict[str, float]":
    """The measure (see the module's docstring) of every block: ``excitations`` maps SE module paths to (N, C)
    arrays (e.g. ``ExcitationProbe(model, accumulate=True).excitations``), ``labels`` has N entries."""
    return OrderedDict(list(_measured(excitations, labels, default_stage_of).items())[:len(excitations)])


def stage_specificity(excitations: Mapping[str, np.ndarray], labels: Sequence,
                      stage_of: Callable[[str], str] = default_stage_of) -> "OrderedDict[str, float]":
    """The measure of every stage (``layer1`` ... ``layer4``), over the channels of all its blocks."""
    return OrderedDict(list(_measured(excitations, labels, stage_of).items())[len(excitations):])


def specificity_report(excitations: Mapping[str, np.ndarray], labels: Sequence,
                       stage_of: Callable[[str], str] = default_stage_of, permutations: int = PERMUTATIONS,
                       bootstrap: int = BOOTSTRAP, seed: int = SEED,
                       progress: Callable[[float], None] | None = None) -> SpecificityReport:
    """Every block's and stage's measure with its chance level (``permutations`` label shufflings) and
    confidence interval (``bootstrap`` resamplings within each class); ``seed`` makes both repeatable.
    ``progress`` gets the fraction done now and then (a job's, whose cancel raises from it)."""
    values, groups, names = _stacked(excitations, labels, stage_of)
    one_hot = _one_hot(labels)
    count = len(values)
    measured = _measures(values, one_hot[None], np.ones((1, count)), groups)[0]
    rng = np.random.default_rng(seed)
    variants = [(one_hot[rng.permutation(count)], np.ones(count)) for _ in range(permutations)]
    variants += [(one_hot, _resample_weights(one_hot, rng)) for _ in range(bootstrap)]
    computed = _batched(values, groups, variants, progress)
    shuffled, resampled = computed[:permutations], computed[permutations:]
    results = [Specificity(float(value), _mean(chance), _quantile(chance, 0.95), _p_value(value, chance),
                           *_interval(value, resamples))
               for value, chance, resamples in zip(measured, shuffled.T, resampled.T)]
    split = len(excitations)
    return SpecificityReport(OrderedDict(zip(names[:split], results[:split])),
                             OrderedDict(zip(names[split:], results[split:])),
                             tuple(int(c) for c in one_hot.sum(axis=0)), permutations, bootstrap, seed)


def _measured(excitations: Mapping[str, np.ndarray], labels: Sequence,
              stage_of: Callable[[str], str]) -> "OrderedDict[str, float]":
    """The measure of every block, then of every stage, with the labels as given."""
    values, groups, names = _stacked(excitations, labels, stage_of)
    measured = _measures(values, _one_hot(labels)[None], np.ones((1, len(values))), groups)[0]
    return OrderedDict((name, float(v)) for name, v in zip(names, measured))


def _one_hot(labels: Sequence) -> np.ndarray:
    """(N, K) one-hot class membership of ``labels`` (K >= 2 classes)."""
    classes, inverse = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("class specificity needs images of at least two classes")
    return (inverse.reshape(-1)[:, None] == np.arange(len(classes))[None, :]).astype(np.float64)


def _stacked(excitations: Mapping[str, np.ndarray], labels: Sequence,
             stage_of: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The (N, C_total) centred excitations of all blocks side by side, the (C_total, G) 0/1 matrix of the
    groups each channel belongs to (every block, then every stage) and the groups' names."""
    count = len(labels)
    arrays = OrderedDict()
    for name, values in excitations.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != count:
            raise ValueError(f"{name}: expected ({count}, C) excitations, got {array.shape}")
        arrays[name] = array
    blocks = list(arrays)
    names = blocks + list(OrderedDict.fromkeys(stage_of(name) for name in blocks))
    values = np.concatenate(list(arrays.values()), axis=1)
    groups = np.zeros((values.shape[1], len(names)))
    start = 0
    for index, (block, array) in enumerate(arrays.items()):
        end = start + array.shape[1]
        groups[start:end, index] = 1.0
        groups[start:end, names.index(stage_of(block), len(blocks))] = 1.0
        start = end
    return values - values.mean(axis=0), groups, names


def _measures(values: np.ndarray, one_hots: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(B, G): the measure of every group for B variants of the data set, each given by its class membership
    ``one_hots`` (B, N, K) and how often each image counts, ``weights`` (B, N)."""
    variants, count, classes = one_hots.shape
    class_weights = one_hots * weights[:, :, None]
    sizes = class_weights.sum(axis=1)  # (B, K)
    class_sums = (class_weights.transpose(0, 2, 1).reshape(variants * classes, count) @ values).reshape(
        variants, classes, -1)
    shared = (weights @ values) ** 2 / sizes.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = np.nansum(class_sums ** 2 / sizes[:, :, None], axis=1) - shared
    total = weights @ values ** 2 - shared
    between, total = between @ groups, total @ groups
    safe = np.where(total > _EMPTY, total, 1.0)
    return np.where(total > _EMPTY, np.clip(between / safe, 0.0, 1.0), np.nan)


def _batched(values: np.ndarray, groups: np.ndarray, variants: list[tuple[np.ndarray, np.ndarray]],
             progress: Callable[[float], None] | None = None) -> np.ndarray:
    """(len(variants), G): :func:`_measures` of (one-hot, weights) variants, a few per matrix product."""
    rows = [np.zeros((0, groups.shape[1]))]
    for start in range(0, len(variants), _BATCH):
        chunk = variants[start:start + _BATCH]
        rows.append(_measures(values, np.stack([o for o, _ in chunk]), np.stack([w for _, w in chunk]), groups))
        if progress is not None:
            progress((start + len(chunk)) / len(variants))
    return np.concatenate(rows)


def _p_value(value: float, chance: np.ndarray) -> float:
    """Share of the shufflings (and the measured labels, counted once) whose measure reaches ``value``."""
    chance = chance[np.isfinite(chance)]
    if not np.isfinite(value):
        return float("nan")
    return float((1 + np.sum(chance >= value - 1e-12)) / (1 + chance.size))


def _resample_weights(one_hot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How often each image is drawn when every class is resampled with replacement to its own size."""
    weights = np.zeros(len(one_hot))
    for column in one_hot.T:
        members = np.flatnonzero(column)
        np.add.at(weights, rng.choice(members, size=len(members), replace=True), 1.0)
    return weights


def _interval(value: float, resamples: np.ndarray) -> tuple[float, float]:
    """The normal bootstrap interval: ``value`` +- z standard deviations of the resampled measures, in [0, 1].
    (Resampling adds its own noise to the class means, so the resampled measures sit above ``value`` by about
    the chance level; their spread is used, their percentiles are not.)"""
    resamples = resamples[np.isfinite(resamples)]
    if not np.isfinite(value) or resamples.size < 2:
        return float("nan"), float("nan")
    half = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2) * float(resamples.std(ddof=1))
    return max(0.0, float(value) - half), min(1.0, float(value) + half)


def _mean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def _quantile(values: np.ndarray, q: float) -> float:
    values = values[np.isfinite(values)]
    return float(np.quantile(values, q)) if values.size else float("nan")
