#!/usr/bin/env python3
"""Fetch the natural photographs the built-in quality classifier is trained and evaluated on.

Photos come from Debian packages (``apt-get download`` + ``dpkg -x``) and from scikit-image's bundled data
(``pip download scikit-image --no-deps``, then its ``skimage/data`` folder is unzipped). Everything lands in a
cache folder outside the repository; only the curated lists of kept files live here:

- ``training/photos.txt``       photographs used for training and held-out testing;
- ``training/eval_photos.txt``  photographs of packages reserved for one independent evaluation.

Each list line is ``<source> <path inside the source> <group> <licence note...>``; ``group`` ties frames of
one scene (a video sequence, one photo at several resolutions) together so a split by photo never separates
them. Usage::

    python training/fetch_photos.py train               # fetch + check training photos
    python training/fetch_photos.py eval                # fetch + check the independent evaluation photos
    python training/fetch_photos.py train --contact-sheet sheet.png   # every candidate image, for curation
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Pinned versions (Debian bookworm, PyPI) so the photo set is reproducible.
TRAIN_PACKAGES = {
    "lomiri-wallpapers-16.04": "20.04.0-2",
    "lomiri-wallpapers-20.04": "20.04.0-2",
    "ukui-wallpapers": "20.04.3-1.1",
    "visp-images-data": "3.5.0-1",
}
SKIMAGE = ("scikit-image", "0.26.0")
# Reserved for independent evaluation: never used for training or tuning.
EVAL_PACKAGES = {
    "plasma-workspace-wallpapers": "4:5.27.5-2",
    "mate-backgrounds": "1.26.0-1",
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".webp", ".tif", ".tiff")


def default_cache(kind: str) -> Path:
    """The cache folder of a photo set: ``$PHOTOLAB_TRAINING_CACHE`` or ``~/.cache/photolab/<kind>-photos``."""
    base = os.environ.get("PHOTOLAB_TRAINING_CACHE")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "photolab"
    return root / f"{kind}-photos"


def _run(command: list[str], cwd: Path) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def fetch_deb(package: str, version: str, cache: Path, deb_dirs: list[Path]) -> Path:
    """Download (or reuse) ``package=version`` and extract it under ``cache/<package>``; returns that folder."""
    target = cache / package
    if target.is_dir() and any(target.iterdir()):
        return target
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pattern = f"{package}_*{version.split(':')[-1]}_all.deb"
    found = [path for folder in [debs, *deb_dirs] for path in sorted(folder.glob(pattern))]
    if not found:
        _run(["apt-get", "download", f"{package}={version}"], cwd=debs)
        found = sorted(debs.glob(pattern))
        if not found:
            sys.exit(f"apt-get download did not produce {pattern} in {debs}")
    target.mkdir(parents=True, exist_ok=True)
    _run(["dpkg", "-x", str(found[0]), str(target)], cwd=cache)
    return target


def fetch_skimage(cache: Path) -> Path:
    """Download scikit-image's wheel (no dependencies) and unzip its ``skimage/data`` images."""
    name, version = SKIMAGE
    target = cache / name
    if target.is_dir() and any(target.iterdir()):
        return target
    wheels = cache / "pip"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("scikit_image-*.whl")):
        _run([sys.executable, "-m", "pip", "download", f"{name}=={version}", "--no-deps", "-d", str(wheels)],
             cwd=cache)
    wheel = sorted(wheels.glob("scikit_image-*.whl"))[0]
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("skimage/data/") and member.lower().endswith(IMAGE_SUFFIXES):
                archive.extract(member, target)
    return target


def fetch(kind: str, cache: Path, deb_dirs: list[Path]) -> None:
    """Fetch every source of the ``train`` or ``eval`` set into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    packages = TRAIN_PACKAGES if kind == "train" else EVAL_PACKAGES
    for package, version in packages.items():
        fetch_deb(package, version, cache, deb_dirs)
    if kind == "train":
        fetch_skimage(cache)


def list_file_of(kind: str) -> Path:
    """The curated list of the ``train`` or ``eval`` set."""
    return HERE / ("photos.txt" if kind == "train" else "eval_photos.txt")


def read_list(list_file: Path) -> list[tuple[str, str, str, str]]:
    """The entries ``(source, path, group, licence)`` of a photo list (``#`` starts a comment line)."""
    entries = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            raise ValueError(f"{list_file}:{number}: expected '<source> <path> <group> <licence>'")
        entries.append((parts[0], parts[1], parts[2], parts[3]))
    return entries


def candidates(cache: Path) -> list[Path]:
    """Every image file under ``cache`` (for the contact sheet used to curate the lists)."""
    files = [Path(p) for p in glob.glob(str(cache / "**" / "*"), recursive=True)]
    return sorted(p for p in files if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and "/debs/" not in str(p))


def contact_sheet(files: list[Path], out: Path, cache: Path, thumb: int = 240, columns: int = 6) -> None:
    """Write a PNG grid of thumbnails, each labelled with its index (the index is printed with its path)."""
    from PIL import Image, ImageDraw

    rows = (len(files) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * thumb, rows * (thumb + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for index, path in enumerate(files):
        try:
            with Image.open(path) as image:
                image.draft("RGB", (thumb * 2, thumb * 2))
                image = image.convert("RGB")
                image.thumbnail((thumb, thumb))
        except OSError as exc:
            print(f"{index}: {path} unreadable ({exc})")
            continue
        x, y = (index % columns) * thumb, (index // columns) * (thumb + 14)
        sheet.paste(image, (x, y))
        draw.text((x + 2, y + thumb), f"{index}", fill="black")
        print(f"{index}: {path.relative_to(cache)} {image.size}")
    sheet.save(out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("train", "eval"))
    parser.add_argument("--cache", type=Path, help="cache folder (default: ~/.cache/photolab/<kind>-photos)")
    parser.add_argument("--deb-dir", type=Path, action="append", default=[],
                        help="a folder holding already downloaded .deb files to reuse")
    parser.add_argument("--contact-sheet", type=Path, help="write a thumbnail sheet of every candidate image")
    parser.add_argument("--only", help="with --contact-sheet: only paths containing this text")
    args = parser.parse_args(argv)
    cache = args.cache or default_cache(args.kind)
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        return print("apt-get and dpkg are needed (a Debian-based system)", file=sys.stderr) or 2
    fetch(args.kind, cache, args.deb_dir)
    if args.contact_sheet:
        files = [p for p in candidates(cache) if not args.only or args.only in str(p)]
        contact_sheet(files, args.contact_sheet, cache)
        return 0
    list_file = list_file_of(args.kind)
    if not list_file.exists():
        print(f"fetched into {cache}; {list_file.name} does not exist yet (curate it with --contact-sheet)")
        return 0
    entries = read_list(list_file)
    missing = [f"{source}/{path}" for source, path, _, _ in entries if not (cache / source / path).is_file()]
    if missing:
        print("missing after fetching:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    print(f"{len(entries)} photos ({len({e[2] for e in entries})} groups) ready under {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
