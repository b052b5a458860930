#!/usr/bin/env python3
"""Labelled images made from permitted Debian packages: the pretraining tasks of the fine-tuning backbone and
the realistic benchmark folders of ``bench/bench_finetune.py``, kept apart by source.

Three kinds of semantic categories, none of them crops of one photo:

- **icons**: one class per icon concept (``printer``, ``folder-music``, ``face-smile``...), drawn by several
  icon themes, each in its own style. Pretraining uses the themes Papirus, Breeze, Numix, elementary-xfce,
  Adwaita and GNOME (a concept needs drawings from at least 4 of them). The benchmark folder ``icons`` uses
  the held-out themes Oxygen and Tango, whose icons are sorted by their theme folder (actions, apps,
  devices, mimetypes, places, status...): category classes, each icon once (one size).
- **clip art**: one class per Open Clip Art Library folder (``animals/bugs``, ``people/sports``...),
  transparent PNGs of every size. Six top-level categories (food, plants, buildings, transportation, tools,
  office) are held out whole: the benchmark folder ``clipart`` has one class per held-out category, kinds of
  things pretraining never named.
- **glyphs**: one class per letter (A-Z, a-z), rendered from font families. Pretraining uses Noto, URW
  base35, Roboto, Open Sans, Lato, Cantarell, Carlito, Caladea, Linux Libertine, EB Garamond and Comic Neue;
  the benchmark folder ``glyphs`` has the ten digits, never a pretraining class, drawn 28 px grey (like a
  catalogue of small pictures) from the held-out families DejaVu, Liberation and FreeFont (train and test
  are split by font file).

The reserved packages (``plasma-workspace-wallpapers``, ``mate-backgrounds``, ``tuxpaint-stamps-default``,
``dataset-fashion-mnist``) are never used here. Everything is written outside the repository::

    python training/proxy_data.py               # fetch, render -> ~/.cache/photolab/proxy/{pretrain.npz, bench/}
    python training/proxy_data.py --contact-sheet /tmp/sheet.png   # a look at every task's classes
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fetch_photos  # noqa: E402

SIDE = 112  # pixels of a pretraining sample (square, object centred on white)
PACKAGES = {
    "openclipart-png": "1:0.18+dfsg-19",
    "papirus-icon-theme": "20230104-2",
    "breeze-icon-theme": "4:5.103.0-1",
    "numix-icon-theme": "0~20230220-1",
    "elementary-xfce-icon-theme": "0.17-1",
    "adwaita-icon-theme": "43-1",
    "gnome-icon-theme": "3.12.0-5",
    "oxygen-icon-theme": "5:5.103.0-1",
    "tango-icon-theme": "0.8.90-11",
    "fonts-noto-core": "20201225-1",
    "fonts-dejavu-core": "2.37-6",
    "fonts-liberation2": "2.1.5-1",
    "fonts-freefont-ttf": "20120503-10",
    "fonts-urw-base35": "20200910-7",
    "fonts-roboto-unhinted": "2:0~20170802-3",
    "fonts-open-sans": "1.11-2",
    "fonts-lato": "2.0-2.1",
    "fonts-cantarell": "0.303.1-1",
    "fonts-crosextra-carlito": "20220224-1",
    "fonts-crosextra-caladea": "20200211-1",
    "fonts-linuxlibertine": "5.3.0-6",
    "fonts-ebgaramond": "0.016+git20210310.42d4f9f2-1",
    "fonts-comic-neue": "2.51-4",
}
PRETRAIN_THEMES = {
    "papirus": "papirus-icon-theme/usr/share/icons/Papirus",
    "breeze": "breeze-icon-theme/usr/share/icons/breeze",
    "numix": "numix-icon-theme/usr/share/icons/Numix",
    "elementary": "elementary-xfce-icon-theme/usr/share/icons/elementary-xfce",
    "adwaita": "adwaita-icon-theme/usr/share/icons/Adwaita",
    "gnome": "gnome-icon-theme/usr/share/icons/gnome",
}
BENCH_THEMES = {
    "oxygen": "oxygen-icon-theme/usr/share/icons/oxygen",
    "tango": "tango-icon-theme/usr/share/icons/Tango",
}
MIN_THEMES = 4
CLIPART_ROOT = "openclipart-png/usr/share/openclipart/png"
BENCH_CLIPART = ("food", "plants", "buildings", "transportation", "tools", "office")
PRETRAIN_FONT_PACKAGES = ("fonts-noto-core", "fonts-urw-base35", "fonts-roboto-unhinted", "fonts-open-sans",
                          "fonts-lato", "fonts-cantarell", "fonts-crosextra-carlito", "fonts-crosextra-caladea",
                          "fonts-linuxlibertine", "fonts-ebgaramond", "fonts-comic-neue")
BENCH_FONT_PACKAGES = ("fonts-dejavu-core", "fonts-liberation2", "fonts-freefont-ttf")
NOTO_LATIN = ("NotoSans-", "NotoSerif-", "NotoSansDisplay-", "NotoSerifDisplay-", "NotoSansMono-")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BENCH_CHARACTERS = "0123456789"


def default_root() -> Path:
    """``$PHOTOLAB_TRAINING_CACHE/proxy`` or ``~/.cache/photolab/proxy``."""
    return fetch_photos.default_cache("train").parent / "proxy"


# ------------------------------------------------------------------------------------------------ sources

def fetch(cache: Path, deb_dirs: list[Path]) -> None:
    """Download and unpack every package into ``cache``."""
    for package, version in PACKAGES.items():
        fetch_deb_any(package, version, cache, deb_dirs)


def fetch_deb_any(package: str, version: str, cache: Path, deb_dirs: list[Path]) -> Path:
    """Like ``fetch_photos.fetch_deb``, for architecture-independent packages whatever their file name."""
    target = cache / package
    if target.is_dir() and any(target.iterdir()):
        return target
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pattern = f"{package}_*{version.split(':')[-1]}_*.deb"
    found = [path for folder in [debs, *deb_dirs] for path in sorted(folder.glob(pattern))]
    if not found:
        subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=debs, check=True)
        found = sorted(debs.glob(pattern))
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", str(found[0]), str(target)], check=True)
    return target


def _icon_files(root: Path) -> dict[str, Path]:
    """One file per drawing of a theme: icon name -> its largest raster (or the scalable SVG). Names that
    are links to the same drawing collapse onto the name most themes use (decided by the caller)."""
    best: dict[str, tuple[int, Path]] = {}
    for folder, _, files in os.walk(root):
        if "symbolic" in folder:
            continue
        size = _size_of(folder)
        for name in files:
            stem, suffix = os.path.splitext(name)
            if suffix not in (".png", ".svg") or "symbolic" in stem:
                continue
            path = Path(folder) / name
            if size > best.get(stem, (-1, None))[0]:
                best[stem] = (size, path)
    return {stem: path for stem, (_, path) in best.items()}


def _size_of(folder: str) -> int:
    """The pixel size a theme folder holds (``48x48``, ``48``, ``scalable`` = 512), 0 when unknown."""
    for part in reversed(Path(folder).parts):
        if part == "scalable":
            return 512
        head = part.split("x")[0].split("@")[0]
        if head.isdigit():
            return int(head)
    return 0


def icon_concepts(cache: Path) -> dict[str, list[Path]]:
    """Icon concepts drawn by at least MIN_THEMES pretraining themes: concept -> one file per theme. Within
    a theme, names linked to one drawing count once."""
    per_theme = {theme: _icon_files(cache / folder) for theme, folder in PRETRAIN_THEMES.items()}
    popularity = defaultdict(int)
    for files in per_theme.values():
        for name in files:
            popularity[name] += 1
    concepts: dict[str, list[Path]] = defaultdict(list)
    for theme, files in per_theme.items():
        by_drawing: dict[Path, list[str]] = defaultdict(list)
        for name, path in files.items():
            by_drawing[path.resolve()].append(name)
        for drawing, names in by_drawing.items():
            name = max(names, key=lambda n: (popularity[n], -len(n), n))
            concepts[name].append(drawing)
    return {name: sorted(paths) for name, paths in sorted(concepts.items())
            if len(paths) >= MIN_THEMES and popularity[name] >= MIN_THEMES}


def icon_categories(cache: Path) -> dict[str, list[Path]]:
    """The held-out themes' icons by theme folder (category): one file per icon name and theme."""
    categories: dict[str, dict[tuple[str, str], Path]] = defaultdict(dict)
    for theme, folder in BENCH_THEMES.items():
        for stem, path in _icon_files(cache / folder).items():
            category = path.parent.name if path.parent.name not in ("scalable",) else path.parent.parent.name
            if not category[0].isdigit():
                categories[category][(theme, stem)] = path.resolve()
    return {name: sorted(set(files.values())) for name, files in sorted(categories.items())}


