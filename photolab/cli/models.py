"""photolab-cli sub-commands for classifiers: classify, attention, models.

    photolab-cli classify IN... [--model NAME] [--top K] [--device cpu|cuda|auto] [--no-sidecar] [--json]
    photolab-cli attention IN [--model NAME] [--device cpu|cuda|auto] [--no-sidecar] [--json]
    photolab-cli attention IN --class-average FOLDER [--model NAME] [--json]
    photolab-cli models list [--json]
    photolab-cli models info NAME [--json]
    photolab-cli models import FILE [--name NAME] [--arch ARCH] [--timm WEIGHTS] [--labels FILE]
    photolab-cli models download SOURCE [--sha256 HEX] [--name NAME] [--url URL] [--labels FILE]
    photolab-cli models download --list
    photolab-cli models export NAME -o OUT [--format safetensors|torchscript|onnx]   (OUT positional still works)
    photolab-cli models rename NAME NEW_NAME
    photolab-cli models remove NAME

Like the window, ``classify`` and ``attention`` look at the photo as edited (its sidecar's recipe applied to
the screen-sized copy the window shows; ``--no-sidecar`` looks at it unedited). ``classify --json`` prints
one line per image: ``{"image": PATH, "label": TOP1, "topk": [[LABEL, PROB], ...]}``; ``attention --json``
prints ``{"model": NAME, "blocks": [{"name": BLOCK, "channels": C, "excitation": [...]}, ...]}``, the shape
the Attention view's export extends. ``--class-average FOLDER`` adds the class averages over a folder with one
sub-folder of photos per class and how class-specific each block and stage is, with its chance level and
interval (``"class_average"``, the same numbers and keys as the view's Class Average tab). Without
``--model`` the default model (the first built-in classifier) is used. The store is the user data
folder (``$PHOTOLAB_DATA_DIR`` overrides it). Exit status: 0 on success, 1 when anything failed (each
failure gets a message on stderr), 2 on usage errors. :func:`add_model_commands` registers the commands on
``photolab-cli``'s sub-parsers; each handler is called as ``handler(args, parser)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from photolab.cli.common import Progress, add_device_option, fail, warn, whole_number
from photolab.core.errors import PhotoLabError
from photolab.jobs import Job, JobState, describe_error
from photolab.services import edited_preview


def add_model_commands(subparsers) -> None:
    """Register ``classify``, ``attention`` and ``models`` on an argparse sub-parsers object."""
    classify = subparsers.add_parser("classify", help="label photos with a classifier")
    classify.add_argument("inputs", nargs="+", metavar="IN", help="photos to classify")
    classify.add_argument("--model", metavar="NAME", help="model to use (default: the first built-in)")
    classify.add_argument("--top", metavar="K", type=whole_number(1), default=5, help="labels to show (default 5)")
    classify.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    add_device_option(classify)
    _add_sidecar_option(classify)
    classify.set_defaults(command=classify_command)

    attention = subparsers.add_parser("attention", help="print the SE excitations of a photo")
    attention.add_argument("input", metavar="IN", help="photo to look at")
    attention.add_argument("--model", metavar="NAME", help="model to use (default: the first built-in)")
    attention.add_argument("--json", action="store_true", help="print every excitation as JSON")
    attention.add_argument("--class-average", metavar="FOLDER",
                           help="also average the excitations over FOLDER/<class>/ photos and say how class-specific "
                                "each stage is, against shuffled labels (the SENet paper's Fig. 6)")
    add_device_option(attention)
    _add_sidecar_option(attention)
    attention.set_defaults(command=attention_command)

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


def _add_sidecar_option(parser) -> None:
    parser.add_argument("--no-sidecar", action="store_true",
                        help="look at the photo unedited (default: with the edits saved beside it, as the window does)")


def _read_edited(path: str, args):
    """The photo as the window shows it (see ``edited_preview``); a sidecar problem is a warning."""
    photo, warning = edited_preview(path, use_sidecar=not args.no_sidecar)
    if warning:
        warn(warning)
    return photo


def _file_error(path: str, error: Exception, what: str) -> str:
    """One line for a file that failed: PhotoLab's message (which names the file), else what failed."""
    message = describe_error(error, f"{what} {path}")
    return message if str(path) in message else f"{path}: {message}"


def make_manager():
    """The user's model manager (``$PHOTOLAB_DATA_DIR`` or the platform's data folder)."""
    from photolab.models.store.manager import ModelManager

    return ModelManager(cache_size=1)


def _load(manager, name: str | None, device: str):
    entry = manager.get(name) if name else manager.default_entry()
    if entry.card.is_backbone:
        raise PhotoLabError(f"{entry.name} is a backbone for fine-tuning, not a classifier: its outputs are the "
                            "surrogate classes it was pretrained on. Train a classifier from it with "
                            f"'photolab-cli train FOLDER --name NAME --base {entry.name}', or choose another "
                            "model ('photolab-cli models list')")
    return manager.load(entry, device)


