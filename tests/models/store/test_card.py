"""Model names: the card's rule, a free name when one is taken, a name suggested from a training folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolab.models.store.card import (MAX_NAME_LENGTH, ModelCardError, check_model_name, free_model_name,
                                        suggested_model_name)


def test_names_up_to_the_limit_are_valid_and_longer_ones_are_not():
    assert check_model_name("x" * MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH
    with pytest.raises(ModelCardError, match=f"1-{MAX_NAME_LENGTH} letters"):
        check_model_name("x" * (MAX_NAME_LENGTH + 1))


def test_a_free_name_counts_up_and_stays_short_enough():
    assert free_model_name("garden", {"garden"}) == "garden-2"
    assert free_model_name("garden", {"garden", "garden-2"}) == "garden-3"
    long = "x" * MAX_NAME_LENGTH
    assert free_model_name(long, {"x" * 78 + "-2"}) == "x" * 78 + "-3"
    assert check_model_name(free_model_name(long, set()))


@pytest.mark.parametrize("folder, name", [("/photos/colours", "colours-classifier"),
                                          ("/photos/Garden birds (2024)", "Garden-birds-2024-classifier"),
                                          ("/photos/☃", "my-classifier"), ("x" * 100, "x" * 60 + "-classifier")])
def test_the_suggested_name_comes_from_the_folder_and_is_valid(folder, name):
    assert suggested_model_name(Path(folder)) == name == check_model_name(name)


def test_the_preprocessing_block_is_the_data_config_and_reads_back():
    import dataclasses

    from photolab.models.archs.seresnet import DataConfig
    from photolab.models.store.card import Preprocessing

    prep = Preprocessing(input_size=(3, 64, 64), crop_pct=0.9, interpolation="bicubic")
    data = prep.to_dict()
    assert list(data) == [f.name for f in dataclasses.fields(DataConfig)]
    assert data["input_size"] == [3, 64, 64] and data["mean"] == list(prep.mean)
    assert Preprocessing.from_dict(data) == prep
