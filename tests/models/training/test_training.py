"""The fine-tuning loop: progress and cancel through a real Job, metrics, determinism, early stopping, freezing,
and learning a clearly separable toy problem. Everything is tiny (32x32 images, a few-thousand-parameter SE
network, 1-3 epochs) so the file runs in seconds on one thread."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

from photolab.jobs import Job, JobCancelled, JobState
from photolab.models.archs.seresnet import create_model
from photolab.models.layers.squeeze_excite import SEModule
from photolab.models.training.split import stratified_split
from photolab.models.training.training import TrainConfig, classification_metrics, evaluate, finetune, fit


class TinySE(nn.Module):
    """Conv -> SE -> pool -> linear: small enough to train in a fraction of a second."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.se = SEModule(16, reduction=4)
        self.fc = nn.Linear(16, num_classes)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def forward(self, x):
        x = self.se(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.mean((2, 3)))


def toy_data(count: int, seed: int) -> TensorDataset:
    """Class 0: dark noisy 32x32 images; class 1: bright ones. Labels alternate."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 2
    images = torch.randn(count, 3, 32, 32, generator=generator) * 0.5 + (labels.float() * 2 - 1)[:, None, None, None]
    return TensorDataset(images, labels)


CLASSES = ("dark", "bright")
FAST = TrainConfig(epochs=2, batch_size=16, lr=0.01, weight_decay=0.0, warmup_epochs=0, patience=0, seed=3,
                   num_threads=1)


def train_once(config=FAST, context=None, on_epoch=None):
    torch.manual_seed(0)
    model = TinySE()
    return fit(model, toy_data(64, 1), toy_data(32, 2), CLASSES, config, context, on_epoch)


def test_learns_a_separable_toy_problem_well_above_chance():
    torch.manual_seed(0)
    assert evaluate(TinySE(), toy_data(32, 2), CLASSES).accuracy <= 0.75  # the same network, untrained
    result = train_once()
    assert result.metrics.accuracy >= 0.9
    assert result.history[-1].train_loss < result.history[0].train_loss or result.history[0].train_accuracy > 0.9


def test_metrics_have_the_shape_of_the_classes_and_are_json_ready():
    result = train_once()
    metrics = result.metrics
    assert metrics.classes == CLASSES
    assert len(metrics.precision) == len(metrics.recall) == len(metrics.support) == 2
    assert np.array(metrics.confusion).shape == (2, 2)
    assert sum(map(sum, metrics.confusion)) == 32 == sum(metrics.support)
    assert [h.epoch for h in result.history] == [1, 2]
    assert all(math.isfinite(h.train_loss) and math.isfinite(h.val_loss) for h in result.history)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metrics"]["confusion_matrix"] == [list(r) for r in metrics.confusion]
    assert set(data["metrics"]["per_class"]) == set(CLASSES)


def test_runs_are_deterministic_for_a_seed():
    first, second = train_once(), train_once()
    assert [h.train_loss for h in first.history] == [h.train_loss for h in second.history]
    assert [h.val_loss for h in first.history] == [h.val_loss for h in second.history]
    for (name, a), b in zip(first.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(a, b), name
    other = train_once(TrainConfig(**{**FAST.to_dict(), "seed": 4}))
    assert [h.train_loss for h in other.history] != [h.train_loss for h in first.history]


def test_progress_through_a_job_is_monotonic_and_ends_at_one():
    reports = []
    job = Job(lambda context: train_once(context=context))
    job.on_progress(lambda fraction, message: reports.append((fraction, message)))
    result = job.run()
    assert job.state is JobState.FINISHED, job.error_details
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(reports) >= 2 * (4 + 1)  # every training and validation batch of both epochs
    assert any("Epoch 2/2" in m for _, m in reports)
    assert result.metrics.accuracy >= 0.9


def test_cancel_stops_the_run_at_the_next_batch():
    reports, epochs = [], []
    job = Job(lambda context: train_once(context=context, on_epoch=epochs.append))
    job.on_progress(lambda fraction, message: (reports.append(fraction), job.cancel()))
    assert job.run() is None
    assert job.state is JobState.CANCELLED
    assert len(reports) == 1 and epochs == []


def test_cancel_without_a_job_raises_jobcancelled():
    class Stop:
        def progress(self, fraction, message):
            raise JobCancelled()

        def check_cancelled(self):
            pass

    with pytest.raises(JobCancelled):
        train_once(context=Stop())


def test_epoch_callback_gets_every_epoch_and_threads_are_restored():
    before = torch.get_num_threads()
    seen = []
    train_once(TrainConfig(**{**FAST.to_dict(), "num_threads": 2}), on_epoch=lambda m: seen.append(
        (m.epoch, torch.get_num_threads())))
    assert seen == [(1, 2), (2, 2)]
    assert torch.get_num_threads() == before


def test_early_stopping_restores_the_best_epoch():
    states = {}

    def remember(metrics):
        states[metrics.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(0)
    model = TinySE()
    config = TrainConfig(**{**FAST.to_dict(), "epochs": 5, "patience": 1, "min_delta": 1e9})
    result = fit(model, toy_data(64, 1), toy_data(32, 2), CLASSES, config, on_epoch=remember)
    assert len(result.history) == 2 and result.best_epoch == 1
    assert result.stop_reason.startswith("early stop")
    for name, value in result.model.state_dict().items():
        assert torch.equal(value, states[1][name]), name


def test_time_limit_stops_after_the_first_epoch():
    result = train_once(TrainConfig(**{**FAST.to_dict(), "epochs": 3, "time_limit_s": 0.0}))
    assert len(result.history) == 1 and result.stop_reason.startswith("time limit")


def test_schedule_by_time_anneals_when_the_time_is_up():
    config = TrainConfig(**{**FAST.to_dict(), "epochs": 3, "time_limit_s": 1e-6, "schedule_by_time": True})
    result = train_once(config)
    assert len(result.history) == 1
    assert result.history[0].lr == pytest.approx(FAST.lr * FAST.min_lr_ratio)
    assert train_once().history[0].lr > 0.5 * FAST.lr  # by steps alone, half-way through the cosine


def test_frozen_backbone_trains_only_the_classifier_then_unfreezes():
    torch.manual_seed(0)
    model = TinySE()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(**{**FAST.to_dict(), "epochs": 1, "freeze_backbone_epochs": 1})
    result = fit(model, toy_data(64, 1), toy_data(32, 2), CLASSES, config)
    after = result.model.state_dict()
    assert result.history[0].backbone_frozen
    for name in before:
        changed = not torch.equal(before[name], after[name])
        assert changed == name.startswith("fc."), name  # BN statistics frozen too
    assert all(p.requires_grad for p in result.model.parameters())


def test_unfrozen_after_the_frozen_epochs():
    torch.manual_seed(0)
    model = TinySE()
    before = model.conv.weight.detach().clone()
    result = fit(model, toy_data(64, 1), toy_data(32, 2), CLASSES,
                 TrainConfig(**{**FAST.to_dict(), "freeze_backbone_epochs": 1}))
    assert [h.backbone_frozen for h in result.history] == [True, False]
    assert not torch.equal(before, result.model.conv.weight)


def test_classification_metrics_known_answer():
    m = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ("a", "b", "c"))
    assert m.confusion == ((1, 1, 0), (0, 2, 0), (1, 0, 0))
    assert m.accuracy == pytest.approx(0.6)
    assert m.precision == pytest.approx((0.5, 2 / 3, 0.0))
    assert m.recall == pytest.approx((0.5, 1.0, 0.0))
    assert m.support == (2, 2, 1)


def test_evaluate_counts_every_item():
    torch.manual_seed(0)
    metrics = evaluate(TinySE(), toy_data(10, 5), CLASSES, batch_size=4)
    assert sum(metrics.support) == 10 and 0.0 <= metrics.accuracy <= 1.0


def test_stratified_split_is_seeded_disjoint_and_keeps_every_class():
    labels = [0] * 10 + [1] * 5 + [2] * 2
    train, val = stratified_split(labels, 0.2, seed=7)
    assert (train, val) == stratified_split(labels, 0.2, seed=7)
    assert stratified_split(labels, 0.2, seed=8) != (train, val)
    assert sorted(train + val) == list(range(len(labels)))
    for label in (0, 1, 2):
        assert any(labels[i] == label for i in val) and any(labels[i] == label for i in train)
    assert [labels[i] for i in val].count(0) == 2
    with pytest.raises(ValueError):
        stratified_split(labels, 1.0)


def test_fit_refuses_empty_data():
    with pytest.raises(ValueError):
        fit(TinySE(), toy_data(4, 0), TensorDataset(torch.zeros(0, 3, 32, 32), torch.zeros(0, dtype=torch.long)),
            CLASSES)


def test_finetune_a_registered_model_on_a_folder(tmp_path):
    from photolab.models.store.card import Preprocessing
    from photolab.models.training.data import scan_folder

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("bright", 215)):
        (tmp_path / label).mkdir()
        for i in range(6):
            pixels = np.clip(rng.normal(level, 20, (40, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
    report = scan_folder(tmp_path)
    assert report.ok, report.summary()
    torch.manual_seed(0)
    model = create_model("seresnet18", num_classes=1000)
    prep = Preprocessing(input_size=(3, 32, 32))
    config = TrainConfig(epochs=1, batch_size=4, lr=1e-3, seed=0, num_threads=1, freeze_backbone_epochs=1)
    result = finetune(model, report, config, preprocessing=prep, val_fraction=0.34)
    assert result.classes == ("bright", "dark") and model.num_classes == 2
    assert result.extra["data"]["train_images"] + result.extra["data"]["val_images"] == 12
    assert result.extra["data"]["val_images"] == 4  # two per class
    assert np.array(result.metrics.confusion).shape == (2, 2)
