"""The Attention view on the real window: bars per SE block, heatmap order, tooltips, A/B comparison, class
averages over a folder (the SENet Fig. 6 analysis), the CAM overlay, and CSV/JSON/PNG export."""

import csv
import json

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtGui import QHelpEvent, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QToolTip

from photolab.core import io
from photolab.core.develop.exposure import ExposureParams
from photolab.core.render import render

from ..conftest import open_and_wait
from ..model_store import MODEL, make_window, manager, seeded_store, write_photo  # noqa: F401


@pytest.fixture
def view(qtbot, settings, recorded_dialogs, manager, png_photo):
    window = make_window(qtbot, settings, manager)
    open_and_wait(qtbot, window, png_photo)
    assert window.action("attention").shortcut() == QKeySequence("Ctrl+Shift+A")
    window.action("attention").trigger()
    attention = window.attention_view
    assert attention.isVisible() and attention.isWindow() and not attention.isModal()
    qtbot.waitUntil(lambda: attention.a is not None, timeout=15000)
    yield attention
    attention.close()


def direct_excitations(manager, photo):
    from photolab.models.inference import excitations

    return excitations(manager.load(MODEL), photo)


def current_excitations(manager, view):
    document = view.parent().document
    return direct_excitations(manager, render(document.proxy, document.recipe))


def select_sort(view, key):
    view.sort.setCurrentIndex(view.sort.findData(key))


def test_one_bar_chart_per_block_with_its_channel_count(view, manager):
    from photolab.models.analysis.excitation import find_se_gates

    gates = find_se_gates(manager.load(MODEL).model)
    assert [g.channels for g in gates] == [64, 64, 128, 128, 256, 256, 512, 512]  # seresnet18
    assert [view.block_combo.itemText(i) for i in range(view.block_combo.count())] == [g.name for g in gates]
    expected = current_excitations(manager, view)
    for index, gate in enumerate(gates):
        view.block_combo.setCurrentIndex(index)
        assert view.pane_a.bars.channel_count == gate.channels
        np.testing.assert_array_equal(view.pane_a.bars.values, expected[gate.name])
        assert view.pane_a.bars.title.startswith(f"{gate.name} — {gate.channels} channels")
        assert view.pane_a.heatmap.selected == index
    assert [len(row) for row in view.pane_a.heatmap.rows] == [g.channels for g in gates]
    assert not view.pane_b.isVisible()


def test_heatmap_orders_channels_by_weight_and_by_variance(view, manager):
    expected = current_excitations(manager, view)
    heatmap = view.pane_a.heatmap
    for row in range(len(expected)):
        np.testing.assert_array_equal(heatmap.row_order(row), np.arange(len(heatmap.rows[row])))
    select_sort(view, "weight")
    for row, (block, values) in enumerate(expected.items()):
        order = heatmap.row_order(row)
        np.testing.assert_array_equal(order, np.argsort(-values, kind="stable"))
        assert np.all(np.diff(values[order]) <= 0) and sorted(order) == list(range(len(values)))
    select_sort(view, "stage")
    blocks = list(expected)
    layer3 = blocks.index("layer3.0.se")
    variance = np.var(np.stack([expected["layer3.0.se"], expected["layer3.1.se"]]), axis=0)
    np.testing.assert_array_equal(heatmap.row_order(layer3), np.argsort(-variance, kind="stable"))
    # the image drawn follows the order: with one pixel per channel the first column is the largest value
    select_sort(view, "weight")
    image = heatmap.render_image(64)
    top = QImage(image).pixelColor(0, 0).getRgb()[:3]
    low = QImage(image).pixelColor(63, 0).getRgb()[:3]
    assert top != low


def tooltip_text(qtbot, widget, point: QPoint) -> str:
    QToolTip.hideText()
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, point, widget.mapToGlobal(point)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=3000)
    return QToolTip.text()


def test_hovering_names_block_channel_and_value(qtbot, view, manager):
    expected = current_excitations(manager, view)
    select_sort(view, "weight")
    heatmap = view.pane_a.heatmap
    plot = heatmap.plot_rect()
    row = 6  # layer4.0.se, 512 channels
    block = list(expected)[row]
    y = plot.top() + (row + 0.5) * plot.height() / len(expected)
    x = plot.left() + plot.width() * 0.25
    position = int((x - plot.left()) / plot.width() * 512)
    channel = int(np.argsort(-expected[block], kind="stable")[position])
    text = tooltip_text(qtbot, heatmap, QPointF(x, y).toPoint())
    assert text == f"{block} · channel {channel} · excitation {expected[block][channel]:.4f}"
    bars = view.pane_a.bars
    view.block_combo.setCurrentIndex(0)
    bar_plot = bars.plot_rect()
    point = QPointF(bar_plot.left() + (10.5 / 64) * bar_plot.width(), bar_plot.center().y()).toPoint()
    values = expected["layer1.0.se"]
    channel = int(np.argsort(-values, kind="stable")[10])  # the bars follow the heatmap's order
    assert np.all(np.diff(bars.values) <= 0)
    assert tooltip_text(qtbot, bars, point) == f"layer1.0.se · channel {channel} · excitation {values[channel]:.4f}"
    assert heatmap.tooltip_at(QPointF(2, 2)) == ""  # outside the plot: no tooltip


