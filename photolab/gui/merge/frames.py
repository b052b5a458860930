"""The frames of a merge as the Merge dialog lists them: exposure data from each file's metadata, their order
and EV, the list entries' text, thumbnails, and exposure times typed by hand. No widgets here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photolab.core import io
from photolab.core.color import encode_srgb_integer

THUMBNAIL_SIDE = 160
NO_EXPOSURE = "no exposure time in its metadata"


@dataclass(frozen=True)
class FrameInfo:
    """One chosen frame's exposure data from its metadata; ``problem`` says why it has none."""

    path: str
    shutter: float | None = None
    iso: float | None = None
    aperture: float | None = None
    problem: str = ""


def frame_info(path: str | Path) -> FrameInfo:
    """The exposure data in ``path``'s metadata (read from the header only: cheap enough for the GUI thread)."""
    try:
        metadata = io.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file makes the reader raise, it is listed as such
        return FrameInfo(str(path), problem=f"cannot be read ({exc or type(exc).__name__})")
    if not metadata.shutter_seconds:
        return FrameInfo(str(path), iso=metadata.iso, aperture=metadata.aperture, problem=NO_EXPOSURE)
    return FrameInfo(str(path), metadata.shutter_seconds, metadata.iso, metadata.aperture)


def exposures(frames: list[FrameInfo]) -> list[float | None]:
    """Each frame's exposure, shutter x ISO / f-number^2 (ISO and aperture count only when every frame with a
    shutter time records them, as in the merge); None where the shutter time is unknown."""
    known = [f for f in frames if f.shutter]
    use_iso = all(f.iso for f in known)
    use_aperture = all(f.aperture for f in known)
    return [f.shutter * (f.iso if use_iso else 1.0) / (f.aperture ** 2 if use_aperture else 1.0) if f.shutter
            else None for f in frames]


def sort_by_exposure(frames: list[FrameInfo]) -> tuple[list[FrameInfo], list[float | None]]:
    """Frames from the darkest exposure to the brightest (those without one last, in their order), with each
    one's EV relative to the darkest (log2 of the exposure ratio; None where unknown)."""
    values = exposures(frames)
    order = sorted(range(len(frames)), key=lambda i: (values[i] is None, values[i] or 0.0))
    known = [v for v in values if v is not None]
    darkest = min(known) if known else 1.0
    return [frames[i] for i in order], [None if values[i] is None else math.log2(values[i] / darkest) for i in order]


def format_seconds(seconds: float) -> str:
    """1/250 for a short exposure whose reciprocal is (nearly) whole, else the seconds: 0.3, 2."""
    if seconds < 1 and abs(1 / seconds - round(1 / seconds)) < 0.005 / seconds:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:.4g}"


def frame_label(frame: FrameInfo, ev: float | None) -> str:
    """The list entry's text: file name; exposure time, ISO, aperture; EV (or why the exposure is unknown)."""
    lines = [Path(frame.path).name]
    if frame.problem:
        lines.append(frame.problem[0].upper() + frame.problem[1:])
    else:
        settings = [f"{format_seconds(frame.shutter)} s"]
        settings += [f"ISO {frame.iso:g}"] if frame.iso else []
        settings += [f"f/{frame.aperture:g}"] if frame.aperture else []
        lines.append(" · ".join(settings))
        if ev is not None:
            lines.append("EV 0 (darkest)" if abs(ev) < 0.05 else f"EV {ev:+.1f}")
    return "\n".join(lines)


def read_thumbnail(context, path: str) -> tuple[str, np.ndarray]:
    """Work function of a thumbnail job: ``path`` and its preview as 8-bit sRGB (at most THUMBNAIL_SIDE px)."""
    context.check_cancelled()
    return path, np.ascontiguousarray(encode_srgb_integer(io.read_preview(path, max_side=THUMBNAIL_SIDE).pixels))


def parse_times(text: str) -> tuple[float, ...] | None:
    """'1/250 1/60 0.25' -> seconds; empty -> None (use the files' metadata). Raises ValueError."""
    words = text.replace(",", " ").split()
    if not words:
        return None
    times = []
    for word in words:
        numerator, _, denominator = word.partition("/")
        value = float(numerator) / float(denominator or 1)
        if not value > 0:
            raise ValueError(f"{word}: exposure times must be positive")
        times.append(value)
    return tuple(times)
