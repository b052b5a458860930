"""The fine-tuning wizard's *auto* strategy: candidates scored by cross-validation on the user's own images.

A folder of 5-10 classes with 10-30 images each is too small for one validation split to tell strategies
apart, and too small to fine-tune a whole network without memorising it. So the backbone runs once over every
image (its plain view, exactly as Classify will show it, and a few augmented views: random crops and
mirrors) and keeps two things per view: the pooled features and the last stage's input. Then:

- **probe**: a ridge classifier on the pooled features (:mod:`photolab.models.training.probe`), its penalty chosen by
  k-fold cross-validation over images (all views of a held-out image are held out; it is scored on its
  plain view), its scores scaled by the temperature that calibrates the out-of-fold probabilities;
- **probe_gh**: the same on the pooled features and the view's histograms of oriented gradients
  (:mod:`photolab.models.layers.gradient_histogram`): drawings, icons and glyphs unlike the backbone's
  training data keep their layout there; if it wins, the network becomes its ``*_gh`` architecture, whose
  ``fc`` reads both; ``run_finetune`` scores both probes on the centre crop and on the whole picture too
  (``crop_pct`` 1), and the winner's preprocessing goes into the card;
- **last**: the last residual stage and the head fine-tuned on the cached stage inputs of two views per image
  (started from the probe's head), scored by the same folds, when its work fits a fixed budget
  (:data:`LAST_STAGE_BUDGET` sample passes, about a minute on two CPU cores; a budget in work, not in
  seconds, keeps the choice the same on every machine).

The candidate with the best cross-validated accuracy wins (the probe on a tie: fewer weights learnt), is
trained again on every image, and is written into the network, which stays an SE-ResNet (the Attention view
works on it). The out-of-fold predictions of the winner are its reported metrics: every image was predicted
by a model that never saw it. Deterministic for a seed and a thread count.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photolab.models.archs.seresnet import with_gradient_histogram
from photolab.models.layers.gradient_histogram import GradientHistogram
from photolab.models.preprocess import prepare
from photolab.models.registry import create_model
from photolab.models.training.dataset import random_resized_crop
from photolab.models.training.probe import LinearHead, RidgePath, ridge_cross_validation, stratified_folds, temperature

HISTOGRAM_PROBE = "probe_gh"
CANDIDATES = {
    "probe": "Linear probe (train only the classifier)",
    HISTOGRAM_PROBE: "Linear probe on the features and gradient histograms",
    "last": "Fine-tune the last stage",
}
"""Candidate key -> label (the reason the card and the wizard give)."""
AUGMENTED_VIEWS = 4
MAX_FOLDS = 5
LAST_STAGE_EPOCHS = 4
LAST_STAGE_VIEWS = 2  # the plain view and one augmented view of each image
LAST_STAGE_BUDGET = 12_000
"""Sample passes through the last stage (all folds and the final fit) above which it is not tried."""


@dataclass
class Views:
    """Every view of every image through the frozen backbone."""

    pooled: torch.Tensor  # (views, features)
    histograms: torch.Tensor  # (views, HISTOGRAM_FEATURES): HOG of each view
    stage_input: torch.Tensor  # (views, C, h, w): what the last stage receives
    image_of: np.ndarray  # (views,) index of the image a view comes from
    rank: np.ndarray  # (views,) 0 for the view Classify shows, 1, 2... for the augmented ones

    @property
    def plain(self) -> np.ndarray:
        """True for the view Classify shows."""
        return self.rank == 0


@dataclass
class Candidate:
    """One way to train, scored by cross-validation: accuracy, out-of-fold predictions, its cost."""

    name: str
    accuracy: float
    predicted: np.ndarray  # (images,) out-of-fold class of each image
    probabilities: np.ndarray  # (images,) out-of-fold probability of that class
    seconds: float
    detail: dict = field(default_factory=dict)
    fold_heads: list = field(default_factory=list)  # the probe's head trained without each fold


def extract_views(model: nn.Module, images: list[np.ndarray], prep, seed: int, context=None,
                  views: int = AUGMENTED_VIEWS) -> Views:
    """Run the frozen ``model`` (an SEResNet) over the plain view and ``views`` augmented views of each image."""
    rng = np.random.default_rng(seed)
    size = prep.input_size[1:]
    mean, std = np.float32(prep.mean), np.float32(prep.std)
    tensors, image_of, rank = [], [], []
    for index, image in enumerate(images):
        tensors.append(prepare(image, prep).tensor[0])
        image_of.append(index)
        rank.append(0)
        for view in range(views):
            crop = random_resized_crop(image, size, rng, (0.5, 1.0), flip=True)
            x = (crop.astype(np.float32) / 255.0 - mean) / std
            tensors.append(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))))
            image_of.append(index)
            rank.append(view + 1)
    pooled, histograms, stage_input = _look(model, tensors, prep, context)
    return Views(pooled, histograms, stage_input, np.array(image_of), np.array(rank))


def with_plain_views(model: nn.Module, views: Views, images: list[np.ndarray], prep, context=None) -> Views:
    """``views`` with each image's plain view made again as ``prep`` says (another crop): the augmented
    views do not depend on ``prep``'s crop, so they are kept rather than computed twice."""
    pooled, histograms, stage_input = _look(model, [prepare(image, prep).tensor[0] for image in images], prep,
                                            context)
    rows = torch.as_tensor(np.flatnonzero(views.plain))  # one per image, in image order
    replaced = [tensor.clone() for tensor in (views.pooled, views.histograms, views.stage_input)]
    for whole, part in zip(replaced, (pooled, histograms, stage_input)):
        whole[rows] = part
    return Views(*replaced, views.image_of, views.rank)


