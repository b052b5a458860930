"""Info panel formatting and the histogram widget."""

import numpy as np
import pytest

from photolab.core.photo import PhotoMetadata
from photolab.gui.viewer.histogram import HistogramWidget, clipped_fractions, histogram_heights
from photolab.gui.viewer.info_panel import (InfoPanel, describe, format_aperture, format_datetime, format_focal_length,
                                     format_shutter)
from photolab.gui.viewer.rendering import channel_histogram


@pytest.mark.parametrize("seconds, text", [(1 / 250, "1/250 s"), (1 / 8000, "1/8000 s"), (0.5, "1/2 s"),
                                           (1 / 3, "1/3 s"), (0.4, "0.4 s"), (2.0, "2 s"), (1.3, "1.3 s"),
                                           (None, "—")])
def test_shutter_reads_like_a_camera(seconds, text):
    assert format_shutter(seconds) == text


def test_aperture_focal_length_and_date():
    assert format_aperture(2.8) == "f/2.8" and format_aperture(8.0) == "f/8" and format_aperture(None) == "—"
    assert format_focal_length(50.0) == "50 mm" and format_focal_length(24.5) == "24.5 mm"
    assert format_datetime("2024-05-17T14:03:27") == "2024-05-17 14:03:27"


def test_info_panel_rows(qtbot):
    metadata = PhotoMetadata(path="/photos/IMG_0001.CR2", file_format="raw", camera_make="Canon",
                             camera_model="Canon EOS 5D Mark II", lens="EF50mm f/1.8 STM", iso=200,
                             shutter_seconds=1 / 250, aperture=2.8, focal_length_mm=50, width=6000, height=4000,
                             datetime="2024-05-17T14:03:27", bits_per_sample=14)
    panel = InfoPanel()
    qtbot.addWidget(panel)
    panel.set_metadata(metadata)
    shown = {row: label.text() for row, label in panel.values.items()}
    assert shown == describe(metadata)
    assert shown["Camera"] == "Canon EOS 5D Mark II" and shown["ISO"] == "ISO 200"
    assert shown["Size"] == "6000 × 4000 (24.0 MP)" and shown["Format"] == "Camera RAW, 14-bit"
    assert shown["File"] == "IMG_0001.CR2" and shown["Shutter"] == "1/250 s" and shown["Aperture"] == "f/2.8"
    panel.set_metadata(None)
    assert set(label.text() for label in panel.values.values()) == {"—"}


def test_histogram_counts_and_scaling():
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :10, 0] = 255  # half the red channel clipped
    rgb[:, :, 1] = 128
    counts = channel_histogram(rgb)
    assert counts.shape == (3, 256) and counts.sum(axis=1).tolist() == [200, 200, 200]
    assert counts[0, 255] == 100 and counts[1, 128] == 200
    assert clipped_fractions(counts) == (1.0, 0.5)  # blue is all 0; red half 255
    heights = histogram_heights(counts, logarithmic=False)
    assert heights[1, 128] == 1.0 and heights.max() <= 1.0
    log_heights = histogram_heights(counts, logarithmic=True)
    assert np.all(log_heights >= heights - 1e-12)


def test_histogram_widget_paints_channels(qtbot):
    widget = HistogramWidget()
    qtbot.addWidget(widget)
    widget.resize(256, 100)
    counts = np.zeros((3, 256))
    counts[0, 60] = counts[1, 128] = counts[2, 200] = 1000
    widget.set_counts(counts)
    image = widget.grab().toImage()
    x = lambda bin_: round(1 + bin_ * (widget.width() - 2) / 255)  # noqa: E731
    assert image.pixelColor(x(60), 80).red() > image.pixelColor(x(60), 80).blue()
    assert image.pixelColor(x(200), 80).blue() > image.pixelColor(x(200), 80).red()
    assert image.pixelColor(x(100), 80).red() < 60  # no channel there
