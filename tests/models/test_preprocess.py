"""Photo -> model input, as timm's eval transform feeds the weights; conversions and refusals."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from photolab.core.color import encode_srgb_integer, srgb_decode
from photolab.core.io import read_photo
from photolab.core.photo import Photo
from photolab.models.store.card import ModelCardError, Preprocessing
from photolab.models.preprocess import ImageNotSuitableError, prepare, resize_geometry, to_srgb8

PLAIN = Preprocessing(input_size=(3, 16, 16), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), crop_pct=0.5,
                      interpolation="nearest")


def rgb(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_constant_image_is_normalised_with_the_cards_mean_and_std():
    prep = Preprocessing()
    tensor = prepare(np.full((40, 60, 3), 100, np.uint8), prep).tensor
    assert tensor.shape == (1, 3, 224, 224) and tensor.dtype == torch.float32
    for c in range(3):
        expected = np.float32((np.float32(100 / 255) - np.float32(prep.mean[c])) / np.float32(prep.std[c]))
        assert torch.all(tensor[0, c] == torch.tensor(expected))


def test_photo_pixels_are_srgb_encoded_before_normalising():
    linear = np.full((32, 32, 3), srgb_decode(np.float32(100 / 255)), np.float32)
    from_photo = prepare(Photo(linear), Preprocessing()).tensor
    from_codes = prepare(np.full((32, 32, 3), 100, np.uint8), Preprocessing()).tensor
    assert torch.equal(from_photo, from_codes)


def test_centre_crop_without_resize_takes_the_middle_pixels():
    image = rgb(48, 32)  # shorter side 32 = floor(16 / 0.5): no resize, then a 16 px centre crop
    prepared = prepare(image, PLAIN)
    expected = torch.from_numpy(image[16:32, 8:24].astype(np.float32).transpose(2, 0, 1) / 255.0)
    assert torch.equal(prepared.tensor[0], expected)
    assert prepared.box == (8.0, 16.0, 24.0, 32.0)
    assert prepared.source_size == (32, 48)


def test_geometry_follows_torchvision_rules():
    prep = Preprocessing()  # 224, crop 0.875 -> shorter side 256
    assert resize_geometry(300, 200, prep) == ((384, 256), (80, 16))
    # longer side truncated (int(256 * 301 / 200) = 385), crop offset rounded half to even: 80.5 -> 80
    assert resize_geometry(301, 200, prep) == ((385, 256), (80, 16))
    assert resize_geometry(200, 301, prep) == ((256, 385), (16, 80))
    assert resize_geometry(300, 200, Preprocessing(crop_pct=0.95, input_size=(3, 288, 288))) == ((454, 303), (83, 8))
    assert resize_geometry(300, 200, Preprocessing(crop_mode="squash")) == ((256, 256), (16, 16))


@pytest.mark.parametrize("interpolation, resample", [("bilinear", Image.Resampling.BILINEAR),
                                                     ("bicubic", Image.Resampling.BICUBIC)])
def test_resize_uses_the_cards_interpolation(interpolation, resample):
    image = rgb(200, 300)
    prep = Preprocessing(interpolation=interpolation, mean=(0, 0, 0), std=(1, 1, 1))
    reference = np.asarray(Image.fromarray(image).resize((384, 256), resample=resample))[16:240, 80:304]
    prepared = prepare(image, prep)
    expected = torch.from_numpy(reference.astype(np.float32).transpose(2, 0, 1) / 255.0)
    assert torch.equal(prepared.tensor[0], expected)
    assert prepared.box == pytest.approx((62.5, 12.5, 237.5, 187.5))


def test_interpolations_differ():
    image = rgb(200, 300)
    tensors = [prepare(image, Preprocessing(interpolation=name)).tensor for name in ("bilinear", "bicubic")]
    assert not torch.equal(*tensors)


def test_grey_alpha_and_16_bit_arrays_are_converted():
    image = rgb(40, 50)
    reference = prepare(image, Preprocessing()).tensor
    assert torch.equal(prepare(np.dstack([image, np.full((40, 50), 7, np.uint8)]), Preprocessing()).tensor, reference)
    assert torch.equal(prepare(image.astype(np.uint16) * 257, Preprocessing()).tensor, reference)
    grey = image[:, :, 1]
    grey_reference = prepare(np.dstack([grey] * 3), Preprocessing()).tensor
    for variant in (grey, grey[:, :, None], np.dstack([grey, grey])):
        assert torch.equal(prepare(variant, Preprocessing()).tensor, grey_reference)
    linear = np.random.default_rng(1).random((40, 50, 3), dtype=np.float32)
    assert torch.equal(prepare(linear.astype(np.float64), Preprocessing()).tensor,
                       prepare(Photo(linear), Preprocessing()).tensor)


@pytest.mark.parametrize("array, message", [
    (np.zeros((15, 40, 3), np.uint8), r"15x40 px|40x15 px is too small.*at least 16 px"),
    (np.zeros((20, 500, 3), np.uint8), "too elongated"),
    (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
    (np.zeros((32, 32, 5), np.uint8), "5 colour channels"),
    (np.zeros((32, 32, 3), np.int32), "int32"),
    (np.zeros(32, np.uint8), r"shape \(H, W\)"),
])
def test_unsuitable_images_are_refused_clearly(array, message):
    with pytest.raises(ImageNotSuitableError, match=message):
        prepare(array, Preprocessing(), name="x.png")


def test_image_files_of_every_kind_are_read_and_prepared(tmp_path):
    grey16 = (np.linspace(0, 65535, 40 * 48).reshape(40, 48)).astype(np.uint16)
    rgba = np.dstack([rgb(40, 48)[:, :, ::-1], np.full((40, 48), 128, np.uint8)])
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "tiny.png"), np.zeros((8, 8, 3), np.uint8))
    grey = prepare(read_photo(tmp_path / "grey16.png"), Preprocessing(mean=(0, 0, 0), std=(1, 1, 1))).tensor
    assert torch.allclose(grey[0, 0], grey[0, 1], atol=1 / 255) and torch.allclose(grey[0, 0], grey[0, 2], atol=1 / 255)
    assert 0.9 < float(grey.max()) and float(grey.min()) < 0.1
    colour = prepare(read_photo(tmp_path / "rgba.png"), Preprocessing())
    assert colour.tensor.shape == (1, 3, 224, 224)
    photo = read_photo(tmp_path / "tiny.png")
    with pytest.raises(ImageNotSuitableError, match="tiny.png: 8x8 px is too small"):
        prepare(photo, Preprocessing(), name=str(tmp_path / "tiny.png"))


def test_srgb8_rounds_16_bit_to_nearest_code():
    values = np.array([[[0, 128, 257]], [[32896, 65535, 65406]]], np.uint16).repeat(16, 0).repeat(16, 1)
    out = to_srgb8(values)
    assert out[0, 0].tolist() == [0, 0, 1] and out[-1, -1].tolist() == [128, 255, 254]


@pytest.mark.parametrize("changes, message", [
    (dict(input_size=(3, 224, 200)), "square"), (dict(crop_pct=1.2), "crop_pct"), (dict(std=(0.2, 0, 0.2)), "std"),
    (dict(interpolation="cubic"), "interpolation"), (dict(crop_mode="border"), "crop_mode"),
    (dict(input_size=(1, 224, 224)), "input_size"), (dict(input_size=(3, 8, 8)), "16-4096"),
])
def test_invalid_preprocessing_is_refused(changes, message):
    with pytest.raises(ModelCardError, match=message):
        Preprocessing(**changes).validate()


def smooth_photo(height, width):
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack([x / width, y / height, 0.5 + 0.4 * np.sin(x / 97.0) * np.cos(y / 61.0)], axis=2)
    return Photo(np.ascontiguousarray(pixels ** 2.2, dtype=np.float32))


def test_large_photos_are_area_reduced_first_with_little_change():
    prep = Preprocessing()  # resize target 256 px: photos with a shorter side over 1024 px are pre-reduced
    at_limit = smooth_photo(1024, 1400)
    assert torch.equal(prepare(at_limit, prep).tensor, prepare(at_limit, prep, exact=True).tensor)
    large = smooth_photo(1100, 1650)
    fast, exact = prepare(large, prep), prepare(large, prep, exact=True)
    reference = prepare(encode_srgb_integer(large.pixels, np.uint8), prep)  # timm's path on the full image
    assert torch.equal(exact.tensor, reference.tensor)
    assert not torch.equal(fast.tensor, exact.tensor)
    assert float((fast.tensor - exact.tensor).abs().max()) < 0.05  # ~ 2.5 codes of 255 after normalising
    assert fast.source_size == exact.source_size == (1650, 1100)
    assert fast.box == pytest.approx(exact.box, abs=1.0)
    broken = large.pixels.copy()
    broken[500, 700, 1] = np.inf
    with pytest.raises(ImageNotSuitableError, match="NaN or infinite"):
        prepare(broken, prep)
