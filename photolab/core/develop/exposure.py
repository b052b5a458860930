"""Exposure: scale linear light by 2**EV."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop import Operation
from photolab.core.photo import Photo


@dataclass(frozen=True)
class ExposureParams:
    ev: float = 0.0  # stops; +1 doubles the light


def apply(photo: Photo, params: ExposureParams) -> Photo:
    """Multiply every channel by 2**ev (in linear light, so hues and ratios are kept)."""
    gain = float(2.0 ** params.ev)
    pixels = photo.pixels
    scaled = cv2.multiply(pixels.reshape(pixels.shape[0], -1), gain).reshape(pixels.shape)
    return photo.with_pixels(scaled)


OPERATION = Operation("exposure", "Exposure", ExposureParams, apply)
