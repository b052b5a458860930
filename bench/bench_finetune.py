"""Fine-tuning benchmark: the wizard's training against simple baselines on realistic folders, on 2 CPU threads.

Folders (``training/proxy_data.py`` writes them, from sources the built-in backbone never saw; no reserved
package is used), each with semantic classes, not crops of one photo:

- **clipart**: 6 Open Clip Art Library categories held out of pretraining whole (food, plants, buildings,
  transportation, tools, office): transparent PNGs of many sizes and styles;
- **icons**: the icon categories (actions, apps, devices, places, status...) of two icon themes held out of
  pretraining (Oxygen, Tango);
- **digits**: the ten digits (never a pretraining class) as 28 px grey pictures from fonts never seen.

Every folder is drawn ``--repeats`` times: ``--per-class`` training images per class (a user's folder) and
up to 20 test images per class, split by source (a drawing, an icon, a font file: digits of one font are
all train or all test). Methods, each timed (wall time of the whole training) and scored on the test
images as Classify would see them (``prepare`` on the app's reading of the file):

- PhotoLab: ``run_finetune`` with the default base and the recommended strategy (what ``photolab-cli train``
  and the wizard do), and the same with the probe alone;
- the same SE network (seresnet18) from random weights, fine-tuned ``full`` with augmentation (crops, flips);
- logistic regression on pixels (24 x 24 RGB) and on HOG (64 x 64 grey, 8 px cells, 9 orientations,
  2 x 2-cell blocks, L2-Hys), each with its penalty chosen by 5-fold cross-validation on the training images.

A messy copy of the clip-art folder (truncated JPEG, text named .jpg, 16-bit, alpha, nested folders, a
duplicate across classes, a one-image class, a stray file) goes through the data check and the recommended
fine-tuning, scored on the same test images as the clean first draw.

    .venv/bin/python bench/bench_finetune.py [--repeats 3] [--per-class 20] [--folders clipart icons digits]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from photolab.models.training.data import scan_folder  # noqa: E402
from photolab.models.training.dataset import load_srgb8  # noqa: E402
from photolab.models.training.finetune import run_finetune  # noqa: E402
from photolab.models.training.settings import FinetuneSettings, recommend_strategy  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from photolab.models.preprocess import prepare  # noqa: E402
from photolab.models.training.probe import fit_logistic, logistic_cross_validation, stratified_folds  # noqa: E402
from photolab.models.archs.seresnet import create_model  # noqa: E402

THREADS = 2
FOLDERS = {"clipart": "clipart", "icons": "icons", "digits": "glyphs"}
TEST_PER_CLASS = 20
SCRATCH_EPOCHS = 15


def source_of(path: Path) -> str:
    """The source a file comes from: a digit's font file (all its digits go one way), else the file itself."""
    return path.stem if path.parent.parent.name == "glyphs" else str(path)


def draw(folder: Path, per_class: int, seed: int, work: Path) -> tuple[Path, list[tuple[Path, int]]]:
    """Copy a training folder of ``per_class`` images per class into ``work``; return it and the test items,
    split by source."""
    rng = np.random.default_rng(seed)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files = {name: sorted(p for p in (folder / name).iterdir() if p.is_file() and suitable(p)) for name in classes}
    sources = sorted({source_of(p) for name in classes for p in files[name]})
    rng.shuffle(sources)
    order = {source: index for index, source in enumerate(sources)}
    train_root, test = work / "train", []
    for label, name in enumerate(classes):
        ranked = sorted(files[name], key=lambda p: order[source_of(p)])
        (train_root / name).mkdir(parents=True)
        for path in ranked[:per_class]:
            shutil.copy(path, train_root / name / path.name)
        train_sources = {source_of(p) for p in ranked[:per_class]}
        test += [(p, label) for p in ranked[per_class:] if source_of(p) not in train_sources][:TEST_PER_CLASS]
    return train_root, test


def suitable(path: Path) -> bool:
    """Whether the data check would train on the image (not under 16 px a side, not over 20:1): the bench's
    folders keep only such images, so the test images are ones Classify accepts."""
    with Image.open(path) as image:
        width, height = image.size
    return min(width, height) >= 16 and max(width, height) <= 20 * min(width, height)


