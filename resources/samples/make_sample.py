#!/usr/bin/env python3
"""Make the bundled sample RAW photo, resources/samples/picos-de-europa.dng.

The source is "picosdeeuropa" by Aitzol Berasategi (CC-BY-4.0), from Debian's lomiri-wallpapers-16.04
package. It is scaled to 1620x1080 and "unprocessed" into a 14-bit Bayer DNG (camera colour matrix, a
slightly warm as-shot white, shot and read noise) by the test suite's DNG writer, so the app has a real RAW
to open on a fresh machine. Run from the repository root:

    apt-get download lomiri-wallpapers-16.04 && dpkg -x lomiri-wallpapers-16.04_*.deb /tmp/lomiri
    python resources/samples/make_sample.py /tmp/lomiri/usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from utils.dng import ShotInfo, write_dng  # noqa: E402

TARGET = ROOT / "resources" / "samples" / "picos-de-europa.dng"


def main(source: str) -> None:
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {source}")
    height, width = image.shape[:2]
    scale = 1620 / max(height, width)
    size = (2 * round(width * scale / 2), 2 * round(height * scale / 2))  # a Bayer mosaic needs even sides
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    write_dng(TARGET, np.ascontiguousarray(image[..., ::-1]), as_shot_neutral=np.array([0.52, 1.0, 0.68]),
              white_exposure=0.7, shot=ShotInfo(), seed=2046)
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
