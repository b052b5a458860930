"""photolab-cli denoise: the command form is a contract; depth and alpha survive; the input is never touched."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile

from photolab.cli import main
from photolab.core import io
from photolab.core.color import encode_srgb_integer
from photolab.core.develop.denoise import DenoiseParams, encode, estimate_params
from photolab.core.quality import psnr
from photolab.core.recipe import Recipe, save_sidecar
from photolab.core.render import render
from utils.dng import write_dng
from utils.images import load_fixture

SIGMA = 25.0
GAIN_DB = 1.0  # these tests are about the command; tests/models/test_denoise.py holds the network to >= 3 dB


@pytest.fixture(scope="module")
def clean():
    return load_fixture("wine_table").astype(np.float64) / 255  # RGB, 128 x 192


@pytest.fixture(scope="module")
def noisy(clean):
    return np.clip(clean + np.random.default_rng(0).normal(0, SIGMA / 255, clean.shape), 0, 1)


def quantise(values: np.ndarray, dtype) -> np.ndarray:
    return np.rint(values * np.iinfo(dtype).max).astype(dtype)


def read(path) -> np.ndarray:
    """Pixels as stored, RGB(A) order."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return pixels[:, :, [2, 1, 0, 3][:pixels.shape[2]]] if pixels.ndim == 3 else pixels


def as_float(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float64) / np.iinfo(pixels.dtype).max


def run_json(args, capsys) -> dict:
    assert main(["denoise", *args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_8bit_png_is_denoised_and_the_json_line_says_how(tmp_path, noisy, clean, capsys):
    source = tmp_path / "noisy.png"
    cv2.imwrite(str(source), quantise(noisy, np.uint8)[:, :, ::-1])
    original = source.read_bytes()
    target = tmp_path / "out.png"
    result = run_json([str(source), "-o", str(target), "--sigma", "25"], capsys)
    assert set(result) == {"input", "output", "sigma", "auto", "model", "seconds"}
    assert result["input"] == str(source) and result["output"] == str(target)
    assert result["sigma"] == 25.0 and result["auto"] is False and result["model"] == "photolab-denoise-unet"
    assert source.read_bytes() == original
    out = read(target)
    assert out.shape == (128, 192, 3) and out.dtype == np.uint8
    assert psnr(as_float(out), clean) >= psnr(as_float(quantise(noisy, np.uint8)), clean) + GAIN_DB


def test_auto_is_the_default_and_measures_the_noise(tmp_path, noisy, capsys):
    source = tmp_path / "noisy.png"
    cv2.imwrite(str(source), quantise(noisy, np.uint8)[:, :, ::-1])
    result = run_json([str(source), "-o", str(tmp_path / "a.png")], capsys)
    assert result["auto"] is True and result["sigma"] == pytest.approx(SIGMA, rel=0.2)
    assert run_json([str(source), "-o", str(tmp_path / "b.jpg"), "--auto"], capsys)["auto"] is True
    assert cv2.imread(str(tmp_path / "b.jpg")).shape == (128, 192, 3)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_images_stay_16bit(tmp_path, noisy, clean, suffix, capsys):
    source = tmp_path / f"noisy16{suffix}"
    stored = quantise(noisy, np.uint16)
    cv2.imwrite(str(source), stored[:, :, ::-1])
    target = tmp_path / f"out16{suffix}"
    run_json([str(source), "-o", str(target), "--sigma", "25", "--tile", "128"], capsys)
    out = read(target)
    assert out.dtype == np.uint16 and out.shape == (128, 192, 3)
    assert len(np.unique(out)) > 4096  # finer than 8-bit steps
    assert psnr(as_float(out), clean) >= psnr(as_float(stored), clean) + GAIN_DB


def test_rgba_png_keeps_its_alpha(tmp_path, noisy, capsys):
    alpha = np.tile(np.linspace(0, 255, 192).astype(np.uint8), (128, 1))
    rgba = np.dstack([quantise(noisy, np.uint8), alpha])
    source = tmp_path / "alpha.png"
    cv2.imwrite(str(source), rgba[:, :, [2, 1, 0, 3]])
    target = tmp_path / "alpha_out.png"
    run_json([str(source), "-o", str(target), "--sigma", "25"], capsys)
    out = read(target)
    assert out.shape == (128, 192, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, 3], alpha)
    assert not np.array_equal(out[:, :, :3], rgba[:, :, :3])


def test_16bit_rgba_tiff_keeps_depth_and_alpha(tmp_path, noisy, capsys):
    alpha = np.tile(np.linspace(0, 65535, 128).astype(np.uint16)[:, None], (1, 192))
    source = tmp_path / "alpha16.tif"
    tifffile.imwrite(source, np.dstack([quantise(noisy, np.uint16), alpha]), photometric="rgb",
                     extrasamples=("unassalpha",))
    target = tmp_path / "alpha16_out.tif"
    run_json([str(source), "-o", str(target), "--sigma", "20"], capsys)
    out = tifffile.imread(target)
    assert out.shape == (128, 192, 4) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[:, :, 3], alpha)


