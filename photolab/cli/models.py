"""photolab-cli sub-commands for the model store: models list, info, import, download, export, rename, remove.

    photolab-cli models list [--json]
    photolab-cli models info NAME [--json]
    photolab-cli models import FILE [--name NAME] [--arch ARCH] [--timm WEIGHTS] [--labels FILE]
    photolab-cli models download SOURCE [--sha256 HEX] [--name NAME] [--url URL] [--labels FILE]
    photolab-cli models download --list
    photolab-cli models export NAME -o OUT [--format safetensors|torchscript|onnx]   (OUT positional still works)
    photolab-cli models rename NAME NEW_NAME
    photolab-cli models remove NAME

The commands that use a model (classify and attention in :mod:`photolab.cli.classify`, train) open the same
store through :func:`make_manager`. The store is the user data folder (``$PHOTOLAB_DATA_DIR`` overrides it).
Exit status: 0 on success, 1 when anything failed (each failure gets a message on stderr), 2 on usage errors. :func:`add_model_commands` registers the commands on
``photolab-cli``'s sub-parsers; each handler is called as ``handler(args, parser)``.
"""

from __future__ import annotations

import argparse
import json

from photolab.cli.common import Progress, fail, warn
from photolab.core.errors import PhotoLabError
from photolab.jobs import JobState


def add_model_commands(subparsers) -> None:
    """Register ``models`` and its actions on an argparse sub-parsers object."""
    models = subparsers.add_parser("models", help="list, import, download, export and remove models")
    actions = models.add_subparsers(required=True, metavar="ACTION", dest="action")
    listing = actions.add_parser("list", help="list the installed models")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(command=models_list_command)

    info = actions.add_parser("info", help="show a model's card")
    info.add_argument("name", metavar="NAME")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    info.set_defaults(command=models_info_command)

    importing = actions.add_parser("import", help="import a weights file (.safetensors, .pth)")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--name", help="name in the store (default: from the file)")
    importing.add_argument("--arch", help="architecture (default: recognised from the weights)")
    importing.add_argument("--timm", metavar="WEIGHTS", help="timm catalogue entry these weights are")
    importing.add_argument("--labels", metavar="FILE", help="class labels: one per line, or a JSON list")
    importing.add_argument("--license", help="licence of the weights")
    importing.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    importing.set_defaults(command=models_import_command)

    download = actions.add_parser("download", help="download a model (timm catalogue name or URL)")
    download.add_argument("source", nargs="?", metavar="SOURCE", help="catalogue name or http(s) URL")
    download.add_argument("--list", action="store_true", help="list the downloadable timm weights")
    download.add_argument("--sha256", metavar="HEX", help="expected SHA-256 of the file")
    download.add_argument("--name", help="name in the store")
    download.add_argument("--url", help="download a catalogue entry from this address (a mirror)")
    download.add_argument("--arch", help="architecture (default: recognised from the weights)")
    download.add_argument("--labels", metavar="FILE", help="class labels: one per line, or a JSON list")
    download.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    download.set_defaults(command=models_download_command)

    export = actions.add_parser("export", help="write a model as safetensors, TorchScript or ONNX")
    export.add_argument("name", metavar="NAME")
    export.add_argument("-o", "--output", dest="output_option", metavar="OUT",
                        help="file to write (.safetensors, .pt, .onnx)")
    export.add_argument("output", nargs="?", metavar="OUT", help=argparse.SUPPRESS)  # the older positional form
    export.add_argument("--format", choices=("safetensors", "torchscript", "onnx"),
                        help="format (default: from the suffix of OUT)")
    export.set_defaults(command=models_export_command)

    rename = actions.add_parser("rename", help="rename one of your models")
    rename.add_argument("name", metavar="NAME")
    rename.add_argument("new_name", metavar="NEW_NAME")
    rename.set_defaults(command=models_rename_command)

    remove = actions.add_parser("remove", help="delete one of your models")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(command=models_remove_command)


def make_manager():
    """The user's model manager (``$PHOTOLAB_DATA_DIR`` or the platform's data folder)."""
    from photolab.models.store.manager import ModelManager

    return ModelManager(cache_size=1)


def _summary(entry) -> dict:
    card = entry.card
    return {"name": card.name, "architecture": card.architecture, "legacy": card.legacy,
            "num_classes": card.num_classes, "builtin": entry.builtin, "source": card.source_kind, "role": card.role,
            "license": card.license, "created": card.created, "sha256": card.sha256,
            "weights": str(entry.weights_path)}


def models_list_command(args, parser) -> int:
    """``models list [--json]``."""
    manager = make_manager()
    entries = manager.list_models()
    for problem in manager.problems():
        warn(problem)
    if args.json:
        print(json.dumps([_summary(e) for e in entries], indent=2))
        return 0
    if not entries:
        print("No models installed. Import one with 'photolab-cli models import FILE' or download one with "
              "'photolab-cli models download NAME' ('photolab-cli models download --list' shows the catalogue).")
        return 0
    print(f"{'name':<28} {'architecture':<22} {'classes':>7}  {'kind':<18} licence")
    for entry in entries:
        kind = "built-in" if entry.builtin else entry.card.source_kind
        kind += ", backbone" if entry.card.is_backbone else ""
        print(f"{entry.name:<28} {entry.card.architecture:<22} {entry.card.num_classes:>7}  {kind:<18} "
              f"{entry.card.license or '-'}")
    return 0