def clipart_folders(cache: Path) -> dict[str, list[Path]]:
    """Open Clip Art Library PNGs by their folder (``animals/bugs``); files directly in a top folder belong to
    it (``office``)."""
    root = cache / CLIPART_ROOT
    folders: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(root.rglob("*.png")):
        folders[str(path.parent.relative_to(root))].append(path)
    return dict(folders)


def for_bench(folder: str) -> bool:
    """Whether a clip-art folder (``food/fruit``) belongs to a category held out for the benchmark."""
    return folder.split("/")[0] in BENCH_CLIPART


def font_files(cache: Path, packages) -> list[Path]:
    """The font files (.ttf/.otf) of ``packages``; for Noto only its Latin families."""
    fonts = []
    for package in packages:
        for path in sorted((cache / package).rglob("*")):
            if path.suffix.lower() not in (".ttf", ".otf"):
                continue
            if package == "fonts-noto-core" and not path.name.startswith(NOTO_LATIN):
                continue
            fonts.append(path)
    return fonts


# ---------------------------------------------------------------------------------------------- rendering

def load_rgba(path: Path, side: int = 256) -> Image.Image:
    """An icon or clip-art file as RGBA (SVGs rendered by rsvg-convert at ``side`` pixels)."""
    if path.suffix == ".svg":
        png = subprocess.run(["rsvg-convert", "-w", str(side), "-h", str(side), "-a", str(path)],
                             capture_output=True, check=True, timeout=60).stdout
        return Image.open(io.BytesIO(png)).convert("RGBA")
    with Image.open(path) as image:
        return image.convert("RGBA")