def _look(model: nn.Module, tensors: list[torch.Tensor], prep, context=None):
    """The frozen ``model``'s pooled features, the inputs' HOG and the last stage's inputs, in batches of 32."""
    pooled, stage_input, histograms = [], [], []
    describe = GradientHistogram(prep.mean, prep.std)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(tensors), 32):
            if context is not None:
                context.progress(start / len(tensors), f"Looking at your images: {start}/{len(tensors)} views")
            batch = torch.stack(tensors[start:start + 32])
            x = model.maxpool(model.act1(model.bn1(model.conv1(batch))))
            x = model.layer3(model.layer2(model.layer1(x)))
            stage_input.append(x)
            pooled.append(model.forward_head(model.layer4(x), pre_logits=True))
            histograms.append(describe(batch))
    return torch.cat(pooled), torch.cat(histograms), torch.cat(stage_input)


def candidate_features(views: Views, name: str) -> torch.Tensor:
    """What the probe candidate ``name`` reads: the pooled features, with the histograms for ``probe_gh``."""
    return torch.cat([views.pooled, views.histograms], 1) if name == HISTOGRAM_PROBE else views.pooled


def probe_candidate(views: Views, labels: np.ndarray, classes: int, folds: list[np.ndarray],
                    name: str = "probe") -> Candidate:
    """The ridge probe (``probe`` or ``probe_gh``, see :func:`candidate_features`) with the cross-validated
    penalty and temperature, and its out-of-fold predictions."""
    start = time.monotonic()
    accuracy, scores, paths = ridge_cross_validation(candidate_features(views, name), views.image_of, labels,
                                                     classes, views.plain, folds)
    l2 = max(accuracy, key=lambda value: (accuracy[value], value))  # the strongest penalty among the best
    factor = temperature(scores[l2], labels)
    probabilities = torch.softmax(scores[l2] * factor, 1)
    confidence, predicted = probabilities.max(1)
    return Candidate(name, accuracy[l2], predicted.numpy(), confidence.numpy(), time.monotonic() - start,
                     {"l2": l2, "temperature": round(factor, 3),
                      "l2_scores": {f"{k:g}": round(v, 4) for k, v in accuracy.items()}},
                     [path.head(l2).scaled(factor) for path in paths])


def probe_head(views: Views, labels: np.ndarray, classes: int, probe: Candidate) -> LinearHead:
    """The probe trained on every view of every image, with the cross-validated penalty and temperature."""
    path = RidgePath(candidate_features(views, probe.name), torch.as_tensor(labels[views.image_of]), classes)
    return path.head(probe.detail["l2"]).scaled(probe.detail["temperature"])