def test_compare_with_a_file_and_with_the_pinned_current_photo(qtbot, view, manager, recorded_dialogs, tmp_path):
    recorded_dialogs.open_path = str(write_photo(tmp_path / "other.png", seed=5))
    view.choose_photo_b()
    qtbot.waitUntil(lambda: view.b is not None, timeout=15000)
    a = current_excitations(manager, view)
    b = direct_excitations(manager, io.read_preview(recorded_dialogs.open_path, max_side=1600))
    difference = view.difference()
    assert list(difference) == list(a)
    for block in a:
        np.testing.assert_allclose(difference[block], a[block] - b[block], rtol=0, atol=1e-6)
        assert np.abs(difference[block]).max() > 0
    assert view.mode.currentData() == "both" and view.pane_b.isVisible()
    np.testing.assert_allclose(view.pane_b.heatmap.rows[7], b["layer4.1.se"], atol=1e-6)
    view.mode.setCurrentIndex(view.mode.findData("diff"))
    assert view.pane_a.heatmap.diverging and view.pane_a.bars.diverging and not view.pane_b.isVisible()
    for row, block in enumerate(a):
        np.testing.assert_allclose(view.pane_a.heatmap.rows[row], a[block] - b[block], rtol=0, atol=1e-6)
    select_sort(view, "weight")  # in difference mode: largest A − B first
    np.testing.assert_array_equal(view.pane_a.heatmap.row_order(0),
                                  np.argsort(-view.pane_a.heatmap.rows[0], kind="stable"))

    # the current photo pinned as B, then edited: A changes, B stays as it was
    view.set_photo_b_current()
    qtbot.waitUntil(lambda: view.b is not None and view.b.name == "scene.png (pinned)", timeout=15000)
    assert all(np.abs(d).max() == 0 for d in view.difference().values())
    window = view.parent()
    window.apply_edit(window.document.recipe.with_params("exposure", ExposureParams(ev=-2.0)), "Exposure")
    edited = current_excitations(manager, view)
    qtbot.waitUntil(lambda: np.array_equal(view.a.values["layer1.0.se"], edited["layer1.0.se"]), timeout=15000)
    for block in a:
        np.testing.assert_allclose(view.difference()[block], edited[block] - a[block], rtol=0, atol=1e-6)


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "dataset"
    for label, (first, brightness) in {"dusk": (0, 0.35), "noon": (10, 1.0)}.items():
        (root / label).mkdir(parents=True)
        for index in range(3):
            write_photo(root / label / f"{index}.png", seed=first + index, brightness=brightness)
    return root


def test_class_average_over_a_folder_matches_stage_specificity(qtbot, view, manager, dataset):
    from photolab.models.analysis.specificity import class_specificity, stage_specificity
    from photolab.models.training.dataset import load_srgb8

    tab = view.class_tab
    view.tabs.setCurrentWidget(tab)
    progress = []
    tab.channel.progress.connect(lambda fraction, message: progress.append(message))
    tab.analyse(str(dataset))
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30000)
    result = tab.result
    assert result.classes == ("dusk", "noon") and result.counts() == {"dusk": 3, "noon": 3}
    assert progress and any("of 6" in message for message in progress)

    loaded = manager.load(MODEL)
    paths = [dataset / label / f"{i}.png" for label in ("dusk", "noon") for i in range(3)]
    records = [direct_excitations(manager, load_srgb8(path, 512)) for path in paths]
    stacked = {block: np.stack([r[block] for r in records]) for block in records[0]}
    labels = [0, 0, 0, 1, 1, 1]
    expected_stages = stage_specificity(stacked, labels)
    assert list(result.stage_specificity) == ["layer1", "layer2", "layer3", "layer4"] == list(expected_stages)
    for stage, value in expected_stages.items():
        assert result.stage_specificity[stage] == pytest.approx(value, abs=1e-9)
    for block, value in class_specificity(stacked, labels).items():
        assert result.block_specificity[block] == pytest.approx(value, abs=1e-9)
    assert dict(tab.stage_chart.stages) == dict(result.stage_specificity)
    assert loaded.name == MODEL and result.model == MODEL
    # 3 images per class: the view says the folder is too small to tell the stages apart
    assert result.specificity.too_small and tab.verdict.text() == result.specificity.caveat
    assert tab.verdict.text().startswith("Too small to tell") and "(shuffled labels)" in tab.status.text()
    assert "shuffled labels" in tab.stage_chart.tooltip_at(tab.stage_chart.plot_rect().center())

    assert tab.block_combo.currentText() == "layer4.1.se"  # the last, most class-specific block by default
    names = [name for name, _ in tab.curves.series]
    assert names == ["dusk", "noon"]
    noon = stacked["layer4.1.se"][3:].mean(axis=0)
    both = stacked["layer4.1.se"].mean(axis=0)  # equal class sizes: the mean of the class means
    order = tab.curves.channels  # sorted by the average over the classes, largest first
    np.testing.assert_array_equal(order, np.argsort(-result.class_means("layer4.1.se").mean(axis=0), kind="stable"))
    assert np.all(np.diff(both[order]) <= 1e-6)
    np.testing.assert_allclose(tab.curves.series[1][1], noon[order], atol=1e-6)
    tab.curve_order.setCurrentIndex(tab.curve_order.findData("index"))
    np.testing.assert_allclose(tab.curves.series[1][1], noon, atol=1e-6)
    tab.block_combo.setCurrentText("layer1.0.se")
    assert len(tab.curves.series[0][1]) == 64
    assert "layer1.0.se · channel" in tab.curves.tooltip_at(tab.curves.plot_rect().center())


