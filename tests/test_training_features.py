"""The backbone's pretraining pieces (training/train_features.py, training/proxy_data.py): photo cells, the
batch augmentation, the per-class validation split, the multi-task loss, and the benchmark's hold-outs."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
train_features = pytest.importorskip("train_features")
proxy_data = pytest.importorskip("proxy_data")


def test_cell_classes_and_a_crop_comes_from_its_cell():
    assert train_features.cell_classes(["a", "b"], 2) == ["a-00", "a-01", "a-10", "a-11", "b-00", "b-01", "b-10",
                                                           "b-11"]
    pixels = np.zeros((90, 90, 3), np.float32)
    pixels[:45, :45] = 0.8  # only the top-left quarter is bright
    rng = np.random.default_rng(0)
    for _ in range(5):
        top_left = train_features.cell_crop(pixels, 3, 0, 16, rng).astype(np.float32).mean()
        bottom_right = train_features.cell_crop(pixels, 3, 8, 16, rng).astype(np.float32).mean()
        assert top_left > 100 > 20 > bottom_right


def test_augmentation_keeps_the_size_and_is_reproducible_for_a_seed():
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (6, 40, 40, 3), dtype=np.uint8))
    tasks = torch.tensor([0, 1, 2, 3, 0, 3])
    first = train_features.augment(images, tasks, 32, torch.Generator().manual_seed(5))
    again = train_features.augment(images, tasks, 32, torch.Generator().manual_seed(5))
    assert first.shape == (6, 3, 32, 32) and torch.isfinite(first).all()
    assert torch.equal(first, again)
    white = torch.full((2, 40, 40, 3), 255, dtype=torch.uint8)  # crops past the border are white, like the page
    filled = train_features.augment(white, torch.tensor([3, 3]), 32, torch.Generator().manual_seed(1))
    mean = torch.tensor(train_features.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(train_features.IMAGENET_STD).view(1, 3, 1, 1)
    assert ((filled * std + mean) > 0.3).float().mean() > 0.9


def test_every_class_keeps_training_images_and_tasks_get_their_share():
    tasks = np.repeat([0, 1, 2, 3], [30, 30, 300, 40])
    labels = np.concatenate([np.arange(30) % 10, np.arange(30) % 3, np.arange(300) % 5, np.arange(40) % 4])
    images = np.zeros((len(tasks), 8, 8, 3), np.uint8)
    samples = train_features.Samples(images, tasks, labels, seed=0)
    assert set(samples.train_index) | set(samples.val_index) == set(range(len(tasks)))
    for key in set(zip(tasks.tolist(), labels.tolist())):
        members = np.flatnonzero((tasks == key[0]) & (labels == key[1]))
        assert np.isin(members, samples.train_index).any()
    _, drawn, _ = samples.batch(4000, torch.Generator().manual_seed(0))
    shares = np.bincount(drawn.numpy(), minlength=4) / 4000
    np.testing.assert_allclose(shares, train_features.TASK_SHARES, atol=0.03)


def test_each_sample_is_judged_by_its_own_tasks_head():
    from photolab.models.archs.seresnet import create_model

    torch.manual_seed(0)
    model = train_features.MultiTask(create_model("seresnet18", num_classes=4), [4, 3, 5, 2]).eval()
    x = torch.randn(4, 3, 32, 32)
    tasks, labels = torch.tensor([0, 1, 2, 3]), torch.tensor([3, 2, 4, 1])
    loss, correct = model(x, tasks, labels)
    features = model.trunk.forward_head(model.trunk.forward_features(x), pre_logits=True)
    heads = [model.trunk.fc, *model.heads]
    expected = sum(torch.nn.functional.cross_entropy(heads[t](features[t:t + 1]), labels[t:t + 1]) for t in range(4))
    assert loss.item() == pytest.approx(expected.item() / 4, rel=1e-5) and 0 <= correct <= 4


def test_the_benchmarks_hold_outs_are_never_pretraining_data():
    assert not set(proxy_data.PRETRAIN_THEMES) & set(proxy_data.BENCH_THEMES)
    assert not set(proxy_data.PRETRAIN_FONT_PACKAGES) & set(proxy_data.BENCH_FONT_PACKAGES)
    assert not set(proxy_data.LETTERS) & set(proxy_data.BENCH_CHARACTERS)
    assert proxy_data.for_bench("food/fruit") and not proxy_data.for_bench("animals/bugs")
    reserved = ("plasma-workspace-wallpapers", "mate-backgrounds", "tuxpaint-stamps-default", "dataset-fashion-mnist")
    assert not set(reserved) & set(proxy_data.PACKAGES)
