"""The Photo: float32 linear-sRGB pixels plus what we know about how they were made."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from photolab.core.color import XYZ_TO_SRGB


@dataclass(frozen=True)
class CameraColor:
    """How the photo's linear sRGB pixels relate to the sensor's, so white balance can be redone later.

    ``srgb = camera_to_srgb @ diag(as_shot_multipliers) @ raw_camera_rgb``. For RAW files the matrices come
    from LibRaw; for ordinary images the "camera" is linear sRGB itself, balanced for D65.
    """

    camera_to_srgb: np.ndarray  # 3x3, acts on white-balanced camera RGB
    xyz_to_camera: np.ndarray  # 3x3, XYZ -> un-balanced camera RGB (the DNG ColorMatrix / LibRaw cam_xyz)
    as_shot_multipliers: np.ndarray  # (3,), green = 1

    @staticmethod
    def srgb() -> "CameraColor":
        """Colour description of an ordinary (already developed) sRGB image."""
        return CameraColor(np.eye(3), XYZ_TO_SRGB.copy(), np.ones(3))


@dataclass(frozen=True)
class NoiseProfile:
    """A camera RAW photo's sensor noise, measured on its mosaic (``photolab.core.noise_profile``).

    ``shot``, ``read``: the noise variance is ``shot * x + read`` at linear value ``x`` of the developed photo
    (``Photo.pixels`` as read: 1.0 = white), per photosite before demosaicing, as the denoiser was trained.
    ``raw_shot``, ``raw_read``: the same on the normalised mosaic (0..1 from black to white level), as measured;
    ``gain``: the developed photo's linear value per normalised mosaic value (green photosites). It describes the
    full-resolution photo; a downscaled proxy keeps it (``Photo.scale`` says how much noise averaging removed).
    """

    shot: float
    read: float
    raw_shot: float
    raw_read: float
    gain: float


@dataclass(frozen=True)
class PhotoMetadata:
    """What the info panel and ``photolab-cli info`` show. Unknown values are ``None``."""

    path: str | None = None
    file_format: str | None = None  # "raw", "jpeg", "png", "tiff", "webp"
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    iso: float | None = None
    shutter_seconds: float | None = None
    aperture: float | None = None
    focal_length_mm: float | None = None
    datetime: str | None = None  # ISO 8601
    width: int | None = None  # of the developed, orientation-corrected image
    height: int | None = None
    orientation: int = 1  # EXIF orientation of the original (1..8); pixels are already upright
    bits_per_sample: int | None = None
    exif: bytes | None = field(default=None, repr=False)  # raw EXIF block to carry into exports, if any
    noise_profile: NoiseProfile | None = None  # camera RAW files: the sensor noise measured when read

    def to_dict(self) -> dict:
        """JSON-ready view (without the binary EXIF block)."""
        data = dataclasses.asdict(self)
        data.pop("exif")
        return data


@dataclass(frozen=True)
class Photo:
    """An upright image: ``pixels`` is float32 linear sRGB, shape (H, W, 3); 1.0 is the white point.

    Values may exceed 1 or go below 0 while developing; they are clipped only when encoded for output.
    ``scale`` lets operations that depend on pixel size (denoise: area averaging shrinks noise by the
    downscale factor) give a proxy the look of the full-resolution result.
    """

    pixels: np.ndarray
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)
    color: CameraColor = field(default_factory=CameraColor.srgb)
    scale: float = 1.0  # pixels per pixel of the full-resolution photo: < 1 for a downscaled proxy or preview

    def __post_init__(self) -> None:
        if self.pixels.ndim != 3 or self.pixels.shape[2] != 3 or self.pixels.dtype != np.float32:
            raise ValueError(f"Photo pixels must be float32 (H, W, 3), got {self.pixels.dtype} {self.pixels.shape}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def with_pixels(self, pixels: np.ndarray) -> "Photo":
        """The same photo with new pixels (metadata and colour description kept)."""
        return dataclasses.replace(self, pixels=np.ascontiguousarray(pixels, dtype=np.float32))

    def with_merged_pixels(self, pixels: np.ndarray) -> "Photo":
        """The photo with pixels merged from several frames (HDR, burst): as :meth:`with_pixels`, but its noise
        is no longer the frame's, so the RAW noise profile is dropped (denoising measures the image instead)."""
        photo = self.with_pixels(pixels)
        if photo.metadata.noise_profile is None:
            return photo
        return dataclasses.replace(photo, metadata=dataclasses.replace(photo.metadata, noise_profile=None))


def downscaled(photo: Photo, max_side: int) -> Photo:
    """A copy no larger than ``max_side`` on its long side (area-averaged); the photo itself if it fits.

    The GUI edits on such a screen-sized proxy so sliders respond at once. The copy's ``scale`` is the
    photo's times the width ratio.
    """
    import cv2

    scale = max_side / max(photo.height, photo.width)
    if scale >= 1.0:
        return photo
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    smaller = cv2.resize(photo.pixels, size, interpolation=cv2.INTER_AREA)
    return dataclasses.replace(photo.with_pixels(smaller), scale=photo.scale * size[0] / photo.width)
