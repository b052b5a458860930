"""Output colour spaces: matrices and ICC profiles against published values, and exports Pillow's LittleCMS
reads back to the same sRGB colours."""

from __future__ import annotations

from io import BytesIO

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from photolab.core import io
from photolab.core.colorspace import COLOR_SPACES, encode_integer, from_linear_srgb, rgb_to_xyz
from photolab.core.icc import icc_profile
from photolab.core.photo import Photo
from utils.images import load_fixture, write_image

# Published linear RGB -> XYZ (D65) matrices (Lindbloom; Display P3 as in CSS Color 4).
PUBLISHED_MATRICES = {
    "srgb": [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    "adobe-rgb": [[0.5767309, 0.1855540, 0.1881852], [0.2973769, 0.6273491, 0.0752741],
                  [0.0270343, 0.0706872, 0.9911085]],
    "display-p3": [[0.4865709, 0.2656677, 0.1982173], [0.2289746, 0.6917385, 0.0792869], [0.0, 0.0451134, 1.0439444]],
}
# The D50-adapted colorants (rXYZ, gXYZ, bXYZ) of the reference profiles: HP/Microsoft's sRGB IEC61966-2.1,
# Adobe's AdobeRGB1998.icc and Apple's Display P3.
PUBLISHED_COLORANTS = {
    "srgb": [(0.4360747, 0.2225045, 0.0139322), (0.3850649, 0.7168786, 0.0971045), (0.1430804, 0.0606169, 0.7141733)],
    "adobe-rgb": [(0.6097412, 0.3111153, 0.0194702), (0.2052765, 0.6256560, 0.0608902),
                  (0.1492249, 0.0632293, 0.7445240)],
    "display-p3": [(0.515121, 0.241196, -0.001053), (0.291977, 0.692245, 0.041885), (0.157104, 0.066574, 0.784073)],
}
D65 = (0.9505, 1.0, 1.0891)


@pytest.mark.parametrize("key", sorted(COLOR_SPACES))
def test_matrices_match_the_published_ones(key):
    # PhotoLab's D65 is the white of its sRGB matrix (Z 1.08883, Lindbloom's), CSS's P3 matrix uses Z 1.08906
    np.testing.assert_allclose(rgb_to_xyz(key), PUBLISHED_MATRICES[key], atol=3e-4)
    np.testing.assert_allclose(from_linear_srgb(key) @ np.ones(3), np.ones(3), atol=1e-9)  # white stays white


@pytest.mark.parametrize("key", sorted(COLOR_SPACES))
def test_icc_profile_parses_and_carries_the_standard_colorants(key):
    data = icc_profile(key)
    assert len(data) % 4 == 0 and int.from_bytes(data[:4], "big") == len(data) and data[36:40] == b"acsp"
    profile = ImageCms.ImageCmsProfile(BytesIO(data)).profile
    assert profile.version == pytest.approx(2.1) and profile.profile_description == COLOR_SPACES[key].description
    assert profile.copyright and profile.xcolor_space.strip() == "RGB" and profile.connection_space.strip() == "XYZ"
    colorants = (profile.red_colorant[0], profile.green_colorant[0], profile.blue_colorant[0])
    np.testing.assert_allclose(colorants, PUBLISHED_COLORANTS[key], atol=6e-4)
    np.testing.assert_allclose(profile.media_white_point[0], D65, atol=5e-4)


def test_tone_curves_in_the_profiles():
    adobe = icc_profile("adobe-rgb")
    assert adobe.count(b"curv\0\0\0\0\0\0\0\x01\x02\x33") == 1  # one shared gamma 563/256 curve
    srgb = icc_profile("srgb")
    at = srgb.index(b"curv")
    count = int.from_bytes(srgb[at + 8:at + 12], "big")
    table = np.frombuffer(srgb[at + 12:at + 12 + 2 * count], dtype=">u2") / 65535
    grid = np.linspace(0, 1, count)
    reference = np.where(grid <= 0.04045, grid / 12.92, ((grid + 0.055) / 1.055) ** 2.4)  # IEC 61966-2-1
    assert count >= 256 and np.abs(table - reference).max() < 1e-4


def _export(tmp_path, pixels, key, file_format="png", name="out", quality=92):
    suffix = {"png": ".png", "png16": ".png", "jpg": ".jpg", "tiff16": ".tif"}[file_format]
    return io.export_photo(Photo(np.asarray(pixels, dtype=np.float32)), tmp_path / f"{name}-{key}{suffix}",
                           file_format=file_format, color_space=key, quality=quality)


def test_pure_srgb_red_and_green_in_wider_spaces(tmp_path):
    patches = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]], dtype=np.float32)
    with Image.open(_export(tmp_path, patches, "display-p3")) as image:
        p3 = np.asarray(image).astype(int)
    # sRGB red is color(display-p3 0.9175 0.2003 0.1386), green 0.4584 0.9853 0.2983 (CSS Color 4)
    assert np.abs(p3[0, 0] - np.array([0.9175, 0.2003, 0.1386]) * 255).max() <= 1
    assert np.abs(p3[0, 1] - np.array([0.4584, 0.9853, 0.2983]) * 255).max() <= 1
    assert p3[0, 2].tolist() == [255, 255, 255]
    with Image.open(_export(tmp_path, patches, "adobe-rgb")) as image:
        adobe = np.asarray(image).astype(int)
    assert adobe[0, 0].tolist() == [219, 0, 0] and np.abs(adobe[0, 1] - [144, 255, 60]).max() <= 1
    tiff = tifffile.imread(_export(tmp_path, patches, "display-p3", "tiff16"))
    assert np.abs(tiff[0, 0] / 65535 - [0.9175, 0.2003, 0.1386]).max() < 1e-4