def test_raw_input_is_developed_then_denoised(tmp_path, capsys):
    raw = write_dng(tmp_path / "shot.dng", load_fixture("mountain_forest"), read_noise=40.0, seed=2).path
    target = tmp_path / "shot.tif"
    result = run_json([str(raw), "-o", str(target)], capsys)
    assert result["auto"] is True and result["sigma"] > 0
    out = tifffile.imread(target)
    assert out.dtype == np.uint16 and out.shape[:2] == (128, 192)


def test_raw_auto_uses_the_sensor_noise_measured_on_the_mosaic(tmp_path, capsys):
    """--auto on a RAW file: Auto's level from the noise profile measured when the RAW was read (the developed
    image's own finest scale reads about a third of the noise: tests/core/test_noise_profile.py)."""
    source = cv2.resize(load_fixture("mountain_forest"), (384, 256), interpolation=cv2.INTER_CUBIC)
    raw = write_dng(tmp_path / "iso.dng", source, full_well_electrons=100.0, read_noise=160.0, seed=3).path
    result = run_json([str(raw), "-o", str(tmp_path / "iso.jpg"), "--auto"], capsys)
    photo = io.read_photo(raw)
    assert photo.metadata.noise_profile is not None
    expected, _ = estimate_params(encode(photo.pixels), profile=photo.metadata.noise_profile)
    assert result["auto"] is True and result["sigma"] == pytest.approx(expected.sigma, abs=1e-3)


# --- refusals and errors ------------------------------------------------------------------------------------

@pytest.fixture
def small_png(tmp_path, noisy):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), quantise(noisy, np.uint8)[:, :, ::-1])
    return path


def test_refuses_to_overwrite_without_the_flag(small_png, tmp_path, capsys):
    target = tmp_path / "exists.png"
    target.write_bytes(b"keep me")
    assert main(["denoise", str(small_png), "-o", str(target), "--sigma", "10"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert target.read_bytes() == b"keep me"
    assert main(["denoise", str(small_png), "-o", str(target), "--sigma", "10", "--overwrite"]) == 0
    assert read(target).shape == (128, 192, 3)


def test_never_writes_over_the_input(small_png, capsys):
    original = small_png.read_bytes()
    assert main(["denoise", str(small_png), "-o", str(small_png), "--sigma", "10", "--overwrite"]) == 1
    assert "input" in capsys.readouterr().err
    assert small_png.read_bytes() == original


@pytest.mark.parametrize("args,message", [
    (["--sigma", "10", "--auto"], "not allowed with"),
    (["--sigma", "101"], "between 0 and 100"),
    (["--sigma", "-5"], "between 0 and 100"),
    (["--sigma", "lots"], "expected a number"),
    (["--tile", "100"], "multiple of 8"),
])
def test_usage_errors(small_png, tmp_path, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_bad_weights_are_named_in_one_line(small_png, tmp_path, capsys):
    missing = tmp_path / "gone.safetensors"
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    for weights, what in ((missing, "missing"), (truncated, "not a readable safetensors")):
        assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), "--sigma", "10",
                     "--model", str(weights)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and weights.name in err and what in err
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), "--model", "no-such-net"]) == 1
    assert "no-such-net" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_unreadable_input_is_one_clear_line(tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    for source in (tmp_path / "missing.png", broken):
        assert main(["denoise", str(source), "-o", str(tmp_path / "x.png"), "--sigma", "10"]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and source.name in err


def test_unknown_output_format(small_png, tmp_path, capsys):
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.bmp"), "--sigma", "10"]) == 1
    assert ".bmp" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_a_clear_error(small_png, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), "--device", "cuda"]) == 1
    assert "CUDA is not available" in capsys.readouterr().err


