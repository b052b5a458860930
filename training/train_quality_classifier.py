#!/usr/bin/env python3
"""Train PhotoLab's built-in photo-quality classifier (sharp / blurred / noisy / under- / over-exposed).

The photos are natural photographs from Debian packages and scikit-image (``training/photos.txt``; fetch them
with ``training/fetch_photos.py train``). They are split BY PHOTO GROUP into train / validation (early
stopping) / held-out test; each training sample is a random crop of a training photo, mirrored, with one
synthetic defect drawn on the fly (``training/degradations.py``). The network is ``seresnet18`` from
``photolab.models.archs.seresnet`` trained from scratch with ``photolab.models.training.training.fit``.

After training, the model is evaluated on the held-out photos and, once, on the independent photos of
``training/eval_photos.txt`` (packages never used for training or tuning), each in two ways:

- ``app_view``: the whole photo at the model's viewing scale, degraded, encoded to 8-bit sRGB and fed through
  the app's own preprocessing (``photolab.models.preprocess.prepare``), several defect draws per photo;
- ``patches``: random crops as in training.

The weights (float16) and the card (``photolab.models.store.card`` schema; every figure comes from this run) are
written to ``resources/models``. Typical use (about 30-40 minutes on 2 CPU threads)::

    nice -n 19 python training/train_quality_classifier.py --log /tmp/quality.log
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from torch.utils.data import Dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import degradations as deg  # noqa: E402
import fetch_photos  # noqa: E402
from run_support import Unattended, epoch_logger, start_run, timed_config  # noqa: E402

from photolab.core.color import decode_srgb_integer  # noqa: E402
from photolab.core.errors import UnsupportedFormatError  # noqa: E402
from photolab.core.io import read_photo  # noqa: E402
from photolab.models.store.card import ModelCard, Preprocessing, now_iso, sha256_file  # noqa: E402
from photolab.models.store.importing import CARD_METADATA_KEY  # noqa: E402
from photolab.models.preprocess import prepare  # noqa: E402
from photolab.models.archs.seresnet import IMAGENET_MEAN, IMAGENET_STD, create_model  # noqa: E402
from photolab.models.training.training import evaluate, fit  # noqa: E402

log = logging.getLogger("train_quality")
NAME = "photo-quality-seresnet18"
ARCHITECTURE = "seresnet18"
CLASSES = deg.CLASSES


@dataclass
class SourcePhoto:
    """One source photograph, downscaled once to at most ``max_side`` pixels, in linear sRGB."""

    source: str
    path: str
    group: str
    licence: str
    pixels: np.ndarray


def load_linear(path: Path) -> np.ndarray:
    """Linear float32 RGB pixels: the app's reader, or Pillow + sRGB decoding for the PGM/PPM frames."""
    try:
        return read_photo(path).pixels
    except UnsupportedFormatError:
        with Image.open(path) as image:
            return decode_srgb_integer(np.asarray(image.convert("RGB")))


def load_photos(list_file: Path, cache: Path, max_side: int) -> list[SourcePhoto]:
    """Every photo of a list, read and area-downscaled (in linear light) to at most ``max_side``."""
    photos = []
    for source, path, group, licence in fetch_photos.read_list(list_file):
        pixels = load_linear(cache / source / path)
        scale = max_side / max(pixels.shape[:2])
        if scale < 1:
            size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        photos.append(SourcePhoto(source, path, group, licence, np.ascontiguousarray(pixels, dtype=np.float32)))
    return photos


