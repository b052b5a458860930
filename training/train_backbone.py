#!/usr/bin/env python3
"""Pretrain PhotoLab's built-in fine-tuning backbone (photo-features-seresnet18) without labels.

Self-supervised "exemplar" learning (Dosovitskiy et al., "Discriminative unsupervised feature learning with
exemplar convolutional neural networks", 2014): every training photo is cut into a ``grid`` x ``grid`` array of
cells and each cell is a surrogate class. A sample is a random square crop (20-50 % of the short side) centred
in its cell, mirrored, with exposure, white-balance, grey-scale, sensor-noise and JPEG jitter; the network
(``seresnet18`` from scratch, ``photolab.models.training.fit``) learns to name the cell. To do that it must
learn what tells photos and parts of photos apart (colour, texture, materials, structure) while ignoring what
the jitter changes: general features, which the fine-tuning wizard then adapts to the user's classes.

Data: only the photos of the *training* groups of the built-in quality classifier's split
(``train_quality_classifier.shipped_split``). Its validation and test groups are never
seen here, so ``bench/bench_finetune.py`` can build its classes from them and measure transfer to photos the
backbone never saw. The surrogate accuracy on fixed validation crops of the same cells is logged and stored
in the card; it says the pretext was learned, not how well the features transfer (that is the bench's job).

The card marks the model ``role: backbone``: the model manager offers it as the default starting point for
fine-tuning and keeps it out of the Classify panel and ``photolab-cli classify`` (its classes are cells).
Typical use (the time limit ends the run; about 25 minutes on 2 CPU threads)::

    nice -n 19 python training/train_backbone.py --log /tmp/backbone.log
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import degradations as deg  # noqa: E402
import fetch_photos  # noqa: E402
from run_support import Unattended, epoch_logger, start_run, timed_config  # noqa: E402
from train_quality_classifier import (SourcePhoto, load_photos, new_model, save_weights, shipped_split,  # noqa: E402
                                      to_tensor)

from photolab.models.card import ModelCard, now_iso  # noqa: E402
from photolab.models.training import evaluate, fit  # noqa: E402

log = logging.getLogger("train_backbone")
NAME = "photo-features-seresnet18"
ARCHITECTURE = "seresnet18"
CROP_FRACTION = (0.2, 0.5)
"""Side of a crop as a fraction of the photo's short side."""
EXPOSURE_EV = 0.5
WHITE_BALANCE = 0.1
"""Per-channel gain jitter (+-10 %)."""
GREY_PROBABILITY = 0.2


def cell_classes(groups: list[str], grid: int) -> list[str]:
    """Surrogate class names: ``<group>-<row><col>`` for every cell of every photo group."""
    return [f"{group}-{row}{col}" for group in groups for row in range(grid) for col in range(grid)]


def cell_crop(photo: np.ndarray, grid: int, cell: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A jittered 8-bit sRGB crop (``size`` px) centred at a random point of ``cell`` of the linear ``photo``."""
    height, width, _ = photo.shape
    side = int(rng.uniform(*CROP_FRACTION) * min(height, width))
    row, col = divmod(cell, grid)
    centre_y, centre_x = (row + rng.random()) * height / grid, (col + rng.random()) * width / grid
    top = int(np.clip(centre_y - side / 2, 0, height - side))
    left = int(np.clip(centre_x - side / 2, 0, width - side))
    crop = deg.resize_linear(photo[top:top + side, left:left + side], size, size)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = crop * np.float32(2.0 ** rng.uniform(-EXPOSURE_EV, EXPOSURE_EV))
    crop = crop * rng.uniform(1 - WHITE_BALANCE, 1 + WHITE_BALANCE, 3).astype(np.float32)
    if rng.random() < GREY_PROBABILITY:
        crop = np.repeat(crop.mean(axis=2, keepdims=True), 3, axis=2)
    crop = deg.add_noise(np.clip(crop, 0.0, 1.0).astype(np.float32), rng, rng.uniform(0, deg.NUISANCE_SHOT),
                         rng.uniform(0, deg.NUISANCE_READ), chroma=bool(rng.random() < 0.5))
    return deg.finish(crop, rng)


class CellCrops(Dataset):
    """``length`` samples of random cells (uniform over photo groups and cells; the frames of one group, a
    scene filmed twice, share their classes), drawn from a generator seeded by (seed, epoch, index):
    reproducible, new every epoch."""

    def __init__(self, photos: list[SourcePhoto], grid: int, size: int, length: int, seed: int):
        self.grid, self.size, self.length, self.seed, self.epoch = grid, size, length, seed, 0
        self.groups = sorted({p.group for p in photos})
        self.members = [[p for p in photos if p.group == group] for group in self.groups]

    def set_epoch(self, epoch: int) -> None:
        """Draw different samples in every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index])
        label = int(rng.integers(len(self.groups) * self.grid ** 2))
        group, cell = divmod(label, self.grid ** 2)
        photo = self.members[group][rng.integers(len(self.members[group]))]
        return to_tensor(cell_crop(photo.pixels, self.grid, cell, self.size, rng)), label


