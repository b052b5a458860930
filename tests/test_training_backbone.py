"""The backbone's self-supervised samples (training/train_backbone.py): classes, cells and reproducibility."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
train_backbone = pytest.importorskip("train_backbone")


def photo(group: str, colour) -> "train_backbone.SourcePhoto":
    pixels = np.empty((60, 90, 3), np.float32)
    pixels[...] = colour
    return train_backbone.SourcePhoto("test", f"{group}.png", group, "CC0", pixels)


def test_classes_are_cells_of_photo_groups_and_frames_of_a_group_share_them():
    photos = [photo("b-scene", 0.1), photo("a-scene", 0.2), photo("b-scene", 0.3)]
    data = train_backbone.CellCrops(photos, grid=2, size=24, length=50, seed=0)
    assert data.groups == ["a-scene", "b-scene"]
    assert train_backbone.cell_classes(data.groups, 2) == ["a-scene-00", "a-scene-01", "a-scene-10", "a-scene-11",
                                                             "b-scene-00", "b-scene-01", "b-scene-10", "b-scene-11"]
    tensor, label = data[7]
    again, same = data[7]
    assert tensor.shape == (3, 24, 24) and 0 <= label < 8 and label == same
    np.testing.assert_array_equal(tensor.numpy(), again.numpy())
    data.set_epoch(1)
    assert [data[i][1] for i in range(20)] != [train_backbone.CellCrops(photos, 2, 24, 50, 0)[i][1] for i in range(20)]


def test_a_crop_comes_from_its_cell():
    pixels = np.zeros((90, 90, 3), np.float32)
    pixels[:45, :45] = 0.8  # only the top-left quarter is bright
    rng = np.random.default_rng(0)
    for _ in range(5):
        top_left = train_backbone.cell_crop(pixels, 3, 0, 16, rng).astype(np.float32).mean()
        bottom_right = train_backbone.cell_crop(pixels, 3, 8, 16, rng).astype(np.float32).mean()
        assert top_left > 100 > 20 > bottom_right