@pytest.mark.parametrize("file_format", ["jpg", "png", "png16", "tiff16"])
@pytest.mark.parametrize("key", ["display-p3", "adobe-rgb"])
def test_exports_embed_the_profile_and_convert_back_to_srgb(tmp_path, file_format, key):
    photo = io.read_photo(_write_fixture(tmp_path))
    target = _export(tmp_path, photo.pixels, key, file_format, quality=100)
    if file_format == "png16":
        with Image.open(target) as image:
            embedded = image.info["icc_profile"]
    elif file_format == "tiff16":
        with tifffile.TiffFile(target) as tiff:
            embedded = tiff.pages.first.tags[34675].value
    if file_format in ("png16", "tiff16"):  # LittleCMS here works on 8 bits: the 16-bit codes rounded
        stored = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
        assert stored.dtype == np.uint16
        image = Image.fromarray(np.round(stored / 257.0).astype(np.uint8), "RGB")
    else:
        image = Image.open(target)
        embedded = image.info["icc_profile"]
    assert embedded == icc_profile(key)
    source = ImageCms.ImageCmsProfile(BytesIO(embedded))
    transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), "RGB", "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    back = np.asarray(ImageCms.applyTransform(image, transform)).astype(float)
    expected = encode_integer(photo.pixels, "srgb", np.uint8).astype(float)
    mean, worst = (1.2, 5) if file_format == "jpg" else (0.8, 2.5)  # two 8-bit roundings (plus JPEG's loss)
    assert np.abs(back - expected).mean() < mean and np.percentile(np.abs(back - expected), 99) <= worst
    wider = np.asarray(image).astype(float)
    assert np.abs(wider - expected).mean() > 3  # the stored numbers really are another space's


def _write_fixture(tmp_path):
    return write_image(tmp_path / "fixture.png", load_fixture("fig_bowl"), "png")


def test_exif_colour_space_is_uncalibrated_outside_srgb(tmp_path):
    photo = io.read_photo(_write_fixture(tmp_path))
    for key, expected in (("srgb", None), ("adobe-rgb", 0xFFFF)):
        with Image.open(_export(tmp_path, photo.pixels, key, "jpg")) as image:
            value = image.getexif().get_ifd(0x8769).get(40961)
        assert value == expected


def test_bad_colour_space_is_refused(tmp_path):
    with pytest.raises(ValueError, match="display-p3"):
        _export(tmp_path, np.zeros((2, 2, 3)), "prophoto")