def split_groups(groups: list[str], test_fraction: float, val_fraction: float, seed: int) -> dict[str, str]:
    """Assign each distinct group to ``train``, ``val`` or ``test`` with a seeded shuffle."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_test = max(1, round(len(unique) * test_fraction))
    n_val = max(1, round(len(unique) * val_fraction))
    names = [unique[i] for i in order]
    return {g: "test" if i < n_test else "val" if i < n_test + n_val else "train" for i, g in enumerate(names)}


TEST_FRACTION, VAL_FRACTION = 0.2, 0.15
"""Shares of the photo groups held out for the final test and for validation."""
SHIPPED_SPLIT_SEED = 0
"""The seed of the shipped models' split (the quality classifier's default ``--seed``)."""


def shipped_split(groups: list[str]) -> dict[str, str]:
    """The split of the shipped built-in models: the quality classifier's with its default seed. The denoiser
    and the fine-tuning backbone train on its ``train`` groups only, and the benchmarks take their held-out
    photos from the other two."""
    return split_groups(groups, TEST_FRACTION, VAL_FRACTION, SHIPPED_SPLIT_SEED)


def new_model(architecture: str, num_classes: int, input_size: int, seed: int) -> tuple[torch.nn.Module, Preprocessing]:
    """A seeded, untrained ``architecture`` whose ``default_cfg`` is the built-in models' preprocessing at
    ``input_size`` px (ImageNet mean/std, centre crop 0.875, bilinear), and that preprocessing for its card."""
    prep = Preprocessing(input_size=(3, input_size, input_size), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                         crop_pct=0.875, interpolation="bilinear", crop_mode="center")
    torch.manual_seed(seed)
    model = create_model(architecture, num_classes=num_classes)
    model.default_cfg = prep.to_config(architecture, num_classes)
    return model, prep


def to_tensor(srgb: np.ndarray) -> torch.Tensor:
    """8-bit sRGB (H, W, 3) -> normalised CHW float tensor (the app's mean/std)."""
    x = (srgb.astype(np.float32) / 255.0 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class RandomPatches(Dataset):
    """``length`` samples; item i has class ``i % 5`` and a random crop of a random photo (groups equally
    likely), drawn from a generator seeded by (seed, epoch, i): reproducible, new every epoch."""

    def __init__(self, photos: list[SourcePhoto], size: int, length: int, seed: int):
        self.photos, self.size, self.length, self.seed, self.epoch = photos, size, length, seed, 0
        self.groups = sorted({p.group for p in photos})

    def set_epoch(self, epoch: int) -> None:
        """Draw different samples in every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index])
        group = self.groups[rng.integers(len(self.groups))]
        members = [p for p in self.photos if p.group == group]
        photo = members[rng.integers(len(members))]
        label = index % len(CLASSES)
        patch = deg.random_patch(photo.pixels, self.size, rng)
        return to_tensor(deg.degrade(patch, CLASSES[label], rng)), label


class FixedSamples(Dataset):
    """Pre-rendered 8-bit evaluation samples (so every evaluation sees exactly the same images)."""

    def __init__(self, images: list[np.ndarray], labels: list[int]):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return to_tensor(self.images[index]), self.labels[index]


def patch_samples(photos: list[SourcePhoto], size: int, per_class: int, seed: int) -> FixedSamples:
    """``per_class`` random degraded crops of every photo for every class."""
    images, labels = [], []
    for p_index, photo in enumerate(photos):
        for label, name in enumerate(CLASSES):
            for k in range(per_class):
                rng = np.random.default_rng([seed, p_index, label, k])
                images.append(deg.degrade(deg.random_patch(photo.pixels, size, rng), name, rng))
                labels.append(label)
    return FixedSamples(images, labels)


def app_view_samples(photos: list[SourcePhoto], prep: Preprocessing, draws: int, seed: int) -> FixedSamples:
    """The whole photo at the model's viewing scale (short side ``size / crop_pct``), degraded, encoded, and
    turned into the model input by the app's own ``preprocess.prepare``; ``draws`` defects per class."""
    short = int(prep.input_size[1] / prep.crop_pct)
    images, labels = [], []
    for p_index, photo in enumerate(photos):
        height, width = photo.pixels.shape[:2]
        scale = short / min(height, width)
        view = deg.resize_linear(photo.pixels, max(short, round(width * scale)), max(short, round(height * scale)))
        for label, name in enumerate(CLASSES):
            for k in range(draws):
                rng = np.random.default_rng([seed, p_index, label, k, 7])
                tensor = prepare(deg.degrade(view, name, rng), prep).tensor[0]
                srgb = (tensor.numpy().transpose(1, 2, 0) * np.float32(prep.std) + np.float32(prep.mean)) * 255
                images.append(np.clip(np.round(srgb), 0, 255).astype(np.uint8))
                labels.append(label)
    return FixedSamples(images, labels)


def evaluate_set(model, photos: list[SourcePhoto], prep: Preprocessing, args, seed: int) -> dict:
    """Both evaluations (app_view, patches) of ``photos``, as card-ready dicts."""
    result = {"photos": len(photos), "groups": len({p.group for p in photos})}
    for kind, data in (("app_view", app_view_samples(photos, prep, args.eval_draws, seed)),
                       ("patches", patch_samples(photos, args.input_size, args.eval_patches, seed))):
        metrics = evaluate(model, data, CLASSES, batch_size=64).to_dict()
        metrics.pop("classes")
        result[kind] = {"samples": len(data), **metrics}
        log.info("%s %s: accuracy %.3f on %d samples", seed, kind, metrics["accuracy"], len(data))
    return result


def save_weights(model: torch.nn.Module, card: ModelCard, out_dir: Path) -> ModelCard:
    """Write float16 weights (card embedded as metadata) then the card with the file's SHA-256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{card.name}.safetensors"
    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    embedded = card.replace(weights_file="", sha256="").to_json()
    temporary = weights.with_suffix(".safetensors.part")
    save_file(state, str(temporary), metadata={"format": "pt", CARD_METADATA_KEY: embedded})
    os.chmod(temporary, 0o644)
    os.replace(temporary, weights)
    card = card.replace(weights_file=weights.name, sha256=sha256_file(weights))
    (out_dir / f"{card.name}.json").write_text(card.to_json(), encoding="utf-8")
    return card


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (defaults: the recipe of the shipped model)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="training photo cache (fetch_photos.py train)")
    parser.add_argument("--eval-cache", type=Path, default=None, help="independent photo cache (... eval)")
    parser.add_argument("--out", type=Path, default=HERE.parent / "resources" / "models")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/photo-quality-checkpoint.pt"))
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--max-side", type=int, default=1024, help="photos are first downscaled to this")
    parser.add_argument("--epochs", type=int, default=60, help="upper bound; the time limit usually ends the run")
    parser.add_argument("--samples-per-epoch", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--time-limit-min", type=float, default=35.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SHIPPED_SPLIT_SEED)
    parser.add_argument("--val-patches", type=int, default=8, help="per photo and class")
    parser.add_argument("--eval-patches", type=int, default=20, help="per photo and class (held-out, independent)")
    parser.add_argument("--eval-draws", type=int, default=12, help="defect draws per photo and class (app view)")
    parser.add_argument("--skip-independent", action="store_true", help="do not run the independent evaluation")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Train, evaluate, write the weights and the card."""
    args = parse_args(argv)
    start_run(args.log, args.threads)
    started = time.monotonic()
    cache = args.cache or fetch_photos.default_cache("train")
    photos = load_photos(HERE / "photos.txt", cache, args.max_side)
    assignment = split_groups([p.group for p in photos], TEST_FRACTION, VAL_FRACTION, args.seed)
    parts = {k: [p for p in photos if assignment[p.group] == k] for k in ("train", "val", "test")}
    for key, members in parts.items():
        log.info("%s: %d photos, groups %s", key, len(members), sorted({p.group for p in members}))
    train_data = RandomPatches(parts["train"], args.input_size, args.samples_per_epoch, args.seed)
    val_data = patch_samples(parts["val"], args.input_size, args.val_patches, args.seed + 1)
    model, prep = new_model(ARCHITECTURE, len(CLASSES), args.input_size, args.seed)
    config = timed_config(args, args.patience)

    result = fit(model, train_data, val_data, CLASSES, config, Unattended(log),
                 epoch_logger(log, model, args, args.checkpoint))
    log.info("training: %s; best epoch %d; %.0f s", result.stop_reason, result.best_epoch, result.seconds)
    model = result.model.eval()
    held_out = evaluate_set(model, parts["test"], prep, args, seed=1000 + args.seed)
    metrics = {"held_out_test": held_out, "validation": {"samples": len(val_data), **result.metrics.to_dict()}}
    metrics["validation"].pop("classes")
    independent = {"evaluated": False, "reason": "skipped (--skip-independent)"}
    if not args.skip_independent:
        eval_cache = args.eval_cache or fetch_photos.default_cache("eval")
        eval_photos = load_photos(HERE / "eval_photos.txt", eval_cache, args.max_side)
        independent = {"evaluated": True, "packages": sorted({p.source for p in eval_photos}),
                       **evaluate_set(model, eval_photos, prep, args, seed=2000 + args.seed)}
    metrics["independent_evaluation"] = independent
    counts = {}
    for p in photos:
        counts.setdefault(p.source, {"train": 0, "val": 0, "test": 0})[assignment[p.group]] += 1
    training = {
        "trained_by": "PhotoLab (training/train_quality_classifier.py)",
        "data": {"description": "natural photographs, synthetic defects drawn on the fly in linear light",
                 "photo_list": "training/photos.txt", "photos_per_source": counts,
                 "test_groups": sorted({p.group for p in parts["test"]}),
                 "val_groups": sorted({p.group for p in parts["val"]}),
                 "independent_list": "training/eval_photos.txt"},
        "recipe": {"from_scratch": True, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
                   "stop_reason": result.stop_reason, "samples_per_epoch": args.samples_per_epoch,
                   "max_side": args.max_side, "optimizer": "AdamW", "schedule": "linear warm-up + cosine",
                   **result.config.to_dict(),
                   "augmentations": "random square crop 35-100% of the short side (>= 1.5x input), horizontal "
                                    "flip, +-0.5 EV jitter, faint sensor noise, JPEG q70-95 (p=0.7) for every class",
                   "defects": {"blurred": {"gaussian_sigma": deg.GAUSSIAN_SIGMA, "disc_radius": deg.DISC_RADIUS,
                                           "motion_length": deg.MOTION_LENGTH, "unit": "px at input scale"},
                               "noisy": {"shot_gain": deg.SHOT_GAIN, "read_std": deg.READ_STD,
                                         "model": "variance = shot_gain*signal + read_std^2, linear light"},
                               "underexposed_ev": [-deg.UNDER_EV[1], -deg.UNDER_EV[0]],
                               "overexposed_ev": list(deg.OVER_EV)}},
        "history": [asdict(h) for h in result.history],
        "metrics": metrics,
        "wall_time_s": round(time.monotonic() - started),
        "notes": "Judges the photo as seen at the model's input size (the whole photo shrunk to 146 px, "
                 "centre 128 px): defects too small to see at that scale (e.g. slight softness at 100 %) are "
                 "not detected; feed a 1:1 crop to check fine detail.",
    }
    card = ModelCard(name=NAME, architecture=ARCHITECTURE, classes=CLASSES, preprocessing=prep,
                     source={"kind": "builtin", "by": "trained by PhotoLab",
                             "script": "training/train_quality_classifier.py"},
                     license="GPL-3.0-or-later", training=training, created=now_iso())
    card = save_weights(model, card, args.out)
    log.info("wrote %s (sha256 %s)\n%s", card.weights_file, card.sha256, json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
