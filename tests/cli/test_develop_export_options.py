"""photolab-cli develop's output options: --resize/--upscale, --colorspace, --output-sharpening, --name-template,
their usage errors (exit 2, one line) and the --json summary's size and colour space."""

import datetime
import json
import os
from io import BytesIO

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from photolab.cli import main
from photolab.core.icc import icc_profile
from utils.dng import write_dng
from utils.images import load_fixture


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), load_fixture("wine_table")[:, :, ::-1])  # 192 x 128
    return path


def run_json(argv, capsys):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_resize_modes_and_the_json_size(photo_file, tmp_path, capsys):
    for spec, size in (("long:96", (96, 64)), ("short:32", (48, 32)), ("mp:0.0054", (90, 60)),
                       ("long:1000", (192, 128))):
        target = tmp_path / f"{spec.replace(':', '_')}.png"
        code, summary = run_json(["develop", str(photo_file), "-o", str(target), "--resize", spec], capsys)
        assert code == 0
        with Image.open(target) as image:
            assert image.size == size
        result = summary["results"][0]
        assert (result["width"], result["height"], result["color_space"]) == (*size, "srgb")
    target = tmp_path / "bigger.png"
    assert main(["develop", str(photo_file), "-o", str(target), "--resize", "long:384", "--upscale"]) == 0
    with Image.open(target) as image:
        assert image.size == (384, 256)


def test_colorspace_embeds_the_profile(photo_file, tmp_path, capsys):
    target = tmp_path / "wide.jpg"
    code, summary = run_json(["develop", str(photo_file), "-o", str(target), "--colorspace", "adobe-rgb"], capsys)
    assert code == 0 and summary["results"][0]["color_space"] == "adobe-rgb"
    with Image.open(target) as image:
        assert image.info["icc_profile"] == icc_profile("adobe-rgb")
        profile = ImageCms.ImageCmsProfile(BytesIO(image.info["icc_profile"])).profile
        assert "Adobe RGB" in profile.profile_description
    plain = tmp_path / "plain.jpg"
    assert main(["develop", str(photo_file), "-o", str(plain)]) == 0
    with Image.open(plain) as image:
        assert image.info["icc_profile"] == icc_profile("srgb")


def test_output_sharpening_sharpens(photo_file, tmp_path):
    outputs = {}
    for name, extra in (("plain", []), ("screen", ["--output-sharpening", "screen"]),
                        ("print", ["--output-sharpening", "print:high"])):
        target = tmp_path / f"{name}.png"
        assert main(["develop", str(photo_file), "-o", str(target), "--resize", "long:96", *extra]) == 0
        grey = cv2.imread(str(target), cv2.IMREAD_GRAYSCALE).astype(float)
        outputs[name] = np.abs(cv2.Laplacian(grey, cv2.CV_64F)).mean()
    assert outputs["plain"] < outputs["screen"] < outputs["print"]


def test_name_template_in_a_batch(tmp_path, capsys):
    shots = []
    for name in ("b_shot", "a_shot"):
        path = write_dng(tmp_path / f"{name}.dng", load_fixture("dandelion")[:48, :64]).path
        shots.append(path)
    scan = tmp_path / "scan.png"
    cv2.imwrite(str(scan), load_fixture("fig_bowl")[:32, :48])
    os.utime(scan, (1_600_000_000, 1_600_000_000))  # 2020-09-13
    out = tmp_path / "out"
    code, summary = run_json(["develop", *map(str, shots), str(scan), "-o", str(out),
                              "--name-template", "{seq}_{date}_{camera}_{name}"], capsys)
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    date = datetime.date.fromtimestamp(1_600_000_000).isoformat()
    assert names == ["1_2024-05-17_Canon-EOS-5D-Mark-II_b_shot.jpg", "2_2024-05-17_Canon-EOS-5D-Mark-II_a_shot.jpg",
                     f"3_{date}_unknown-camera_scan.jpg"]
    assert [os.path.basename(r["output"]) for r in summary["results"]] == names


def test_seq_is_padded_to_the_batch_size(tmp_path):
    paths = []
    for index in range(10):
        path = tmp_path / f"p{index}.png"
        cv2.imwrite(str(path), np.full((8, 8, 3), 20 * index, np.uint8))
        paths.append(str(path))
    out = tmp_path / "numbered"
    assert main(["develop", *paths, "-o", str(out), "--name-template", "trip-{seq}", "--format", "png"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"trip-{n:02d}.png" for n in range(1, 11)]


def test_a_template_that_repeats_a_name_does_not_overwrite_within_the_batch(tmp_path, capsys):
    paths = []
    for index in range(2):
        path = tmp_path / f"p{index}.png"
        cv2.imwrite(str(path), np.full((8, 8, 3), 100 + 50 * index, np.uint8))
        paths.append(str(path))
    out = tmp_path / "same"
    assert main(["develop", *paths, "-o", str(out), "--name-template", "{camera}", "--overwrite"]) == 1
    assert "already written for" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["unknown-camera.jpg"]
    assert cv2.imread(str(out / "unknown-camera.jpg"))[4, 4, 0] in range(95, 106)  # the first photo's


@pytest.mark.parametrize("extra, message", [
    (["--resize", "long:abc"], "--resize"), (["--resize", "huge:12"], "--resize"), (["--resize", "mp:0"], "--resize"),
    (["--upscale"], "--upscale needs --resize"), (["--colorspace", "prophoto"], "--colorspace"),
    (["--output-sharpening", "web"], "--output-sharpening"), (["--output-sharpening", "print:max"], "amount"),
    (["--name-template", "{name}_{lens}"], "unknown placeholder {lens}"), (["--name-template", "x/{name}"], "not allowed"),
    (["-o", "single.jpg", "--name-template", "{name}"], "-o must be a folder"),
])
def test_usage_errors_exit_2_with_one_line(photo_file, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["develop", str(photo_file), *extra])
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]
