"""Inference through the manager: top-k on known answers, excitations, CAM, LRU cache, thread safety."""

import math
import threading

import numpy as np
import pytest
import torch

from photolab.core.photo import Photo
from photolab.models.analysis.excitation import ExcitationProbe, find_se_gates
from photolab.models.store.card import Preprocessing
from photolab.models.inference import cam, classify, excitations, load_entry, predict
from photolab.models.store.manager import ModelManager
from photolab.models.preprocess import ImageNotSuitableError

from tests.models.store_utils import TINY_CLASSES, tiny_model

SMALL = Preprocessing(input_size=(3, 64, 64), crop_pct=0.875, interpolation="bicubic")


def biased_model(bias):
    """A classifier whose logits are exactly ``bias`` for every image (zero classifier weights)."""
    model = tiny_model(seed=5)
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.tensor(bias))
    return model


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    manager = ModelManager(data_dir=data, builtin_dir=data / "none", cache_size=2)
    manager.save_model(biased_model([0.0, 3.0, 1.0]), "biased", TINY_CLASSES, preprocessing=SMALL)
    manager.save_model(tiny_model(seed=7), "random", TINY_CLASSES, preprocessing=SMALL)
    manager.save_model(tiny_model(seed=8), "third", TINY_CLASSES, preprocessing=SMALL)
    return manager


def photo(seed=0, size=(48, 72)):
    return Photo(np.random.default_rng(seed).random((*size, 3), dtype=np.float32))


def test_classify_returns_exact_softmax_in_order(manager):
    loaded = manager.load("biased")
    total = 1 + math.exp(3) + math.exp(1)
    top = classify(loaded, photo(), top_k=3)
    assert [label for label, _ in top] == ["dog", "bird", "cat"]
    assert [p for _, p in top] == pytest.approx([math.exp(3) / total, math.exp(1) / total, 1 / total], abs=1e-12)
    assert classify(loaded, photo(1), top_k=1) == top[:1]
    assert len(classify(loaded, photo(), top_k=10)) == 3
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        classify(loaded, photo(), top_k=0)


def test_an_entry_can_stand_for_a_loaded_model(manager):
    entry = manager.get("random")
    assert classify(entry, photo(2)) == classify(manager.load(entry), photo(2))
    np.testing.assert_array_equal(predict(entry, photo(2)), predict(manager.load("random"), photo(2)))


def test_probabilities_follow_the_weights(manager):
    loaded = manager.load("random")
    prepared = loaded.prepare(photo(3))
    with torch.no_grad():
        expected = torch.softmax(tiny_model(seed=7)(prepared.tensor)[0].double(), 0).numpy()
    np.testing.assert_allclose(predict(loaded, photo(3)), expected, rtol=1e-6, atol=1e-9)


def test_excitations_are_every_se_gate_in_forward_order(manager):
    loaded = manager.load("random")
    recorded = excitations(loaded, photo(4))
    gates = find_se_gates(loaded.model)
    assert list(recorded) == [g.name for g in gates] == [f"layer{s}.{b}.se" for s in (1, 2, 3, 4) for b in (0, 1)]
    assert [v.shape for v in recorded.values()] == [(g.channels,) for g in gates]
    with ExcitationProbe(loaded.model, as_numpy=True) as probe, torch.no_grad():
        loaded.model(loaded.prepare(photo(4)).tensor)
    for name, values in recorded.items():
        assert values.dtype == np.float32 and np.all((values > 0) & (values < 1))
        np.testing.assert_array_equal(values, probe.excitations[name][0])


def test_cam_explains_the_predicted_or_requested_class(manager):
    loaded = manager.load("random")
    result = cam(loaded, photo(5))
    top_label, top_p = classify(loaded, photo(5), top_k=1)[0]
    assert result.heatmap.shape == (64, 64) and result.heatmap.dtype == np.float32
    assert result.heatmap.min() == 0.0 and result.heatmap.max() == 1.0
    assert (result.label, result.probability) == (top_label, pytest.approx(top_p, abs=1e-9))
    other = (result.class_index + 1) % 3
    explained = cam(loaded, photo(5), class_index=other)
    assert explained.class_index == other and explained.label == TINY_CLASSES[other]
    assert not np.array_equal(explained.heatmap, result.heatmap)
    # 72x48 photo resized to 109x73 (shorter side floor(64 / 0.875)); the 64 px crop starts at
    # x = round(22.5) = 22 (half to even), y = round(4.5) = 4, mapped back by 72/109 and 48/73
    assert result.box == pytest.approx((22 * 72 / 109, 4 * 48 / 73, 86 * 72 / 109, 68 * 48 / 73))
    with pytest.raises(ValueError, match="class index 3 is outside 0..2"):
        cam(loaded, photo(5), class_index=3)


def test_lru_cache_keeps_the_most_recent_models(manager):
    manager.clear_cache()
    first = manager.load("biased")
    assert manager.load("biased") is first
    manager.load("random")
    manager.load("biased")  # now most recent
    manager.load("third")
    assert manager.cached() == ["biased", "third"]
    assert manager.load("biased") is first
    manager.cache_size = 1
    assert manager.cached() == ["biased"]
    manager.cache_size = 0
    assert manager.cached() == [] and manager.load("biased") is not first
    manager.cache_size = 2


def test_concurrent_calls_on_one_model_give_serial_results(manager):
    loaded = manager.load("random")
    photos = [photo(seed) for seed in range(4)]
    serial = [(classify(loaded, p), excitations(loaded, p)["layer4.1.se"]) for p in photos]
    results = {}
    barrier = threading.Barrier(4)

    def worker(index):
        barrier.wait()
        for _ in range(2):
            results[index] = (classify(loaded, photos[index]), excitations(loaded, photos[index])["layer4.1.se"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for index, (top, exc) in enumerate(serial):
        assert results[index][0] == top
        np.testing.assert_array_equal(results[index][1], exc)
    assert not loaded.lock.locked()


def test_images_the_model_cannot_take_are_refused(manager):
    loaded = manager.load("biased")
    with pytest.raises(ImageNotSuitableError, match="8x12 px is too small"):
        classify(loaded, Photo(np.zeros((12, 8, 3), np.float32)))
    with pytest.raises(ImageNotSuitableError, match="NaN"):
        excitations(loaded, Photo(np.full((32, 32, 3), np.nan, np.float32)))
    assert not loaded.lock.locked()


def test_unverified_load_skips_only_the_hash(manager):
    entry = manager.get("biased")
    assert load_entry(entry, verify=False).classes == TINY_CLASSES
