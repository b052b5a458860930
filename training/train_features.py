#!/usr/bin/env python3
"""Pretrain PhotoLab's built-in fine-tuning backbone (photo-features-seresnet18) on permitted semantic tasks.

One ``seresnet18`` trunk learns four tasks at once, each with its own linear head (multi-task supervised
pretraining; the mean cross-entropy of a batch's samples, each under its task's head):

0. **icon concepts**: the same concept (``printer``, ``folder-music``) drawn by six icon themes;
1. **clip-art kinds**: Open Clip Art Library folders (``animals/bugs``) but six held-out categories;
2. **letters**: A-Z, a-z rendered from 11 font families;
3. **photo cells**: exemplar classes (Dosovitskiy et al. 2014), every cell of a 3 x 3 grid of every
   *training* photo group of the built-in models' split (``train_quality_classifier.shipped_split``).

Tasks 0-2 come from ``training/proxy_data.py``, which also writes the benchmark folders from what is held
out here (the icon themes Oxygen and Tango; the clip-art categories food, plants, buildings, transportation,
tools and office; digits, from the DejaVu, Liberation and FreeFont families) and from no reserved package. To name the right class under heavy augmentation (random
resized crops, flips, small rotations, colour and exposure jitter, grey, inverted polarity, small pictures
blown up from 16-40 px) the trunk must learn shapes, parts, materials and what a thing is drawn like, not
one photo's pixels: features that the fine-tuning wizard adapts to a user's classes with few images each.

Runs are resumable: a checkpoint is written every few minutes outside the repository (``--checkpoint``);
``--resume`` continues it, with the learning-rate schedule following the total wall-time budget::

    python training/proxy_data.py && python training/fetch_photos.py train
    nice -n 10 python training/train_features.py --time-limit-min 120 --log /tmp/features.log [--resume]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import degradations as deg  # noqa: E402
import fetch_photos  # noqa: E402
import proxy_data  # noqa: E402
from run_support import start_run  # noqa: E402
from train_quality_classifier import (IMAGENET_MEAN, IMAGENET_STD, load_photos, new_model, save_weights,  # noqa: E402
                                      shipped_split)

from photolab.models.store.card import ModelCard, now_iso  # noqa: E402

log = logging.getLogger("train_features")
NAME = "photo-features-seresnet18"
ARCHITECTURE = "seresnet18"
TASKS = ("icon concepts", "clip-art kinds", "letters", "photo cells")
TASK_SHARES = (0.25, 0.3, 0.15, 0.3)
"""Each task's share of the training samples (letters are plentiful but the least like users' photos)."""
PHOTO_CROPS_PER_CELL = 24
CROP_FRACTION = (0.2, 0.5)
"""Side of a photo-cell crop as a fraction of the photo's short side."""
EXPOSURE_EV = 0.5
WHITE_BALANCE = 0.1
"""Per-channel gain jitter of a photo-cell crop (+-10 %)."""
GREY_PROBABILITY = 0.2
VAL_SHARE = 0.08
VAL_SHOWN = 1000  # validation images looked at at each checkpoint


# ---------------------------------------------------------------------------------------------------- data

def cell_classes(groups: list[str], grid: int) -> list[str]:
    """Photo-cell class names: ``<group>-<row><col>`` for every cell of every photo group."""
    return [f"{group}-{row}{col}" for group in groups for row in range(grid) for col in range(grid)]


