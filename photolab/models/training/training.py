"""The fine-tuning loop shared by the fine-tuning wizard and the built-in training scripts.

:func:`fit` trains any classifier on two torch datasets (items ``(tensor CHW, label)``) with AdamW, a linear
warm-up then cosine learning-rate schedule, an optional frozen-backbone phase (only the classifier learns,
then everything is unfrozen), early stopping on the validation loss (the best weights are restored) and an
optional wall-time budget. Progress and cancellation go through a JobContext-like object (``progress``,
``check_cancelled``), so a :class:`photolab.jobs.Job` can run it in the CLI or the GUI. Per-epoch metrics go
to ``on_epoch``; the result carries the history and the final validation metrics: accuracy, per-class
precision and recall, confusion matrix (:class:`ClassificationMetrics`).

Runs are deterministic for a given seed and thread count: shuffling uses a seeded generator, and a dataset
with a ``set_epoch(epoch)`` method is told the epoch so it can seed its own augmentation from it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from photolab.jobs import JobCancelled


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (all have defaults suitable for fine-tuning a small dataset).

    ``freeze_backbone_epochs``: the first N epochs train only the classifier (``model.get_classifier()``),
    with the backbone's batch-norm statistics frozen. ``backbone_lr_scale`` multiplies the learning rate of
    every non-classifier parameter. ``patience``: stop after that many epochs without a validation-loss
    improvement larger than ``min_delta`` (0 disables early stopping). ``time_limit_s``: stop after the
    epoch that crosses this wall time. ``schedule_by_time`` (with ``time_limit_s``): the cosine decay follows
    whichever is further along, steps or wall time, so a run on a busy machine still anneals before its time
    is up (such a run is no longer bit-for-bit repeatable). ``num_threads``: torch CPU threads during the run
    (None: unchanged).
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 0.5
    min_lr_ratio: float = 0.01
    label_smoothing: float = 0.0
    freeze_backbone_epochs: int = 0
    backbone_lr_scale: float = 1.0
    patience: int = 3
    min_delta: float = 0.0
    time_limit_s: float | None = None
    schedule_by_time: bool = False
    seed: int = 0
    num_threads: int | None = None
    eval_batch_size: int = 64

    def to_dict(self) -> dict:
        """JSON-ready view (for model cards)."""
        return asdict(self)


@dataclass(frozen=True)
class EpochMetrics:
    """What one epoch did: mean losses, accuracies, the learning rate at its end, its wall time."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    backbone_frozen: bool


@dataclass(frozen=True)
class ClassificationMetrics:
    """Accuracy, per-class precision / recall / support and the confusion matrix (rows: true, cols: predicted)."""

    classes: tuple[str, ...]
    accuracy: float
    loss: float
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]

    def per_class(self) -> dict[str, dict[str, float]]:
        """``{class: {"precision", "recall", "support"}}``."""
        return {name: {"precision": p, "recall": r, "support": s}
                for name, p, r, s in zip(self.classes, self.precision, self.recall, self.support)}

    def to_dict(self) -> dict:
        """JSON-ready view (for model cards and reports)."""
        return {"accuracy": self.accuracy, "loss": self.loss, "per_class": self.per_class(),
                "confusion_matrix": [list(row) for row in self.confusion], "classes": list(self.classes)}


