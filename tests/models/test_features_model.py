"""The shipped fine-tuning backbone (photo-features-seresnet18): its card matches its weights and its own
figures, it never trained on a reserved package or on what the benchmarks hold out, the model manager offers
it as the default base but never as a classifier, and its features tell photos apart better than an untrained
network's."""

import numpy as np
import pytest
import torch

from photolab.core.color import decode_srgb_integer
from photolab.models.store.card import ModelCard, sha256_file
from photolab.models.store.manager import BUILTIN_MODELS_DIR, ModelManager
from photolab.models.preprocess import prepare
from photolab.models.archs.seresnet import create_model
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
    assert card.source["script"] == "training/train_features.py"
    training = card.training
    tasks = training["data"]["tasks"]
    assert set(tasks) == {"icon concepts", "clip-art kinds", "letters", "photo cells"}
    assert card.num_classes == tasks["icon concepts"]["classes"]  # the trunk's own head names icon concepts
    final = training["metrics"]["validation_accuracy"]
    assert final == training["history"][-1]["validation"]
    for task, accuracy in final.items():
        assert accuracy > 10 / tasks[task]["classes"], task  # far above chance: each task was learnt


def test_no_reserved_package_and_nothing_the_benchmarks_use_was_trained_on(card):
    data = card.training["data"]
    assert set(data["reserved_never_used"]) == {"plasma-workspace-wallpapers", "mate-backgrounds",
                                                "tuxpaint-stamps-default", "dataset-fashion-mnist"}
    trained_on = " ".join(data["sources"].values())
    assert not any(package in trained_on for package in data["reserved_never_used"])
    assert "oxygen" not in trained_on and "tango" not in trained_on and "dejavu" not in trained_on
    quality = ModelCard.read(BUILTIN_MODELS_DIR / "photo-quality-seresnet18.json").training["data"]
    assert data["never_seen_photo_groups"] == sorted(quality["test_groups"] + quality["val_groups"])


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
