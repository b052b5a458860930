"""Lens correction from the lensfun database (lensfunpy): distortion, lateral chromatic aberration (TCA) and
vignetting of the camera and lens named in the photo's metadata, or of a lens chosen by name.

Where: first, before orient: lensfun's models are written for the frame as the sensor recorded it, centred
on the optical axis, before any turn or crop; every later step then sees a rectilinear photo.

Vignetting is corrected first (lensfun's model is of the recorded frame), then one remap moves each pixel
(per channel when TCA is on) to where the lens's model says it belongs. The frame keeps its size. When no
profile is found (camera or lens unknown to lensfun, or no focal length), the photo passes unchanged and
:func:`profile_status` says why, for the panel and the CLI.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Box, Operation, Size
from photolab.core.develop.params import check_params, param
from photolab.core.photo import Photo

DISTANCE_M = 1000.0  # focus distance: lensfun's vignetting models depend little on it; far is typical
KEPT_MAPS_PIXELS = 8_000_000  # the correction maps of frames up to this size are kept (24 bytes a pixel)
_maps_lock = threading.Lock()
_maps_kept: dict[tuple, tuple] = {}  # the last preview-sized frame's correction maps


@dataclass(frozen=True)
class LensParams:
    enabled: bool = param(False, label="Lens correction")
    lens: str = param("", label="Lens")  # a lensfun lens model; "" = the one in the photo's metadata
    distortion: bool = param(True, label="Distortion")
    tca: bool = param(True, label="Chromatic aberration")
    vignetting: bool = param(True, label="Vignetting")

    def __post_init__(self) -> None:
        check_params(self, "lens_correction")


def is_identity(params: LensParams) -> bool:
    return not params.enabled or not (params.distortion or params.tca or params.vignetting)


@functools.lru_cache(maxsize=1)
def _database():
    import lensfunpy

    return lensfunpy.Database()


def lens_names() -> list[str]:
    """Every lens model lensfun knows (for a manual choice)."""
    return sorted({lens.model for lens in _database().lenses})


def find_profile(photo: Photo, params: LensParams):
    """(camera or None, lens or None, crop factor, message): the lensfun profile for this photo."""
    return find_profile_for(photo.metadata, params)


def find_profile_for(meta, params: LensParams):
    """:func:`find_profile` from a photo's metadata (a PhotoMetadata) alone."""
    db = _database()
    cameras = db.find_cameras(meta.camera_make, meta.camera_model) if meta.camera_model else []
    camera = cameras[0] if cameras else None
    name = params.lens or meta.lens
    if not name:
        return camera, None, 1.0, "no profile for this lens: the photo does not name its lens (choose one)"
    lenses = db.find_lenses(camera, None, name, loose_search=True) if camera else []
    if not lenses:  # no camera to search with: the lens's own name, exactly, then as part of a name
        wanted = name.lower()
        lenses = [lens for lens in db.lenses if lens.model.lower() == wanted] or \
            [lens for lens in db.lenses if wanted in lens.model.lower()]
    if not lenses:
        return camera, None, 1.0, f"no profile for this lens: lensfun does not know {name!r}"
    lens = lenses[0]
    crop = camera.crop_factor if camera is not None else lens.crop_factor
    if not meta.focal_length_mm:
        return camera, None, crop, f"no profile for this lens: the photo has no focal length ({lens.model})"
    return camera, lens, crop, f"{lens.model} at {meta.focal_length_mm:g} mm"


def profile_status(photo: Photo, params: LensParams) -> str:
    """What the correction uses, or why there is none ("no profile for this lens: ...")."""
    return find_profile_for(photo.metadata, params)[3]


def metadata_profile_status(metadata, params: LensParams) -> str:
    """:func:`profile_status` from a photo's metadata alone (the Develop panel's status line)."""
    return find_profile_for(metadata, params)[3]