class FixedCrops(Dataset):
    """A fixed set of :class:`CellCrops` samples (rendered once), so every validation sees the same images."""

    def __init__(self, source: CellCrops):
        self.items = [source[i] for i in range(len(source))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index]


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (defaults: the recipe of the shipped model)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="training photo cache (fetch_photos.py train)")
    parser.add_argument("--out", type=Path, default=HERE.parent / "resources" / "models")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/photo-features-checkpoint.pt"))
    parser.add_argument("--grid", type=int, default=3, help="cells per side of each photo (surrogate classes)")
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--max-side", type=int, default=640, help="photos are first downscaled to this")
    parser.add_argument("--epochs", type=int, default=200, help="upper bound; the time limit usually ends the run")
    parser.add_argument("--samples-per-epoch", type=int, default=1000)
    parser.add_argument("--val-samples", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--time-limit-min", type=float, default=25.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Pretrain, write the weights and the card."""
    args = parse_args(argv)
    start_run(args.log, args.threads)
    started = time.monotonic()
    cache = args.cache or fetch_photos.default_cache("train")
    photos = load_photos(HERE / "photos.txt", cache, args.max_side)
    assignment = shipped_split([p.group for p in photos])
    train = [p for p in photos if assignment[p.group] == "train"]
    unseen = sorted({p.group for p in photos if assignment[p.group] != "train"})
    log.info("%d training photos (%d groups); never seen: %s", len(train), len({p.group for p in train}), unseen)
    train_data = CellCrops(train, args.grid, args.input_size, args.samples_per_epoch, args.seed)
    classes = cell_classes(train_data.groups, args.grid)
    val_data = FixedCrops(CellCrops(train, args.grid, args.input_size, args.val_samples, args.seed + 1))
    model, prep = new_model(ARCHITECTURE, len(classes), args.input_size, args.seed)
    config = timed_config(args)

    result = fit(model, train_data, val_data, classes, config, Unattended(log),
                 epoch_logger(log, model, args, args.checkpoint))
    model = result.model.eval()
    surrogate = evaluate(model, val_data, classes, batch_size=64)
    log.info("training: %s; %d epochs; surrogate accuracy %.3f; %.0f s", result.stop_reason, len(result.history),
             surrogate.accuracy, result.seconds)
    counts = {}
    for p in train:
        counts[p.source] = counts.get(p.source, 0) + 1
    training = {
        "trained_by": "PhotoLab (training/train_backbone.py)",
        "purpose": "self-supervised backbone: the default starting point of the fine-tuning wizard",
        "data": {"description": "natural photographs, no labels; surrogate classes are cells of each photo group",
                 "photo_list": "training/photos.txt", "photos_per_source": counts,
                 "groups": sorted({p.group for p in train}), "never_seen_groups": unseen,
                 "split": "the training groups of train_quality_classifier.shipped_split"},
        "recipe": {"method": "exemplar (surrogate-class) pretraining, Dosovitskiy et al. 2014", "from_scratch": True,
                   "grid": args.grid, "surrogate_classes": len(classes), "epochs_run": len(result.history),
                   "stop_reason": result.stop_reason, "samples_per_epoch": args.samples_per_epoch,
                   "max_side": args.max_side, "optimizer": "AdamW", "schedule": "linear warm-up + cosine",
                   **result.config.to_dict(),
                   "augmentations": f"square crop {CROP_FRACTION[0]:.0%}-{CROP_FRACTION[1]:.0%} of the short side "
                                    f"centred in the cell, horizontal flip, +-{EXPOSURE_EV} EV, +-{WHITE_BALANCE:.0%}"
                                    f" per-channel gain, grey p={GREY_PROBABILITY}, faint sensor noise, JPEG q70-95 "
                                    "(p=0.7)"},
        "history": [asdict(h) for h in result.history],
        "metrics": {"surrogate_validation": {"samples": len(val_data), "accuracy": surrogate.accuracy,
                                             "loss": surrogate.loss},
                    "transfer": "bench/bench_finetune.py fine-tunes this model on classes made of never-seen "
                                "photos and compares it with training from scratch and logistic regression"},
        "wall_time_s": round(time.monotonic() - started),
        "notes": "A feature extractor, not a classifier: its outputs name cells of its training photos.",
    }
    card = ModelCard(name=NAME, architecture=ARCHITECTURE, classes=tuple(classes), preprocessing=prep,
                     source={"kind": "builtin", "by": "trained by PhotoLab", "script": "training/train_backbone.py"},
                     license="GPL-3.0-or-later", training=training, created=now_iso(), role="backbone")
    card = save_weights(model, card, args.out)
    log.info("wrote %s (sha256 %s)\n%s", card.weights_file, card.sha256, json.dumps(training["metrics"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
