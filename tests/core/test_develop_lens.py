"""Lens correction with lensfun: a photo distorted by a lens's model is corrected back."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

pytest.importorskip("lensfunpy")

from photolab.core.develop.lens import LensParams, apply, correct, find_profile, profile_status  # noqa: E402
from photolab.core.photo import Photo, PhotoMetadata  # noqa: E402

CAMERA = dict(camera_make="Canon", camera_model="Canon EOS 5D Mark II", focal_length_mm=16.0, aperture=2.8)
LENS = "Canon EF 16-35mm f/2.8L II USM"


def texture(width=360, height=240, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 8, width // 8, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(cv2.GaussianBlur(smooth, (0, 0), 1.5), 0.0, 1.0)


def shot(lens=LENS, **metadata) -> Photo:
    return Photo(texture(), metadata=PhotoMetadata(**{**CAMERA, "lens": lens, **metadata}))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_a_photo_distorted_by_the_lens_model_is_corrected_back():
    photo = shot()
    params = LensParams(enabled=True, vignetting=False)
    _, lens, crop, _ = find_profile(photo, params)
    assert lens is not None and lens.model == LENS
    distorted = correct(photo, params, lens, crop, reverse=True, scale=1.0)
    inner = (slice(24, -24), slice(36, -36))
    moved = psnr(distorted.pixels[inner], photo.pixels[inner])
    back = psnr(correct(distorted, params, lens, crop, scale=1.0).pixels[inner], photo.pixels[inner])
    assert moved < 30.0  # the distortion is real
    assert back > 38.0 and back > moved + 10.0


def test_vignetting_correction_brightens_the_corners_of_a_flat_frame():
    photo = dataclasses.replace(shot(), pixels=np.full((240, 360, 3), 0.2, np.float32))
    out = apply(photo, LensParams(enabled=True, distortion=False, tca=False)).pixels
    assert out[0, 0].mean() > out[120, 180].mean() * 1.05


def test_no_profile_leaves_the_photo_and_says_why():
    unknown = shot(lens="Nonexistent 13-17mm f/9 Wobble")
    assert apply(unknown, LensParams(enabled=True)) is unknown
    assert profile_status(unknown, LensParams(enabled=True)).startswith("no profile for this lens")
    nameless = shot(lens=None)
    assert "does not name its lens" in profile_status(nameless, LensParams(enabled=True))
    # a manual choice fills in
    chosen = LensParams(enabled=True, lens=LENS, vignetting=False)
    assert profile_status(nameless, chosen).startswith(LENS)
    assert not np.allclose(apply(nameless, chosen).pixels, nameless.pixels)


def test_off_by_default():
    photo = shot()
    assert apply(photo, LensParams()) is photo