def models_info_command(args, parser) -> int:
    """``models info NAME [--json]``: the model's card."""
    try:
        entry = make_manager().get(args.name)
    except PhotoLabError as exc:
        return fail(exc)
    data = entry.card.to_dict()
    data["builtin"] = entry.builtin
    data["weights_path"] = str(entry.weights_path)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    card = entry.card
    prep = card.preprocessing
    shown = card.classes[:10]
    role = "backbone for fine-tuning (not a classifier)" if card.is_backbone else "classifier"
    lines = [("name", card.name), ("role", role),
             ("architecture", f"{card.architecture}{' (legacy)' if card.legacy else ''}"),
             ("classes", f"{card.num_classes}: {', '.join(shown)}{', ...' if card.num_classes > 10 else ''}"),
             ("input", f"{prep.input_size[2]}x{prep.input_size[1]}, crop {prep.crop_pct:g}, {prep.interpolation}"),
             ("normalisation", f"mean {list(prep.mean)}, std {list(prep.std)}"),
             ("source", json.dumps(card.source)), ("licence", card.license or "unknown"),
             ("created", card.created), ("sha256", card.sha256), ("weights", str(entry.weights_path)),
             ("store", "built-in (read-only)" if entry.builtin else "user")]
    for key, value in lines:
        print(f"{key + ':':<15}{value}")
    print("training:" + ("" if card.training else "       -"))
    for line in outline(card.training or {}, indent=2):
        print(line)
    return 0


def outline(value, indent: int = 0, width: int = 110) -> list[str]:
    """A nested card record as readable lines: one ``key: value`` per line, nested records indented (on one
    line when they are flat and fit), lists of numbers on one line, long lists of records shortened to their
    first and last three."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            inline = f"{pad}{key}: {_scalar(item)}"
            expand = isinstance(item, dict) and len(inline) > width
            if isinstance(item, (dict, list)) and (not _is_flat(item) or expand):
                lines.append(f"{pad}{key}:")
                lines += outline(item, indent + 2, width)
            else:
                lines.append(_shorten(f"{pad}{key}: {_scalar(item)}", width))
        return lines
    if isinstance(value, list) and not _is_flat(value):
        shown = value if len(value) <= 8 else [*value[:3], None, *value[-3:]]
        return [f"{pad}... {len(value) - 6} more" if item is None else _shorten(f"{pad}- {_scalar(item)}", width)
                for item in shown]
    return [_shorten(pad + _scalar(value), width)]


def _is_flat(value) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return all(not isinstance(item, (dict, list)) for item in items)


def _scalar(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_scalar(item)}" for key, item in value.items())
    return str(value)


def _shorten(line: str, width: int) -> str:
    return line if len(line) <= width else line[:width - 3] + "..."


def models_import_command(args, parser) -> int:
    """``models import FILE [--name NAME] [--arch ARCH] [--timm WEIGHTS] [--labels FILE]``."""
    try:
        entry = make_manager().import_file(args.file, name=args.name, architecture=args.arch, labels=args.labels,
                                           timm_weights=args.timm, license=args.license, overwrite=args.overwrite)
    except PhotoLabError as exc:
        return fail(exc)
    print(f"imported {entry.name} ({entry.card.architecture}, {entry.card.num_classes} classes)")
    return 0


def models_download_command(args, parser) -> int:
    """``models download SOURCE [--sha256 HEX] ...`` or ``models download --list``."""
    from photolab.models.store.manager import download_job

    manager = make_manager()
    if args.list:
        installed = {e.card.source.get("timm_weights") for e in manager.list_models()}
        print(f"{'name':<30} {'architecture':<22} {'licence':<12} source")
        for weights in manager.catalogue():
            mark = " (installed)" if weights.name in installed else ""
            print(f"{weights.name:<30} {weights.arch:<22} {weights.license or 'unknown':<12} {weights.url}{mark}")
        return 0
    if not args.source:
        parser.error("models download needs SOURCE (a catalogue name or URL), or --list")
    job = download_job(manager, args.source, name=args.name, sha256=args.sha256, url=args.url,
                       architecture=args.arch, labels=args.labels, overwrite=args.overwrite)
    progress = Progress(lines_on_pipe=True)
    job.on_progress(progress)
    job.run()
    progress.finish()
    if job.state is not JobState.FINISHED:
        return fail(job.error_message or "cancelled")
    entry = job.result
    print(f"downloaded {entry.name} ({entry.card.architecture}, {entry.card.num_classes} classes, "
          f"sha256 {entry.card.sha256[:16]}...)")
    return 0


def models_export_command(args, parser) -> int:
    """``models export NAME -o OUT [--format FORMAT]`` (``models export NAME OUT`` still works)."""
    if (args.output is None) == (args.output_option is None):
        parser.error("models export: give the output file once, with -o OUT")
    try:
        path = make_manager().export(args.name, args.output_option or args.output, args.format)
    except PhotoLabError as exc:
        return fail(exc)
    print(f"exported {args.name} to {path}")
    return 0


def models_rename_command(args, parser) -> int:
    """``models rename NAME NEW_NAME``."""
    try:
        entry = make_manager().rename(args.name, args.new_name)
    except PhotoLabError as exc:
        return fail(exc)
    print(f"renamed {args.name} to {entry.name}")
    return 0


def models_remove_command(args, parser) -> int:
    """``models remove NAME``."""
    try:
        make_manager().remove(args.name)
    except PhotoLabError as exc:
        return fail(exc)
    print(f"removed {args.name}")
    return 0

