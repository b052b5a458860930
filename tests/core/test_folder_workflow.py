"""The core of the folder workflow: ratings in the sidecar, listing a folder, thumbnails and their cache,
pasting settings onto many sidecars, and the batch export job."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from photolab.batch_export import BatchOptions, export_batch
from photolab.core import thumbnails
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.errors import FileAccessError, PhotoLabError, RecipeError
from photolab.core.folder import expand_paths, list_photos
from photolab.core.rating import Rating, matches, read_rating, set_rating
from photolab.core.recipe import Recipe, copy_settings, load_sidecar, save_sidecar, sidecar_path
from photolab.core.settings_batch import paste_onto_files
from photolab.jobs import Job, JobState
from utils.dng import append_jpeg_preview, write_dng

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def png(path: Path, colour=(40, 120, 200), size=(48, 32)) -> Path:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:] = colour
    cv2.imwrite(str(path), image)
    return path


# --- ratings --------------------------------------------------------------------------------------------
def test_an_old_sidecar_without_a_rating_reads_as_unrated_and_keeps_its_recipe_when_rated(tmp_path):
    photo = png(tmp_path / "old.png")
    shutil.copy(FIXTURES / "sidecar_before_operation_versions.photolab.json", sidecar_path(photo))
    recipe, warning = load_sidecar(photo)
    assert warning is None and not recipe.is_neutral
    assert read_rating(photo) == Rating(0, False)
    assert set_rating(photo, stars=4) == Rating(4, False)
    assert set_rating(photo, rejected=True) == Rating(4, True)
    assert load_sidecar(photo) == (recipe, None)
    data = json.loads(sidecar_path(photo).read_text())
    assert data["rating"] == 4 and data["rejected"] is True


def test_saving_the_recipe_keeps_the_rating_and_rating_a_photo_without_sidecar_writes_a_neutral_one(tmp_path):
    photo = png(tmp_path / "new.png")
    set_rating(photo, stars=2)
    assert load_sidecar(photo) == (Recipe(), None)
    edited = Recipe().with_params("exposure", ExposureParams(ev=0.5))
    save_sidecar(photo, edited)
    assert read_rating(photo) == Rating(2) and load_sidecar(photo)[0] == edited


def test_bad_ratings_and_unreadable_sidecars_are_refused(tmp_path):
    photo = png(tmp_path / "p.png")
    for bad in (-1, 6, 2.5, True):
        with pytest.raises(ValueError):
            set_rating(photo, stars=bad)
    with pytest.raises(FileNotFoundError):
        set_rating(tmp_path / "missing.png", stars=1)
    sidecar_path(photo).write_text("{broken")
    with pytest.raises(RecipeError, match="invalid JSON"):
        read_rating(photo)
    with pytest.raises(RecipeError, match="cannot read"):
        set_rating(photo, stars=3)
    assert sidecar_path(photo).read_text() == "{broken"
    data = Recipe().to_dict() | {"rating": 9}
    sidecar_path(photo).write_text(json.dumps(data))
    with pytest.raises(RecipeError, match="invalid rating"):
        read_rating(photo)


def test_the_rating_filter():
    assert matches(Rating(3), min_stars=3) and not matches(Rating(2), min_stars=3)
    assert matches(Rating(5, True), min_stars=1) and not matches(Rating(5, True), rejected="exclude")
    assert matches(Rating(0, True), rejected="only") and not matches(Rating(4), rejected="only")
    with pytest.raises(ValueError):
        matches(Rating(), rejected="maybe")


# --- folders --------------------------------------------------------------------------------------------
def test_a_folder_lists_its_photos_in_natural_order(tmp_path):
    for name in ("IMG_10.png", "img_2.PNG", "IMG_1.dng", ".hidden.png", "notes.txt", "IMG_1.dng.photolab.json"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_photos(tmp_path)] == ["IMG_1.dng", "img_2.PNG", "IMG_10.png"]
    assert expand_paths([tmp_path / "notes.txt", tmp_path]) == [tmp_path / "notes.txt", *list_photos(tmp_path)]
    assert list_photos(tmp_path / "sub.png") == []
    with pytest.raises(FileAccessError, match="no such folder"):
        list_photos(tmp_path / "missing")
    with pytest.raises(FileAccessError, match="not a folder"):
        list_photos(tmp_path / "notes.txt")


# --- thumbnails -----------------------------------------------------------------------------------------
def raw_with_preview(path: Path, preview_colour=(250, 20, 20), orientation=None) -> Path:
    scene = np.full((96, 128, 3), 90, np.uint8)  # grey sensor data, so the red thumbnail can only be the preview
    write_dng(path, scene, orientation=orientation)
    preview = np.zeros((300, 400, 3), np.uint8)
    preview[:] = preview_colour
    preview[:, :40] = (0, 0, 255)  # a blue band on the left, to see the rotation
    append_jpeg_preview(path, preview)
    return path


def test_a_raw_thumbnail_comes_from_its_embedded_preview_oriented_and_is_cached(tmp_path, cache):
    photo = raw_with_preview(tmp_path / "a.dng")
    pixels = thumbnails.thumbnail(photo, 200)
    assert pixels.shape == (150, 200, 3) and pixels.dtype == np.uint8
    assert pixels[75, 150, 0] > 200 and pixels[75, 150, 1] < 60  # red: the embedded preview
    assert pixels[75, 5, 2] > 200  # the blue band still on the left
    cached = thumbnails.cache_path(photo, 200)
    assert cached.is_file() and cached.is_relative_to(cache)
    cv2.imwrite(str(cached), np.zeros((10, 20, 3), np.uint8))  # the cache is what is read next time
    assert thumbnails.thumbnail(photo, 200).shape == (10, 20, 3)
    turned = raw_with_preview(tmp_path / "turned.dng", orientation=6)  # 90° clockwise
    pixels = thumbnails.thumbnail(turned, 200)
    assert pixels.shape == (200, 150, 3) and pixels[5, 75, 2] > 200  # the left band is now on top


def test_the_cache_is_pruned_least_recently_used_first(tmp_path, cache):
    photos = [png(tmp_path / f"p{index}.png", colour=(index * 60, 90, 200)) for index in range(3)]
    cached = []
    for age, photo in enumerate(photos):
        thumbnails.thumbnail(photo)
        cached.append(thumbnails.cache_path(photo))
        os.utime(cached[-1], ns=(age * 10**9, age * 10**9))
    thumbnails.thumbnail(photos[0])  # used again: now the newest
    sizes = [path.stat().st_size for path in cached]
    assert thumbnails.prune_cache(sizes[0] + sizes[2]) == 1
    assert [path.exists() for path in cached] == [True, False, True]
    assert thumbnails.prune_cache(0) == 2 and not any(cache.rglob("*.jpg"))


def test_without_an_embedded_preview_the_photo_itself_is_read(tmp_path):
    plain = tmp_path / "plain.dng"
    write_dng(plain, np.full((96, 128, 3), 90, np.uint8))
    assert thumbnails.embedded_preview(plain) is None
    pixels = thumbnails.thumbnail(plain, 64)
    assert pixels.shape == (48, 64, 3) and abs(int(pixels[24, 32, 1]) - 90) < 40
    assert thumbnails.thumbnail(png(tmp_path / "p.png", size=(300, 100)), 60).shape == (20, 60, 3)


def test_a_damaged_photo_has_no_thumbnail_but_a_message(tmp_path, cache):
    broken = tmp_path / "broken.dng"
    broken.write_bytes(b"II*\x00" + b"\x00" * 40)
    with pytest.raises(PhotoLabError, match="broken.dng"):
        thumbnails.thumbnail(broken)
    assert not any(cache.rglob("*.jpg"))


# --- pasting onto many photos ---------------------------------------------------------------------------
def test_pasting_onto_several_sidecars_keeps_their_other_settings_and_ratings(tmp_path):
    first, second, damaged = (png(tmp_path / f"{name}.png") for name in ("a", "b", "c"))
    save_sidecar(first, Recipe().with_params("contrast", ContrastParams(amount=0.4)))
    set_rating(first, stars=5)
    sidecar_path(damaged).write_text("not json")
    settings = copy_settings(Recipe().with_params("exposure", ExposureParams(ev=1.0)))
    outcome = paste_onto_files([first, second, damaged, tmp_path / "gone.png"], settings)
    assert outcome.changed == [first, second]
    assert [path.name for path, _ in outcome.errors] == ["c.png", "gone.png"]
    assert load_sidecar(first)[0] == Recipe().with_params("contrast", ContrastParams(amount=0.4)).with_params(
        "exposure", ExposureParams(ev=1.0))
    assert read_rating(first) == Rating(5) and load_sidecar(second)[0] == settings.recipe
    assert sidecar_path(damaged).read_text() == "not json"


# --- batch export ---------------------------------------------------------------------------------------
def test_a_batch_exports_every_photo_with_its_sidecar_and_lists_the_failures(tmp_path):
    photos = [png(tmp_path / f"p{i}.png", colour=(100, 100, 100)) for i in range(3)]
    save_sidecar(photos[1], Recipe().with_params("exposure", ExposureParams(ev=1.0)))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    out.mkdir()
    job = Job(export_batch, [*photos, broken], BatchOptions(file_format="png", name_template="{seq}_{name}",
                                                             output_dir=out), workers=2)
    outcome = job.run()
    assert job.state is JobState.FINISHED
    assert [target.name for _, target in outcome.written] == ["1_p0.png", "2_p1.png", "3_p2.png"]
    assert len(outcome.errors) == 1 and outcome.errors[0][0] == broken and "broken.jpg" in outcome.errors[0][1]
    levels = [cv2.imread(str(target)).mean() for _, target in outcome.written]
    assert levels[1] > levels[0] + 30 and abs(levels[0] - levels[2]) < 1
    again = Job(export_batch, photos[:1], BatchOptions(file_format="png", name_template="{seq}_{name}",
                                                       output_dir=out)).run()
    assert again.written[0][1].name == "1_p0-1.png"  # never replaces a file


def test_a_cancelled_batch_leaves_no_partial_file(tmp_path, monkeypatch):
    import photolab.batch_export as batch

    photos = [png(tmp_path / f"p{i}.png") for i in range(4)]
    started = threading.Event()
    original = batch.develop_file

    def slow_develop(context, source, target, recipe, **options):
        started.set()
        for _ in range(200):  # stops at a cancellation point, as a long render does
            context.progress(0.1, "Developing")
            threading.Event().wait(0.01)
        return original(context, source, target, recipe, **options)

    monkeypatch.setattr(batch, "develop_file", slow_develop)
    job = Job(export_batch, photos, BatchOptions(file_format="jpg"), workers=2)
    runner = threading.Thread(target=job.run)
    runner.start()
    assert started.wait(10)
    job.cancel()
    runner.join(10)
    assert job.state is JobState.CANCELLED
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"p{i}.png" for i in range(4)]


def test_a_batch_cancelled_while_a_file_is_being_written_removes_it(tmp_path, monkeypatch):
    from photolab.core import export

    photos = [png(tmp_path / f"p{i}.png") for i in range(3)]
    written_temporaries = []
    job = None
    real_writer = export._WRITERS["jpg"]

    def write_then_cancel(path, encoded, output):
        real_writer(path, encoded, output)
        written_temporaries.append(Path(path))
        assert Path(path).stat().st_size > 0  # a whole temporary file exists now ...
        job.cancel()  # ... when the user cancels

    monkeypatch.setitem(export._WRITERS, "jpg", write_then_cancel)
    job = Job(export_batch, photos, BatchOptions(file_format="jpg"), workers=1)
    job.run()
    assert job.state is JobState.CANCELLED and written_temporaries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p0.png", "p1.png", "p2.png"]  # ... and it is gone
