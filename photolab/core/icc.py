"""Small ICC v2 display profiles (matrix/TRC) for the output colour spaces of :mod:`photolab.core.colorspace`.

A profile is the 128-byte header, a tag table and the tags: ``desc`` (textDescriptionType), ``cprt`` (textType),
``wtpt`` (the space's D65 white, as v2 display profiles such as Adobe's and HP's sRGB carry it),
``rXYZ``/``gXYZ``/``bXYZ`` (the primaries adapted to the D50 connection space with Bradford) and
``rTRC``/``gTRC``/``bTRC`` (one shared curve: 1024 samples of the sRGB curve, or a single gamma value). ICC.1
(v2.4) is the reference; the bytes are deterministic, so identical exports stay identical.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from photolab.core.color import srgb_curve_inverse
from photolab.core.colorspace import D50_WHITE_XYZ, D65_WHITE_XYZ, color_space, d50_colorants

_VERSION = 0x02100000  # 2.1.0
_CREATED = (2025, 1, 1, 0, 0, 0)  # a fixed creation date keeps the bytes reproducible
_CURVE_SAMPLES = 1024
_COPYRIGHT = "No copyright, use freely"


def s15fixed16(value: float) -> bytes:
    """ICC's signed 15.16 fixed-point number."""
    return struct.pack(">i", int(round(float(value) * 65536)))


def _xyz_type(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(s15fixed16(v) for v in xyz)


def _text_type(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _description_type(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0)  # no Unicode description: language code, count
            + struct.pack(">HB", 0, 0) + b"\0" * 67)  # no ScriptCode description


def _curve_type(gamma: float | None) -> bytes:
    if gamma is not None:
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(gamma * 256)))  # u8Fixed8 gamma
    samples = srgb_curve_inverse(np.arange(_CURVE_SAMPLES, dtype=np.float64) / (_CURVE_SAMPLES - 1))
    table = np.round(np.clip(samples, 0.0, 1.0) * 65535).astype(">u2")
    return b"curv\0\0\0\0" + struct.pack(">I", _CURVE_SAMPLES) + table.tobytes()


def _header(size: int) -> bytes:
    header = (struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", _VERSION) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", *_CREATED) + b"acsp" + b"\0\0\0\0"  # signature, no primary platform
              + struct.pack(">I", 0) + b"\0\0\0\0" + b"\0\0\0\0" + b"\0" * 8  # flags, maker, model, attributes
              + struct.pack(">I", 0)  # perceptual rendering intent
              + b"".join(s15fixed16(v) for v in D50_WHITE_XYZ) + b"\0\0\0\0" + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header


@functools.lru_cache(maxsize=None)
def icc_profile(key: str) -> bytes:
    """The ICC v2 profile of the output colour space ``key`` ("srgb", "display-p3", "adobe-rgb")."""
    space = color_space(key)
    colorants = d50_colorants(key)
    curve = _curve_type(space.gamma)
    tags = [(b"desc", _description_type(space.description)), (b"cprt", _text_type(_COPYRIGHT)),
            (b"wtpt", _xyz_type(D65_WHITE_XYZ)), (b"rXYZ", _xyz_type(colorants[:, 0])),
            (b"gXYZ", _xyz_type(colorants[:, 1])), (b"bXYZ", _xyz_type(colorants[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data, placed = [], b"", {}
    for signature, payload in tags:
        if payload not in placed:  # the three TRC tags share one curve
            placed[payload] = offset + len(data)
            data += payload + b"\0" * (-len(payload) % 4)
        entries.append(struct.pack(">4sII", signature, placed[payload], len(payload)))
    body = struct.pack(">I", len(tags)) + b"".join(entries) + data
    return _header(128 + len(body)) + body