def classify_command(args, parser) -> int:
    """``classify IN... [--model NAME] [--top K] [--json]``."""
    from photolab.models.inference import classify

    loaded = _load(make_manager(), args.model, args.device)
    progress = Progress(total=len(args.inputs))
    failed = 0
    for index, path in enumerate(args.inputs):
        progress(0.0, Path(path).name, index)
        try:
            top = classify(loaded, _read_edited(path, args), args.top)
        except Exception as exc:  # noqa: BLE001 - one file's failure is reported and the batch goes on
            failed += 1
            progress.clear()
            fail(_file_error(path, exc, "classifying"))
            continue
        progress.clear()
        if args.json:
            print(json.dumps({"image": path, "label": top[0][0], "topk": [[label, p] for label, p in top]}),
                  flush=True)
        else:
            others = ", ".join(f"{label} {p:.1%}" for label, p in top[1:])
            print(f"{path}: {top[0][0]} {top[0][1]:.1%}" + (f"  ({others})" if others else ""), flush=True)
    progress.finish()
    return 1 if failed else 0


def attention_command(args, parser) -> int:
    """``attention IN [--model NAME] [--class-average FOLDER] [--json]``: the excitation of every SE block,
    and with a folder, its class averages and class specificity."""
    from photolab.models.analysis.records import excitation_record
    from photolab.models.inference import excitations

    loaded = _load(make_manager(), args.model, args.device)
    try:
        recorded = excitations(loaded, _read_edited(args.input, args))
    except PhotoLabError:
        raise
    except Exception as exc:  # noqa: BLE001 - said as one line naming the file
        return fail(_file_error(args.input, exc, "reading the excitations of"))
    classes = None
    if args.class_average is not None:
        classes = _class_average(loaded, args.class_average)
        if classes is None:
            return 1
    if args.json:
        data = excitation_record(loaded.name, recorded)
        if classes is not None:
            data["class_average"] = classes.to_dict()
        print(json.dumps(data))
        return 0
    print(f"{args.input}: SE excitations of {loaded.name}")
    print(f"{'block':<16} {'channels':>8} {'mean':>7} {'std':>7} {'min':>7} {'max':>7}")
    for name, values in recorded.items():
        print(f"{name:<16} {values.shape[0]:>8} {values.mean():>7.3f} {values.std():>7.3f} "
              f"{values.min():>7.3f} {values.max():>7.3f}")
    if classes is not None:
        _print_class_average(classes)
    return 0


def _class_average(loaded, folder: str):
    """The Attention view's class-average analysis of ``folder`` as a job with progress; None (after saying
    why) when it failed."""
    from photolab.models.analysis.class_average import analyse_folder

    job = Job(analyse_folder, loaded, folder, title=f"Class averages of {Path(folder).name}")
    progress = Progress()
    job.on_progress(progress)
    job.run()
    progress.finish()
    if job.state is not JobState.FINISHED:
        fail(job.error_message or "cancelled")
        return None
    return job.result


def _print_class_average(result) -> None:
    """The class-average analysis as text: images per class, then every stage's specificity against chance."""
    report = result.specificity
    counts = ", ".join(f"{name} {count}" for name, count in result.counts().items())
    print(f"\n{result.root}: {len(result.labels)} images ({counts}); class specificity (share of the excitations' "
          "variance explained by the class)")
    print(f"{'stage':<16} {'value':>7} {'95% interval':>15} {'chance':>7} {'p':>6}")
    for name, s in report.stages.items():
        print(f"{name:<16} {s.value:>7.3f} {s.low:>7.3f}-{s.high:<7.3f} {s.chance:>7.3f} {s.p_value:>6.3f}")
    for path, reason in result.skipped:
        warn(f"skipped {path}: {reason}")
    print(report.summary())


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
        print(f"photolab-cli: warning: {problem}", file=sys.stderr)
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
    job.on_progress(_download_progress(sys.stderr))
    job.run()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if job.state is not JobState.FINISHED:
        return fail(job.error_message or "cancelled")
    entry = job.result
    print(f"downloaded {entry.name} ({entry.card.architecture}, {entry.card.num_classes} classes, "
          f"sha256 {entry.card.sha256[:16]}...)")
    return 0


def _download_progress(stream):
    """Progress callback: a rewritten line on a terminal, a line per 10 % on a pipe."""
    state = {"decile": -1}

    def report(fraction: float, message: str) -> None:
        if stream.isatty():
            stream.write(f"\r{message} {fraction:4.0%}   ")
            stream.flush()
        elif int(fraction * 10) > state["decile"]:
            state["decile"] = int(fraction * 10)
            stream.write(f"{message} {fraction:.0%}\n")
    return report


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

