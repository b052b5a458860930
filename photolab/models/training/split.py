"""The seeded, stratified train/validation split that training, fine-tuning and the wizard share."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def stratified_split(labels: Sequence[int], val_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices ``(train, val)``: every class keeps about ``val_fraction`` of its items (at least one each way
    when it has two or more), chosen by a seeded shuffle, so the split is the same on every run."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    train, val = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        count = int(round(len(members) * val_fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        val += members[:count].tolist()
        train += members[count:].tolist()
    return sorted(train), sorted(val)
