"""The bundled sample that `bootstrap.py run` opens must be a real, readable camera RAW."""

from pathlib import Path

from photolab.core import io

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "picos-de-europa.dng"


def test_sample_is_a_readable_raw_photo():
    metadata = io.read_metadata(SAMPLE)
    assert metadata.file_format == "raw" and (metadata.width, metadata.height) == (1620, 1216)
    preview = io.read_preview(SAMPLE, max_side=400)
    assert max(preview.width, preview.height) <= 400
    assert 0.05 < float(preview.pixels.mean()) < 0.6  # neither black nor blown out
