"""The frames of a merge as the Merge dialog lists them: the list entries' text and thumbnails. No widgets
here; the exposure data, their order and EV, and exposure times typed by hand are
:mod:`photolab.core.exposure_times` (shared with ``photolab-cli hdr``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photolab.core import io
from photolab.core.color import encode_srgb_integer
from photolab.core.exposure_times import FrameInfo, format_seconds

THUMBNAIL_SIDE = 160


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
