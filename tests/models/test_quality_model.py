"""The shipped photo-quality classifier: its card matches its weights and its own figures, it loads through the
model manager, it recognises gross exposure errors on the test fixtures, and it is a fine-tuning start."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from photolab.core.color import decode_srgb_integer
from photolab.models.store.card import ModelCard, Preprocessing, sha256_file
from photolab.models.inference import classify
from photolab.models.store.manager import BUILTIN_MODELS_DIR, ModelManager
from photolab.models.training.training import TrainConfig, finetune
from utils.images import NATURAL_PHOTOS, load_fixture

NAME = "photo-quality-seresnet18"
CARD = BUILTIN_MODELS_DIR / f"{NAME}.json"


@pytest.fixture(scope="module")
def card():
    return ModelCard.read(CARD)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    manager = ModelManager(data_dir=tmp_path_factory.mktemp("data"))
    return manager.load(NAME)


def test_card_describes_the_shipped_weights(card):
    weights = BUILTIN_MODELS_DIR / card.weights_file
    assert card.weights_file == f"{NAME}.safetensors"
    assert sha256_file(weights) == card.sha256
    assert weights.stat().st_size < 50 * 1024 * 1024
    assert card.classes == ("sharp", "blurred", "noisy", "underexposed", "overexposed")
    assert card.architecture == "seresnet18" and card.source["kind"] == "builtin"
    assert card.source["by"] == "trained by PhotoLab" and card.license
    training = card.training
    assert set(training) >= {"data", "recipe", "metrics", "history"}
    assert training["metrics"]["independent_evaluation"]["evaluated"] is True


def _evaluations(card):
    metrics = card.training["metrics"]
    for part in ("held_out_test", "independent_evaluation"):
        for view in ("app_view", "patches"):
            yield f"{part}/{view}", metrics[part][view]


def test_card_figures_agree_with_their_confusion_matrices(card):
    for where, result in _evaluations(card):
        confusion = np.array(result["confusion_matrix"])
        assert confusion.shape == (5, 5), where
        assert confusion.sum() == result["samples"], where
        assert result["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum()), where
        for index, name in enumerate(card.classes):
            per_class = result["per_class"][name]
            assert per_class["support"] == confusion[index].sum(), where
            assert per_class["recall"] == pytest.approx(confusion[index, index] / confusion[index].sum()), where
        assert result["accuracy"] > 0.5, where  # five classes: chance is 0.2


def test_loads_as_a_builtin_through_the_manager(loaded):
    assert loaded.entry.builtin and loaded.entry.read_only
    assert loaded.card.preprocessing.input_size == (3, 128, 128)
    assert not loaded.model.training


def test_recognises_gross_exposure_errors_on_the_fixture_photos(loaded):
    hits = {"underexposed": 0, "overexposed": 0}
    for name in NATURAL_PHOTOS:
        linear = decode_srgb_integer(load_fixture(name))
        dark = (linear * 2.0 ** -3.5).astype(np.float32)
        bright = np.clip(linear * 2.0 ** 2.5, 0, 1).astype(np.float32)
        hits["underexposed"] += classify(loaded, dark, top_k=1)[0][0] == "underexposed"
        hits["overexposed"] += classify(loaded, bright, top_k=1)[0][0] == "overexposed"
    assert hits["underexposed"] >= len(NATURAL_PHOTOS) - 1, hits
    assert hits["overexposed"] >= len(NATURAL_PHOTOS) - 1, hits


def test_is_a_starting_point_for_fine_tuning(loaded, tmp_path):
    from photolab.models.training.data import scan_folder
    from photolab.models.inference import build_model

    rng = np.random.default_rng(0)
    for label, level in (("dark", 50), ("light", 200)):
        (tmp_path / label).mkdir()
        for i in range(5):
            pixels = np.clip(rng.normal(level, 25, (48, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
    model = build_model(loaded.card)
    model.load_state_dict(loaded.model.state_dict())
    backbone = model.layer1[0].conv1.weight.detach().clone()
    result = finetune(model, scan_folder(tmp_path), TrainConfig(epochs=1, batch_size=4, num_threads=1),
                      preprocessing=Preprocessing(input_size=(3, 32, 32)), val_fraction=0.4)
    assert result.classes == ("dark", "light") and model.fc.out_features == 2
    assert not torch.equal(backbone, model.layer1[0].conv1.weight)
    json.dumps(result.to_dict())
