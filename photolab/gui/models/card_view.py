"""A model's card as people read it: an HTML table for the Model Manager's details pane (name, role, architecture,
classes, preprocessing, source, licence, training data, headline metrics, checksum)."""

from __future__ import annotations

import html


def card_html(entry) -> str:
    """The card of ``entry`` as an HTML table for people."""
    card = entry.card
    prep = card.preprocessing
    source = ", ".join(f"{k}: {v}" for k, v in card.source.items() if v not in (None, "")) or "—"
    classes = ", ".join(card.classes[:12]) + (f", … ({card.num_classes} in all)" if card.num_classes > 12 else "")
    rows = [
        ("Name", card.name + ("  (built-in, read-only)" if entry.builtin else "")),
        ("Role", "backbone for fine-tuning: a starting point for Train Classifier, not a classifier (its classes "
                 "are its pretraining task's)" if card.is_backbone else "classifier"),
        ("Architecture", card.architecture + ("  (timm legacy SENet)" if card.legacy else "")),
        ("Classes", f"{card.num_classes}: {classes}"),
        ("Input size", f"{prep.input_size[2]} × {prep.input_size[1]} px, {prep.input_size[0]} channels"),
        ("Normalisation", f"mean {list(prep.mean)}, std {list(prep.std)}"),
        ("Resizing", f"{prep.interpolation}, {prep.crop_mode} crop of {prep.crop_pct:g}"),
        ("Source", source),
        ("Licence", card.license or "unknown"),
        ("Training data", _training_data(card.training.get("data"))),
        ("Metrics", _metrics(card.training.get("metrics"))),
        ("Created", card.created),
        ("SHA-256", card.sha256),
        ("Weights file", str(entry.weights_path)),
    ]
    cells = "".join(f"<tr><td style='color:#9a9a9a;padding-right:10px' valign='top'>{html.escape(k)}</td>"
                    f"<td>{html.escape(str(v)).replace(chr(10), '<br>')}</td></tr>" for k, v in rows)
    return f"<table cellspacing='3'>{cells}</table>"


def _training_data(data) -> str:
    if not data:
        return "—"
    if isinstance(data, dict):
        counts = data.get("counts") or {}
        summary = ", ".join(f"{k} {v}" for k, v in counts.items())
        text = data.get("root") or data.get("description") or "a dataset"
        return str(text) + (f" ({summary})" if summary else "")
    return str(data)


HEADLINE_METRICS = ("acc", "top1", "top5", "f1")  # shown when present; otherwise every number


def _metrics(metrics) -> str:
    """The numbers of a (nested) metrics dict, one 'path: value' per line; accuracy-like ones only when there
    are any (per-class tables, confusion matrices and lists are left out)."""
    leaves = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in ("per_class", "confusion_matrix") and len(path) < 3:
                    walk(item, path + (str(key),))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            leaves.append(("/".join(path), value))

    walk(metrics if isinstance(metrics, dict) else {}, ())
    headline = [(k, v) for k, v in leaves if any(word in k.rsplit("/", 1)[-1].lower() for word in HEADLINE_METRICS)]
    return "\n".join(f"{k}: {v:.4g}" for k, v in (headline or leaves)) or "—"
