"""From a Photo to a classifier's input tensor, exactly as timm's eval transform would feed the weights.

A Photo holds float32 linear sRGB; classifiers were trained on 8-bit sRGB-encoded images read by PIL. So the
pixels are encoded to 8-bit sRGB first, then timm's ``transforms_factory.transforms_imagenet_eval`` is
replayed with PIL: resize the shorter side to ``floor(size / crop_pct)`` (the longer side to
``int(new_short * long / short)``, torchvision's rule) with the card's interpolation, centre crop (offsets
``int(round((H - h) / 2))``), scale to [0, 1], normalise with mean/std. ``crop_mode='squash'`` resizes both
sides to ``floor(size / crop_pct)`` instead.

Plain arrays are accepted too, with these conversions: (H, W) or (H, W, 1) grey is repeated into three
channels; (H, W, 2) grey+alpha and (H, W, 4) RGBA lose their alpha (as PIL's ``convert("RGB")`` does in
timm's loader); uint8 and uint16 arrays are taken as sRGB-encoded values (16-bit rounded to 8-bit),
float arrays as linear sRGB like a Photo. Anything else (too small, extreme aspect ratio, NaN, other
dtypes or channel counts) is refused with :class:`ImageNotSuitableError`.

Speed: encoding a 24-megapixel Photo costs far more than the network's forward pass, so a linear image whose
shorter side exceeds :data:`PREREDUCE_FACTOR` times the resize target (``floor(size / crop_pct)``, 256 px for
224 px models) is first area-averaged in linear light down to that size, then encoded and resized as above.
This only changes detail finer than 1/1024 of the image (averaged in linear rather than encoded values);
``exact=True`` skips it and replays timm's transform on the full image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image

from photolab.core.color import encode_srgb_integer
from photolab.core.errors import PhotoLabError
from photolab.core.photo import Photo
from photolab.models.store.card import Preprocessing

MIN_SIDE = 16
"""Smallest image side (pixels) a classifier is fed; smaller images carry too little to classify."""

MAX_ASPECT = 20.0
"""Largest long/short side ratio accepted (a centre crop of a longer strip would show almost nothing)."""

PREREDUCE_FACTOR = 4
"""Linear images larger than this many times the resize target are area-reduced before encoding."""

_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
             "bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX,
             "hamming": Image.Resampling.HAMMING, "lanczos": Image.Resampling.LANCZOS}


class ImageNotSuitableError(PhotoLabError, ValueError):
    """The image cannot be fed to the model (too small, wrong shape or type, invalid values)."""


@dataclass(frozen=True)
class PreparedImage:
    """A model input and where it came from.

    ``tensor`` is (1, 3, H, W) float32, normalised. ``box`` = (left, top, right, bottom) is the region of
    the source image (in its pixel coordinates, floats) that the tensor shows, so a class-activation map can
    be laid over the photo. ``source_size`` = (width, height) of the source image.
    """

    tensor: torch.Tensor
    box: tuple[float, float, float, float]
    source_size: tuple[int, int]


def to_srgb8(image: Photo | np.ndarray, name: str = "image", reduce_to: int | None = None) -> np.ndarray:
    """The image as a contiguous (H, W, 3) uint8 sRGB-encoded array (conversions in the module docstring).

    With ``reduce_to``, a linear (float) image whose shorter side is longer than that is first area-averaged
    (in linear light) so its shorter side becomes ``reduce_to``.
    """
    pixels = image.pixels if isinstance(image, Photo) else np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3:
        raise ImageNotSuitableError(f"{name}: expected an image of shape (H, W) or (H, W, C), got {pixels.shape}")
    channels = pixels.shape[2]
    if channels in (1, 2):
        pixels = np.repeat(pixels[:, :, :1], 3, axis=2)
    elif channels == 4:
        pixels = pixels[:, :, :3]
    elif channels != 3:
        raise ImageNotSuitableError(f"{name}: {channels} colour channels; a classifier takes grey, grey+alpha, "
                                    f"RGB or RGBA images")
    height, width = pixels.shape[:2]
    check_size(width, height, name)
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if pixels.dtype in (np.float32, np.float64, np.float16):
        pixels = np.asarray(pixels, dtype=np.float32)
        if reduce_to is not None and min(height, width) > reduce_to:
            scale = reduce_to / min(height, width)
            size = (max(reduce_to, round(width * scale)), max(reduce_to, round(height * scale)))
            pixels = cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)
        if not np.isfinite(pixels).all():  # NaN and infinity survive the area average
            raise ImageNotSuitableError(f"{name}: the pixels contain NaN or infinite values")
        return encode_srgb_integer(pixels, np.uint8)
    raise ImageNotSuitableError(f"{name}: pixels of type {pixels.dtype} cannot be classified "
                                f"(expected uint8, uint16 or float)")


def check_size(width: int, height: int, name: str = "image") -> None:
    """Raise :class:`ImageNotSuitableError` if a width x height image is too small or too elongated."""
    if min(width, height) < MIN_SIDE:
        raise ImageNotSuitableError(f"{name}: {width}x{height} px is too small to classify; "
                                    f"each side needs at least {MIN_SIDE} px")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageNotSuitableError(f"{name}: {width}x{height} px is too elongated to classify "
                                    f"(more than {MAX_ASPECT:g}:1); crop it first")


def resize_geometry(width: int, height: int, prep: Preprocessing) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((resized_w, resized_h), (crop_left, crop_top))`` of timm's eval transform for a width x height image."""
    crop_h, crop_w = prep.input_size[1:]
    if prep.crop_mode == "squash":
        resized = (math.floor(crop_w / prep.crop_pct), math.floor(crop_h / prep.crop_pct))
    else:
        scale = math.floor(crop_h / prep.crop_pct)  # square input (validated): one shorter-side target
        if width <= height:
            resized = (scale, int(scale * height / width))
        else:
            resized = (int(scale * width / height), scale)
    left = int(round((resized[0] - crop_w) / 2.0))
    top = int(round((resized[1] - crop_h) / 2.0))
    return resized, (left, top)


