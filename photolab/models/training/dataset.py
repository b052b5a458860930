"""The fine-tuning dataset: a checked folder's images (:func:`photolab.models.training.data.scan_folder`) as
training and validation items.

:class:`FolderDataset` feeds them to :func:`photolab.models.training.training.fit`: photos are read with the app's
own reader, encoded to 8-bit sRGB like every model input (:func:`load_srgb8`), cached at a modest size; training
items get a random resized crop and a horizontal flip (seeded by epoch and index, so runs repeat), and
validation items the app's exact eval preprocessing (:func:`photolab.models.preprocess.prepare`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from photolab.core.color import encode_srgb_integer
from photolab.core.io import read_metadata, read_preview
from photolab.models.preprocess import MIN_SIDE, prepare
from photolab.models.store.card import Preprocessing
from photolab.models.training.data import DatasetError, DatasetReport
from photolab.models.training.split import stratified_split


def load_srgb8(path: str | Path, max_side: int) -> np.ndarray:
    """The photo read by the app's reader (a preview no larger than ``max_side``) as 8-bit sRGB (H, W, 3)."""
    return encode_srgb_integer(read_preview(path, max_side=max_side).pixels, np.uint8)


def _to_tensor(srgb: np.ndarray, prep: Preprocessing) -> torch.Tensor:
    x = (srgb.astype(np.float32) / 255.0 - np.float32(prep.mean)) / np.float32(prep.std)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class FolderDataset(Dataset):
    """Items ``(tensor CHW, label)`` for ``items`` = ``[(path, label), ...]``.

    ``train=True``: random resized crop (``scale`` of the area, aspect 3:4..4:3) and horizontal flip, drawn
    from a generator seeded by (seed, epoch, index). ``train=False``: the app's eval preprocessing. Decoded
    photos are cached in memory as 8-bit previews of ``max_side`` pixels (default: twice the input size).
    """

    def __init__(self, items: Sequence[tuple[Path, int]], prep: Preprocessing, train: bool, seed: int = 0,
                 scale: tuple[float, float] = (0.35, 1.0), max_side: int | None = None, cache: bool = True):
        self.items = list(items)
        self.prep = prep
        self.train = train
        self.seed = seed
        self.scale = scale
        self.max_side = max_side or 2 * max(prep.input_size[1:])
        self.cache: dict[int, np.ndarray] | None = {} if cache else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations in every epoch (called by ``training.fit``)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def image(self, index: int) -> np.ndarray:
        """The cached 8-bit preview of item ``index``."""
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        path = self.items[index][0]
        image = load_srgb8(path, self.max_side)
        if min(image.shape[:2]) < MIN_SIDE:  # an elongated photo: a longer preview keeps the classifiers' minimum
            size = read_metadata(path)
            image = load_srgb8(path, math.ceil(MIN_SIDE * max(size.width, size.height) / min(size.width, size.height)))
        if self.cache is not None:
            self.cache[index] = image
        return image

    def __getitem__(self, index: int):
        image, label = self.image(index), self.items[index][1]
        if not self.train:
            return prepare(image, self.prep, str(self.items[index][0])).tensor[0], label
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return _to_tensor(random_resized_crop(image, self.prep.input_size[1:], rng, self.scale), self.prep), label


def random_resized_crop(image: np.ndarray, size: tuple[int, int], rng: np.random.Generator,
                        scale: tuple[float, float] = (0.35, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3), flip: bool = True) -> np.ndarray:
    """torchvision's RandomResizedCrop (+ horizontal flip) on an 8-bit image, resized with PIL's bilinear."""
    height, width = image.shape[:2]
    area = height * width
    box = (0, 0, width, height)
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            box = (left, top, left + w, top + h)
            break
    out_h, out_w = size
    crop = Image.fromarray(image).resize((out_w, out_h), Image.Resampling.BILINEAR, box=box)
    result = np.asarray(crop)
    if flip and rng.random() < 0.5:
        result = result[:, ::-1]
    return np.ascontiguousarray(result)


def make_datasets(report: DatasetReport, prep: Preprocessing, val_fraction: float = 0.2, seed: int = 0,
                  **dataset_options) -> tuple[FolderDataset, FolderDataset]:
    """Stratified, seeded train/validation datasets from a report (which must be :attr:`~DatasetReport.ok`)."""
    if not report.ok:
        raise DatasetError(f"{report.root} cannot be used for training:\n"
                           + "\n".join(issue.message for issue in report.errors))
    train_index, val_index = stratified_split(report.labels, val_fraction, seed)
    train = FolderDataset([report.items[i] for i in train_index], prep, True, seed, **dataset_options)
    val = FolderDataset([report.items[i] for i in val_index], prep, False, seed, **dataset_options)
    return train, val
