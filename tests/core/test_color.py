import re
from pathlib import Path

import numpy as np

import photolab
from photolab.core import color
from photolab.core.color import clip_unit, decode_srgb_integer, encode_srgb_integer, srgb_decode, srgb_encode


def test_srgb_curve_known_values():
    assert np.allclose(srgb_encode(np.array([0.0, 0.0031308, 0.18, 1.0])), [0.0, 0.04045, 0.46135, 1.0], atol=1e-4)
    x = np.linspace(0, 1, 101, dtype=np.float32)
    assert np.allclose(srgb_decode(srgb_encode(x)), x, atol=1e-5)


def test_integer_encoding_is_within_one_code_and_clips():
    rng = np.random.default_rng(0)
    linear = (rng.random((64, 64, 3)) ** 3).astype(np.float32)
    exact16 = np.round(srgb_encode(linear) * 65535)
    assert np.abs(encode_srgb_integer(linear, np.uint16).astype(float) - exact16).max() <= 1
    exact8 = np.round(srgb_encode(linear) * 255)
    assert np.abs(encode_srgb_integer(linear, np.uint8).astype(float) - exact8).max() <= 1
    clipped = encode_srgb_integer(np.array([[[-1.0, 0.5, 2.0]]], np.float32), np.uint8)
    assert clipped.tolist() == [[[0, 188, 255]]]


def test_integer_round_trip():
    codes = np.arange(256, dtype=np.uint8).reshape(1, -1, 1).repeat(3, axis=2)
    assert np.array_equal(encode_srgb_integer(decode_srgb_integer(codes), np.uint8), codes)


def test_integer_encoding_maps_nan_and_negatives_to_black():
    special = np.array([[[np.nan, -0.5, 1e9]]], np.float32)
    assert encode_srgb_integer(special, np.uint8).tolist() == [[[0, 0, 255]]]
    assert encode_srgb_integer(special, np.uint16).tolist() == [[[0, 0, 65535]]]


def test_every_encoder_maps_nan_to_black_and_infinities_to_the_ends():
    special = np.array([[[np.nan, np.inf, -np.inf], [np.nan, np.nan, np.nan]]], np.float32)
    assert encode_srgb_integer(special, np.uint8).tolist() == [[[0, 255, 0], [0, 0, 0]]]
    assert encode_srgb_integer(special, np.uint16).tolist() == [[[0, 65535, 0], [0, 0, 0]]]
    assert np.allclose(srgb_encode(special), [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
    assert clip_unit(np.array([np.nan, -2, 0.25, 7], np.float32)).tolist() == [0.0, 0.0, 0.25, 1.0]


def test_clip_unit_leaves_its_input_alone():
    values = np.array([np.nan, 2.0], np.float32)
    clip_unit(values)
    assert np.isnan(values[0]) and values[1] == 2.0



def _code_lines(pattern: str):
    """(file, line number) of every code line of the photolab package matching ``pattern`` (comments and
    docstring lines left out)."""
    package = Path(photolab.__file__).parent
    regex = re.compile(pattern)
    for path in sorted(package.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if regex.search(line.split("#")[0]) and '"""' not in line:
                yield str(path.relative_to(package)), number


def test_srgb_and_luma_constants_are_written_once_in_color():
    assert np.array_equal(color.LUMA_WEIGHTS, color.SRGB_TO_XYZ[1].astype(np.float32))
    assert abs(float(color.LUMA_WEIGHTS.sum()) - 1.0) < 1e-6
    found = _code_lines(r"0\.0031308|0\.04045|12\.92|\b1\.055\b|0\.2126|0\.7152|0\.0722")
    assert {path for path, _ in found} == {"core/color.py"}


def test_max_sigma_is_defined_once():
    assert [path for path, _ in _code_lines(r"^MAX_SIGMA\s*=")] == ["core/noise_map.py"]


def test_luminance_weights_the_channels_and_can_write_in_place():
    rng = np.random.default_rng(1)
    pixels = rng.random((5, 7, 3)).astype(np.float32)
    expected = pixels @ color.LUMA_WEIGHTS
    np.testing.assert_allclose(color.luminance(pixels), expected, rtol=1e-6)
    assert color.luminance(pixels).shape == (5, 7) and color.luminance(pixels[:1]).shape == (1, 7)
    out = np.empty((5, 7), np.float32)
    assert color.luminance(pixels, dst=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_luminance_is_defined_once():
    assert [path for path, _ in _code_lines(r"^def luminance\(")] == ["core/color.py"]
