"""Folder datasets: every validation message (empty, missing, one class, too few, corrupt, unsupported,
duplicates, imbalance, stray files), progress and cancel (the datasets fed to training: test_dataset.py)."""

import json
import os

import numpy as np
from PIL import Image

from photolab.jobs import Job, JobState
from photolab.models.training.data import scan_folder


def write_image(path, seed, size=(24, 32)):
    """A small random PNG (distinct content per seed, so no accidental duplicates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def make_classes(root, counts, start=0):
    seed = start
    for name, count in counts.items():
        for i in range(count):
            write_image(root / name / f"img{i}.png", seed)
            seed += 1


def codes(report):
    return {issue.code: issue for issue in report.issues}


def test_a_clean_folder_is_ok_with_sorted_classes_and_every_image(tmp_path):
    make_classes(tmp_path, {"robin": 6, "Blackbird": 6})
    report = scan_folder(tmp_path, recommended_images=6)
    assert report.ok and report.issues == []
    assert report.classes == ["Blackbird", "robin"]
    assert report.counts == {"Blackbird": 6, "robin": 6}
    assert sorted(report.labels) == [0] * 6 + [1] * 6
    assert all(path.parent.name == report.classes[label] for path, label in report.items)
    json.dumps(report.to_dict())


def test_missing_and_empty_folders_are_errors(tmp_path):
    missing = scan_folder(tmp_path / "nope")
    assert not missing.ok and "not_found" in codes(missing)
    empty = scan_folder(tmp_path)
    assert not empty.ok and "empty" in codes(empty)
    assert "one folder per class" in codes(empty)["empty"].message


def test_class_folders_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    report = scan_folder(tmp_path)
    assert {"no_images", "too_few_images"} <= set(codes(report))
    assert "a (0)" in codes(report)["too_few_images"].message


def test_a_single_class_is_an_error(tmp_path):
    make_classes(tmp_path, {"only": 8})
    report = scan_folder(tmp_path)
    assert not report.ok and "too_few_classes" in codes(report)


def test_too_few_images_is_an_error_and_few_is_a_warning(tmp_path):
    make_classes(tmp_path, {"cats": 3, "dogs": 7, "owls": 25})
    report = scan_folder(tmp_path)
    issues = codes(report)
    assert not report.ok
    assert issues["too_few_images"].severity == "error" and "cats (3)" in issues["too_few_images"].message
    assert issues["few_images"].severity == "warning" and "dogs (7)" in issues["few_images"].message
    assert "owls" not in issues["few_images"].message


def test_corrupt_files_are_listed_and_skipped(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    good = (tmp_path / "b" / "img0.png").read_bytes()
    (tmp_path / "b" / "truncated.png").write_bytes(good[: len(good) // 3])
    (tmp_path / "b" / "empty.jpg").write_bytes(b"")
    report = scan_folder(tmp_path)
    assert report.ok, report.summary()
    bad = {path.name for path, _ in report.unreadable}
    assert bad == {"broken.jpg", "truncated.png", "empty.jpg"}
    assert all(reason for _, reason in report.unreadable)
    assert report.counts == {"a": 5, "b": 5}
    assert codes(report)["unreadable"].severity == "warning"
    assert any("truncated.png" in path for path in codes(report)["unreadable"].paths)


def test_corrupt_files_are_kept_when_images_are_not_decoded(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    (tmp_path / "a" / "broken.jpg").write_bytes(b"not a jpeg at all")
    report = scan_folder(tmp_path, check_images=False)
    assert report.counts["a"] == 6 and report.unreadable == []


def test_unsupported_and_hidden_files_are_ignored(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    (tmp_path / "a" / "notes.txt").write_text("hello")
    Image.new("RGB", (20, 20)).save(tmp_path / "b" / "anim.gif")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"junk")
    write_image(tmp_path / "a" / ".hidden" / "x.png", 999)
    write_image(tmp_path / ".thumbs" / "y.png", 998)
    report = scan_folder(tmp_path)
    assert report.ok and report.classes == ["a", "b"]
    assert sorted(p.name for p in report.unsupported) == ["anim.gif", "notes.txt"]
    assert codes(report)["unsupported"].severity == "info"
    assert report.counts == {"a": 5, "b": 5}


def test_images_in_nested_folders_count_for_their_class(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 4})
    write_image(tmp_path / "b" / "2023" / "summer" / "deep.png", 500)
    report = scan_folder(tmp_path)
    assert report.counts == {"a": 5, "b": 5} and report.ok


def test_duplicates_across_classes_are_left_out_of_both(tmp_path):
    make_classes(tmp_path, {"a": 6, "b": 6})
    (tmp_path / "b" / "copy.png").write_bytes((tmp_path / "a" / "img0.png").read_bytes())
    report = scan_folder(tmp_path)
    issue = codes(report)["duplicate_across_classes"]
    assert issue.severity == "warning" and "a/img0.png = b/copy.png" in issue.paths[0]
    assert report.counts == {"a": 5, "b": 6}
    assert all(p.name != "copy.png" and p != tmp_path / "a" / "img0.png" for p, _ in report.items)


def test_duplicates_within_a_class_keep_one_copy(tmp_path):
    make_classes(tmp_path, {"a": 6, "b": 6})
    (tmp_path / "a" / "zcopy.png").write_bytes((tmp_path / "a" / "img1.png").read_bytes())
    report = scan_folder(tmp_path)
    assert codes(report)["duplicate_within_class"].severity == "info"
    assert report.counts == {"a": 6, "b": 6}
    assert report.duplicates == [(tmp_path / "a" / "img1.png", tmp_path / "a" / "zcopy.png")]


def test_class_imbalance_is_a_warning(tmp_path):
    make_classes(tmp_path, {"few": 5, "many": 16})
    report = scan_folder(tmp_path, recommended_images=5)
    issue = codes(report)["imbalance"]
    assert report.ok and issue.severity == "warning"
    assert "many has 16" in issue.message and "few only 5" in issue.message
    balanced = tmp_path / "balanced"
    make_classes(balanced, {"x": 5, "y": 15}, start=100)
    assert "imbalance" not in codes(scan_folder(balanced, recommended_images=5))


def test_stray_files_at_the_top_are_reported(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    write_image(tmp_path / "loose.png", 77)
    report = scan_folder(tmp_path)
    assert report.ok and "loose.png" in codes(report)["stray_files"].paths[0]


def test_summary_names_counts_and_problems(tmp_path):
    make_classes(tmp_path, {"a": 2, "b": 5})
    for i in range(7):
        (tmp_path / "b" / f"bad{i}.jpg").write_bytes(b"garbage")
    text = scan_folder(tmp_path).summary()
    assert "a: 2" in text and "b: 5" in text
    assert "ERROR: too few images in a (2)" in text
    assert "WARNING: 7 file(s) cannot be read" in text and "... and 2 more" in text


def test_scanning_reports_progress_and_can_be_cancelled(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    fractions = []
    job = Job(lambda context: scan_folder(tmp_path, context=context))
    job.on_progress(lambda fraction, message: fractions.append(fraction))
    report = job.run()
    assert job.state is JobState.FINISHED and report.ok
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 10
    cancelled = Job(lambda context: scan_folder(tmp_path, context=context))
    cancelled.on_progress(lambda fraction, message: cancelled.cancel())
    assert cancelled.run() is None and cancelled.state is JobState.CANCELLED


def test_images_too_small_or_too_elongated_are_left_out_before_training(tmp_path):
    make_classes(tmp_path, {"a": 6, "b": 6})
    for i in range(3):
        write_image(tmp_path / "a" / f"dot{i}.png", 300 + i, size=(1, 1))
        write_image(tmp_path / "b" / f"strip{i}.png", 400 + i, size=(100, 4000))
    write_image(tmp_path / "b" / "thin.png", 500, size=(10, 4000))
    report = scan_folder(tmp_path)
    assert report.ok and report.counts == {"a": 6, "b": 6}
    reasons = {path.name: reason for path, reason in report.unsuitable}
    assert set(reasons) == {"dot0.png", "dot1.png", "dot2.png", "strip0.png", "strip1.png", "strip2.png", "thin.png"}
    assert reasons["dot0.png"] == "1x1 px is too small to train on (each side needs at least 16 px)"
    assert reasons["strip0.png"] == "4000x100 px is too elongated to train on (more than 20:1)"
    assert reasons["thin.png"] == "4000x10 px is too small to train on (each side needs at least 16 px)"
    issue = codes(report)["unsuitable"]
    assert issue.severity == "warning" and any(p.endswith("dot0.png: " + reasons["dot0.png"]) for p in issue.paths)


def test_a_class_of_only_unsuitable_images_is_an_error_at_the_check(tmp_path):
    make_classes(tmp_path, {"b": 6})
    for i in range(6):
        write_image(tmp_path / "a" / f"dot{i}.png", 300 + i, size=(1, 1))
        write_image(tmp_path / "c" / f"strip{i}.png", 400 + i, size=(4000, 10))
    report = scan_folder(tmp_path)
    assert not report.ok
    assert "too few images in a (0), c (0)" in codes(report)["too_few_images"].message
    assert len(report.unsuitable) == 12


def test_a_class_folder_linked_to_another_class_is_a_clear_error(tmp_path):
    make_classes(tmp_path, {"A": 6, "B": 6})
    (tmp_path / "C").symlink_to("A")
    (tmp_path / "D").symlink_to(tmp_path / "B" / ".." / "B")
    report = scan_folder(tmp_path)
    assert not report.ok and report.classes == ["A", "B"] and report.counts == {"A": 6, "B": 6}
    messages = [issue.message for issue in report.errors]
    assert messages == [
        "class folder C is a link to the same images as class A: one folder cannot be two classes; remove the "
        "link, or give C its own images",
        "class folder D is a link to the same images as class B: one folder cannot be two classes; remove the "
        "link, or give D its own images"]
    assert "too_few_images" not in codes(report)


def test_a_class_linked_to_the_dataset_folder_is_an_error_not_a_loop(tmp_path):
    make_classes(tmp_path, {"a": 6, "b": 6})
    (tmp_path / "all").symlink_to(".")
    report = scan_folder(tmp_path)
    assert report.classes == ["a", "b"] and "the dataset folder itself" in report.errors[0].message


def test_links_to_files_in_another_class_are_cross_class_duplicates(tmp_path):
    make_classes(tmp_path, {"a": 6, "b": 6})
    (tmp_path / "b" / "alias.png").symlink_to(tmp_path / "a" / "img0.png")
    report = scan_folder(tmp_path)
    assert "a/img0.png = b/alias.png" in codes(report)["duplicate_across_classes"].paths[0]
    assert report.counts == {"a": 5, "b": 6}


def test_folder_links_inside_a_class_are_followed_once_and_loops_are_cut(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 6})
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    write_image(outside / "extra.png", 900)
    (tmp_path / "a" / "more").symlink_to(outside)  # a link to images elsewhere: followed
    (tmp_path / "a" / "again").symlink_to(".")  # back to the class folder: a loop
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "up").symlink_to("..")  # a loop two levels down
    (tmp_path / "a" / "other").symlink_to(tmp_path / "b")  # into another class: not followed
    write_image(tmp_path / "a" / "x.jpg" / "inside.png", 901)  # a folder named like a photo
    report = scan_folder(tmp_path)
    assert report.ok, report.summary()
    assert report.counts == {"a": 7, "b": 6}
    skipped = codes(report)["links_not_followed"].paths
    assert sorted(path.split(" -> ")[0].rsplit("/", 1)[1] for path in skipped) == ["again", "other", "up"]


def test_special_files_in_a_class_are_reported_without_blocking(tmp_path):
    make_classes(tmp_path, {"a": 5, "b": 5})
    os.mkfifo(tmp_path / "a" / "pipe.jpg")
    (tmp_path / "a" / "m.dng").symlink_to("m.dng")
    (tmp_path / "b" / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "b" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    for check_images in (True, False):
        report = scan_folder(tmp_path, check_images=check_images)
        reasons = {path.name: reason for path, reason in report.unreadable}
        assert set(reasons) == {"pipe.jpg", "m.dng", "zero.png", "gone.jpg"}
        assert "FIFO" in reasons["pipe.jpg"] and "loops" in reasons["m.dng"]
        assert "character device" in reasons["zero.png"] and "does not exist" in reasons["gone.jpg"]
        assert report.counts == {"a": 5, "b": 5}