def test_folder_analysis_can_be_cancelled_and_reports_bad_folders(qtbot, view, dataset, recorded_dialogs, tmp_path):
    tab = view.class_tab
    tab.analyse(str(dataset))
    assert tab.cancel_button.isEnabled()
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: not tab.channel.busy, timeout=15000)
    assert tab.result is None and tab.status.text() == "Analysis cancelled."
    (tmp_path / "one-class" / "only").mkdir(parents=True)
    write_photo(tmp_path / "one-class" / "only" / "a.png", seed=1)
    tab.analyse(str(tmp_path / "one-class"))
    qtbot.waitUntil(lambda: bool(recorded_dialogs.errors), timeout=15000)
    assert "at least two class sub-folders" in recorded_dialogs.errors[0]


def test_cam_overlay_follows_class_and_opacity(qtbot, view, manager):
    from photolab.models.inference import cam

    cam_tab = view.cam_tab
    view.tabs.setCurrentWidget(cam_tab)
    qtbot.waitUntil(lambda: cam_tab.result is not None, timeout=15000)
    document = view.parent().document
    expected = cam(manager.load(MODEL), render(document.proxy, document.recipe))
    result = cam_tab.result
    np.testing.assert_allclose(result.heatmap, expected.heatmap, atol=1e-6)
    assert result.class_index == expected.class_index and result.requested is None
    cam_tab.opacity.setValue(0)
    np.testing.assert_array_equal(cam_tab.composite(), result.rgb8)
    shown_clear = view.cam_tab.view.image.copy()
    cam_tab.opacity.setValue(80)
    blended = cam_tab.composite()
    left, top, right, bottom = (int(round(v)) for v in result.box)
    inside = np.abs(blended[top:bottom, left:right].astype(int) - result.rgb8[top:bottom, left:right]).mean()
    assert inside > 10
    assert view.cam_tab.view.image != shown_clear  # the widget shows the new pixels

    other = (expected.class_index + 1) % 3
    cam_tab.class_combo.setCurrentIndex(cam_tab.class_combo.findData(other))
    qtbot.waitUntil(lambda: cam_tab.result is not None and cam_tab.result.class_index == other, timeout=15000)
    assert cam_tab.result.requested == other


