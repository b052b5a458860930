"""Denoisers in the model store: the shipped one, the cache, the device, the checksum and bad weight files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from photolab.core.errors import DenoiseError
from photolab.models.archs.denoise_unet import DenoiseUNet
from photolab.models.denoise import DEFAULT_DENOISER
from photolab.models.store.denoisers import DENOISERS_DIR
from photolab.models.store.manager import ModelManager, ModelStoreError


@pytest.fixture
def store(tmp_path):
    """A store with no classifiers; the denoisers are the shipped ones."""
    return ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "none")


def test_shipped_denoiser_has_a_card_that_matches_the_network(store):
    denoiser = store.load_denoiser(DEFAULT_DENOISER)
    assert denoiser.name == DEFAULT_DENOISER
    assert denoiser.card["architecture"]["widths"] == list(denoiser.model.widths)
    assert denoiser.path == DENOISERS_DIR / f"{DEFAULT_DENOISER}.safetensors"
    assert store.load_denoiser(DEFAULT_DENOISER) is denoiser  # cached


def test_missing_weights_name_the_file(store, tmp_path):
    missing = tmp_path / "gone.safetensors"
    with pytest.raises(DenoiseError, match="gone.safetensors"):
        store.load_denoiser(missing)


def test_unknown_names_list_the_known_ones(store):
    with pytest.raises(DenoiseError, match=DEFAULT_DENOISER):
        store.load_denoiser("no-such-denoiser")


@pytest.fixture
def small_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "small.safetensors"
    save_file(DenoiseUNet((8, 16, 32), 1).state_dict(), str(path))
    return path


def test_truncated_weights_name_the_file(store, tmp_path, small_weights):
    data = small_weights.read_bytes()
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DenoiseError, match="cut.safetensors.*not a readable safetensors"):
        store.load_denoiser(truncated)


def test_truncated_weights_fail_the_cards_checksum(tmp_path, small_weights):
    folder = tmp_path / "models"
    folder.mkdir()
    data = small_weights.read_bytes()
    (folder / "mine.safetensors").write_bytes(data[:-100])
    card = {"architecture": {"widths": [8, 16, 32], "bottleneck": 1}, "weights": {"sha256": "0" * 64}}
    (folder / "mine.json").write_text(json.dumps(card))
    with pytest.raises(DenoiseError, match="mine.safetensors is damaged or truncated"):
        ModelManager(data_dir=tmp_path, denoiser_dir=folder).load_denoiser("mine")


def test_weights_of_another_architecture_name_the_file_and_the_difference(store, small_weights, tmp_path):
    with pytest.raises(DenoiseError, match="small.safetensors holds weights of another architecture: .*shape|missing"):
        store.load_denoiser(small_weights)  # no card: the default widths, which these weights do not have
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(DenoiseError, match="other.safetensors holds weights of another architecture.*unexpected"):
        store.load_denoiser(other)


def test_a_card_describes_the_network_to_build(store, tmp_path, small_weights):
    card = {"architecture": {"widths": [8, 16, 32], "bottleneck": 1}}
    small_weights.with_suffix(".json").write_text(json.dumps(card))
    denoiser = store.load_denoiser(small_weights)
    assert denoiser.model.widths == (8, 16, 32) and denoiser.name == "small"
    small_weights.with_suffix(".json").write_text("[1, 2]")
    (tmp_path / "again.safetensors").write_bytes(small_weights.read_bytes())
    (tmp_path / "again.json").write_text("[1, 2]")
    with pytest.raises(DenoiseError, match="again.json is not a denoiser card"):
        store.load_denoiser(tmp_path / "again.safetensors")


def test_unavailable_devices_are_a_clear_error(store):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelStoreError, match="CUDA is not available"):
        store.load_denoiser(device="cuda")


def test_the_denoiser_runs_on_the_managers_device_and_shares_its_cache(store, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # "cuda" is accepted; the network stays put
    moves = []
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, device, *a, **k: moves.append(str(device)) or self)
    store.set_device("cuda")
    denoiser = store.load_denoiser()
    assert moves[-1] == "cuda" and store.cached() == [DEFAULT_DENOISER]
    assert store.load_denoiser(device="cpu") is not denoiser and moves[-1] == "cpu"
    assert store.load_denoiser() is denoiser  # the manager's device, from the cache


def test_a_denoiser_replaced_on_disk_is_loaded_afresh(store, tmp_path, small_weights):
    card = {"architecture": {"widths": [8, 16, 32], "bottleneck": 1}}
    small_weights.with_suffix(".json").write_text(json.dumps(card))
    first = store.load_denoiser(small_weights)
    assert store.load_denoiser(small_weights) is first
    torch.manual_seed(1)
    save_file(DenoiseUNet((8, 16, 32), 1).state_dict(), str(small_weights))
    assert store.load_denoiser(small_weights) is not first


def test_the_store_lists_the_shipped_denoisers(store):
    assert store.list_denoisers() == [DEFAULT_DENOISER] and store.denoiser_dir == DENOISERS_DIR
