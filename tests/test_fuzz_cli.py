"""A fast, deterministic fuzz set: 46 hostile files (every mutation kind of utils.mutants) through
photolab-cli's info, develop, classify (the built-in model) and attention, in process. Every run must end
with exit 0 and a sound result, or exit 1 with exactly one line on stderr naming the file (never for a sound
image: a photo under another name, behind a link, with a sparse tail); nothing escapes main(), the input
is never changed, nothing is left in the output folder after a failure.
bench/fuzz_campaign.py runs thousands of them in subprocesses."""

from __future__ import annotations

import shutil

import pytest
import torch

from photolab.cli import models as cli_models
from photolab.cli import main
from photolab.models.store.manager import ModelManager
from utils.fuzz import COMMANDS, command_line, judge, snapshot
from utils.mutants import quick_set

MUTANTS = quick_set(seed=2024, per_kind=3)


def _cases():
    for mutant in MUTANTS:
        for command in COMMANDS:
            yield pytest.param(command, mutant, id=f"{command}-{mutant.name[:60]}")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Every mutant made once, in one folder, and a manager whose built-in model is loaded once."""
    folder = tmp_path_factory.mktemp("mutants")
    paths = {mutant.name: mutant.create(folder) for mutant in MUTANTS}
    torch.set_num_threads(2)
    manager = ModelManager(data_dir=tmp_path_factory.mktemp("store"))
    return paths, manager


@pytest.mark.parametrize("command,mutant", list(_cases()))
def test_hostile_file(command, mutant, inputs, tmp_path, capfd, monkeypatch):
    paths, manager = inputs
    monkeypatch.setattr(cli_models, "make_manager", lambda: manager)
    path = paths[mutant.name]
    output = tmp_path / "out"
    output.mkdir()
    before = snapshot(path, output)
    capfd.readouterr()
    try:
        code = main(command_line(command, path, output))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capfd.readouterr()
    outcome, why = judge(command, path, code, out, err, before, snapshot(path, output), output,
                         mutant.readable_by(command))
    assert outcome in ("ok", "clean"), f"{outcome}: {why} ({mutant.kind}: {mutant.detail})\n{err[-2000:]}"
    shutil.rmtree(output)