def test_export_numbers_and_figures(qtbot, view, manager, tmp_path, dataset):
    view.set_photo_b_file(write_photo(tmp_path / "b.png", seed=9))
    qtbot.waitUntil(lambda: view.b is not None, timeout=15000)
    a, b = view.a.values, view.b.values
    rows = list(csv.reader(open(view.export_numbers(tmp_path / "numbers.csv"), newline="")))
    assert rows[0] == ["block", "stage", "channel", "A", "B", "A_minus_B"]
    assert len(rows) == 1 + sum(len(v) for v in a.values())
    block, stage, channel, va, vb, vd = rows[1 + 64 + 70]  # layer1.1.se has channels 64..127 of the rows
    assert (block, stage, channel) == ("layer2.0.se", "layer2", "6")
    assert float(va) == pytest.approx(a["layer2.0.se"][6], abs=1e-7)
    assert float(vb) == pytest.approx(b["layer2.0.se"][6], abs=1e-7)
    assert float(vd) == pytest.approx(a["layer2.0.se"][6] - b["layer2.0.se"][6], abs=1e-6)

    data = json.loads(view.export_numbers(tmp_path / "numbers.json").read_text())
    assert data["model"] == MODEL and data["photos"]["A"]["name"] == "scene.png"
    assert data["photos"]["B"]["name"] == "b.png"
    np.testing.assert_allclose(data["photos"]["A"]["excitations"]["layer4.1.se"], a["layer4.1.se"], atol=1e-7)
    np.testing.assert_allclose(data["difference"]["layer3.0.se"], a["layer3.0.se"] - b["layer3.0.se"], atol=1e-6)

    view.tabs.setCurrentWidget(view.class_tab)
    view.class_tab.analyse(str(dataset))
    qtbot.waitUntil(lambda: view.class_tab.result is not None, timeout=30000)
    result = view.class_tab.result
    rows = list(csv.reader(open(view.export_numbers(tmp_path / "classes.csv"), newline="")))
    assert rows[0] == ["block", "stage", "channel", "dusk", "noon", "block_specificity"]
    last = rows[-1]
    assert last[:3] == ["layer4.1.se", "layer4", "511"]
    assert float(last[3]) == pytest.approx(result.class_means("layer4.1.se")[0, 511], abs=1e-7)
    assert float(last[5]) == pytest.approx(result.block_specificity["layer4.1.se"])
    data = json.loads(view.export_numbers(tmp_path / "all.json").read_text())
    assert data["class_average"]["stage_specificity"] == pytest.approx(dict(result.stage_specificity))
    assert data["class_average"]["counts"] == {"dusk": 3, "noon": 3}

    figure = view.export_figure(tmp_path / "classes.png")
    image = QImage(str(figure))
    assert not image.isNull() and image.size() == view.class_tab.size() * view.devicePixelRatio()
    view.tabs.setCurrentIndex(0)
    image = QImage(str(view.export_figure(tmp_path / "excitations.png")))
    assert image.width() == round(view.figure.width() * view.devicePixelRatio())


def test_the_view_and_the_cli_read_an_edited_photo_file_alike(qtbot, view, manager, tmp_path, monkeypatch, capsys):
    """Photo B from a file, the CLI and the export all use the photo with its sidecar's edits, in one JSON shape."""
    from photolab.cli import main
    from photolab.core.recipe import Recipe, save_sidecar
    from photolab.models.store import manager as manager_module

    photo = write_photo(tmp_path / "edited.png", seed=4)
    save_sidecar(photo, Recipe().with_params("exposure", ExposureParams(ev=-2.0)))
    view.set_photo_b_file(photo)
    qtbot.waitUntil(lambda: view.b is not None, timeout=15000)
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(manager.data_dir))
    monkeypatch.setattr(manager_module, "BUILTIN_MODELS_DIR", manager.data_dir / "no-builtins")
    assert main(["attention", str(photo), "--model", MODEL, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    for block in cli["blocks"]:
        np.testing.assert_allclose(block["excitation"], view.b.values[block["name"]], atol=1e-6)
    assert main(["attention", str(photo), "--model", MODEL, "--json", "--no-sidecar"]) == 0
    unedited = json.loads(capsys.readouterr().out)
    assert not np.allclose(unedited["blocks"][0]["excitation"], cli["blocks"][0]["excitation"], atol=1e-4)

    exported = json.loads(view.export_numbers(tmp_path / "numbers.json").read_text())
    assert set(cli) <= set(exported) and exported["model"] == cli["model"]
    assert [list(block) for block in exported["blocks"]] == [list(block) for block in cli["blocks"]]


def test_the_cli_class_average_gives_the_views_numbers(qtbot, view, manager, dataset, monkeypatch, capsys):
    """``photolab-cli attention IN --class-average FOLDER --json`` and the Class Average tab: one JSON."""
    from photolab.cli import main
    from photolab.models.store import manager as manager_module

    tab = view.class_tab
    tab.analyse(str(dataset))
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30000)
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(manager.data_dir))
    monkeypatch.setattr(manager_module, "BUILTIN_MODELS_DIR", manager.data_dir / "no-builtins")
    photo = write_photo(dataset.parent / "photo.png", seed=3)
    assert main(["attention", str(photo), "--model", MODEL, "--class-average", str(dataset), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["class_average"]
    view_numbers = json.loads(json.dumps(tab.result.to_dict()))
    assert cli.keys() == view_numbers.keys()
    for key in ("model", "root", "classes", "counts", "images", "skipped"):
        assert cli[key] == view_numbers[key]
    assert cli["stage_specificity"] == pytest.approx(view_numbers["stage_specificity"], abs=1e-6)
    for stage, numbers in cli["specificity"]["stages"].items():
        expected = view_numbers["specificity"]["stages"][stage]
        assert numbers["chance"] == pytest.approx(expected["chance"], abs=1e-6)
        assert numbers["ci"] == pytest.approx(expected["ci"], abs=1e-6)
    assert cli["specificity"]["caveat"] == view_numbers["specificity"]["caveat"] != ""
