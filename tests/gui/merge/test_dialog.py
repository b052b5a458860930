"""File > Merge to HDR… / Merge Burst…: the menu entries, the dialog's checks, and a merge that opens its result."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from photolab.core.color import decode_srgb_integer, encode_srgb_integer
from photolab.gui.merge.dialog import BURST, HDR, MergeDialog
from utils.images import load_fixture

TIMES = (1 / 64, 1 / 8, 1.0)


def brackets(folder: Path, times=TIMES) -> list[Path]:
    scene = np.power(decode_srgb_integer(load_fixture("rock_snow_sky")).astype(np.float64) + 2e-3, 1.8) * 40
    paths = []
    for index, time in enumerate(times):
        path = folder / f"frame{index}.png"
        cv2.imwrite(str(path), encode_srgb_integer(np.clip(scene * time, 0, 1).astype(np.float32))[..., ::-1])
        paths.append(path)
    return paths


def file_menu_titles(window) -> list[str]:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    return [a.text().replace("&", "") for a in menu.actions()]


def test_the_window_has_both_merge_commands_in_its_file_menu(window):
    titles = file_menu_titles(window)
    assert "Merge to HDR…" in titles and "Merge Burst…" in titles
    assert titles.index("Merge to HDR…") < titles.index("Export…")


def test_dialog_refuses_incomplete_requests(qtbot, recorded_dialogs, tmp_path):
    dialog = MergeDialog(HDR)
    qtbot.addWidget(dialog)
    dialog.set_paths([tmp_path / "a.png"])
    dialog.accept()
    assert recorded_dialogs.warnings == ["Add at least two frames to merge."]
    dialog.set_paths([tmp_path / "a.png", tmp_path / "b.png"])
    dialog.times.setText("1/100")
    dialog.accept()
    assert "one exposure time per frame" in recorded_dialogs.warnings[-1]
    dialog.times.setText("1/100 1/25")
    request = dialog.request()
    assert request.times == (0.01, 0.04) and request.target == tmp_path / "a_hdr.tif"
    dialog.times.setText("1/100 1/0")
    dialog.accept()
    assert "1/0" in recorded_dialogs.warnings[-1]  # a warning, not a crash


def test_merge_to_hdr_from_the_menu_opens_the_result(qtbot, window, tmp_path, recorded_dialogs):
    paths = brackets(tmp_path)
    target = tmp_path / "merged.tif"

    def fill_and_accept(dialog):
        dialog.set_paths(paths)
        dialog.times.setText("1/64 1/8 1")
        dialog.output.setText(str(target))
        return True

    window.exec_dialog = fill_and_accept
    window.action("merge_hdr").trigger()
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == target
                    and window.document.is_fully_loaded, timeout=20000)
    assert not recorded_dialogs.errors
    pixels = window.document.full_photo.pixels
    assert pixels.shape == (128, 192, 3) and 0.02 < pixels.mean() < 0.8


def test_failed_merge_explains_what_to_enter_and_shows_the_dialog_again(qtbot, window, tmp_path,
                                                                         recorded_dialogs):
    paths = brackets(tmp_path)
    shown = []

    def fill_accept_then_cancel(dialog):
        shown.append((dialog, dialog.paths(), dialog.output.text(), dialog.deghost.isChecked()))
        if len(shown) > 1:
            assert window.runner.unfinished_work() == []  # the failed merge is over
            return False  # the user gives up
        dialog.set_paths(paths)
        dialog.output.setText(str(tmp_path / "out.hdr"))
        dialog.deghost.setChecked(False)
        return True

    window.exec_dialog = fill_accept_then_cancel
    window.action("merge_hdr").trigger()
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=20000)
    assert "no exposure time" in recorded_dialogs.errors[0] and "Exposure times field" in recorded_dialogs.errors[0]
    first, again = shown
    assert again[0] is first[0]  # the same dialog, with everything the user chose
    assert again[1:] == (tuple(str(p) for p in paths), str(tmp_path / "out.hdr"), False)
    assert window.document is None and not (tmp_path / "out.hdr").exists()


def test_burst_dialog_has_a_reference_choice(qtbot, tmp_path):
    dialog = MergeDialog(BURST)
    qtbot.addWidget(dialog)
    dialog.set_paths([tmp_path / "a.png", tmp_path / "b.png"])
    assert dialog.request().reference == "auto" and dialog.request().tonemap == "none"
    dialog.reference.setValue(1)
    assert dialog.request().reference == 1


def test_burst_dialog_offers_to_save_the_merged_dng_beside_the_output(qtbot, tmp_path, recorded_dialogs):
    dialog = MergeDialog(BURST)
    qtbot.addWidget(dialog)
    dialog.set_paths([tmp_path / "a.dng", tmp_path / "b.dng"])
    dialog.output.setText(str(tmp_path / "merged.tif"))
    assert dialog.request().dng is None
    dialog.save_dng.setChecked(True)
    request = dialog.request()
    assert request.dng == tmp_path / "merged.dng" and dialog.output_problem(request) == ""
    dialog.set_paths([tmp_path / "a.png", tmp_path / "b.png"])
    assert "camera RAW" in dialog.output_problem(dialog.request())
    assert MergeDialog(HDR).save_dng.isHidden()


def test_merge_burst_of_raw_frames_from_the_menu_saves_the_dng_and_opens_the_result(qtbot, window, tmp_path,
                                                                                      recorded_dialogs):
    from utils.raw_bursts import make_raw_burst

    big = cv2.resize(load_fixture("mountain_forest"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    burst = make_raw_burst(tmp_path / "burst", big, frames=3, moving_object=False, seed=4)
    target = tmp_path / "merged.tif"

    def fill_and_accept(dialog):
        dialog.set_paths(burst.frames)
        dialog.output.setText(str(target))
        dialog.save_dng.setChecked(True)
        return True

    window.exec_dialog = fill_and_accept
    window.action("merge_burst").trigger()
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == target
                    and window.document.is_fully_loaded, timeout=20000)
    assert not recorded_dialogs.errors and (tmp_path / "merged.dng").exists()
    assert "merged DNG saved as" in window.statusBar().currentMessage()


def dng_brackets(folder: Path) -> list[Path]:
    """Three DNG brackets: 1/200 s at ISO 200, 1/50 s at ISO 400 (8x: +3 EV), 8/25 s at ISO 200 (+6 EV)."""
    from fractions import Fraction

    from utils.dng import ShotInfo, write_dng

    shots = [(Fraction(1, 50), 400), (Fraction(8, 25), 200), (Fraction(1, 200), 200)]  # chosen shuffled
    paths = []
    for index, (time, iso) in enumerate(shots):
        path = folder / f"bracket{index}.dng"
        write_dng(path, load_fixture("rock_snow_sky"), shot=ShotInfo(iso=iso, exposure_time=time), seed=index)
        paths.append(path)
    return paths


def list_texts(dialog) -> list[str]:
    return [dialog.files.item(i).text() for i in range(dialog.files.count())]


def test_hdr_dialog_lists_brackets_by_exposure_with_thumbnails_and_ev(qtbot, tmp_path):
    paths = dng_brackets(tmp_path)
    dialog = MergeDialog(HDR)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths)
    assert [Path(p).name for p in dialog.paths()] == ["bracket2.dng", "bracket0.dng", "bracket1.dng"]
    texts = list_texts(dialog)
    assert texts[0].splitlines()[1:] == ["1/200 s · ISO 200 · f/2.8", "EV 0 (darkest)"]
    assert texts[1].splitlines()[1:] == ["1/50 s · ISO 400 · f/2.8", "EV +3.0"]
    assert texts[2].splitlines()[1:] == ["0.32 s · ISO 200 · f/2.8", "EV +6.0"]
    # prefilled at the darkest frame's ISO, so the times' ratios are the exposures' ratios
    assert dialog.times.text() == "1/200 1/25 0.32"
    request = dialog.request()
    assert request.paths == dialog.paths()
    assert np.allclose(np.array(request.times) / request.times[0], [1, 8, 64])
    qtbot.waitUntil(lambda: dialog.thumbnails_pending() == 0, timeout=20000)
    for row in range(dialog.files.count()):
        icon = dialog.files.item(row).icon()
        assert not icon.isNull()
        size = icon.availableSizes()[0]
        assert 32 <= size.width() <= 160 and size.width() == round(1.5 * size.height())  # the 3:2 fixture
    # a time the user types is kept, also when the list changes
    dialog.times.setText("1/100 1/10")
    dialog.files.item(2).setSelected(True)
    dialog.remove_selected()
    assert [Path(p).name for p in dialog.paths()] == ["bracket2.dng", "bracket0.dng"]
    assert dialog.times.text() == "1/100 1/10" and dialog.request().times == (0.01, 0.1)


def test_frames_without_exposure_metadata_say_so(qtbot, tmp_path):
    paths = brackets(tmp_path)
    dialog = MergeDialog(HDR)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths[::-1])
    assert dialog.paths() == tuple(str(p) for p in paths[::-1])  # nothing to sort by: the chosen order
    for text in list_texts(dialog):
        assert "No exposure time in its metadata" in text and "EV" not in text
    assert "No exposure time recorded for frame2.png, frame1.png, frame0.png" in dialog.summary.text()
    assert dialog.times.text() == "" and dialog.request().times is None
    # mixed: the DNGs sort first, the PNG (unknown exposure) comes last and the times are not prefilled
    dngs = dng_brackets(tmp_path)
    dialog.set_paths([paths[0], dngs[0], dngs[2]])
    assert [Path(p).name for p in dialog.paths()] == ["bracket2.dng", "bracket0.dng", "frame0.png"]
    assert list_texts(dialog)[1].endswith("EV +3.0") and "frame0.png" in dialog.summary.text()
    assert dialog.times.text() == ""
    qtbot.waitUntil(lambda: dialog.thumbnails_pending() == 0, timeout=20000)


def test_quitting_while_a_merge_runs_asks_first(qtbot, window, tmp_path, recorded_dialogs, monkeypatch):
    from photolab.gui.merge import commands as merge_commands
    from photolab.gui.jobs import BACKGROUND
    from photolab.jobs import Job

    started = threading.Event()

    def endless_merge(paths, target, *, context, **options):
        started.set()
        while True:
            context.progress(0.5, "Merging")  # raises once cancelled
            time.sleep(0.01)

    monkeypatch.setattr(merge_commands, "merge_hdr_files", endless_merge)
    paths = brackets(tmp_path)

    def fill_and_accept(dialog):
        dialog.set_paths(paths)
        dialog.times.setText("1/64 1/8 1")
        return True

    window.exec_dialog = fill_and_accept
    window.action("merge_hdr").trigger()
    assert started.wait(5)
    window.runner.submit(Job(lambda context: time.sleep(0.2), title="Rendering"), lane=BACKGROUND,
                         ask_before_quit=False)  # a view that is simply made again: never asked about
    window.close()
    assert recorded_dialogs.questions == ["Merging 3 brackets to HDR is still running. Quit and cancel it?"]
    assert window.isVisible()  # the answer was no
    recorded_dialogs.answers = [True]
    window.close()
    assert not window.isVisible()
    qtbot.waitUntil(lambda: window.runner.unfinished_work() == [], timeout=5000)  # cancelled


def accepted(dialog) -> bool:
    """Press Merge, as the user does: True when the dialog closed with a request."""
    dialog.setResult(MergeDialog.DialogCode.Rejected)
    dialog.accept()
    return dialog.result() == MergeDialog.DialogCode.Accepted


def test_merge_asks_before_replacing_a_file_and_never_writes_over_a_frame(qtbot, tmp_path, recorded_dialogs):
    paths = brackets(tmp_path)
    dialog = MergeDialog(BURST)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths)
    dialog.output.setText(str(paths[1]))
    assert not accepted(dialog) and "frame1.png is one of the frames to merge" in recorded_dialogs.warnings[-1]
    existing = tmp_path / "merged.png"
    existing.write_bytes(b"an earlier merge")
    dialog.output.setText(str(existing))
    recorded_dialogs.answers = [False]
    assert not accepted(dialog) and recorded_dialogs.questions == [f"{existing} already exists. Replace it?"]
    recorded_dialogs.answers = [True]
    assert accepted(dialog) and dialog.request().target == existing
    dialog.output.setText(str(tmp_path))
    assert not accepted(dialog) and "is a folder" in recorded_dialogs.warnings[-1]


def test_merge_never_writes_over_the_photo_in_the_viewer(qtbot, window, tmp_path, recorded_dialogs):
    from ..conftest import open_and_wait

    paths = brackets(tmp_path)
    shown = tmp_path / "shown.png"
    shown.write_bytes(paths[0].read_bytes())
    open_and_wait(qtbot, window, shown)

    def fill_and_press_merge(dialog):
        dialog.set_paths(paths)
        dialog.times.setText("1/64 1/8 1")
        dialog.output.setText(str(shown))
        return accepted(dialog)

    window.exec_dialog = fill_and_press_merge
    window.action("merge_hdr").trigger()
    assert "shown.png is the photo open in the viewer" in recorded_dialogs.warnings[-1]
    assert not recorded_dialogs.questions and window.runner.unfinished_work() == []
    assert shown.read_bytes() == paths[0].read_bytes()


def test_mertens_fusion_asks_for_no_exposure_times(qtbot, window, tmp_path, recorded_dialogs):
    paths = brackets(tmp_path)  # PNGs: no exposure time in their metadata
    dialog = MergeDialog(HDR)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths)
    assert "type the exposure times" in dialog.summary.text() and dialog.times.isEnabled()
    dialog.method.setCurrentText("mertens")
    assert "exposure times" not in dialog.summary.text().replace("needs no exposure times", "")
    assert not dialog.times.isEnabled() and dialog.request().times is None
    assert all("type the times" not in text for text in list_texts(dialog))
    target = tmp_path / "fused.tif"

    def fill_and_accept(dialog):
        dialog.set_paths(paths)
        dialog.method.setCurrentText("mertens")
        dialog.output.setText(str(target))
        return accepted(dialog)

    window.exec_dialog = fill_and_accept
    window.action("merge_hdr").trigger()
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == target
                    and window.document.is_fully_loaded, timeout=20000)
    assert not recorded_dialogs.errors and not recorded_dialogs.warnings