def _modifier(photo: Photo, params: LensParams, lens, crop: float, size: Size, *, reverse: bool, scale: float):
    import lensfunpy

    flags = 0
    if params.distortion:
        flags |= lensfunpy.ModifyFlags.DISTORTION
    if params.tca:
        flags |= lensfunpy.ModifyFlags.TCA
    if params.vignetting and not reverse:
        flags |= lensfunpy.ModifyFlags.VIGNETTING
    modifier = lensfunpy.Modifier(lens, crop, *size)
    modifier.initialize(photo.metadata.focal_length_mm, photo.metadata.aperture or lens.min_aperture or 8.0,
                        DISTANCE_M, scale=scale, pixel_format=np.float32, flags=flags, reverse=reverse)
    return modifier


def _correction_maps(photo: Photo, params: LensParams, lens, crop: float, size: Size, reverse: bool, scale: float):
    """(vignetting gain (H, W, 3) or None, remap coordinates: one (H, W, 2) map per channel, one for all, or
    None) of ``lens`` for a frame of ``size``. They depend on the lens and the shot, not on the pixels: the last
    frame's are kept when it is preview-sized, so a slider that re-renders the photo does not recompute them."""
    meta = photo.metadata
    key = (lens.maker, lens.model, crop, size, meta.focal_length_mm, meta.aperture, params.distortion, params.tca,
           params.vignetting, reverse, scale)
    with _maps_lock:
        if key in _maps_kept:
            return _maps_kept[key]
    modifier = _modifier(photo, params, lens, crop, size, reverse=reverse, scale=scale)
    gain = None
    if params.vignetting and not reverse:
        gain = np.ones((size[1], size[0], 3), dtype=np.float32)
        modifier.apply_color_modification(gain)  # the correction multiplies every channel by the same factor
    if params.tca:
        coords = modifier.apply_subpixel_geometry_distortion()  # (H, W, 3, 2)
        maps = [np.ascontiguousarray(coords[..., channel, :]) for channel in range(3)]
    elif params.distortion:
        maps = [modifier.apply_geometry_distortion()]
    else:
        maps = None
    result = (gain, maps)
    if size[0] * size[1] <= KEPT_MAPS_PIXELS:
        with _maps_lock:
            _maps_kept.clear()
            _maps_kept[key] = result
    return result


def correct(photo: Photo, params: LensParams, lens, crop: float, *, reverse: bool = False,
            scale: float = 0.0) -> Photo:
    """The photo corrected with ``lens`` (``reverse``: distorted as the lens would, for tests). ``scale`` 0
    zooms in just enough that no corner shows what lies outside the recorded frame; 1 keeps the scale."""
    gain, maps = _correction_maps(photo, params, lens, crop, (photo.width, photo.height), reverse, scale)
    pixels = np.ascontiguousarray(photo.pixels, dtype=np.float32)
    if gain is not None:
        pixels = cv2.multiply(pixels, gain)
    if maps is not None and len(maps) == 3:
        channels = cv2.split(pixels)
        pixels = cv2.merge([cv2.remap(channel, coords, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
                            for channel, coords in zip(channels, maps)])
    elif maps is not None:
        pixels = cv2.remap(pixels, maps[0], None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return photo.with_pixels(pixels)


def apply(photo: Photo, params: LensParams) -> Photo:
    if is_identity(params):
        return photo
    _, lens, crop, _ = find_profile(photo, params)
    if lens is None:
        return photo
    return correct(photo, params, lens, crop)


def region_in(params: LensParams, size: Size, box: Box) -> Box:
    """The whole frame: how far a pixel moves depends on the lens (the corners can move by dozens of pixels)."""
    return (0, 0, *size)


def apply_to_box(piece: Photo, params: LensParams, size: Size, box_in: Box, box_out: Box) -> Photo:
    x0, y0, x1, y1 = box_out
    return piece.with_pixels(apply(piece, params).pixels[y0:y1, x0:x1])


OPERATION = Operation("lens_correction", "Lens correction", LensParams, apply, identity=is_identity,
                      output_size=lambda params, size: size, region_in=region_in, apply_to_box=apply_to_box)
