"""Test set-up: Qt runs offscreen, and the shared fixtures live in tests/utils."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PHOTOLAB_LOG_DIR"] = tempfile.mkdtemp(prefix="photolab-test-log-")  # photolab-cli's log, not the user's
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def default_model_manager():
    """The ModelManager the tests' denoise step loads through, unless a test's window installs its own."""
    from photolab.models.store.manager import ModelManager

    return ModelManager()


@pytest.fixture(autouse=True)
def models_installed(default_model_manager):
    """The denoise step loads its denoiser through a ModelManager, as the front ends set it up; each test
    starts with the default one installed (a window installs its own manager, on its device)."""
    from photolab.services import install_models

    install_models(default_model_manager)
    yield
    install_models(default_model_manager)