def last_stage_work(images: int, folds: int) -> int:
    """Sample passes through the last stage that :func:`last_stage_candidate` and :func:`finish` would make."""
    rows = images * LAST_STAGE_VIEWS
    per_fit = LAST_STAGE_EPOCHS * max(1, rows // 32) * 32
    return per_fit * (folds + 1)


def last_stage_candidate(model: nn.Module, views: Views, labels: np.ndarray, classes: int, folds,
                         probe: Candidate, seed: int, context=None) -> Candidate | None:
    """The last stage and head fine-tuned on the cached stage inputs (head started from the probe), by fold;
    None when that is more work than :data:`LAST_STAGE_BUDGET`."""
    if last_stage_work(len(labels), len(folds)) > LAST_STAGE_BUDGET:
        return None
    start = time.monotonic()
    heads = iter(probe.fold_heads)  # _out_of_fold trains the folds in order

    def train(rows):
        return tune_last_stage(model, views, labels, rows, next(heads), seed)

    def score(tuned, rows):
        stage, head = tuned
        with torch.no_grad():
            return head(model.forward_head(stage(views.stage_input[rows]), pre_logits=True))

    predicted, confidence = _out_of_fold(train, score, views, labels, folds, context)
    accuracy = float((predicted == labels).mean())
    return Candidate("last", accuracy, predicted, confidence, time.monotonic() - start,
                     {"epochs": LAST_STAGE_EPOCHS})


def tune_last_stage(model: nn.Module, views: Views, labels: np.ndarray, rows: np.ndarray, start: LinearHead,
                    seed: int) -> tuple[nn.Module, nn.Linear]:
    """A copy of ``model.layer4`` and a head started from ``start`` trained on the views ``rows`` (the plain and
    first augmented ones; AdamW, cosine, label smoothing)."""
    torch.manual_seed(seed)
    stage = copy.deepcopy(model.layer4).train()
    rows = rows[views.rank[rows] < LAST_STAGE_VIEWS]
    head = nn.Linear(start.weight.shape[1], start.weight.shape[0])
    with torch.no_grad():
        head.weight.copy_(start.weight)
        head.bias.copy_(start.bias)
    optimizer = torch.optim.AdamW([{"params": stage.parameters(), "lr": 3e-4},
                                   {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.05)
    generator = torch.Generator().manual_seed(seed)
    row_labels = torch.as_tensor(labels[views.image_of[rows]])
    steps = LAST_STAGE_EPOCHS * max(1, len(rows) // 32)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        batch = torch.randint(len(rows), (32,), generator=generator)
        features = model.forward_head(stage(views.stage_input[rows[batch]]), pre_logits=True)
        loss = F.cross_entropy(head(features), row_labels[batch], label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return stage.eval(), head.eval()


def _out_of_fold(train, score, views: Views, labels: np.ndarray, folds, context=None):
    """Each fold's images predicted by a model trained on the other folds' views: (classes, probabilities)."""
    predicted = np.zeros(len(labels), np.int64)
    confidence = np.zeros(len(labels), np.float32)
    for number, held_out in enumerate(folds):
        if context is not None:
            context.progress(number / len(folds), f"Cross-validating: fold {number + 1} of {len(folds)}")
        test_rows = np.isin(views.image_of, held_out)
        trained = train(np.flatnonzero(~test_rows))
        plain_rows = np.flatnonzero(test_rows & views.plain)
        probabilities = torch.softmax(score(trained, plain_rows), 1)
        best, chosen = probabilities.max(1)
        predicted[views.image_of[plain_rows]] = chosen.numpy()
        confidence[views.image_of[plain_rows]] = best.numpy()
    return predicted, confidence


def folds_for(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """As many stratified folds as the smallest class allows (2 to MAX_FOLDS)."""
    smallest = int(np.bincount(labels).min())
    return stratified_folds(labels, max(2, min(MAX_FOLDS, smallest)), seed)


def choose(candidates: list[Candidate | None]) -> Candidate:
    """The best cross-validated accuracy among the candidates tried; the earlier (simpler) one on a tie."""
    tried = [(index, c) for index, c in enumerate(candidates) if c is not None]
    return max(tried, key=lambda pair: (round(pair[1].accuracy, 6), -pair[0]))[1]


def finish(model: nn.Module, views: Views, labels: np.ndarray, classes: int, winner: Candidate,
           probes: dict[str, Candidate], seed: int, architecture: str, prep) -> nn.Module:
    """The network with the winner trained on every image written into it: ``model`` itself, or for
    ``probe_gh`` a ``*_gh`` copy of it (its trunk, and HOG of inputs normalised as ``prep`` says)."""
    everything = np.arange(len(views.image_of))
    if winner.name == HISTOGRAM_PROBE:
        trunk = {key: value for key, value in model.state_dict().items() if not key.startswith("fc.")}
        model = create_model(with_gradient_histogram(architecture), num_classes=classes)
        model.load_state_dict(trunk, strict=False)
        model.gradient_histogram.set_normalisation(prep.mean, prep.std)
    else:
        model.reset_classifier(classes)
    head = probe_head(views, labels, classes, probes["probe" if winner.name == "last" else winner.name])
    if winner.name == "last":
        stage, tuned = tune_last_stage(model, views, labels, everything, head, seed)
        model.layer4.load_state_dict(stage.state_dict())
        head = LinearHead(tuned.weight.detach(), tuned.bias.detach())
    _write_head(model, head)
    return model.eval()


def _write_head(model: nn.Module, head: LinearHead) -> None:
    """``head`` into ``model.fc``; inputs the head never read (a ``*_gh`` base's histograms) get weight 0."""
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.weight[:, :head.weight.shape[1]].copy_(head.weight)
        model.fc.bias.copy_(head.bias)
