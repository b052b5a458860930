"""Fixtures for the model GUI tests: a store holding one tiny classifier (64 px input), never the built-in.

The store is written once per session and hard-linked into each test's folder, so a test may rename or
delete models freely. The managers look for built-ins in an empty folder, so these tests do not depend on
(or see) the model shipped in resources/models.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from ..models.store_utils import save_safetensors, tiny_model

CLASSES = ("cat", "dog", "bird")
MODEL = "tiny"
INPUT_SIZE = 64


def manager_for(folder):
    """A ModelManager over ``folder``'s user store, with an empty built-in folder."""
    from photolab.models.store.manager import ModelManager

    return ModelManager(data_dir=folder, builtin_dir=folder / "no-builtins")


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory):
    from photolab.models.store.card import Preprocessing

    folder = tmp_path_factory.mktemp("model-store")
    manager_for(folder).save_model(tiny_model(seed=0), MODEL, CLASSES,
                                   preprocessing=Preprocessing(input_size=(3, INPUT_SIZE, INPUT_SIZE)))
    return folder


@pytest.fixture
def manager(tmp_path, seeded_store):
    """A manager whose store holds the tiny model ``tiny`` (classes cat, dog, bird)."""
    shutil.copytree(seeded_store, tmp_path / "store", copy_function=os.link)
    return manager_for(tmp_path / "store")


@pytest.fixture
def empty_manager(tmp_path):
    """A manager with no model at all."""
    return manager_for(tmp_path / "empty-store")


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory):
    """A plain safetensors file of another tiny seresnet18 (3 classes), as a user would import it."""
    return save_safetensors(tiny_model(seed=1), tmp_path_factory.mktemp("weights") / "garden.safetensors")


def write_photo(path, seed: int, size=(72, 56), brightness: float = 1.0):
    """A random smooth 8-bit photo at ``path`` (PNG), its values scaled by ``brightness``; different seeds
    give different photos."""
    rng = np.random.default_rng(seed)
    small = (rng.integers(0, 256, (4, 5, 3)) * brightness).astype(np.uint8)
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(path)
    return path


def make_window(qtbot, settings, manager):
    """A shown main window whose models come from ``manager``."""
    from photolab.gui.window.main_window import MainWindow

    window = MainWindow(settings, model_manager=manager)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    return window
