"""The shipped fine-tuning backbone (photo-features-seresnet18): its card matches its weights and its own
figures, the model manager offers it as the default base but never as a classifier, and its features tell
photos apart better than an untrained network's."""

import numpy as np
import pytest
import torch

from photolab.core.color import decode_srgb_integer
from photolab.models.card import ModelCard, sha256_file
from photolab.models.manager import BUILTIN_MODELS_DIR, ModelManager
from photolab.models.preprocess import prepare
from photolab.models.se import create_model
from utils.images import NATURAL_PHOTOS, load_fixture

NAME = "photo-features-seresnet18"
CARD = BUILTIN_MODELS_DIR / f"{NAME}.json"


@pytest.fixture(scope="module")
def card():
    return ModelCard.read(CARD)


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    return ModelManager(data_dir=tmp_path_factory.mktemp("data"))


def test_card_describes_the_shipped_weights(card):
    weights = BUILTIN_MODELS_DIR / card.weights_file
    assert card.weights_file == f"{NAME}.safetensors" and sha256_file(weights) == card.sha256
    assert card.is_backbone and card.architecture == "seresnet18" and card.source["kind"] == "builtin"
    training = card.training
    recipe = training["recipe"]
    assert card.num_classes == len(training["data"]["groups"]) * recipe["grid"] ** 2 == recipe["surrogate_classes"]
    assert not set(training["data"]["groups"]) & set(training["data"]["never_seen_groups"])
    history = training["history"]
    assert len(history) == recipe["epochs_run"]
    assert training["metrics"]["surrogate_validation"]["accuracy"] > 20 / card.num_classes  # chance: 1/classes


def test_the_never_seen_groups_are_the_built_in_classifiers_held_out_ones(card):
    quality = ModelCard.read(BUILTIN_MODELS_DIR / "photo-quality-seresnet18.json").training["data"]
    assert card.training["data"]["never_seen_groups"] == sorted(quality["test_groups"] + quality["val_groups"])


def test_is_the_default_base_and_not_the_default_classifier(manager):
    assert manager.default_base().name == NAME
    assert manager.default_entry().name == "photo-quality-seresnet18"


def nearest_neighbour_accuracy(model, preprocessing) -> float:
    """Crops of the fixture photos: how often a crop's nearest neighbour (cosine) is from the same photo."""
    vectors, labels = [], []
    for label, name in enumerate(NATURAL_PHOTOS):
        linear = decode_srgb_integer(load_fixture(name))
        height, width, _ = linear.shape
        side = min(height, width) // 2
        for top, left in ((0, 0), (0, width - side), (height - side, 0), (height - side, width - side)):
            tensor = prepare(linear[top:top + side, left:left + side], preprocessing).tensor
            with torch.no_grad():
                vectors.append(model.forward_head(model.forward_features(tensor), pre_logits=True)[0])
            labels.append(label)
    unit = torch.nn.functional.normalize(torch.stack(vectors), dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-2)
    nearest = similarity.argmax(1)
    return float(np.mean([labels[i] == labels[j] for i, j in enumerate(nearest.tolist())]))


def test_features_tell_photos_apart_better_than_random_weights(manager, card):
    torch.set_num_threads(2)
    loaded = manager.load(NAME)
    torch.manual_seed(0)
    untrained = create_model("seresnet18", num_classes=card.num_classes).eval()
    trained_accuracy = nearest_neighbour_accuracy(loaded.model, card.preprocessing)
    assert trained_accuracy > nearest_neighbour_accuracy(untrained, card.preprocessing)
    assert trained_accuracy >= 0.5  # chance: 3 of the other 4*photos-1 crops
