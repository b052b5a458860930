"""Scanning, checking, reading and aligning a folder of one camera's noisy photos (photolab.core.adapt_folder)."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.adapt_folder import (AdaptDataError, MIN_PHOTOS, align_frame, load_adapt_data, moved_mask,
                                        scan_adapt_folder)
from utils.adapt_photos import make_adapt_folder, noisy_view, write
from utils.noisy import smooth_image


def test_scan_finds_singles_burst_folders_and_time_stamped_bursts(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=3, bursts=2, frames=3, timed_frames=4)
    (folder / "notes.txt").write_text("not a photo")
    scan = scan_adapt_folder(folder)
    assert sorted(p.path.name for p in scan.singles) == ["single-0.png", "single-1.png", "single-2.png"]
    kinds = sorted((b.how, len(b.frames)) for b in scan.bursts)
    assert kinds == [("folder", 3), ("folder", 3), ("time", 4)]
    timed = next(b for b in scan.bursts if b.how == "time")
    assert [f.path.name for f in timed.frames] == [f"timed-{i}.png" for i in range(4)]
    summary = scan.summary()
    assert summary["camera"] == "SimCam Tiny 1" and summary["iso_range"] == [3200.0, 3200.0]
    assert summary["pairs"] == 2 + 2 + 3 and scan.problems() == []


def test_a_sub_folder_with_one_photo_is_a_single(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=3, bursts=1, frames=1)
    scan = scan_adapt_folder(folder)
    assert len(scan.singles) == 4 and scan.bursts == []


def test_an_empty_folder_says_there_are_no_photos(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    problems = scan_adapt_folder(tmp_path / "empty").problems()
    assert len(problems) == 1 and "no photos found" in problems[0]


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(AdaptDataError, match="no such folder"):
        scan_adapt_folder(tmp_path / "nowhere")


def test_mixed_cameras_are_refused_with_the_cameras_and_counts(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=0)
    make_adapt_folder(folder, singles=2, bursts=0, model="Other 2")  # overwrites two singles with another camera
    problems = scan_adapt_folder(folder).problems()
    assert len(problems) == 1
    assert "mixes cameras" in problems[0] and "SimCam Tiny 1 (2)" in problems[0] and "SimCam Other 2 (2)" in problems[0]


def test_too_few_photos(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=MIN_PHOTOS - 1, bursts=0)
    problems = scan_adapt_folder(folder).problems()
    assert problems and f"only {MIN_PHOTOS - 1} usable photo(s)" in problems[0]


def test_corrupt_files_are_skipped_and_named(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=1, frames=3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    truncated = (folder / "single-0.png").read_bytes()
    (folder / "truncated.png").write_bytes(truncated[:len(truncated) // 3])
    scan = scan_adapt_folder(folder)
    data = load_adapt_data(scan)
    names = {path.name for path, _ in data.skipped}
    assert {"broken.jpg", "truncated.png"} <= names
    assert len(data.singles) == 4 and len(data.pairs) == 4


def test_only_corrupt_files_fail(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(5):
        (folder / f"bad-{index}.jpg").write_bytes(b"\xff\xd8\xff\xe0 junk")
    scan = scan_adapt_folder(folder)
    problems = scan.problems()
    if problems:  # the header could not even be read
        assert "no photos found" in problems[0] and "unreadable" in problems[0]
    else:
        with pytest.raises(AdaptDataError, match="none of the photos could be read"):
            load_adapt_data(scan)


def test_clean_photos_are_refused_as_too_clean(tmp_path):
    folder = tmp_path / "photos"
    for index in range(5):  # smooth scenes without noise: nothing to learn from
        pixels = np.round(smooth_image(96 + 8 * index, 128) * 255).astype(np.uint8)
        write(folder / f"clean-{index}.png", pixels)
    with pytest.raises(AdaptDataError, match="too clean to learn from"):
        load_adapt_data(scan_adapt_folder(folder))


def test_loading_measures_auto_noise_and_aligns_bursts_both_ways(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=1, frames=3, sigma=10)
    data = load_adapt_data(scan_adapt_folder(folder))
    assert len(data.pairs) == 4 and all(6 < s < 16 for s in data.sigmas)
    single = data.singles[0]
    assert single.srgb.dtype == np.float32 and single.noise_map.shape == single.srgb.shape[:2]
    assert 0 < float(single.noise_map.mean()) < 30 / 255
    for pair in data.pairs:  # aligned: the difference is only the two frames' noise (2 x sigma^2)
        inside = pair.valid[8:-8, 8:-8]
        difference = (pair.input.srgb - pair.target)[8:-8, 8:-8][inside]
        assert inside.mean() > 0.8 and float(difference.std() * 255) < 10 * np.sqrt(2) * 1.3


def test_align_frame_recovers_a_whole_pixel_shift_without_resampling_the_noise(tmp_path):
    reference = noisy_view(0, 0.0, 0, (0, 0)).astype(np.float32) / 255
    moved = noisy_view(0, 0.0, 0, (3, -2)).astype(np.float32) / 255  # content moved up 3 and right 2
    aligned, valid = align_frame(reference, moved)
    inner = (slice(12, -12), slice(12, -12))
    assert float(np.abs(aligned[inner] - reference[inner]).max()) < 1e-6
    assert valid[inner].all()
    noisy = moved + np.random.default_rng(0).standard_normal(moved.shape).astype(np.float32) * 0.03
    pulled, _ = align_frame(reference, noisy)
    assert np.isin(pulled, noisy).all()  # nearest resampling: every value comes from the frame as it was


def test_moved_mask_marks_what_moved():
    rng = np.random.default_rng(1)
    base = rng.random((64, 64, 3)).astype(np.float32) * 0.2 + 0.4
    first = base + rng.standard_normal(base.shape).astype(np.float32) * 0.02
    second = base + rng.standard_normal(base.shape).astype(np.float32) * 0.02
    second[:, 40:] = 1.0 - second[:, 40:]
    mask = moved_mask(first, second, sigma=0.02 * 255)
    assert mask[:, :24].mean() > 0.95 and mask[:, 48:].mean() < 0.05


def test_the_user_files_are_never_written(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=1, frames=2)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}
    load_adapt_data(scan_adapt_folder(folder))
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}
    assert before == after
