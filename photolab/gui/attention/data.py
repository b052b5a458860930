"""The Attention view's data, without widgets: excitation sets, the jobs that compute them, channel orders,
and the numbers it exports (JSON: everything; CSV: one row per block and channel)."""

from __future__ import annotations

import csv
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photolab.gui.models.service import PhotoSnapshot


@dataclass(frozen=True)
class ExcitationSet:
    """The excitation vector of every SE block for one photo."""

    model: str
    name: str
    values: "OrderedDict[str, np.ndarray]"  # block -> (C,)


def excite_snapshot(context, loaded, snapshot: PhotoSnapshot) -> ExcitationSet:
    """Job work: the excitations of a photo as edited."""
    from photolab.models.inference import excitations

    photo = snapshot.render()
    context.check_cancelled()
    return ExcitationSet(loaded.name, snapshot.name, excitations(loaded, photo))


def excite_file(context, loaded, path: str) -> ExcitationSet:
    """Job work: the excitations of a photo file, with the edits saved beside it (if any): the same input as
    ``photolab-cli attention``."""
    from photolab.core.pipeline import edited_preview
    from photolab.models.inference import excitations

    photo, _ = edited_preview(path)
    context.check_cancelled()
    return ExcitationSet(loaded.name, Path(path).name, excitations(loaded, photo))


def stage_of(block: str) -> str:
    """The stage of an SE block's path (``layer3.1.se`` -> ``layer3``), as the models layer defines it."""
    from photolab.models.attention import default_stage_of

    return default_stage_of(block)


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
            peers = [v for b, v in shown.items() if stage_of(b) == stage_of(block) and len(v) == len(values)]
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
    from photolab.models.attention import excitation_record

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
            rows.append([block, stage_of(block), c, value, other, delta])
    return rows


def class_rows(result) -> list[list]:
    """CSV rows of a class-average result: block, stage, channel, one mean per class, block specificity."""
    rows = [["block", "stage", "channel", *result.classes, "block_specificity"]]
    for block in result.excitations:
        means = result.class_means(block)
        rows += [[block, stage_of(block), c, *means[:, c].tolist(), result.block_specificity[block]]
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
