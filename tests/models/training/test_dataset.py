"""The datasets fed to training: eval items are the app's preprocessing, train items are seeded augmentations,
the split is stratified, and elongated photos keep enough pixels."""

import numpy as np
import pytest
import torch

from photolab.models.preprocess import prepare
from photolab.models.store.card import Preprocessing
from photolab.models.training.data import DatasetError, scan_folder
from photolab.models.training.dataset import FolderDataset, load_srgb8, make_datasets, random_resized_crop

from .test_data import make_classes, write_image

PREP = Preprocessing(input_size=(3, 16, 16))


def test_eval_items_are_exactly_the_app_preprocessing(tmp_path):
    path = write_image(tmp_path / "a" / "x.png", 1, size=(40, 60))
    dataset = FolderDataset([(path, 0)], PREP, train=False)
    tensor, label = dataset[0]
    expected = prepare(load_srgb8(path, 32), PREP).tensor[0]
    assert label == 0 and tensor.shape == (3, 16, 16)
    assert torch.equal(tensor, expected)


def test_train_items_repeat_for_an_epoch_and_change_between_epochs(tmp_path):
    path = write_image(tmp_path / "a" / "x.png", 1, size=(40, 60))
    dataset = FolderDataset([(path, 1)], PREP, train=True, seed=5)
    first, label = dataset[0]
    assert label == 1 and first.shape == (3, 16, 16)
    assert torch.equal(first, dataset[0][0])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[0][0])
    assert torch.equal(first, FolderDataset([(path, 1)], PREP, train=True, seed=5)[0][0])


def test_random_resized_crop_keeps_the_requested_size():
    image = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    for seed in range(5):
        crop = random_resized_crop(image, (12, 20), np.random.default_rng(seed))
        assert crop.shape == (12, 20, 3) and crop.dtype == np.uint8
    whole = random_resized_crop(image, (30, 50), np.random.default_rng(0), scale=(1.0, 1.0), ratio=(1.0, 1.0),
                                flip=False)
    assert whole.shape == (30, 50, 3)


def test_make_datasets_splits_stratified_and_refuses_a_bad_report(tmp_path):
    make_classes(tmp_path / "good", {"a": 10, "b": 5})
    train, val = make_datasets(scan_folder(tmp_path / "good"), PREP, val_fraction=0.2, seed=1)
    assert len(train) + len(val) == 15
    assert sorted(label for _, label in val.items) == [0, 0, 1]
    assert train.train and not val.train
    assert not {p for p, _ in train.items} & {p for p, _ in val.items}
    make_classes(tmp_path / "bad", {"a": 1, "b": 5}, start=50)
    with pytest.raises(DatasetError, match="too few images in a"):
        make_datasets(scan_folder(tmp_path / "bad"), PREP)


def test_elongated_photos_keep_enough_pixels_for_a_small_input(tmp_path):
    path = write_image(tmp_path / "a" / "panorama.png", 7, size=(20, 380))  # 19:1, allowed
    tensor, label = FolderDataset([(path, 0)], PREP, train=False)[0]  # previews are 32 px: 1.7 px high
    assert tensor.shape == (3, 16, 16)
