"""The numbers the Attention view and ``photolab-cli attention`` export: one photo's excitation set, the JSON
of photos A and B, their difference, the class averages and the activation map's class (extending
:func:`excitation_record`, the CLI's shape), CSV rows, and the channel
orders the view's charts use. Needs no torch (the GUI imports it on its own thread)."""

from __future__ import annotations

import csv
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np


def excitation_record(model: str, excitations: Mapping[str, np.ndarray]) -> dict:
    """The JSON shape of one photo's excitations, shared by ``photolab-cli attention --json`` and the Attention
    view's export (which adds its comparisons to it): ``{"model": NAME, "blocks": [{"name", "channels",
    "excitation": [...]}, ...]}``."""
    blocks = []
    for name, values in excitations.items():
        values = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, np.float64)
        blocks.append({"name": name, "channels": int(values.shape[0]), "excitation": [float(v) for v in values]})
    return {"model": model, "blocks": blocks}


def default_stage_of(name: str) -> str:
    """Stage of an SE module path: the components before the first numeric one (``layer3.2.se`` -> ``layer3``)."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i]) or part
    return name


@dataclass(frozen=True)
class ExcitationSet:
    """The excitation vector of every SE block for one photo."""

    model: str
    name: str
    values: "OrderedDict[str, np.ndarray]"  # block -> (C,)


def channel_orders(shown: "OrderedDict[str, np.ndarray]", sort: str,
                   photos: list["OrderedDict[str, np.ndarray]"]) -> list[np.ndarray]:
    """Left-to-right channel order of every block: by index, by ``shown`` value (largest first), by
    variance across ``photos`` (largest first) or across the blocks of the same stage with as many channels."""
    orders = []
    for block, values in shown.items():
        if sort == "weight":
            key = values
        elif sort == "photos" and len(photos) >= 2:
            key = np.var(np.stack([p[block] for p in photos]), axis=0)
        elif sort == "stage":
            stage = default_stage_of(block)
            peers = [v for b, v in shown.items() if default_stage_of(b) == stage and len(v) == len(values)]
            key = np.var(np.stack(peers), axis=0)
        else:
            orders.append(np.arange(len(values)))
            continue
        orders.append(np.argsort(-np.asarray(key), kind="stable"))
    return orders


def numbers_dict(model: str, a: ExcitationSet | None, b: ExcitationSet | None, difference, class_result,
                 cam_result) -> dict:
    """JSON-ready: photo A's excitations in the shape of ``photolab-cli attention --json`` (``model``,
    ``blocks``), then photos A and B, A − B (or None), the class averages and the activation map's class."""
    data: dict = excitation_record(model, a.values) if a is not None else {"model": model, "blocks": []}
    data["photos"] = {}
    for key, value in (("A", a), ("B", b)):
        if value is not None:
            data["photos"][key] = {"name": value.name, "model": value.model,
                                   "excitations": {block: v.tolist() for block, v in value.values.items()}}
    if difference is not None:
        data["difference"] = {block: v.tolist() for block, v in difference.items()}
    if class_result is not None:
        data["class_average"] = class_result.to_dict()
    if cam_result is not None:
        data["activation_map"] = {"photo": cam_result.photo, "class": cam_result.label,
                                  "class_index": cam_result.class_index, "probability": cam_result.probability,
                                  "box": list(cam_result.box)}
    return data


def excitation_rows(a: ExcitationSet | None, b: ExcitationSet | None, difference) -> list[list]:
    """CSV rows: block, stage, channel, A, B, A − B (B and A − B empty without a comparable photo B)."""
    rows = [["block", "stage", "channel", "A", "B", "A_minus_B"]]
    for block, values in (a.values.items() if a is not None else ()):
        for c, value in enumerate(values.tolist()):
            other = float(b.values[block][c]) if difference is not None else ""
            delta = float(difference[block][c]) if difference is not None else ""
            rows.append([block, default_stage_of(block), c, value, other, delta])
    return rows


def class_rows(result) -> list[list]:
    """CSV rows of a class-average result: block, stage, channel, one mean per class, block specificity."""
    rows = [["block", "stage", "channel", *result.classes, "block_specificity"]]
    for block in result.excitations:
        means = result.class_means(block)
        rows += [[block, default_stage_of(block), c, *means[:, c].tolist(), result.block_specificity[block]]
                 for c in range(means.shape[1])]
    return rows


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as indented JSON."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def write_csv(path: str | Path, rows: list[list]) -> Path:
    """Write ``rows`` as CSV."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path
