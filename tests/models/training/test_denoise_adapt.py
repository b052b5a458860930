"""Noise2Noise / Neighbor2Neighbor adaptation of the denoiser (photolab.models.training.denoise_adapt), tiny."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from photolab.core.adapt_folder import load_adapt_data, scan_adapt_folder
from photolab.jobs import Job, JobState
from photolab.models.archs.denoise_unet import DenoiseUNet
from photolab.models.denoise import Denoiser
from photolab.models.store.manager import ModelManager
from photolab.models.training.denoise_adapt import (AdaptError, AdaptSettings, adapt, neighbour_masks, neighbour_pair,
                                                    save_adapted, split_held_out, subsample)
from utils.adapt_photos import make_adapt_folder

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = make_adapt_folder(tmp_path_factory.mktemp("adapt") / "photos", singles=4, bursts=2, frames=3)
    return load_adapt_data(scan_adapt_folder(folder))


def tiny_base(seed: int = 0) -> Denoiser:
    torch.manual_seed(seed)
    model = DenoiseUNet((8, 16, 32), 1)
    return Denoiser("tiny-base", model.eval(), {"architecture": model.config()})


def test_neighbour_masks_pick_two_different_4_neighbours_in_every_cell():
    first, second = neighbour_masks(3, 16, 10, torch.Generator().manual_seed(0))
    assert first.shape == second.shape == (3, 8, 5)
    assert (first != second).all()
    # positions 0 1 / 2 3: neighbours differ by 1 (same row) or 2 (same column), never diagonal (0-3, 1-2)
    pairs = {tuple(sorted(p)) for p in zip(first.flatten().tolist(), second.flatten().tolist())}
    assert pairs <= {(0, 1), (0, 2), (1, 3), (2, 3)} and len(pairs) == 4


def test_subsample_takes_the_chosen_pixel_of_each_cell():
    image = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    index = torch.tensor([[[0, 1, 2], [3, 0, 1]]] * 2)
    out = subsample(image, index)
    assert out.shape == (2, 3, 2, 3)
    assert out[0, 0, 0].tolist() == [image[0, 0, 0, 0], image[0, 0, 0, 3], image[0, 0, 1, 4]]
    assert out[1, 2, 1].tolist() == [image[1, 2, 3, 1], image[1, 2, 2, 2], image[1, 2, 2, 5]]
    g1, g2, _ = neighbour_pair(torch.rand(4, 3, 32, 32), torch.Generator().manual_seed(1))
    assert g1.shape == g2.shape == (4, 3, 16, 16) and not torch.equal(g1, g2)


def test_held_out_is_one_whole_burst_never_trained_on(data):
    singles, pairs, held_singles, held_pairs, what = split_held_out(data)
    held = {p.burst for p in held_pairs}
    assert len(held) == 1 and what.startswith("burst") and held_singles == []
    assert held.isdisjoint({p.burst for p in pairs}) and len(pairs) == 4 and len(singles) == 4


def test_a_few_steps_lower_the_loss(data):
    losses = []
    outcome = adapt(tiny_base(), data, AdaptSettings(minutes=5, crop=32, batch=4, lr=2e-3, max_steps=40, threads=2),
                    on_step=lambda step, loss: losses.append(loss))
    assert outcome.steps == 40 and losses == outcome.losses
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8])
    assert outcome.held_out["generic_psnr"] is not None and outcome.held_out["adapted_psnr"] is not None
    assert outcome.held_out["adapted_psnr"] > outcome.held_out["generic_psnr"]  # a random net learns to denoise
    assert outcome.data["singles"] == 4 and outcome.data["bursts"] == 2 and outcome.data["pairs"] == 4


def test_the_time_budget_is_respected(data):
    import time

    times = []
    started = time.perf_counter()
    outcome = adapt(tiny_base(), data, AdaptSettings(minutes=0.05, crop=32, batch=2, threads=2),
                    on_step=lambda step, loss: times.append(time.perf_counter()))
    assert outcome.steps == len(times) >= 1
    # a step starts only before the deadline (3 s after the start): every step but the last ended before it
    assert len(times) == 1 or times[-2] - started <= 3.0 + 0.5


def test_cancel_stops_adaptation(data):
    job = Job(lambda context: adapt(tiny_base(), data, AdaptSettings(minutes=5, crop=32, batch=2), context,
                                    on_step=lambda step, loss: job.cancel() if step >= 2 else None))
    job.run()
    assert job.state is JobState.CANCELLED and job.result is None


def test_singles_only_use_neighbor2neighbor_and_hold_out_singles(tmp_path):
    folder = make_adapt_folder(tmp_path / "photos", singles=5, bursts=0)
    data = load_adapt_data(scan_adapt_folder(folder))
    outcome = adapt(tiny_base(), data, AdaptSettings(crop=32, batch=2, max_steps=3))
    assert outcome.steps == 3 and outcome.held_out["singles"] == 1 and outcome.held_out["pairs"] == 0
    assert outcome.held_out["adapted_psnr"] is not None


def test_saved_denoiser_is_listed_loaded_and_carries_its_card(data, tmp_path):
    outcome = adapt(tiny_base(), data, AdaptSettings(crop=32, batch=2, max_steps=2))
    store = ModelManager(data_dir=tmp_path / "data")
    weights, card = save_adapted(outcome, "my-camera", store.user_denoiser_dir, taken=["photolab-denoise-unet"],
                                 source_folder="/photos")
    assert weights == tmp_path / "data" / "denoisers" / "my-camera.safetensors"
    written = json.loads(weights.with_suffix(".json").read_text())
    assert written == card
    assert card["camera"] == "SimCam Tiny 1" and card["iso_range"] == [3200.0, 3200.0]
    assert card["source"]["base"] == "tiny-base" and card["adaptation"]["data"]["pairs"] == 4
    assert "held-out noisy pairs" in card["metrics"]["held_out"]["description"]
    assert "my-camera" in store.list_denoisers() and store.list_denoisers()[0] == "photolab-denoise-unet"
    loaded = store.load_denoiser("my-camera")
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, outcome.state[name])
    assert not list(weights.parent.glob(".*"))  # no temporary files left
    with pytest.raises(AdaptError, match="already exists"):
        save_adapted(outcome, "my-camera", store.user_denoiser_dir)
    with pytest.raises(AdaptError, match="built-in"):
        save_adapted(outcome, "photolab-denoise-unet", store.user_denoiser_dir, taken=["photolab-denoise-unet"])


def test_a_user_denoiser_cannot_shadow_the_built_in_one(tmp_path, data):
    outcome = adapt(tiny_base(), data, AdaptSettings(crop=32, batch=2, max_steps=1))
    store = ModelManager(data_dir=tmp_path / "data")
    save_adapted(outcome, "photolab-denoise-unet", store.user_denoiser_dir)  # forced past the name check
    assert store.list_denoisers().count("photolab-denoise-unet") == 1
    assert store.load_denoiser("photolab-denoise-unet").model.widths == (48, 96, 192)


def test_the_map_gain_folds_exactly_into_the_first_convolution():
    from photolab.models.training.denoise_adapt import scale_map_input

    model = tiny_base().model
    image, level = torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32) * 0.1
    expected = model(image, level * 2.5)
    scale_map_input(model, 2.5)
    assert torch.allclose(model(image, level), expected, atol=1e-6)


def test_calibration_finds_the_gain_auto_needs(data):
    from photolab.models.training.denoise_adapt import MAP_GAINS, calibrate_map_gain

    shipped = ModelManager(data_dir="/nonexistent-photolab-test").load_denoiser("", "cpu").model
    _, pairs, _, _, _ = split_held_out(data)
    gain, losses = calibrate_map_gain(shipped, [], pairs, 32)
    assert gain in MAP_GAINS and len(losses) == len(MAP_GAINS)
    assert 0.5 <= gain <= 2.0  # white Gaussian noise: Auto measures it well, so about 1
    # maps a quarter of Auto's (as a camera whose noise Auto under-reads): the calibration makes up for it
    quartered = [replace(p, input=replace(p.input, noise_map=p.input.noise_map * 0.25)) for p in pairs]
    low_gain, _ = calibrate_map_gain(shipped, [], quartered, 32)
    assert low_gain >= 2.0 * gain