def hog(image: np.ndarray, side: int = 64, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Dalal-Triggs HOG of the grey image resized to ``side``: unsigned gradients, ``bins`` orientations per
    ``cell`` px cell, 2 x 2-cell blocks (stride one cell), L2-Hys normalised."""
    grey = cv2.cvtColor(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1)
    magnitude, angle = np.hypot(gx, gy), np.rad2deg(np.arctan2(gy, gx)) % 180.0
    index = (angle / (180.0 / bins)).astype(np.int64) % bins
    cells = side // cell
    histogram = np.zeros((cells, cells, bins), np.float32)
    for orientation in range(bins):
        histogram[:, :, orientation] = np.where(index == orientation, magnitude, 0).reshape(
            cells, cell, cells, cell).sum((1, 3))
    blocks = []
    for row in range(cells - 1):
        for col in range(cells - 1):
            block = histogram[row:row + 2, col:col + 2].ravel()
            block = np.minimum(block / np.sqrt((block ** 2).sum() + 1e-6), 0.2)
            blocks.append(block / np.sqrt((block ** 2).sum() + 1e-6))
    return np.concatenate(blocks)


def pixels(image: np.ndarray, side: int = 24) -> np.ndarray:
    """The image resized to ``side`` px, as RGB values in [0, 1]."""
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255.0


def logistic_baseline(features, train_items, test_items, classes: int) -> tuple[float, float]:
    """Logistic regression on ``features`` of the images, penalty by 5-fold CV: (test accuracy, seconds)."""
    start = time.monotonic()
    x_train = torch.from_numpy(np.stack([features(load_srgb8(p, 512)) for p, _ in train_items]))
    y_train = np.array([label for _, label in train_items])
    scores = logistic_cross_validation(x_train, y_train, classes, stratified_folds(y_train, 5, 0))
    l2 = max(scores, key=lambda value: (scores[value], value))
    head = fit_logistic(x_train, torch.as_tensor(y_train), classes, l2)
    seconds = time.monotonic() - start
    x_test = torch.from_numpy(np.stack([features(load_srgb8(p, 512)) for p, _ in test_items]))
    predicted = head.logits(x_test).argmax(1).numpy()
    return float((predicted == np.array([label for _, label in test_items])).mean()), seconds


def test_accuracy(outcome, test_items) -> float:
    """Accuracy on the test images, each read and prepared as Classify does."""
    model, right = outcome.model.eval(), 0
    with torch.no_grad():
        for path, label in test_items:
            x = prepare(load_srgb8(path, 1600), outcome.preprocessing).tensor
            right += int(model(x).argmax(1)) == label
    return right / len(test_items)


def run_draw(folder: Path, args, seed: int, work: Path) -> dict[str, tuple[float, float, str]]:
    """One draw of one folder: {method: (test accuracy, seconds, note)}."""
    train_root, test = draw(folder, args.per_class, seed, work)
    report = scan_folder(train_root)
    assert report.ok, report.summary()
    index = {name: i for i, name in enumerate(report.classes)}
    test = [(path, index[path.parent.name]) for path, _ in test]
    manager = ModelManager(data_dir=work / "store", builtin_dir=args.models)
    base = manager.default_base()
    torch.manual_seed(seed)
    manager.save_model(create_model(base.card.architecture, num_classes=2), "scratch", ("a", "b"),
                       preprocessing=base.card.preprocessing)
    strategy, _ = recommend_strategy(report.counts)
    runs = [(f"PhotoLab ({strategy})", base.name, strategy, 10)]
    runs += [("PhotoLab probe only", base.name, "probe", 10)] if strategy != "probe" else []
    runs += [("seresnet18 from scratch (full, augmented)", "scratch", "full", SCRATCH_EPOCHS)] if args.baselines else []
    rows = {}
    for label, name, how, epochs in runs:
        settings = FinetuneSettings(base=name, strategy=how, epochs=epochs, num_threads=THREADS, seed=seed,
                                    patience=0 if name == "scratch" else 3)
        start = time.monotonic()
        outcome = run_finetune(manager, report, settings)
        rows[label] = (test_accuracy(outcome, test), time.monotonic() - start, outcome.result.stop_reason)
    if args.baselines:
        classes = len(report.classes)
        rows["logistic regression on pixels"] = (*logistic_baseline(pixels, report.items, test, classes), "")
        rows["logistic regression on HOG"] = (*logistic_baseline(hog, report.items, test, classes), "")
    return rows


def make_messy(train: Path) -> list[str]:
    """Turn a clean training folder into a messy one, as users' folders are; return what was added."""
    classes = sorted(p.name for p in train.iterdir())
    sample = Image.open(next((train / classes[0]).iterdir())).convert("RGBA")
    added = []
    sample.convert("RGB").save(train / classes[0] / "truncated.jpg", quality=90)
    data = (train / classes[0] / "truncated.jpg").read_bytes()
    (train / classes[0] / "truncated.jpg").write_bytes(data[:len(data) // 3])
    added.append("a truncated JPEG")
    (train / classes[1] / "notes.jpg").write_text("not an image, despite its name")
    added.append("a text file named .jpg")
    Image.fromarray((np.asarray(sample.convert("L"), np.uint16) * 257)).save(train / classes[2] / "sixteen-bit.tif")
    added.append("a 16-bit grey TIFF")
    (train / classes[2] / "more" / "deeper").mkdir(parents=True)
    sample.transpose(Image.Transpose.ROTATE_90).save(train / classes[2] / "more" / "deeper" / "nested.png")
    added.append("a nested folder")
    duplicate = next((train / classes[3]).iterdir())
    (train / classes[4] / "copied.png").write_bytes(duplicate.read_bytes())
    added.append("an image copied into a second class")
    (train / "lonely").mkdir()
    sample.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(train / "lonely" / "only.png")
    added.append("a class with one image (excluded, as the wizard suggests)")
    (train / "README.txt").write_text("stray file")
    added.append("a stray file at the top")
    return added


def run_messy(folder: Path, args, work: Path) -> dict:
    """The clip-art folder's first draw made messy: the data check's findings and the recommended run's test
    accuracy on the clean draw's test images."""
    train_root, test = draw(folder, args.per_class, 0, work)
    added = make_messy(train_root)
    report = scan_folder(train_root)
    manager = ModelManager(data_dir=work / "store", builtin_dir=args.models)
    strategy, _ = recommend_strategy({k: v for k, v in report.counts.items() if k != "lonely"})
    settings = FinetuneSettings(base=manager.default_base().name, strategy=strategy, num_threads=THREADS,
                                excluded=("lonely",))
    start = time.monotonic()
    outcome = run_finetune(manager, report, settings)
    index = {name: i for i, name in enumerate(outcome.result.classes)}
    test = [(path, index[path.parent.name]) for path, _ in test]
    return {"added": added, "issues": [f"{i.severity}: {i.message}" for i in report.issues],
            "usable_images": report.counts, "test_accuracy": test_accuracy(outcome, test),
            "wall_s": time.monotonic() - start}


def main() -> None:
    """Every folder x every method x ``--repeats`` draws; a table per folder and a JSON line."""
    import proxy_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="proxy_data.py's folder")
    parser.add_argument("--folders", nargs="+", default=list(FOLDERS), choices=list(FOLDERS))
    parser.add_argument("--per-class", type=int, default=20, help="training images per class")
    parser.add_argument("--repeats", type=int, default=3, help="draws of each folder")
    parser.add_argument("--models", type=Path, default=None,
                        help="built-in models folder to take the base from (default resources/models)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="only PhotoLab's methods (to compare bases)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    bench_root = (args.root or proxy_data.default_root()) / "bench"
    if not bench_root.is_dir():
        sys.exit(f"{bench_root} is missing: run python training/proxy_data.py first")
    summary = {"per_class": args.per_class, "repeats": args.repeats, "threads": THREADS, "folders": {}}
    with tempfile.TemporaryDirectory() as temporary:
        for name in args.folders:
            folder = bench_root / FOLDERS[name]
            draws = [run_draw(folder, args, seed, Path(temporary) / f"{name}-{seed}") for seed in range(args.repeats)]
            classes = len([p for p in folder.iterdir() if p.is_dir()])
            print(f"\n{name}: {classes} classes x {args.per_class} training images, test by source; mean [min, max] "
                  f"of {args.repeats} draws (chance {1 / classes:.0%})")
            print(f"{'method':<44} {'test acc':>8} {'range':>15} {'wall s':>7}")
            table = summary["folders"][name] = {}
            for method in draws[0]:
                accuracy = np.array([d[method][0] for d in draws])
                seconds = np.array([d[method][1] for d in draws])
                print(f"{method:<44} {accuracy.mean():8.1%} [{accuracy.min():6.1%}, {accuracy.max():6.1%}] "
                      f"{seconds.mean():7.1f}")
                table[method] = {"test_accuracy": accuracy.round(4).tolist(), "mean": round(float(accuracy.mean()), 4),
                                 "wall_s": round(float(seconds.mean()), 1)}
            ours = next(v["mean"] for k, v in table.items() if k.startswith("PhotoLab ("))
            baselines = {k: v["mean"] for k, v in table.items() if not k.startswith("PhotoLab")}
            if baselines:
                best = max(baselines, key=baselines.get)
                table["margin_over_best_baseline"] = round(ours - baselines[best], 4)
                print(f"margin over the best baseline ({best}): {100 * (ours - baselines[best]):+.1f} points")
            print("chosen: " + "; ".join(d[next(k for k in d if k.startswith("PhotoLab ("))][2] for d in draws))
        if "clipart" in args.folders and args.baselines:
            messy = run_messy(bench_root / FOLDERS["clipart"], args, Path(temporary) / "messy")
            print(f"\nmessy clip-art folder: added {'; '.join(messy['added'])}")
            print("data check:\n  " + "\n  ".join(messy["issues"]))
            print(f"recommended fine-tuning: {messy['test_accuracy']:.1%} on the first draw's test images in "
                  f"{messy['wall_s']:.1f} s")
            summary["messy_clipart"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in messy.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
