"""Fine-tuning settings: checked values, the suggestions from the data's size, and no torch to read them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from photolab.models.training.settings import (DEFAULT_LR, STRATEGIES, FinetuneError, FinetuneSettings,
                                               auto_val_fraction, recommend_strategy)


@pytest.mark.parametrize("change, message", [({"strategy": "everything"}, "unknown strategy"),
                                             ({"epochs": 0}, "epochs"), ({"image_size": 16}, "image size"),
                                             ({"val_fraction": 0.9}, "validation split"),
                                             ({"batch_size": 1}, "batch size"), ({"lr": 2.0}, "learning rate")])
def test_settings_out_of_range_are_refused_by_name(change, message):
    assert FinetuneSettings(base="b").validate() == FinetuneSettings(base="b")
    with pytest.raises(FinetuneError, match=message):
        FinetuneSettings(base="b", **change).validate()


def test_every_strategy_has_a_label_and_a_learning_rate():
    assert set(STRATEGIES) == set(DEFAULT_LR) == {"auto", "probe", "last", "full"}


def test_small_classes_get_auto_and_large_ones_full():
    assert [recommend_strategy({"a": n, "b": 500})[0] for n in (0, 5, 99, 100, 1000)] == \
        ["auto", "auto", "auto", "full", "full"]
    assert recommend_strategy({})[0] == "auto"
    assert auto_val_fraction(59) == 0.25 and auto_val_fraction(60) == 0.2 and auto_val_fraction(2000) == 0.1


def test_the_settings_need_no_torch():
    code = ("import sys; import photolab.models.training.settings; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
