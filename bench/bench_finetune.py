"""Fine-tuning benchmark: the wizard's training (photolab.models.finetune) against two baselines, on CPU.

Data: natural photos, each *class* is one source photo and its items are random crops of it (112-128 px
after resizing). Training/validation crops come from the left 65 % of each photo, the held-out *test* crops
from the right 35 %, so a test crop never overlaps a training crop. The photos are those no built-in model
ever trained on: one per validation/test group of the built-in models' split of training/photos.txt
(``train_quality_classifier.shipped_split``; fetch them with ``training/fetch_photos.py train``), short side
>= 256 px; else the repository's tests/fixtures/*.png (6 photos; only the 5-class task then). The packages
reserved for independent evaluation are never used here. Two tasks: 10 classes x 30 images and 5 classes x
20 images, 20 test crops per class, each drawn three times (other crops, other training seeds); and the
5 x 20 folder made messy (a truncated JPEG, a text file named .jpg, alpha, 16-bit, nested folders, a
duplicate across classes, a one-image class, a stray file), fine-tuned as the wizard would after its check.

Compared, each timed (wall time of the whole training, 2 CPU threads) and scored on the test crops:
- fine-tuned: the default base (the built-in backbone photo-features-seresnet18, pretrained without labels)
  with the recommended strategy (run_finetune, as the wizard runs it), and with "full" as well; and the
  built-in quality classifier with the recommended strategy, for comparison;
- (a) logistic regression on raw pixels (24x24 RGB, standardised; torch, full-batch L-BFGS, L2);
- (b) the same seresnet18 from random weights, strategy "full", same epochs and settings.

    .venv/bin/python bench/bench_finetune.py [--epochs 6] [--image-size 112] [--test-crops 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photolab.models.data import scan_folder  # noqa: E402
from photolab.models.finetune import FinetuneSettings, TrainingImages, recommend_strategy, run_finetune  # noqa: E402
from photolab.models.manager import ModelManager  # noqa: E402
from photolab.models.se import create_model  # noqa: E402
from photolab.models.training import evaluate  # noqa: E402

THREADS = 2


def source_photos() -> tuple[list[Path], str]:
    """The photos that define the classes (the first photo of each group no built-in model trained on), and
    where they came from."""
    sys.path.insert(0, str(ROOT / "training"))
    from fetch_photos import default_cache, read_list
    from train_quality_classifier import shipped_split

    listed = read_list(ROOT / "training" / "photos.txt")
    assignment = shipped_split([group for _, _, group, _ in listed])
    cache, seen, cached = default_cache("train"), set(), []
    for source, path, group, _ in listed:
        photo = cache / source / path
        if (assignment[group] != "train" and group not in seen and photo.is_file()
                and min(Image.open(photo).size) >= 256):
            seen.add(group)
            cached.append(photo)
    if len(cached) >= 10:
        return cached, f"one photo per never-trained-on group of training/photos.txt ({cache})"
    return sorted((ROOT / "tests" / "fixtures").glob("*.png")), "tests/fixtures/*.png"


def crops(photo: Image.Image, count: int, side: int, region: tuple[float, float], rng) -> list[Image.Image]:
    """``count`` random square crops (25-50 % of the short side) inside the horizontal ``region``, resized."""
    width, height = photo.size
    left, right = int(region[0] * width), int(region[1] * width)
    out = []
    for _ in range(count):
        size = int(rng.uniform(0.25, 0.5) * min(height, right - left))
        x = int(rng.integers(left, right - size + 1))
        y = int(rng.integers(0, height - size + 1))
        out.append(photo.crop((x, y, x + size, y + size)).resize((side, side), Image.Resampling.BILINEAR))
    return out


def build_task(folder: Path, photos: list[Path], classes: int, per_class: int, test_per_class: int,
               seed: int) -> list[tuple[Path, int]]:
    """Write the training folder (one sub-folder per photo); return the test items ``(path, label)``."""
    rng = np.random.default_rng(seed)
    test = []
    for label, source in enumerate(photos[:classes]):
        photo = Image.open(source).convert("RGB")
        photo.thumbnail((900, 900), Image.Resampling.BOX)
        name = source.stem.lower()
        (folder / "train" / name).mkdir(parents=True)
        (folder / "test" / name).mkdir(parents=True)
        for index, crop in enumerate(crops(photo, per_class, int(rng.integers(112, 129)), (0.0, 0.65), rng)):
            crop.save(folder / "train" / name / f"{index:03d}.png")
        for index, crop in enumerate(crops(photo, test_per_class, 120, (0.65, 1.0), rng)):
            path = folder / "test" / name / f"{index:03d}.png"
            crop.save(path)
            test.append((path, label))
    return test


def pixels(items, side: int = 24) -> np.ndarray:
    """Raw pixels of each image, resized to ``side`` px, as float features."""
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize((side, side), Image.Resampling.BOX),
                                np.float32).ravel() / 255.0 for p, _ in items])


def logistic_regression(train_items, test_items, classes: int, l2: float = 1e-3) -> tuple[float, float]:
    """Softmax regression on raw pixels; (test accuracy, seconds)."""
    start = time.monotonic()
    x_train, x_test = pixels(train_items), pixels(test_items)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train = torch.from_numpy((x_train - mean) / std)
    x_test = torch.from_numpy((x_test - mean) / std)
    y_train = torch.tensor([label for _, label in train_items])
    weights = torch.zeros(x_train.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x_train @ weights + bias, y_train) + l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = (x_test @ weights + bias).argmax(1).numpy()
    accuracy = float((predicted == np.array([label for _, label in test_items])).mean())
    return accuracy, time.monotonic() - start


def test_accuracy(outcome, test_items) -> float:
    """Accuracy of the trained model on the held-out test crops (the app's eval preprocessing)."""
    data = TrainingImages(test_items, outcome.preprocessing, False)
    return evaluate(outcome.model, data, outcome.result.classes).accuracy


def task_seed(classes: int, repeat: int) -> int:
    """The seed that draws a task's crops for draw ``repeat``."""
    return 100 * classes + repeat


def run_task(work: Path, photos, classes: int, per_class: int, args, repeat: int) -> dict:
    """One task, drawn for ``repeat`` (its crops and every training seed): the methods' test accuracies,
    wall times and validation accuracies."""
    test_items = build_task(work, photos, classes, per_class, args.test_crops, seed=task_seed(classes, repeat))
    report = scan_folder(work / "train")
    assert report.ok, report.summary()
    index = {name: i for i, name in enumerate(report.classes)}
    test_items = [(p, index[p.parent.name]) for p, _ in test_items]
    manager = ModelManager(data_dir=work / "store")
    base, classifier = manager.default_base(), manager.default_entry()
    torch.manual_seed(repeat)
    scratch = create_model(base.card.architecture, num_classes=len(classifier.card.classes))
    manager.save_model(scratch, "scratch", classifier.card.classes, preprocessing=base.card.preprocessing)
    strategy, _ = recommend_strategy(report.counts)
    runs = [(f"fine-tuned {base.name}", base.name, strategy)]
    runs += [(f"fine-tuned {base.name}", base.name, "full")] if strategy != "full" else []
    runs += [(f"fine-tuned {classifier.name}", classifier.name, strategy)] if classifier.name != base.name else []
    runs += [("from scratch", "scratch", "full")]
    rows = {}
    for label, name, how in runs:
        settings = FinetuneSettings(base=name, strategy=how, epochs=args.epochs, image_size=args.image_size,
                                    num_threads=THREADS, patience=0, seed=repeat)
        start = time.monotonic()
        outcome = run_finetune(manager, report, settings)
        seconds = time.monotonic() - start
        rows[f"{label} ({how})"] = (test_accuracy(outcome, test_items), seconds, outcome.result.metrics.accuracy)
    accuracy, seconds = logistic_regression(report.items, test_items, len(report.classes))
    rows["logistic regression on pixels"] = (accuracy, seconds, float("nan"))
    return rows


def make_messy(train: Path) -> list[str]:
    """Turn a clean training folder into a messy one, as users' folders are; return what was added."""
    classes = sorted(p.name for p in train.iterdir())
    sample = Image.open(next((train / classes[0]).glob("*.png")))
    added = []
    sample.convert("RGB").save(train / classes[0] / "truncated.jpg", quality=90)
    data = (train / classes[0] / "truncated.jpg").read_bytes()
    (train / classes[0] / "truncated.jpg").write_bytes(data[:len(data) // 3])
    added.append("a truncated JPEG")
    (train / classes[1] / "notes.jpg").write_text("not an image, despite its name")
    added.append("a text file named .jpg")
    rgba = np.dstack([np.asarray(sample.convert("RGB")), np.full(sample.size[::-1], 160, np.uint8)])
    Image.fromarray(rgba).save(train / classes[1] / "transparent.png")
    added.append("a PNG with alpha")
    Image.fromarray((np.asarray(sample.convert("L"), np.uint16) * 257)).save(train / classes[2] / "sixteen-bit.tif")
    added.append("a 16-bit grey TIFF")
    (train / classes[2] / "more" / "deeper").mkdir(parents=True)
    sample.transpose(Image.Transpose.ROTATE_90).save(train / classes[2] / "more" / "deeper" / "nested.png")
    added.append("a nested folder")
    duplicate = next((train / classes[3]).glob("*.png"))
    (train / classes[4] / "copied.png").write_bytes(duplicate.read_bytes())
    added.append("a photo copied into a second class")
    (train / "lonely").mkdir()
    sample.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(train / "lonely" / "only.png")
    added.append("a class with one image (excluded, as the wizard suggests)")
    (train / "README.txt").write_text("stray file")
    added.append("a stray file at the top")
    return added


def run_messy(work: Path, photos, args) -> dict:
    """The 5 x 20 task's folder made messy: what the data check finds, and the recommended fine-tuning's
    accuracy on the same test crops as the clean folder's first draw."""
    test_items = build_task(work, photos, 5, 20, args.test_crops, seed=task_seed(5, 0))
    added = make_messy(work / "train")
    report = scan_folder(work / "train")
    manager = ModelManager(data_dir=work / "store")
    strategy, _ = recommend_strategy({k: v for k, v in report.counts.items() if k != "lonely"})
    settings = FinetuneSettings(base=manager.default_base().name, strategy=strategy, epochs=args.epochs,
                                image_size=args.image_size, num_threads=THREADS, patience=0, seed=0,
                                excluded=("lonely",))
    start = time.monotonic()
    outcome = run_finetune(manager, report, settings)
    index = {name: i for i, name in enumerate(outcome.result.classes)}  # without the excluded class
    test_items = [(p, index[p.parent.name]) for p, _ in test_items]
    return {"added": added, "issues": [f"{i.severity}: {i.message}" for i in report.issues],
            "usable_images": report.counts, "test_accuracy": test_accuracy(outcome, test_items),
            "wall_s": time.monotonic() - start}


def main() -> None:
    """Run both tasks ``--repeats`` times; print a table per task and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--test-crops", type=int, default=20, help="held-out test crops per class")
    parser.add_argument("--repeats", type=int, default=3, help="draws of each task (crops and training seeds)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    photos, origin = source_photos()
    print(f"photos: {origin}; {THREADS} CPU threads; {args.epochs} epochs at {args.image_size} px; "
          f"{args.repeats} draws per task")
    tasks = [(10, 30), (5, 20)] if len(photos) >= 10 else [(5, 20)]
    summary = {"photos": [p.name for p in photos], "epochs": args.epochs, "image_size": args.image_size,
               "repeats": args.repeats, "test_crops_per_class": args.test_crops, "tasks": {}}
    with tempfile.TemporaryDirectory() as folder:
        for classes, per_class in tasks:
            draws = [run_task(Path(folder) / f"task{classes}-{r}", photos, classes, per_class, args, r)
                     for r in range(args.repeats)]
            print(f"\n{classes} classes x {per_class} images ({args.test_crops} test crops per class, chance "
                  f"{1 / classes:.0%}); test accuracy: mean [min, max] of {args.repeats} draws")
            print(f"{'method':<48} {'test acc':>8} {'range':>13} {'val acc':>8} {'wall s':>7}")
            task = summary["tasks"][f"{classes}x{per_class}"] = {}
            for name in draws[0]:
                accuracies, seconds, vals = (np.array([d[name][k] for d in draws]) for k in range(3))
                shown = "-" if np.isnan(vals).all() else f"{vals.mean():.1%}"
                print(f"{name:<48} {accuracies.mean():8.1%} [{accuracies.min():5.1%}, {accuracies.max():5.1%}] "
                      f"{shown:>8} {seconds.mean():7.1f}")
                task[name] = {"test_accuracy": accuracies.round(4).tolist(), "mean": round(float(accuracies.mean()), 4),
                              "wall_s": round(float(seconds.mean()), 1)}
        if len(photos) >= 5:
            messy = run_messy(Path(folder) / "messy", photos, args)
            print(f"\nmessy 5 x 20 folder (first draw's test crops): added {'; '.join(messy['added'])}")
            print("data check:\n  " + "\n  ".join(messy["issues"]))
            print(f"usable images per class: {messy['usable_images']}")
            print(f"fine-tuned {messy['test_accuracy']:.1%} test accuracy in {messy['wall_s']:.1f} s")
            summary["messy_5x20"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in messy.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
