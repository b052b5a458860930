"""The auto strategy: ridge probe and last-stage candidates scored by cross-validation on the user's images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photolab.models.training import fewshot
from photolab.models.training.data import scan_folder
from photolab.models.training.finetune import run_finetune, save_outcome
from photolab.models.training.settings import FinetuneSettings, recommend_strategy
from photolab.models.training.probe import (RidgePath, fit_logistic, logistic_cross_validation, ridge_cross_validation,
                                            stratified_folds, temperature)
from photolab.models.archs.seresnet import SEResNet
from photolab.models.layers.gradient_histogram import FEATURES as HISTOGRAM_FEATURES
from tests.cli.test_train import make_folder, seed_store

torch.set_num_threads(2)


def separable(images: int = 60, classes: int = 3, views: int = 3, noise: float = 1.0, seed: int = 0):
    """Features of ``views`` views per image whose class shifts the first ``classes`` dimensions."""
    rng = np.random.default_rng(seed)
    labels = np.arange(images) % classes
    image_of = np.repeat(np.arange(images), views)
    features = rng.normal(0, noise, (images * views, 16)) + 5.0
    features[np.arange(len(image_of)), labels[image_of]] += 3.0
    rank = np.tile(np.arange(views), images)
    return torch.tensor(features, dtype=torch.float32), image_of, labels, rank


def test_stratified_folds_cover_every_image_once_with_every_class_in_each():
    labels = np.repeat(np.arange(4), 7)
    folds = stratified_folds(labels, 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))
    assert all(len(set(labels[fold])) == 4 for fold in folds[:2])
    assert [f.tolist() for f in folds] == [f.tolist() for f in stratified_folds(labels, 5, seed=1)]


def test_the_ridge_path_matches_the_closed_form_on_raw_features():
    features, image_of, labels, _ = separable()
    row_labels = torch.as_tensor(labels[image_of])
    head = RidgePath(features, row_labels, 3).head(0.3)
    x = (features.double() - features.double().mean(0)) / features.double().std(0)
    targets = torch.nn.functional.one_hot(row_labels, 3).double()
    gram = x.T @ x / len(x) + 0.3 * torch.eye(16, dtype=torch.float64)
    weight = torch.linalg.solve(gram, x.T @ (targets - targets.mean(0)) / len(x))
    expected = x @ weight + targets.mean(0)
    np.testing.assert_allclose(head.logits(features).numpy(), expected.numpy(), atol=1e-4)


def test_ridge_cross_validation_separates_easy_classes_and_holds_out_whole_images():
    features, image_of, labels, rank = separable()
    folds = stratified_folds(labels, 4, seed=0)
    accuracy, scores, _ = ridge_cross_validation(features, image_of, labels, 3, rank == 0, folds)
    assert max(accuracy.values()) > 0.9 and scores[0.3].shape == (60, 3)
    hard, _, _ = ridge_cross_validation(*separable(noise=40.0)[:3], 3, rank == 0, folds)
    assert max(hard.values()) < 0.7  # noise this strong is not learnt out of fold


def test_temperature_sharpens_scores_that_are_right():
    labels = np.array([0, 1, 2] * 10)
    scores = torch.nn.functional.one_hot(torch.as_tensor(labels), 3).float() * 0.2
    assert temperature(scores, labels) > 20
    wrong = torch.roll(scores, 1, dims=1)
    assert temperature(wrong, labels) < 1


def test_logistic_regression_learns_and_cross_validates():
    features, image_of, labels, rank = separable(views=1)
    head = fit_logistic(features, torch.as_tensor(labels), 3, 1e-2)
    assert (head.logits(features).argmax(1).numpy() == labels).mean() > 0.95
    scores = logistic_cross_validation(features, labels, 3, stratified_folds(labels, 3, 0))
    assert min(scores.values()) > 0.8


def test_the_last_stage_is_tried_only_within_its_budget():
    assert fewshot.last_stage_work(100, 5) <= fewshot.LAST_STAGE_BUDGET
    assert fewshot.last_stage_work(1000, 5) > fewshot.LAST_STAGE_BUDGET


def test_auto_is_the_recommendation_and_keeps_the_best_candidate(tmp_path):
    assert recommend_strategy({"a": 12, "b": 30})[0] == "auto"
    manager = seed_store(tmp_path / "data")
    report = scan_folder(make_folder(tmp_path / "colours", per_class=8))
    settings = FinetuneSettings(base="base", seed=3)
    assert settings.strategy == "auto"
    outcome = run_finetune(manager, report, settings)
    extra = outcome.result.extra
    assert isinstance(outcome.model, SEResNet) and outcome.model.fc.out_features == 3
    assert extra["chosen"].split(" (")[0] in ("probe", "probe_gh", "last") and extra["folds"] == 5
    chosen = extra["candidates"][extra["chosen"]]["cross_validated_accuracy"]
    assert chosen == max(c["cross_validated_accuracy"] for c in extra["candidates"].values() if "skipped" not in c)
    assert outcome.result.metrics.accuracy == pytest.approx(chosen)
    assert sum(map(sum, outcome.result.metrics.confusion)) == 24  # every image, predicted out of fold
    assert outcome.result.metrics.accuracy >= 2 / 3
    again = run_finetune(manager, report, settings)
    for name, value in outcome.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[name]), name  # deterministic for a seed
    entry = save_outcome(manager, outcome, "colours")
    selection = entry.card.training["selection"]
    assert selection["chosen"] == extra["chosen"] and set(selection["candidates"]) == {
        "probe", "probe_gh", "last", "probe (whole image)", "probe_gh (whole image)"}


def test_a_winning_histogram_probe_is_saved_as_the_gh_architecture_and_classifies_the_same(tmp_path, monkeypatch):
    manager = seed_store(tmp_path / "data")
    report = scan_folder(make_folder(tmp_path / "colours", per_class=8))
    monkeypatch.setattr(fewshot, "choose", lambda candidates: candidates[1])  # the histogram probe
    outcome = run_finetune(manager, report, FinetuneSettings(base="base", seed=3))
    assert outcome.result.extra["chosen"] == "probe_gh" and outcome.architecture.endswith("_gh")
    assert outcome.model.gradient_histogram is not None
    assert outcome.model.fc.in_features == outcome.model.num_features + HISTOGRAM_FEATURES
    entry = save_outcome(manager, outcome, "colours-gh")
    assert entry.card.architecture == outcome.architecture
    loaded = manager.load("colours-gh")
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.model.eval()(x), outcome.model.eval()(x), atol=1e-5)


def test_the_ridge_path_with_fewer_samples_than_features_gives_the_same_heads():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(30, 80, generator=generator)
    labels = torch.arange(30) % 3
    dual = RidgePath(features, labels, 3)
    assert dual.eigenvectors.shape[0] == 80 and dual.eigenvectors.shape[1] < 80
    for l2 in (0.1, 1.0):
        head = dual.head(l2)
        x = (features.double() - dual.mean) / dual.std
        targets = torch.nn.functional.one_hot(labels, 3).double() - dual.bias
        primal = torch.linalg.solve(x.T @ x / 30 + l2 * torch.eye(80, dtype=torch.float64), x.T @ targets / 30)
        assert torch.allclose(head.weight.double(), (primal / dual.std[:, None]).T.double(), atol=1e-4)
    many = torch.randn(90, 80, generator=generator)
    assert RidgePath(many, torch.arange(90) % 3, 3).eigenvectors.shape == (80, 80)  # the primal form


def test_new_plain_views_equal_a_whole_new_extraction():
    from dataclasses import replace

    from photolab.models.registry import create_model
    from photolab.models.store.card import Preprocessing

    torch.manual_seed(0)
    model = create_model("seresnet18", num_classes=2).eval()
    prep = Preprocessing(input_size=(3, 64, 64))
    images = [np.random.default_rng(i).integers(0, 256, (50 + 7 * i, 70, 3), dtype=np.uint8) for i in range(3)]
    cropped = fewshot.extract_views(model, images, prep, seed=1)
    whole_prep = replace(prep, crop_pct=1.0)
    reused = fewshot.with_plain_views(model, cropped, images, whole_prep)
    fresh = fewshot.extract_views(model, images, whole_prep, seed=1)
    for name in ("pooled", "histograms", "stage_input"):
        assert torch.allclose(getattr(reused, name), getattr(fresh, name), atol=1e-5), name
    assert not torch.allclose(reused.pooled[reused.plain], cropped.pooled[cropped.plain])
    assert np.array_equal(reused.image_of, fresh.image_of) and np.array_equal(reused.rank, fresh.rank)
