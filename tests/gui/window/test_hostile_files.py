"""Hostile files in the window: each one opened ends in an error dialog naming it, never a crash or a hang."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt

from photolab.core import io

from ..conftest import open_and_wait, scene_image


HUGE = "huge.png"  # its header claims 65535 x 65535 pixels


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def hostile_files(folder: Path) -> list[Path]:
    """Truncated PNG and JPEG, an empty JPEG, a text file named .dng, a truncated DNG, a symlink loop, a folder
    named photo.jpg, a FIFO, and a PNG whose header claims 65535 x 65535 pixels."""
    from utils.dng import write_dng

    folder.mkdir()
    good_png, good_jpg, good_dng = folder / "good.png", folder / "good.jpg", folder / "good.dng"
    cv2.imwrite(str(good_png), scene_image())
    cv2.imwrite(str(good_jpg), scene_image())
    write_dng(good_dng, scene_image(128, 96)[..., ::-1].copy())
    files = {name: folder / name for name in ("truncated.png", "truncated.jpg", "empty.jpg", "text.dng",
                                              "truncated.dng", "loop.jpg", "photo.jpg", "fifo.png", HUGE)}
    files["truncated.png"].write_bytes(good_png.read_bytes()[:200])
    files["truncated.jpg"].write_bytes(good_jpg.read_bytes()[:300])
    files["empty.jpg"].write_bytes(b"")
    files["text.dng"].write_text("Not a raw file, only text with a .dng name.\n" * 20)
    files["truncated.dng"].write_bytes(good_dng.read_bytes()[:1000])
    os.symlink(folder / "loop-b.jpg", files["loop.jpg"])
    os.symlink(files["loop.jpg"], folder / "loop-b.jpg")
    files["photo.jpg"].mkdir()
    os.mkfifo(files["fifo.png"])
    header = struct.pack(">IIBBBBB", 65535, 65535, 8, 2, 0, 0, 0)
    files[HUGE].write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
                                  + png_chunk(b"IDAT", zlib.compress(b"\x00" * 196606)) + png_chunk(b"IEND", b""))
    for path in (good_png, good_jpg, good_dng):
        path.unlink()
    return list(files.values())


def open_expecting_an_error(qtbot, window, recorded_dialogs, path) -> str:
    errors = len(recorded_dialogs.errors)
    window.open_path(path)
    qtbot.waitUntil(lambda: len(recorded_dialogs.errors) > errors, timeout=10000)
    qtbot.waitUntil(lambda: not window.runner.active_jobs(), timeout=10000)
    assert len(recorded_dialogs.errors) == errors + 1
    return recorded_dialogs.errors[-1]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links")
def test_every_hostile_file_ends_in_an_error_dialog(qtbot, window, recorded_dialogs, tmp_path, png_photo):
    open_and_wait(qtbot, window, png_photo)
    for path in hostile_files(tmp_path / "hostile"):
        if path.name == HUGE:
            continue  # its own test, below
        message = open_expecting_an_error(qtbot, window, recorded_dialogs, path)
        assert path.name in message, message
        assert window.document.path == png_photo  # the photo shown before stays
    assert not recorded_dialogs.warnings
    window.develop.sliders["exposure.ev"].spin.setValue(0.5)  # and the window still works
    qtbot.waitUntil(lambda: window.viewer.displayed.recipe == window.document.recipe, timeout=10000)


def test_a_png_claiming_65535_squared_pixels_ends_in_an_error_dialog(qtbot, window, recorded_dialogs, tmp_path):
    pytest.importorskip("photolab.core.headers", reason="without the readers' header checks Pillow's getexif() "
                        "decodes the whole PNG before the pixel guard: seconds and gigabytes")
    huge = next(path for path in hostile_files(tmp_path / "hostile") if path.name == HUGE)
    assert HUGE in open_expecting_an_error(qtbot, window, recorded_dialogs, huge)
    assert window.document is None


@pytest.mark.parametrize("error", [ValueError("bad value in a tag"), MemoryError(), RecursionError("too deep"),
                                   KeyError("Orientation"), SystemExit(3)], ids=lambda error: type(error).__name__)
def test_any_error_from_a_reader_ends_in_an_error_dialog(qtbot, window, recorded_dialogs, png_photo, monkeypatch,
                                                          error):
    def broken(path, *args, **kwargs):
        raise error

    monkeypatch.setattr(io, "read_preview", broken)
    monkeypatch.setattr(io, "read_photo", broken)
    message = open_expecting_an_error(qtbot, window, recorded_dialogs, png_photo)
    assert "scene.png" in message and window.document is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links")
def test_hostile_frames_are_listed_as_unreadable_in_the_merge_dialog(qtbot, tmp_path, recorded_dialogs, monkeypatch):
    from photolab.gui.merge.dialog import HDR, MergeDialog

    paths = [path for path in hostile_files(tmp_path / "hostile") if path.name != HUGE]  # see the test of HUGE above
    dialog = MergeDialog(HDR)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths)
    texts = {Path(dialog.files.item(i).data(Qt.ItemDataRole.UserRole)).name: dialog.files.item(i).text()
             for i in range(dialog.files.count())}
    for name in ("truncated.jpg", "empty.jpg", "text.dng", "loop.jpg", "photo.jpg", "fifo.png"):
        assert "Cannot be read" in texts[name], texts[name]
    qtbot.waitUntil(lambda: dialog.thumbnails_pending() == 0, timeout=20000)

    def broken(path):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(io, "read_metadata", broken)  # not one of PhotoLab's own errors
    dialog.set_paths([tmp_path / "a.png", tmp_path / "b.png"])
    assert "Cannot be read (unpack requires a buffer of 4 bytes)" in dialog.files.item(0).text()