def cell_crop(photo: np.ndarray, grid: int, cell: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A jittered 8-bit sRGB crop (``size`` px) centred at a random point of ``cell`` of the linear ``photo``:
    mirrored, exposure and white-balance jitter, grey at times, faint sensor noise and JPEG (exemplar learning,
    Dosovitskiy et al. 2014)."""
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


def photo_cells(cache: Path, side: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Task 3: fixed jittered crops of every cell of every training photo group (8-bit sRGB), their labels,
    the class names and the groups never seen."""
    photos = load_photos(HERE / "photos.txt", cache, 640)
    assignment = shipped_split([p.group for p in photos])
    train = [p for p in photos if assignment[p.group] == "train"]
    groups = sorted({p.group for p in train})
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for group_index, group in enumerate(groups):
        members = [p for p in train if p.group == group]
        for cell in range(9):
            for _ in range(PHOTO_CROPS_PER_CELL):
                photo = members[rng.integers(len(members))]
                images.append(cell_crop(photo.pixels, 3, cell, side, rng))
                labels.append(group_index * 9 + cell)
    unseen = sorted({p.group for p in photos if assignment[p.group] != "train"})
    return np.stack(images), np.array(labels, np.int64), cell_classes(groups, 3), unseen


class Samples:
    """Every pretraining image (uint8, N x S x S x 3) with its task and label, split into train and validation
    per class (seeded; every class keeps at least one training image)."""

    def __init__(self, images: np.ndarray, tasks: np.ndarray, labels: np.ndarray, seed: int):
        self.images = torch.from_numpy(images)
        self.tasks, self.labels = torch.from_numpy(tasks), torch.from_numpy(labels)
        rng = np.random.default_rng(seed)
        val = np.zeros(len(tasks), bool)
        for key in np.unique(tasks * 100_000 + labels):
            members = np.flatnonzero(tasks * 100_000 + labels == key)
            count = int(len(members) * VAL_SHARE + rng.random())
            if count and len(members) > count:
                val[rng.choice(members, count, replace=False)] = True
        self.train_index, self.val_index = np.flatnonzero(~val), np.flatnonzero(val)
        sizes = np.bincount(tasks[~val], minlength=len(TASKS)).astype(np.float64)
        weights = np.array(TASK_SHARES) / np.maximum(sizes, 1)  # each task's share of the batches is fixed
        self.sample_weights = torch.from_numpy(weights[tasks[~val]])

    def batch(self, size: int, generator: torch.Generator):
        """A random training batch: (uint8 images, tasks, labels)."""
        picked = torch.multinomial(self.sample_weights, size, replacement=True, generator=generator)
        index = torch.from_numpy(self.train_index)[picked]
        return self.images[index], self.tasks[index], self.labels[index]


def augment(images: torch.Tensor, tasks: torch.Tensor, out_side: int, generator: torch.Generator) -> torch.Tensor:
    """uint8 (B, S, S, 3) -> normalised float (B, 3, out, out): a random resized crop (35-100 % of the area,
    aspect 3:4-4:3), mirror, rotation up to 10 degrees, then exposure, contrast and saturation jitter, grey
    (p 0.2), inverted polarity for drawings (p 0.15) and a small picture blown up (p 0.25, 16-40 px)."""
    batch = images.shape[0]
    x = images.permute(0, 3, 1, 2).float() / 255.0

    def uniform(low, high, shape=(batch,)):
        return low + (high - low) * torch.rand(shape, generator=generator)

    area, ratio = uniform(0.35, 1.0), torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    width, height = torch.sqrt(area * ratio).clamp(max=1), torch.sqrt(area / ratio).clamp(max=1)
    centre_x, centre_y = uniform(-1, 1) * (1 - width), uniform(-1, 1) * (1 - height)
    angle = uniform(-10, 10) * math.pi / 180
    mirror = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = width * torch.cos(angle) * mirror, -height * torch.sin(angle)
    theta[:, 1, 0], theta[:, 1, 1] = width * torch.sin(angle) * mirror, height * torch.cos(angle)
    theta[:, 0, 2], theta[:, 1, 2] = centre_x, centre_y
    grid = F.affine_grid(theta, (batch, 3, out_side, out_side), align_corners=False)
    x = F.grid_sample(x - 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1.0  # white fill

    small = torch.rand(batch, generator=generator) < 0.25
    if small.any():
        side = int(uniform(16, 40, (1,)).item())
        shrunk = F.interpolate(x[small], size=(side, side), mode="area")
        x[small] = F.interpolate(shrunk, size=(out_side, out_side), mode="bilinear", align_corners=False)
    grey = x.mean(dim=1, keepdim=True)
    saturation = uniform(0.6, 1.4).view(-1, 1, 1, 1)
    saturation[torch.rand(batch, generator=generator) < 0.2] = 0.0
    x = grey + (x - grey) * saturation
    contrast = uniform(0.7, 1.3).view(-1, 1, 1, 1)
    x = (x - 0.5) * contrast + 0.5
    x = x * torch.exp2(uniform(-0.5, 0.5)).view(-1, 1, 1, 1)
    invert = (torch.rand(batch, generator=generator) < 0.15) & (tasks != 3)
    x[invert] = 1.0 - x[invert]
    x = x.clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def centred(images: torch.Tensor, out_side: int) -> torch.Tensor:
    """Validation view: the whole image resized to ``out_side``, normalised."""
    x = F.interpolate(images.permute(0, 3, 1, 2).float() / 255.0, size=(out_side, out_side), mode="area")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------------------------- training

class MultiTask(nn.Module):
    """The trunk with one linear head per task (task 0's head is the trunk's own ``fc``)."""

    def __init__(self, trunk: nn.Module, class_counts: list[int]):
        super().__init__()
        self.trunk = trunk
        self.heads = nn.ModuleList([nn.Linear(trunk.num_features, n) for n in class_counts[1:]])

    def forward(self, x: torch.Tensor, tasks: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0):
        """Mean cross-entropy and the number of correct answers, each sample under its task's head."""
        features = self.trunk.forward_head(self.trunk.forward_features(x), pre_logits=True)
        loss, correct = features.new_zeros(()), 0
        for task in tasks.unique().tolist():
            mask = tasks == task
            head = self.trunk.fc if task == 0 else self.heads[task - 1]
            logits = head(features[mask])
            loss = loss + F.cross_entropy(logits, labels[mask], label_smoothing=smoothing, reduction="sum")
            correct += int((logits.argmax(1) == labels[mask]).sum())
        return loss / len(tasks), correct


def learning_rate(args, elapsed_s: float) -> float:
    """Linear warm-up over the first 3 % of the time budget, then cosine to 1 % of the peak."""
    progress = min(1.0, elapsed_s / (args.time_limit_min * 60))
    if progress < 0.03:
        return args.lr * max(progress / 0.03, 0.02)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - 0.03) / 0.97))
    return args.lr * (0.01 + 0.99 * cosine)