@dataclass
class TrainingResult:
    """The trained model (best validation-loss weights restored), its history and final validation metrics."""

    model: nn.Module
    classes: tuple[str, ...]
    history: list[EpochMetrics]
    metrics: ClassificationMetrics
    best_epoch: int
    stop_reason: str
    config: TrainConfig
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready summary without the model."""
        return {"classes": list(self.classes), "best_epoch": self.best_epoch, "stop_reason": self.stop_reason,
                "seconds": self.seconds, "config": self.config.to_dict(),
                "history": [asdict(h) for h in self.history], "metrics": self.metrics.to_dict(), **self.extra}


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str],
                           loss: float = float("nan")) -> ClassificationMetrics:
    """Accuracy, per-class precision and recall (0 where undefined) and the confusion matrix."""
    n = len(classes)
    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    diagonal = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    precision = np.divide(diagonal, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(diagonal, actual, out=np.zeros(n), where=actual > 0)
    accuracy = float(diagonal.sum() / max(1, confusion.sum()))
    return ClassificationMetrics(tuple(classes), accuracy, float(loss), tuple(map(float, precision)),
                                 tuple(map(float, recall)), tuple(map(int, actual)),
                                 tuple(tuple(map(int, row)) for row in confusion))


class _Progress:
    """Adapts an optional JobContext-like object (``progress(fraction, message)``, ``check_cancelled()``)."""

    def __init__(self, context) -> None:
        self.context = context

    def __call__(self, fraction: float, message: str) -> None:
        if self.context is not None:
            self.context.progress(fraction, message)

    def check(self) -> None:
        if self.context is None:
            return
        check = getattr(self.context, "check_cancelled", None)
        if check is not None:
            check()
        elif getattr(self.context, "cancelled", False):
            raise JobCancelled()


def _classifier_params(model: nn.Module) -> set[int]:
    getter = getattr(model, "get_classifier", None)
    head = getter() if getter is not None else None
    return {id(p) for p in head.parameters()} if head is not None else set()


def _set_backbone_frozen(model: nn.Module, head_ids: set[int], frozen: bool) -> None:
    for parameter in model.parameters():
        if id(parameter) not in head_ids:
            parameter.requires_grad_(not frozen)


def _train_mode(model: nn.Module, head_ids: set[int], frozen: bool) -> None:
    """Training mode, except that a frozen backbone keeps its batch-norm statistics (eval mode)."""
    model.train()
    if frozen:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
                    id(p) in head_ids for p in module.parameters()):
                module.eval()


def _run_batches(model, loader, criterion, optimizer=None, scheduler=None, on_batch=None):
    """One pass over ``loader``; returns (mean loss, accuracy, predictions, targets)."""
    total_loss, predictions, targets = 0.0, [], []
    for images, labels in loader:
        if optimizer is not None:
            logits = model(images)
            loss = criterion(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        else:
            with torch.no_grad():
                logits = model(images)
                loss = criterion(logits, labels)
        total_loss += float(loss.detach()) * len(labels)
        predictions.append(logits.argmax(1).detach())
        targets.append(labels)
        if on_batch is not None:
            on_batch(float(loss.detach()))
    pred = torch.cat(predictions).cpu().numpy() if predictions else np.zeros(0, np.int64)
    true = torch.cat(targets).cpu().numpy() if targets else np.zeros(0, np.int64)
    count = max(1, len(true))
    return total_loss / count, float((pred == true).sum() / count), pred, true


def evaluate(model: nn.Module, dataset: Dataset, classes: Sequence[str], batch_size: int = 64,
             context=None) -> ClassificationMetrics:
    """Metrics of ``model`` on ``dataset`` (eval mode, no gradients); ``context`` gets progress and may cancel."""
    progress = _Progress(context)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    steps, done = max(1, len(loader)), [0]

    def on_batch(_loss: float) -> None:
        done[0] += 1
        progress(done[0] / steps, f"Evaluating: batch {done[0]}/{steps}")

    model.eval()
    loss, _, pred, true = _run_batches(model, loader, nn.CrossEntropyLoss(), on_batch=on_batch)
    return classification_metrics(true, pred, classes, loss)


def _lr_lambda(total_steps: int, warmup_steps: int, min_ratio: float,
               time_progress: Callable[[], float] | None = None) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if time_progress is not None:
            progress = max(progress, time_progress())
        progress = min(1.0, progress)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def fit(model: nn.Module, train_data: Dataset, val_data: Dataset, classes: Sequence[str],
        config: TrainConfig = TrainConfig(), context=None,
        on_epoch: Callable[[EpochMetrics], None] | None = None) -> TrainingResult:
    """Train ``model`` (its head already sized for ``classes``) and return the best-validation-loss model.

    Raises :class:`photolab.jobs.JobCancelled` when ``context`` asks to stop (checked every batch).
    """
    if len(train_data) == 0 or len(val_data) == 0:
        raise ValueError("training needs at least one training and one validation item")
    previous_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(int(config.num_threads))
    try:
        return _fit(model, train_data, val_data, tuple(classes), config, _Progress(context), on_epoch)
    finally:
        torch.set_num_threads(previous_threads)


def _fit(model, train_data, val_data, classes, config, progress, on_epoch) -> TrainingResult:
    start = time.monotonic()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    drop_last = len(train_data) > config.batch_size and len(train_data) % config.batch_size == 1  # BN needs 2+
    train_loader = DataLoader(train_data, batch_size=config.batch_size, shuffle=True, generator=generator,
                              drop_last=drop_last)
    val_loader = DataLoader(val_data, batch_size=config.eval_batch_size, shuffle=False)
    head_ids = _classifier_params(model)
    head = [p for p in model.parameters() if id(p) in head_ids]
    body = [p for p in model.parameters() if id(p) not in head_ids]
    groups = [{"params": head, "lr": config.lr}]
    if body:
        groups.append({"params": body, "lr": config.lr * config.backbone_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(train_loader)
    total_steps = max(1, steps_per_epoch * config.epochs)
    time_progress = None
    if config.schedule_by_time and config.time_limit_s:
        time_progress = lambda: (time.monotonic() - start) / config.time_limit_s  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(
        total_steps, int(config.warmup_epochs * steps_per_epoch), config.min_lr_ratio, time_progress))
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    eval_criterion = nn.CrossEntropyLoss()
    work_per_epoch = steps_per_epoch + len(val_loader)
    total_work = work_per_epoch * config.epochs
    history: list[EpochMetrics] = []
    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    stop_reason = "completed"
    for epoch in range(config.epochs):
        progress.check()
        epoch_start = time.monotonic()
        frozen = epoch < config.freeze_backbone_epochs and bool(head)
        _set_backbone_frozen(model, head_ids, frozen)
        for dataset in (train_data, val_data):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
        _train_mode(model, head_ids, frozen)
        done = [0]

        def on_batch(loss: float, epoch=epoch) -> None:
            done[0] += 1
            progress((epoch * work_per_epoch + done[0]) / total_work,
                     f"Epoch {epoch + 1}/{config.epochs}: batch {min(done[0], steps_per_epoch)}/{steps_per_epoch}"
                     f", loss {loss:.3f}")

        train_loss, train_acc, _, _ = _run_batches(model, train_loader, criterion, optimizer, scheduler, on_batch)
        model.eval()
        val_loss, val_acc, _, _ = _run_batches(model, val_loader, eval_criterion, on_batch=on_batch)
        metrics = EpochMetrics(epoch + 1, train_loss, train_acc, val_loss, val_acc,
                               float(optimizer.param_groups[0]["lr"]), time.monotonic() - epoch_start, frozen)
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        if not math.isfinite(train_loss):
            stop_reason = "diverged (loss is not finite)"
            break
        if val_loss < best_loss - config.min_delta:
            best_loss, best_epoch, stale = val_loss, epoch + 1, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if config.patience and stale >= config.patience:
                stop_reason = f"early stop: no validation-loss improvement for {stale} epochs"
                break
        if config.time_limit_s is not None and time.monotonic() - start >= config.time_limit_s:
            stop_reason = f"time limit of {config.time_limit_s:.0f} s reached"
            break
    _set_backbone_frozen(model, head_ids, False)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    final = evaluate(model, val_data, classes, config.eval_batch_size)
    progress(1.0, f"Done: validation accuracy {final.accuracy:.1%}")
    return TrainingResult(model, classes, history, final, best_epoch, stop_reason, config,
                          time.monotonic() - start)


def finetune(model: nn.Module, report, config: TrainConfig = TrainConfig(), preprocessing=None,
             val_fraction: float = 0.2, context=None,
             on_epoch: Callable[[EpochMetrics], None] | None = None) -> TrainingResult:
    """The wizard's entry point: fine-tune ``model`` on a checked folder dataset (a ``data.DatasetReport``).

    The classifier is replaced by a fresh one for the report's classes when its size differs; the split is
    stratified and seeded (``config.seed``); ``preprocessing`` defaults to the model's own (``default_cfg``).
    The result's ``extra`` holds the dataset summary and the split sizes, ready for the model card.
    """
    from photolab.models.store.card import Preprocessing
    from photolab.models.training.dataset import make_datasets

    prep = preprocessing or Preprocessing.from_config(model.default_cfg)
    classes = tuple(report.classes)
    if getattr(model, "num_classes", None) != len(classes):
        torch.manual_seed(config.seed)
        model.reset_classifier(len(classes))
    train_data, val_data = make_datasets(report, prep, val_fraction, config.seed)
    result = fit(model, train_data, val_data, classes, config, context, on_epoch)
    result.extra = {"data": {**report.to_dict(), "train_images": len(train_data), "val_images": len(val_data)}}
    return result
