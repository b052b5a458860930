"""Models ▸ Adapt Denoiser to My Camera…, walked page by page on a tiny folder and a temporary data folder."""

from __future__ import annotations

import json

import torch

from photolab.gui.denoise_adapt.wizard import AdaptWizard, open_adapt_wizard
from photolab.gui.widgets.job_pages import LossPlot
from photolab.gui.jobs import JobRunner
from photolab.models.store.manager import ModelManager
from utils.adapt_photos import make_adapt_folder
from utils.wizards import check_folder

torch.set_num_threads(2)
TIMEOUT = 60_000


def open_wizard(qtbot, tmp_path):
    manager = ModelManager(data_dir=tmp_path / "data")
    runner = JobRunner()
    wizard = AdaptWizard(manager, runner, threads=2)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard, manager


def test_walk_from_folder_to_saved_denoiser(qtbot, tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=2, frames=3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 junk")
    wizard, manager = open_wizard(qtbot, tmp_path)
    check_folder(qtbot, wizard, folder, TIMEOUT)
    page = wizard.check_page
    assert page.isComplete()
    found = page.found.text()
    assert "SimCam Tiny 1 (10)" in found and "3200" in found and "<b>Singles:</b> 4" in found
    assert "<b>Bursts:</b> 2" in found and "4 aligned pairs" in found
    assert "broken.jpg" in page.problems.text()
    page.minutes.setValue(0.05)  # 3 s
    wizard.next()
    adapting = wizard.adapt_page
    qtbot.waitUntil(lambda: adapting.isComplete(), timeout=TIMEOUT)
    assert wizard.outcome is not None and wizard.outcome.steps >= 1
    assert len(adapting.plot.losses) == wizard.outcome.steps  # every step was relayed from the worker thread
    assert adapting.plot.grab().width() > 0
    assert "Held-out noisy-pair PSNR" in adapting.status.text()
    wizard.next()
    compare = wizard.compare_page
    qtbot.waitUntil(lambda: compare.handle is None, timeout=TIMEOUT)
    assert all(view.pixmap() is not None and not view.pixmap().isNull() for view in compare.views)
    assert compare.name_edit.text() == "denoise-simcam-tiny-1"
    compare.name_edit.setText("bad name")
    assert not compare.save_button.isEnabled()
    compare.name_edit.setText("my-tiny-cam")
    with qtbot.waitSignal(wizard.denoiser_saved, timeout=TIMEOUT) as saved:
        compare.save_button.click()
    assert saved.args == ["my-tiny-cam"]
    assert "my-tiny-cam" in manager.list_denoisers()
    card = json.loads((manager.user_denoiser_dir / "my-tiny-cam.json").read_text())
    assert card["camera"] == "SimCam Tiny 1"
    assert "--model my-tiny-cam" in compare.status.text()


def test_problems_are_explained_and_block_the_way(qtbot, tmp_path):
    folder = make_adapt_folder(tmp_path / "few", singles=2, bursts=0)
    wizard, _ = open_wizard(qtbot, tmp_path)
    check_folder(qtbot, wizard, folder, TIMEOUT)
    assert not wizard.check_page.isComplete()
    assert "at least 4 are needed" in wizard.check_page.problems.text()


def test_cancel_stops_the_run_and_saves_nothing(qtbot, tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=4, bursts=1, frames=3)
    wizard, manager = open_wizard(qtbot, tmp_path)
    check_folder(qtbot, wizard, folder, TIMEOUT)
    wizard.check_page.minutes.setValue(10)
    wizard.next()
    adapting = wizard.adapt_page
    qtbot.waitUntil(lambda: len(adapting.plot.losses) >= 1, timeout=TIMEOUT)  # the window stayed responsive
    adapting.cancel_button.click()
    qtbot.waitUntil(lambda: adapting.handle is None, timeout=TIMEOUT)
    assert "Cancelled" in adapting.status.text() and not adapting.isComplete()
    assert wizard.outcome is None and manager.list_denoisers() == ["photolab-denoise-unet"]
    assert not manager.user_denoiser_dir.exists()


def test_the_window_has_the_menu_entry(qtbot, window, monkeypatch):
    action = window.action("adapt_denoiser")
    assert action.text() == "&Adapt Denoiser to My Camera…"
    assert action in window.menu("models").actions()
    wizard = open_adapt_wizard(window)
    assert wizard.isVisible() and wizard.currentPage() is wizard.folder_page
    wizard.close()


def test_the_loss_plot_paints_empty_and_full(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(300, 160)
    plot.grab()
    for step in range(1, 60):
        plot.add(step, 1e-2 / step)
    assert len(plot.smoothed()) == 59 and plot.smoothed()[-1] < plot.smoothed()[0]
    assert not plot.grab().isNull()
    plot.add(1, 5e-3)  # a new run (the next cross-validation fold, say) starts a new curve
    assert plot.losses == [5e-3]
