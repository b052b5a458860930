"""One registry for every architecture family, with the pretrained configs beside their family."""

import dataclasses

import pytest

from photolab.models import create_model, list_models
from photolab.models.archs import seresnet
from photolab.models.archs.denoise_unet import DenoiseUNet
from photolab.models.registry import pretrained_configs
from photolab.models.store.card import Preprocessing


def test_every_family_is_registered():
    assert set(list_models()) == set(seresnet.list_models()) | {"denoise-unet"}
    with pytest.raises(ValueError, match="unknown model 'resnet50'.*seresnet50"):
        create_model("resnet50")


def test_the_denoiser_builds_through_the_registry():
    model = create_model("denoise-unet", widths=(8, 16, 32), bottleneck=1)
    assert isinstance(model, DenoiseUNet) and model.config() == {"name": "denoise-unet", "widths": [8, 16, 32],
                                                                  "bottleneck": 1}


def test_pretrained_configs_live_beside_their_family():
    assert pretrained_configs() is seresnet.CATALOGUE
    assert all(weights.arch in list_models() and weights.config.architecture == weights.arch
               for weights in pretrained_configs())


def test_preprocessing_is_the_models_data_config_written_once():
    names = [f.name for f in dataclasses.fields(seresnet.DataConfig)]
    assert [f.name for f in dataclasses.fields(Preprocessing)] == names
    assert set(names) < {f.name for f in dataclasses.fields(seresnet.ModelConfig)}
    config = Preprocessing(input_size=(3, 64, 64), interpolation="bicubic").to_config("seresnext26d_32x4d", 5)
    assert config.first_conv == "conv1.0" and config.num_classes == 5 and config.input_size == (3, 64, 64)
    assert Preprocessing.from_config(config) == Preprocessing(input_size=(3, 64, 64), interpolation="bicubic")
