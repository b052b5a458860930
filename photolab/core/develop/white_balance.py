"""White balance: redo the camera's neutral-balance in camera space, as shot, automatic, Kelvin or custom.

The photo holds linear sRGB that was balanced with ``color.as_shot_multipliers``:
``srgb = C @ diag(m) @ raw`` with ``C = color.camera_to_srgb``. A new balance with camera multipliers ``m'``
is therefore the single 3x3 matrix ``C @ diag(m' / m) @ inv(C)`` applied to every pixel. All multipliers
here are normalised to green = 1, so a change of balance keeps the green channel's (roughly, the
brightness') scale.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.develop import temperature as kelvin_science
from photolab.core.develop.params import check_params, param
from photolab.core.color import LUMA_WEIGHTS, luminance
from photolab.core.develop.pixelops import transform_pixels
from photolab.core.develop.temperature import TEMPERATURE_MAX, TEMPERATURE_MIN, TINT_LIMIT
from photolab.core.errors import PhotoLabError
from photolab.core.photo import CameraColor, Photo

MODES = ("as_shot", "auto", "kelvin", "custom")
log = logging.getLogger(__name__)

# Auto white balance averages about this many pixels (the estimate is a mean; more add nothing).
_AUTO_SAMPLES = 100_000
_AUTO_KELVIN = (2000.0, 12000.0)  # the lights auto white balance believes in
_AUTO_TINT = 50.0
_CLIPPED = 0.98  # a channel at or above this (in the balanced sRGB input) is taken as clipped
_TOO_DARK = 0.002  # luminance below this is mostly noise
_MAX_GAIN = 100.0  # the largest ratio between Kelvin multipliers
_DAYLIGHT = (6504.0, 0.0)  # D65: CIE daylight at 6504 K, on the daylight locus


class WhiteBalanceError(PhotoLabError, ValueError):
    """A white balance cannot be measured from the requested spot (clipped, black, outside the photo)."""


@dataclass(frozen=True)
class WhiteBalanceParams:
    """``mode``: as_shot | auto | kelvin | custom.

    kelvin uses ``temperature`` (K) and ``tint`` (+ = magenta picture);
    custom uses ``multipliers`` (camera-space R, G, B gains; normalised to green = 1). In other modes
    ``temperature``/``tint`` may hold the Kelvin equivalent for display (0 = unknown).
    """

    mode: str = param("as_shot", label="Mode", choices=MODES)
    temperature: float = param(0.0, label="Temperature", range=(TEMPERATURE_MIN, TEMPERATURE_MAX), step=50.0,
                               unit="K", unset=0.0, soft_range=(2000.0, TEMPERATURE_MAX), log_scale=True)
    tint: float = param(0.0, label="Tint", range=(-TINT_LIMIT, TINT_LIMIT), step=1.0)
    multipliers: tuple[float, float, float] | None = param(None, label="Multipliers")

    def __post_init__(self) -> None:
        check_params(self, "white_balance")
        if self.mode == "kelvin" and self.temperature == 0:
            raise ValueError(f"white balance temperature must be between {TEMPERATURE_MIN:g} and "
                             f"{TEMPERATURE_MAX:g} K in kelvin mode, got 0")
        if self.multipliers is not None:
            object.__setattr__(self, "multipliers", _normalised_multipliers(self.multipliers))
        elif self.mode == "custom":
            raise ValueError("custom white balance needs three camera multipliers")


def _normalised_multipliers(values) -> tuple[float, float, float]:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"white balance multipliers must be three positive numbers, got {values!r}") from None
    if len(numbers) != 3 or not all(math.isfinite(v) and v > 0 for v in numbers):
        raise ValueError(f"white balance multipliers must be three positive numbers, got {values!r}")
    green = numbers[1]
    return tuple(v / green for v in numbers)


def balance_matrix(color: CameraColor, multipliers) -> np.ndarray:
    """The 3x3 matrix (float64) that rebalances linear sRGB from the as-shot multipliers to ``multipliers``."""
    camera_to_srgb = np.asarray(color.camera_to_srgb, dtype=np.float64)
    as_shot = np.asarray(color.as_shot_multipliers, dtype=np.float64)
    new = np.asarray(multipliers, dtype=np.float64)
    ratio = (new / new[1]) / (as_shot / as_shot[1])
    return camera_to_srgb @ np.diag(ratio) @ np.linalg.inv(camera_to_srgb)


def _srgb_to_raw_matrix(color: CameraColor) -> np.ndarray:
    """Balanced linear sRGB -> un-balanced camera RGB: ``diag(1/m) @ inv(C)``."""
    as_shot = np.asarray(color.as_shot_multipliers, dtype=np.float64)
    return np.diag(1.0 / as_shot) @ np.linalg.inv(np.asarray(color.camera_to_srgb, dtype=np.float64))


def kelvin_multipliers(color: CameraColor, temperature: float, tint: float) -> np.ndarray:
    """Camera multipliers (green = 1) that make a light of ``temperature`` K and ``tint`` neutral.

    At the extremes (about 1500 K) a camera matrix, which is only fitted to ordinary lights, can predict a
    zero or negative response in one channel; each multiplier is then capped at ``_MAX_GAIN`` times the
    largest one instead of failing.
    """
    response = np.asarray(color.xyz_to_camera, dtype=np.float64) @ kelvin_science.white_xyz(temperature, tint)
    if not response.max() > 0:
        raise WhiteBalanceError(f"the camera's colour matrix gives no usable response to a {temperature:.0f} K light")
    response = np.maximum(response, response.max() / _MAX_GAIN)
    return response[1] / response


def multipliers_to_temperature(color: CameraColor, multipliers) -> tuple[float, float]:
    """The (kelvin, tint) whose light these camera multipliers neutralise, clamped to the slider ranges."""
    response = 1.0 / np.asarray(multipliers, dtype=np.float64)  # the camera's reading of the neutral light
    xyz = np.linalg.solve(np.asarray(color.xyz_to_camera, dtype=np.float64), response)
    kelvin, tint = kelvin_science.temperature_tint_from_xyz(xyz)
    return (
        float(np.clip(kelvin, TEMPERATURE_MIN, TEMPERATURE_MAX)),
        float(np.clip(tint, -TINT_LIMIT, TINT_LIMIT)),
    )


def as_shot_temperature(color: CameraColor) -> tuple[float, float]:
    """(kelvin, tint) of the as-shot balance, for starting the sliders (about (6500, 0) for sRGB images).

    Never raises: when the camera description has no usable XYZ matrix (LibRaw knows none for the model)
    it logs a warning and returns D65 daylight, (6504, 0), where the sliders would start anyway.
    """
    try:
        return multipliers_to_temperature(color, color.as_shot_multipliers)
    except (ValueError, ZeroDivisionError) as exc:  # includes numpy's LinAlgError (a singular matrix)
        log.warning("as-shot white balance has no colour temperature (%s); assuming daylight", exc)
        return _DAYLIGHT


def auto_multipliers(photo: Photo) -> np.ndarray:
    """Camera multipliers that make the scene's average colour neutral ("shades of grey" in camera space).

    The estimate of the light is the Minkowski mean (power 4) of the well-exposed pixels in
    un-balanced camera RGB: near-clipped pixels (their true colour is lost) and very dark ones (noise) are
    left out, and the power-mean leans on the brighter, more often neutral surfaces, which makes it more
    robust than a plain grey-world mean (Finlayson & Trezzi 2004). The light is then limited to plausible
    ones (``_AUTO_KELVIN`` and tint within ``_AUTO_TINT``), so a scene full of one colour (a red fruit, a
    green meadow) is not "corrected" into its opposite. The mean runs over an even grid of about 100k
    pixels, so a preview proxy and the full photo give practically the same answer.
    """
    stride = max(1, int(math.sqrt(photo.width * photo.height / _AUTO_SAMPLES)))
    sample = np.ascontiguousarray(photo.pixels[::stride, ::stride])
    flat = sample.reshape(-1, 3)
    brightest = np.maximum(np.maximum(flat[:, 0], flat[:, 1]), flat[:, 2])
    usable = (brightest < _CLIPPED) & (luminance(sample).reshape(-1) > _TOO_DARK)
    if np.count_nonzero(usable) < max(16, usable.size // 100):
        usable = np.minimum(np.minimum(flat[:, 0], flat[:, 1]), flat[:, 2]) > 0  # very dark or bright photo
    count = np.count_nonzero(usable)
    if count == 0:
        return _as_shot(photo.color)
    raw = cv2.transform(sample, _srgb_to_raw_matrix(photo.color).astype(np.float32)).reshape(-1, 3)
    squared = np.square(np.maximum(raw, 0.0, out=raw), out=raw)
    # Minkowski mean, p = 4, over the usable pixels (a dot product with the mask: no gathered copy).
    light = (usable.astype(np.float32) @ np.square(squared, out=squared) / count).astype(np.float64) ** 0.25
    if not np.all(light > 0):
        return _as_shot(photo.color)
    try:
        xyz = np.linalg.solve(np.asarray(photo.color.xyz_to_camera, dtype=np.float64), light)
        kelvin, tint = kelvin_science.temperature_tint_from_xyz(xyz)
    except ValueError:  # no usable camera matrix: keep the camera-space estimate as it is
        return light[1] / light
    kelvin = float(np.clip(kelvin, *_AUTO_KELVIN))
    tint = float(np.clip(tint, -_AUTO_TINT, _AUTO_TINT))
    return kelvin_multipliers(photo.color, kelvin, tint)


def _as_shot(color: CameraColor) -> np.ndarray:
    """The as-shot camera multipliers, float64, green = 1."""
    multipliers = np.asarray(color.as_shot_multipliers, dtype=np.float64)
    return multipliers / multipliers[1]


def target_multipliers(photo: Photo, params: WhiteBalanceParams) -> np.ndarray:
    """The camera multipliers (green = 1) that ``params`` asks for on this photo."""
    if params.mode == "as_shot":
        return _as_shot(photo.color)
    if params.mode == "auto":
        return auto_multipliers(photo)
    if params.mode == "kelvin":
        return kelvin_multipliers(photo.color, params.temperature, params.tint)
    return np.asarray(params.multipliers, dtype=np.float64)


def apply(photo: Photo, params: WhiteBalanceParams) -> Photo:
    """Rebalance the photo in camera space (one 3x3 matrix per pixel); as_shot leaves it as it is."""
    if params.mode == "as_shot":
        return photo
    matrix = balance_matrix(photo.color, target_multipliers(photo, params))
    return photo.with_pixels(transform_pixels(photo.pixels, matrix))


def spot_white_balance(photo: Photo, x: float, y: float, radius: int = 4) -> WhiteBalanceParams:
    """Custom white balance that makes the area around pixel (x, y) neutral grey.

    ``photo`` must be the white balance stage's input (``render(photo, recipe, stop_before="white_balance")``)
    and (x, y) a pixel position in it. The mean of the (2 * radius + 1)^2 square around it is measured in
    camera space. Raises WhiteBalanceError when the spot is outside the photo, clipped or black.
    """
    if not (0 <= x < photo.width and 0 <= y < photo.height):
        raise WhiteBalanceError(
            f"the white balance spot ({x:.0f}, {y:.0f}) is outside the {photo.width}x{photo.height} photo"
        )
    column, row, radius = int(x), int(y), max(0, int(radius))
    patch = photo.pixels[max(0, row - radius) : row + radius + 1, max(0, column - radius) : column + radius + 1]
    flat = patch.reshape(-1, 3).astype(np.float64)
    unclipped = flat.max(axis=1) < _CLIPPED
    if np.count_nonzero(unclipped) * 2 < flat.shape[0]:
        raise WhiteBalanceError(
            "the white balance spot is overexposed (clipped), so its true colour is unknown; pick a grey or "
            "white area that is not burnt out"
        )
    mean = flat[unclipped].mean(axis=0)
    raw = _srgb_to_raw_matrix(photo.color) @ mean
    if float(mean @ LUMA_WEIGHTS) < _TOO_DARK or not np.all(raw > 1e-3 * max(float(raw.max()), 1e-12)):
        raise WhiteBalanceError(
            "the white balance spot is too dark or too strongly coloured to be a neutral grey; pick a grey "
            "or white area"
        )
    multipliers = raw[1] / raw
    try:
        temperature, tint = multipliers_to_temperature(photo.color, multipliers)
    except ValueError:  # no physical light matches (odd camera matrix): leave the sliders' values unknown
        temperature, tint = 0.0, 0.0
    return WhiteBalanceParams(
        mode="custom", temperature=temperature, tint=tint, multipliers=tuple(float(m) for m in multipliers)
    )


def margin(params: WhiteBalanceParams) -> int | None:
    """0: each pixel is balanced on its own, except in ``auto`` mode, which measures the whole photo (None)."""
    return None if params.mode == "auto" else 0


def spot_white_balance_at(stage: Photo, u: float, v: float, radius: int = 4) -> WhiteBalanceParams:
    """:func:`spot_white_balance` at the normalised position (u, v) (0..1 across and down) of ``stage``, the
    white balance step's input, clamped inside it: the eyedropper's click, since the operations before white
    balance (rotation, crop) also give the shown photo its geometry."""
    x = min(max(int(u * stage.width), 0), stage.width - 1)
    y = min(max(int(v * stage.height), 0), stage.height - 1)
    return spot_white_balance(stage, x, y, radius)


OPERATION = Operation("white_balance", "White balance", WhiteBalanceParams, apply, margin=margin)