@torch.no_grad()
def validate(model: MultiTask, samples: Samples, args) -> dict[str, float]:
    """Accuracy per task on the validation images (whole image, no augmentation)."""
    model.eval()
    correct, total = np.zeros(len(TASKS)), np.zeros(len(TASKS))
    shown = samples.val_index[::max(1, len(samples.val_index) // VAL_SHOWN)]  # a fixed subset keeps it quick
    for start in range(0, len(shown), 128):
        index = torch.from_numpy(shown[start:start + 128])
        tasks, labels = samples.tasks[index], samples.labels[index]
        x = centred(samples.images[index], args.input_size)
        for task in tasks.unique().tolist():
            mask = tasks == task
            _, right = model(x[mask], tasks[mask], labels[mask])
            correct[task] += right
            total[task] += int(mask.sum())
    model.train()
    return {TASKS[t]: round(correct[t] / total[t], 4) for t in range(len(TASKS)) if total[t]}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (defaults: the recipe of the shipped model)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxy", type=Path, default=None, help="proxy_data.py's folder")
    parser.add_argument("--cache", type=Path, default=None, help="training photo cache (fetch_photos.py train)")
    parser.add_argument("--out", type=Path, default=HERE.parent / "resources" / "models")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")
    parser.add_argument("--checkpoint", type=Path,
                        default=fetch_photos.default_cache("train").parent / "runs" / "features.pt")
    parser.add_argument("--resume", action="store_true", help="continue the run in --checkpoint")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--time-limit-min", type=float, default=120.0, help="the whole run's budget, resumes included")
    parser.add_argument("--checkpoint-every-min", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load_samples(args) -> tuple[Samples, list[list[str]], list[str], dict]:
    """Every task's images in one Samples, the class names per task, the never-seen photo groups and counts."""
    proxy = np.load((args.proxy or proxy_data.default_root()) / "pretrain.npz")
    cache = args.cache or fetch_photos.default_cache("train")
    photo_images, photo_labels, photo_names, unseen = photo_cells(cache, proxy["images"].shape[1], args.seed)
    images = np.concatenate([proxy["images"], photo_images])
    tasks = np.concatenate([proxy["tasks"], np.full(len(photo_labels), 3)])
    labels = np.concatenate([proxy["labels"], photo_labels])
    names = [list(proxy[f"names_{t}"]) for t in range(3)] + [photo_names]
    counts = {TASKS[t]: {"classes": len(names[t]), "images": int((tasks == t).sum())} for t in range(len(TASKS))}
    return Samples(images, tasks, labels, args.seed), names, unseen, counts


def main(argv=None) -> int:
    """Pretrain (or resume), write the weights and the card."""
    args = parse_args(argv)
    start_run(args.log, args.threads)
    samples, names, unseen, counts = load_samples(args)
    log.info("tasks: %s; %d training, %d validation images", json.dumps(counts), len(samples.train_index),
             len(samples.val_index))
    trunk, prep = new_model(ARCHITECTURE, len(names[0]), args.input_size, args.seed)
    model = MultiTask(trunk, [len(n) for n in names]).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    state = {"step": 0, "elapsed_s": 0.0, "history": []}
    if args.resume and args.checkpoint.exists():
        saved = torch.load(args.checkpoint, weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        state = saved["state"]
        log.info("resumed at step %d, %.0f min in", state["step"], state["elapsed_s"] / 60)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    budget = args.time_limit_min * 60
    last_save = time.monotonic()
    running_loss, running_correct, running_seen = 0.0, 0, 0
    while state["elapsed_s"] < budget:
        started = time.monotonic()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(args, state["elapsed_s"])
        images, tasks, labels = samples.batch(args.batch_size, generator)
        loss, correct = model(augment(images, tasks, args.input_size, generator), tasks, labels,
                              args.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state["step"] += 1
        state["elapsed_s"] += time.monotonic() - started
        running_loss += loss.item() * len(tasks)
        running_correct += correct
        running_seen += len(tasks)
        if time.monotonic() - last_save > args.checkpoint_every_min * 60 or state["elapsed_s"] >= budget:
            accuracy = validate(model, samples, args)
            record = {"step": state["step"], "minutes": round(state["elapsed_s"] / 60, 1),
                      "train_loss": round(running_loss / running_seen, 4),
                      "train_accuracy": round(running_correct / running_seen, 4), "lr": group["lr"],
                      "validation": accuracy}
            state["history"].append(record)
            log.info("%s", json.dumps(record))
            running_loss, running_correct, running_seen = 0.0, 0, 0
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "generator": generator.get_state(), "state": state, "args": vars(args)},
                       args.checkpoint.with_suffix(".part"))
            args.checkpoint.with_suffix(".part").replace(args.checkpoint)
            last_save = time.monotonic()
    save_backbone(model, prep, names, unseen, counts, state, args)
    return 0


def save_backbone(model: MultiTask, prep, names, unseen, counts, state, args) -> None:
    """Write the trunk (its ``fc`` is the icon-concept head) as the built-in backbone, with its card."""
    trunk = model.trunk.to(memory_format=torch.contiguous_format).eval()
    final = state["history"][-1]["validation"] if state["history"] else {}
    training = {
        "trained_by": "PhotoLab (training/train_features.py)",
        "purpose": "backbone: the default starting point of the fine-tuning wizard",
        "data": {"tasks": counts, "sources": {
            "icon concepts": "Debian icon themes " + ", ".join(proxy_data.PRETRAIN_THEMES),
            "clip-art kinds": "Debian openclipart-png, but the categories " + ", ".join(proxy_data.BENCH_CLIPART),
            "letters": "Debian font packages " + ", ".join(proxy_data.PRETRAIN_FONT_PACKAGES),
            "photo cells": "training/photos.txt, the training groups of train_quality_classifier.shipped_split"},
            "held_out_for_benchmarks": "icon themes " + ", ".join(proxy_data.BENCH_THEMES) + "; clip-art "
                                       "categories " + ", ".join(proxy_data.BENCH_CLIPART) + "; digits; fonts "
                                       + ", ".join(proxy_data.BENCH_FONT_PACKAGES),
            "never_seen_photo_groups": unseen,
            "reserved_never_used": ["plasma-workspace-wallpapers", "mate-backgrounds", "tuxpaint-stamps-default",
                                    "dataset-fashion-mnist"]},
        "recipe": {"method": "multi-task supervised pretraining, one linear head per task", "from_scratch": True,
                   "input_size": args.input_size, "batch_size": args.batch_size, "optimizer": "AdamW",
                   "lr": args.lr, "weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing,
                   "schedule": "linear warm-up (3 %) + cosine over the wall-time budget",
                   "time_limit_min": args.time_limit_min, "steps": state["step"], "threads": args.threads,
                   "seed": args.seed,
                   "augmentations": "random resized crop 35-100 %, mirror, +-10 deg, exposure +-0.5 EV, contrast "
                                    "and saturation +-30-40 %, grey p=0.2, inverted drawings p=0.15, 16-40 px "
                                    "pictures blown up p=0.25"},
        "history": state["history"],
        "metrics": {"validation_accuracy": final,
                    "transfer": "bench/bench_finetune.py fine-tunes this model on folders of never-seen sources "
                                "and compares it with baselines in the same run"},
        "notes": "A feature extractor, not a classifier: its outputs name icon concepts.",
    }
    card = ModelCard(name=NAME, architecture=ARCHITECTURE, classes=tuple(names[0]), preprocessing=prep,
                     source={"kind": "builtin", "by": "trained by PhotoLab", "script": "training/train_features.py"},
                     license="GPL-3.0-or-later", training=training, created=now_iso(), role="backbone")
    card = save_weights(trunk, card, args.out)
    log.info("wrote %s (sha256 %s)", card.weights_file, card.sha256)


if __name__ == "__main__":
    sys.exit(main())
