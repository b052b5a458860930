"""photolab.services installs the models into core: the Denoise step loads through the installed ModelManager."""

from __future__ import annotations

import pytest

from photolab import services
from photolab.core.develop import denoise
from photolab.models.denoise import DEFAULT_DENOISER
from photolab.models.store.manager import ModelManager


class RecordingManager(ModelManager):
    """A ModelManager that says which denoiser and device each load asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, str]] = []

    def load_denoiser(self, name="", device=None):
        self.asked.append((str(name), str(device if device is not None else self.device)))
        return super().load_denoiser(name, "cpu")  # the network itself stays on this machine's CPU


def test_the_denoise_step_loads_through_the_installed_manager(tmp_path, monkeypatch):
    manager = RecordingManager(data_dir=tmp_path, builtin_dir=tmp_path / "none")
    services.install_models(manager)
    assert services.model_manager() is manager
    loaded = denoise.load_denoiser()
    assert loaded.name == DEFAULT_DENOISER and manager.asked == [("", "cpu")]
    assert denoise.load_denoiser(DEFAULT_DENOISER, "cpu") is loaded  # the manager's cache
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    manager.set_device("cuda")  # what the window's device choice does
    denoise.load_denoiser()
    assert manager.asked[-1] == ("", "cuda")


def test_without_a_manager_a_default_one_is_made_when_first_needed(monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path))
    services.install_models()
    manager = services.model_manager()
    assert isinstance(manager, ModelManager) and services.model_manager() is manager
    assert services.installed_denoiser_names() == ([DEFAULT_DENOISER], DEFAULT_DENOISER)


def test_the_step_says_when_no_runtime_is_installed(monkeypatch):
    monkeypatch.setattr(denoise, "_loader", None)
    with pytest.raises(denoise.DenoiseError, match="not installed"):
        denoise.load_denoiser()
