"""Exposure: scale linear light by 2**EV."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.develop.pixelops import transform_pixels
from photolab.core.photo import Photo

EV_LIMIT = 10.0


@dataclass(frozen=True)
class ExposureParams:
    ev: float = param(0.0, label="Exposure", range=(-EV_LIMIT, EV_LIMIT), step=0.01, unit="EV",
                      soft_range=(-5.0, 5.0))  # stops; +1 doubles the light

    def __post_init__(self) -> None:
        check_params(self, "exposure")


def apply(photo: Photo, params: ExposureParams) -> Photo:
    """Multiply every channel by 2**ev (in linear light, so hues and ratios are kept)."""
    gain = float(2.0 ** params.ev)
    # A diagonal cv2.transform is the fastest multi-threaded way to scale all three channels.
    return photo.with_pixels(transform_pixels(photo.pixels, np.eye(3) * gain))


OPERATION = Operation("exposure", "Exposure", ExposureParams, apply)
