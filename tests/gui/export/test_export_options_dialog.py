"""The Export dialog's output options (size, output sharpening, colour space, name template): their controls,
what they request, what is remembered, and Export with Previous Settings using them."""

from pathlib import Path

from PIL import Image

from photolab.core.export_options import ResizeSpec, SharpeningSpec
from photolab.core.icc import icc_profile
from photolab.core.photo import PhotoMetadata
from photolab.gui.export.dialog import ExportDialog, ExportRequest, remembered_request

from ..conftest import open_and_wait

CAMERA = PhotoMetadata(camera_make="Canon", camera_model="EOS R5", datetime="2023-08-09T10:11:12")


def test_new_controls_build_the_request_and_are_remembered(qtbot, settings, png_photo, recorded_dialogs):
    dialog = ExportDialog(png_photo, settings, metadata=CAMERA)
    qtbot.addWidget(dialog)
    assert dialog.request() == ExportRequest(png_photo.with_name("scene.jpg"), "jpg")  # defaults: as before
    assert not dialog.resize_value.isEnabled() and not dialog.sharpening_amount.isEnabled()

    dialog.resize_mode.setCurrentIndex(dialog.resize_mode.findData("long"))
    assert dialog.resize_value.isEnabled() and dialog.resize_value.value() == 2048  # a sensible start
    dialog.resize_value.setValue(48)
    dialog.sharpening.setCurrentIndex(dialog.sharpening.findData("print"))
    assert dialog.sharpening_amount.isEnabled()
    dialog.sharpening_amount.setCurrentIndex(dialog.sharpening_amount.findData("high"))
    dialog.color_space.setCurrentIndex(dialog.color_space.findData("display-p3"))
    dialog.name_template.setText("{date}_{camera}_{name}")
    expected_target = png_photo.with_name("2023-08-09_Canon-EOS-R5_scene.jpg")
    assert dialog.path.text() == str(expected_target)  # the template names the file, the folder stays
    dialog.accept()
    assert dialog.result() == 1 and recorded_dialogs.errors == []
    request = dialog.request()
    assert request == ExportRequest(expected_target, "jpg", 92, ResizeSpec("long", 48), SharpeningSpec("print", "high"),
                                    "display-p3", "{date}_{camera}_{name}")

    again = ExportDialog(png_photo, settings, metadata=CAMERA)
    qtbot.addWidget(again)
    assert again.request() == request
    assert again.resize_value.value() == 48 and again.name_template.text() == "{date}_{camera}_{name}"
    assert remembered_request(settings, png_photo, CAMERA) == request


def test_megapixels_and_enlarging(qtbot, settings, png_photo, recorded_dialogs):
    dialog = ExportDialog(png_photo, settings)
    qtbot.addWidget(dialog)
    dialog.resize_mode.setCurrentIndex(dialog.resize_mode.findData("mp"))
    assert dialog.resize_value.value() == 12.0 and dialog.resize_value.suffix() == " MP"
    dialog.resize_value.setValue(2.5)
    dialog.upscale.setChecked(True)
    assert dialog.request().resize == ResizeSpec("mp", 2.5, upscale=True)
    dialog.resize_mode.setCurrentIndex(dialog.resize_mode.findData("none"))
    assert dialog.request().resize is None and not dialog.upscale.isEnabled()


def test_a_bad_template_is_shown_and_refused(qtbot, settings, png_photo, recorded_dialogs):
    dialog = ExportDialog(png_photo, settings)
    qtbot.addWidget(dialog)
    before = dialog.path.text()
    dialog.name_template.setText("{name}_{iso}")
    assert "unknown placeholder {iso}" in dialog.name_error.text() and dialog.path.text() == before
    dialog.accept()
    assert dialog.result() == 0 and "Unknown placeholder {iso}" in recorded_dialogs.errors[-1]
    dialog.name_template.setText("{name}-{seq}")
    assert dialog.name_error.text() == "" and Path(dialog.path.text()).name == "scene-1.jpg"


def test_export_with_previous_settings_uses_the_remembered_options(qtbot, window, png_photo, settings):
    settings.setValue("export/format", "png")
    settings.setValue("export/resize_mode", "short")
    settings.setValue("export/resize_value", 32.0)
    settings.setValue("export/color_space", "adobe-rgb")
    settings.setValue("export/sharpening", "screen")
    settings.setValue("export/name_template", "web-{name}")
    open_and_wait(qtbot, window, png_photo)
    written = []
    for _ in range(2):
        with qtbot.waitSignal(window.exports.finished, timeout=15000) as blocker:
            window.action("export_again").trigger()
        written.append(blocker.args[0])
    assert [p.name for p in written] == ["web-scene.png", "web-scene-1.png"]
    with Image.open(written[0]) as image:
        assert image.size == (48, 32) and image.info["icc_profile"] == icc_profile("adobe-rgb")


def test_remembered_settings_that_make_no_sense_fall_back(settings, png_photo):
    for key, value in (("export/resize_mode", "huge"), ("export/color_space", "cmyk"), ("export/sharpening", "x"),
                       ("export/name_template", "{nope}"), ("export/quality", "lots")):
        settings.setValue(key, value)
    assert remembered_request(settings, png_photo) == ExportRequest(png_photo.with_name("scene.jpg"), "jpg")