# --- develop applies a sidecar's denoise step ---------------------------------------------------------------

def test_develop_applies_the_denoise_step_of_a_sidecar(small_png, tmp_path, clean):
    plain, denoised = tmp_path / "plain.png", tmp_path / "denoised.png"
    assert main(["develop", str(small_png), "-o", str(plain), "--format", "png", "--no-sidecar"]) == 0
    save_sidecar(small_png, Recipe().with_params("denoise", DenoiseParams(SIGMA)))
    assert main(["develop", str(small_png), "-o", str(denoised), "--format", "png"]) == 0
    expected = render(io.read_photo(small_png), Recipe().with_params("denoise", DenoiseParams(SIGMA)))
    np.testing.assert_array_equal(read(denoised), encode_srgb_integer(expected.pixels, np.uint8))
    assert psnr(as_float(read(denoised)), clean) >= psnr(as_float(read(plain)), clean) + GAIN_DB


def test_several_inputs_go_into_a_folder_with_a_line_each(small_png, tmp_path, capsys):
    second = tmp_path / "second.tif"
    tifffile.imwrite(second, read(small_png)[:64, :64].astype(np.uint16) * 257)
    missing = tmp_path / "missing.png"
    folder = tmp_path / "clean"
    assert main(["denoise", str(small_png), str(missing), str(second), "-o", str(folder), "--sigma", "10",
                 "--json"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["input"] for line in lines] == [str(small_png), str(missing), str(second)]
    assert lines[0]["output"] == str(folder / "small.png") and lines[2]["output"] == str(folder / "second.tif")
    assert lines[1]["output"] is None and "missing.png" in lines[1]["error"]
    assert captured.err.strip().splitlines() == [f"photolab-cli: error: {lines[1]['error']}"]
    assert read(folder / "second.tif").dtype == np.uint16
    with pytest.raises(SystemExit) as usage:
        main(["denoise", str(small_png), str(second), "-o", str(tmp_path / "one.png")])
    assert usage.value.code == 2 and "-o must be a folder" in capsys.readouterr().err


def test_device_auto_is_accepted_like_classify(small_png, tmp_path, capsys):
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), "--sigma", "5", "--device", "auto"]) == 0
    with pytest.raises(SystemExit):
        main(["denoise", str(small_png), "-o", str(tmp_path / "y.png"), "--device", "tpu"])


def test_the_device_option_reaches_the_denoiser(small_png, tmp_path, monkeypatch):
    """--device cuda (here a GPU torch only pretends to have) is the device the ModelManager loads the network on."""
    import torch

    from photolab.models.store.manager import ModelManager

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    devices = []
    real_load = ModelManager.load_denoiser

    def load(manager, name="", device=None):
        devices.append(str(device if device is not None else manager.device))
        return real_load(manager, name, "cpu")  # the network itself stays on the CPU this machine has

    monkeypatch.setattr(ModelManager, "load_denoiser", load)
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "x.png"), "--sigma", "5", "--device", "cuda"]) == 0
    assert main(["denoise", str(small_png), "-o", str(tmp_path / "y.png"), "--sigma", "5"]) == 0
    assert devices == ["cuda", "cpu"]