def prepare(image: Photo | np.ndarray, prep: Preprocessing, name: str = "image", exact: bool = False) -> PreparedImage:
    """Turn a Photo (or array) into the normalised (1, 3, H, W) input for a model with preprocessing ``prep``.

    ``exact=True`` skips the area pre-reduction of very large linear images (module docstring).
    """
    source = image.pixels if isinstance(image, Photo) else np.asarray(image)
    source_h, source_w = (source.shape[:2] if source.ndim >= 2 else (0, 0))
    target = math.floor(min(prep.input_size[1:]) / prep.crop_pct)
    srgb = to_srgb8(image, name, reduce_to=None if exact else PREREDUCE_FACTOR * target)
    height, width = srgb.shape[:2]
    crop_h, crop_w = prep.input_size[1:]
    (new_w, new_h), (left, top) = resize_geometry(width, height, prep)
    picture = Image.fromarray(srgb)
    if (new_w, new_h) != (width, height):
        picture = picture.resize((new_w, new_h), resample=_RESAMPLE[prep.interpolation])
    resized = np.asarray(picture)
    if left < 0 or top < 0:  # crop_pct > 1 would need padding; cards keep crop_pct <= 1
        raise ImageNotSuitableError(f"{name}: crop {crop_w}x{crop_h} is larger than the resized image")
    crop = resized[top:top + crop_h, left:left + crop_w].astype(np.float32) / 255.0
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(((crop - mean) / std).transpose(2, 0, 1)))[None]
    sx, sy = source_w / new_w, source_h / new_h
    box = (left * sx, top * sy, (left + crop_w) * sx, (top + crop_h) * sy)
    return PreparedImage(tensor, box, (source_w, source_h))
