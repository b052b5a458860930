"""Exposure times: the text forms the window and ``photolab-cli hdr --times`` accept (``1/250``, ``0.004``),
how they are written back, and a bracket's exposures from its frames' metadata (sorted, with their EV)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from photolab.core import io

NO_EXPOSURE = "no exposure time in its metadata"


def parse_seconds(text: str) -> float:
    """An exposure time in seconds from ``0.004`` or ``1/250``; ValueError when it is not a positive, finite
    number of seconds."""
    numerator, slash, denominator = text.strip().partition("/")
    try:
        value = float(numerator) / float(denominator) if slash else float(numerator)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected seconds such as 0.01 or 1/100, got {text!r}") from None
    if not (0 < value < math.inf):
        raise ValueError(f"exposure times must be positive, got {text!r}")
    return value


def parse_times(text: str) -> tuple[float, ...] | None:
    """'1/250 1/60 0.25' (spaces or commas between) -> seconds; empty -> None (use the files' metadata).
    Raises ValueError."""
    words = text.replace(",", " ").split()
    return tuple(parse_seconds(word) for word in words) if words else None


def format_seconds(seconds: float) -> str:
    """1/250 for a short exposure whose reciprocal is (nearly) whole, else the seconds: 0.3, 2."""
    if seconds < 1 and abs(1 / seconds - round(1 / seconds)) < 0.005 / seconds:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:.4g}"


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
