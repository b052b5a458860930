"""Fixtures for the CLI tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty PhotoLab data folder (``PHOTOLAB_DATA_DIR``) for the command under test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(folder))
    return folder