def centred_on_white(image: Image.Image, side: int = SIDE, margin: float = 0.06) -> np.ndarray:
    """The object (the alpha's bounding box) scaled to fit a ``side`` square with a margin, over white."""
    box = image.getchannel("A").getbbox() or (0, 0, *image.size)
    image = image.crop(box)
    inner = int(round(side * (1 - 2 * margin)))
    scale = inner / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    image = image.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(image, ((side - size[0]) // 2, (side - size[1]) // 2))
    return np.asarray(canvas.convert("RGB"))


def render_glyph(font: Path, character: str, side: int, rng: random.Random, *, grey: bool = False) -> Image.Image | None:
    """``character`` in ``font``, dark on light, at a random size, position and slight rotation; None when the
    font has no such glyph."""
    try:
        face = ImageFont.truetype(str(font), size=int(side * rng.uniform(0.55, 0.85)))
    except OSError:
        return None
    box = face.getbbox(character)
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    ink, paper = rng.randint(0, 60), rng.randint(215, 255)
    canvas = Image.new("L", (side * 2, side * 2), paper)
    ImageDraw.Draw(canvas).text((side - (box[0] + box[2]) / 2, side - (box[1] + box[3]) / 2), character,
                                font=face, fill=ink)
    canvas = canvas.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BICUBIC, fillcolor=paper)
    dx, dy = rng.randint(-side // 10, side // 10), rng.randint(-side // 10, side // 10)
    canvas = canvas.crop((side // 2 + dx, side // 2 + dy, side // 2 + dx + side, side // 2 + dy + side))
    return canvas if grey else canvas.convert("RGB")


# ------------------------------------------------------------------------------------------------ building

def build_pretraining(cache: Path, out: Path, glyph_copies: int = 2, seed: int = 0) -> None:
    """Render every pretraining task into ``out`` (npz: images (N, SIDE, SIDE, 3) uint8, labels, task ids,
    class names per task)."""
    rng = random.Random(seed)
    images, labels, tasks, names = [], [], [], {}

    def add(task: int, classes: dict[str, list], render) -> None:
        names[task] = list(classes)
        for label, (name, items) in enumerate(classes.items()):
            for item in items:
                pixels = render(item)
                if pixels is not None:
                    images.append(pixels)
                    labels.append(label)
                    tasks.append(task)
        print(f"task {task}: {len(classes)} classes, {sum(1 for t in tasks if t == task)} images", flush=True)

    add(0, icon_concepts(cache), lambda path: _safe(lambda: centred_on_white(load_rgba(path))))
    clipart = {name: files for name, files in clipart_folders(cache).items() if not for_bench(name)}
    add(1, {name: files for name, files in clipart.items() if len(files) >= 8},
        lambda path: _safe(lambda: centred_on_white(load_rgba(path))))
    fonts = font_files(cache, PRETRAIN_FONT_PACKAGES)
    glyphs = {c: [(font, c) for font in fonts for _ in range(glyph_copies)] for c in LETTERS}
    add(2, glyphs, lambda item: _array(render_glyph(item[0], item[1], SIDE, rng)))
    np.savez(out, images=np.stack(images), labels=np.array(labels, np.int64), tasks=np.array(tasks, np.int64),
             **{f"names_{task}": np.array(values) for task, values in names.items()})
    print(f"wrote {out}: {len(images)} images", flush=True)


def _safe(render):
    try:
        return render()
    except (OSError, ValueError, subprocess.SubprocessError, Image.DecompressionBombError) as exc:
        print(f"skipped: {exc}", flush=True)
        return None


def _array(image: Image.Image | None) -> np.ndarray | None:
    return None if image is None else np.asarray(image)


def build_bench(cache: Path, out: Path, per_class: int = 40, seed: int = 0) -> None:
    """Write the benchmark folders ``out/<folder>/<class>/<file>`` as a user would have them (transparent
    PNGs of their own sizes, small grey PNGs). Each file name starts with its source, so the bench can split
    train and test by source."""
    rng = random.Random(seed)
    categories: dict[str, list[Path]] = defaultdict(list)
    for name, files in clipart_folders(cache).items():
        if for_bench(name):
            categories[name.split("/")[0]] += files
    for name, files in sorted(categories.items()):
        folder = out / "clipart" / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in rng.sample(files, min(per_class, len(files))):
            image = _safe(lambda: load_rgba(path))
            if image is not None:
                image.thumbnail((256, 256))
                image.save(folder / path.name)
    for name, files in icon_categories(cache).items():
        if len(files) < 20:
            continue
        folder = out / "icons" / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in rng.sample(files, min(per_class, len(files))):
            theme = "oxygen" if "oxygen" in str(path) else "tango"
            image = _safe(lambda: load_rgba(path))
            if image is not None:
                image.save(folder / f"{theme}-{path.stem}.png")
    fonts = font_files(cache, BENCH_FONT_PACKAGES)
    for digit in BENCH_CHARACTERS:
        folder = out / "glyphs" / f"digit-{digit}"
        folder.mkdir(parents=True, exist_ok=True)
        for font in fonts:
            glyph = render_glyph(font, digit, 28, rng, grey=True)
            if glyph is not None:
                glyph.save(folder / f"{font.stem}.png")
    print(f"wrote the benchmark folders under {out}", flush=True)


def contact_sheet(npz: Path, out: Path, per_class: int = 4, classes: int = 40) -> None:
    """A grid: for each task, ``classes`` classes x ``per_class`` samples."""
    with np.load(npz) as data:
        images, tasks, labels = data["images"], data["tasks"], data["labels"]
    rows = []
    for task in sorted(set(tasks.tolist())):
        chosen = sorted(set(labels[tasks == task].tolist()))[:classes]
        for label in chosen:
            index = np.flatnonzero((tasks == task) & (labels == label))[:per_class]
            row = [images[i] for i in index] + [np.full((SIDE, SIDE, 3), 128, np.uint8)] * (per_class - len(index))
            rows.append(np.concatenate(row, axis=1))
    grid = [np.concatenate(rows[i:i + 10], axis=0) for i in range(0, len(rows), 10)]
    width = max(g.shape[0] for g in grid)
    grid = [np.pad(g, ((0, width - g.shape[0]), (0, 8), (0, 0)), constant_values=255) for g in grid]
    Image.fromarray(np.concatenate(grid, axis=1)).save(out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="output folder (default ~/.cache/photolab/proxy)")
    parser.add_argument("--deb-dir", type=Path, action="append", default=[], help="folders of downloaded .debs")
    parser.add_argument("--contact-sheet", type=Path, help="write a look at the pretraining data and stop")
    args = parser.parse_args(argv)
    root = args.root or default_root()
    cache = root / "packages"
    cache.mkdir(parents=True, exist_ok=True)
    if args.contact_sheet:
        contact_sheet(root / "pretrain.npz", args.contact_sheet)
        return 0
    fetch(cache, args.deb_dir)
    if not (root / "pretrain.npz").exists():
        build_pretraining(cache, root / "pretrain.npz")
    if not (root / "bench").exists():
        build_bench(cache, root / "bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
