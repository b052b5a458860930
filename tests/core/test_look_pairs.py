"""Learned looks' pairs: discovery in both layouts and every check (sizes, crops, turns, shifts, scenes,
transparency, 16-bit, colour space)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from photolab.core.icc import icc_profile
from photolab.core.look_pairs import (MIN_PAIRS, LookPairsError, PairRefused, load_look_pairs, match_pair,
                                      scan_look_pairs)
from photolab.core.recipe import Recipe, save_sidecar
from photolab.core.develop.exposure import ExposureParams
from utils.look_pairs import make_pairs, photo, warm_look, write_rgb


def test_pairs_are_matched_by_name_and_the_rest_reported_unpaired(tmp_path):
    root = make_pairs(tmp_path / "pairs", 5)
    write_rgb(root / "before" / "lonely.png", photo(0))
    write_rgb(root / "after" / "orphan.jpg", photo(1))
    scan = scan_look_pairs(root)
    assert scan.layout == "before/after" and [p.name for p in scan.pairs] == [f"p{i}" for i in range(5)]
    assert sorted((p.name, why) for p, why in scan.unpaired) == [
        ("lonely.png", "no after of the same name"), ("orphan.jpg", "no before of the same name")]
    assert scan.problems() == []


def test_a_raw_or_jpeg_before_pairs_with_an_after_of_another_extension(tmp_path):
    root = make_pairs(tmp_path / "pairs", 4)
    (root / "after" / "p0.png").rename(root / "after" / "p0.jpg")
    assert [p.after.name for p in scan_look_pairs(root).pairs][0] == "p0.jpg"


def test_too_few_pairs_missing_folders_and_empty_folders_are_clear_errors(tmp_path):
    root = make_pairs(tmp_path / "few", MIN_PAIRS - 1)
    with pytest.raises(LookPairsError, match=f"only 3 pair.*at least {MIN_PAIRS}"):
        load_look_pairs(scan_look_pairs(root))
    with pytest.raises(LookPairsError, match="no such folder"):
        scan_look_pairs(tmp_path / "missing")
    (tmp_path / "half" / "after").mkdir(parents=True)
    with pytest.raises(LookPairsError, match="no before/ folder"):
        scan_look_pairs(tmp_path / "half")
    (tmp_path / "empty").mkdir()
    assert "no pairs found" in scan_look_pairs(tmp_path / "empty").problems()[0]


def test_load_reads_every_pair_aligned_with_nothing_to_report(tmp_path):
    data = load_look_pairs(scan_look_pairs(make_pairs(tmp_path / "pairs", 4)))
    assert len(data.pairs) == 4 and data.refused == []
    for pair in data.pairs:
        assert pair.before.shape == pair.after.shape == (128, 192, 3) and pair.notes == []
        np.testing.assert_allclose(pair.after, np.round(warm_look(pair.before) * 255) / 255, atol=1.5 / 255)


def test_an_after_of_another_size_is_resized_and_a_turned_one_turned_back():
    before = photo(0)
    bigger = cv2.resize(warm_look(before), (384, 256), interpolation=cv2.INTER_CUBIC)
    b, a, notes = match_pair(before, bigger)
    assert a.shape == b.shape == (256, 384, 3) and any("sizes differ" in n for n in notes)
    turned = np.rot90(warm_look(before))
    b, a, notes = match_pair(before, turned)
    assert any("turned back" in n for n in notes) and a.shape == before.shape
    np.testing.assert_allclose(a, warm_look(before), atol=1e-6)


def test_a_small_shift_is_registered():
    big = cv2.resize(photo(2), (384, 256))
    before = big[10:138, 10:202]
    after = warm_look(big[13:141, 8:200])  # the after is shifted by (-2, +3) px
    b, a, notes = match_pair(before, after)
    assert any("registered" in n for n in notes), notes
    assert b.shape == a.shape and b.shape[0] <= 126 and b.shape[1] <= 190
    assert np.abs(warm_look(b) - a).mean() < 0.03


def test_a_crop_of_the_before_is_found_and_the_before_cut_to_it():
    before = cv2.resize(photo(3), (576, 384), interpolation=cv2.INTER_CUBIC)
    after = warm_look(before[96:288, 144:432])
    b, a, notes = match_pair(before, after)
    assert any("a crop" in n for n in notes), notes
    assert np.abs(warm_look(b) - a).mean() < 0.03


def test_different_scenes_and_wildly_different_sizes_are_refused():
    with pytest.raises(PairRefused, match="same scene"):
        match_pair(photo(0), warm_look(photo(2)))
    with pytest.raises(PairRefused, match="differ too much in size"):
        match_pair(photo(0), cv2.resize(photo(0), (16, 11)))


def test_transparent_images_are_refused_opaque_alpha_and_16_bit_are_read(tmp_path):
    root = make_pairs(tmp_path / "pairs", 5)
    rgba = np.dstack([np.round(photo(0) * 255).astype(np.uint8), np.full((128, 192), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "after" / "p0.png")
    rgba[:10, :10, 3] = 0
    Image.fromarray(rgba, "RGBA").save(root / "after" / "p1.png")
    write_rgb(root / "before" / "p2.png", photo(2), np.uint16)
    data = load_look_pairs(scan_look_pairs(root))
    assert [name for name, _ in data.refused] == ["p1"]
    assert "transparent pixels" in data.refused[0][1]
    notes = data.summary()["notes"]
    assert any("alpha channel is opaque" in n for n in notes) and any("16-bit" in n for n in notes)


def test_an_after_in_another_colour_space_is_converted_to_srgb(tmp_path):
    root = make_pairs(tmp_path / "pairs", 4)
    image = Image.open(root / "after" / "p0.png")
    image.save(root / "after" / "p0.png", icc_profile=icc_profile("display-p3"))
    data = load_look_pairs(scan_look_pairs(root))
    assert any("converted from Display P3" in n for n in data.summary()["notes"])
    plain = np.asarray(image, np.float32) / 255
    assert np.abs(data.pairs[0].after - plain).mean() > 0.005  # P3 values re-expressed in sRGB


def test_unpaired_and_mismatched_files_leave_too_few_pairs_with_the_reasons(tmp_path):
    root = make_pairs(tmp_path / "pairs", 4)
    write_rgb(root / "after" / "p1.png", warm_look(photo(4)))
    with pytest.raises(LookPairsError, match="only 3 usable pair.*p1: .*same scene"):
        load_look_pairs(scan_look_pairs(root))


def test_photos_with_sidecars_give_rendered_pairs(tmp_path):
    root = tmp_path / "edited"
    for index in range(5):
        path = write_rgb(root / f"photo{index}.png", photo(index))
        if index < 4:
            save_sidecar(path, Recipe().with_params("exposure", ExposureParams(0.5)))
    save_sidecar(root / "photo4.png", Recipe())
    scan = scan_look_pairs(root)
    assert scan.layout == "sidecars" and len(scan.pairs) == 4
    assert [why for _, why in scan.unpaired] == ["its sidecar has no edits"]
    data = load_look_pairs(scan)
    pair = data.pairs[0]
    np.testing.assert_allclose(pair.before, photo(0), atol=1 / 255)
    assert (pair.after.mean() - pair.before.mean()) > 0.05  # half a stop brighter
    assert json.loads((root / "photo0.png.photolab.json").read_text())  # sidecars untouched and readable
