"""photolab.models.training.finetune's saving: what the card of a model trained on the user's photos says."""

from __future__ import annotations

import torch

from photolab.models.store.card import Preprocessing
from photolab.models.training.data import scan_folder
from photolab.models.training.finetune import USER_TRAINED_LICENSE, run_finetune, save_outcome
from photolab.models.training.settings import FinetuneSettings
from photolab.models.store.manager import ModelManager
from tests.cli.test_train import make_folder

from tests.models.store_utils import tiny_model


def test_a_user_trained_model_claims_no_licence_not_even_its_bases(tmp_path):
    torch.set_num_threads(1)
    manager = ModelManager(data_dir=tmp_path / "store", builtin_dir=tmp_path / "no-builtins")
    manager.save_model(tiny_model(seed=3), "base", ("a", "b", "c"), license="GPL-3.0-or-later",
                       preprocessing=Preprocessing(input_size=(3, 48, 48)))
    report = scan_folder(make_folder(tmp_path / "colours", per_class=5))
    outcome = run_finetune(manager, report, FinetuneSettings(base="base", strategy="probe", epochs=1, patience=0))
    entry = save_outcome(manager, outcome, "mine", "my colours")
    assert entry.card.license == USER_TRAINED_LICENSE == "user-trained; see your data"
    assert manager.get("mine").card.license == USER_TRAINED_LICENSE  # as stored
    assert entry.card.source == {"kind": "trained", "base_model": "base"}
