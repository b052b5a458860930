"""photolab-cli presets: list, show, save and delete develop presets (``photolab.core.presets``).

    photolab-cli presets list [--json]
    photolab-cli presets show NAME [--json]
    photolab-cli presets save NAME --from PHOTO_OR_SIDECAR [--only OP,OP] [--overwrite] [--json]
    photolab-cli presets delete NAME [--json]
    photolab-cli presets apply NAME PHOTO_OR_FOLDER... [--json]

``save`` takes the photo's sidecar (or the recipe file given) and keeps its edited operations but the
geometry ones (crop, orientation, straighten, lens correction), as Copy Settings does in the window;
``--only`` chooses the operations instead (an unedited one then resets that operation when applied).
``apply`` writes the preset into the sidecar of every photo given (a folder: its photos), as Edit ▸ Presets does
with several photos selected in the filmstrip, keeping their other settings and ratings; ``photolab-cli develop
--preset NAME`` applies a preset while exporting instead. An unknown name is a usage error (exit status 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from photolab.cli.common import fail
from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.errors import PhotoLabError, RecipeError
from photolab.core.folder import expand_paths
from photolab.core.presets import (PresetError, delete_preset, list_presets, load_preset,
                                   preset_path, save_preset)
from photolab.core.recipe import SIDECAR_SUFFIX, copy_settings, load_sidecar, read_recipe_file, sidecar_path
from photolab.core.settings_batch import paste_onto_files


def add_presets_commands(subparsers) -> None:
    """Register ``presets`` and its sub-commands on photolab-cli's sub-parsers."""
    presets = subparsers.add_parser("presets", help="list, show, save and delete develop presets")
    commands = presets.add_subparsers(required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="the saved presets and their operations")
    listing.set_defaults(command=_list)
    show = commands.add_parser("show", help="a preset's operations and parameters")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(command=_show)
    save = commands.add_parser("save", help="save a photo's settings (or some of them) as a preset")
    save.add_argument("name", metavar="NAME")
    save.add_argument("--from", dest="source", metavar="PHOTO_OR_SIDECAR", required=True,
                      help="a photo (its sidecar is read) or a recipe / sidecar file")
    save.add_argument("--only", metavar="OP,OP", type=_operations,
                      help="these operations (photolab-cli ops lists them) instead of the edited non-geometry ones")
    save.add_argument("--overwrite", action="store_true", help="replace a preset of that name")
    save.set_defaults(command=_save)
    delete = commands.add_parser("delete", help="delete a preset")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(command=_delete)
    apply = commands.add_parser("apply", help="write a preset into photos' sidecars (their other edits kept)")
    apply.add_argument("name", metavar="NAME")
    apply.add_argument("paths", nargs="+", metavar="PHOTO_OR_FOLDER")
    apply.set_defaults(command=_apply)
    for parser in (listing, show, save, delete, apply):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _operations(text: str) -> list[str]:
    import argparse

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in OPERATIONS_BY_NAME]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown operation(s) {', '.join(unknown) or '(none given)'}; "
                                         f"choose from {', '.join(OPERATIONS_BY_NAME)}")
    return names


def _describe(preset) -> dict:
    data = preset.settings.to_dict()
    return {"name": preset.name, "path": str(preset.path), "software": data["software"],
            "operations": data["operations"]}


def _list(args, parser) -> int:
    entries = []
    for name in list_presets():
        try:
            entries.append(_describe(load_preset(name)))
        except PresetError as exc:
            entries.append({"name": name, "path": str(preset_path(name)), "error": str(exc)})
    if args.json:
        print(json.dumps({"presets": entries}, indent=2))
    elif not entries:
        print("no presets")
    for entry in entries if not args.json else ():
        detail = ", ".join(op["op"] for op in entry["operations"]) if "error" not in entry \
            else f"(unusable: {entry['error']})"
        print(f"{entry['name']}: {detail}")
    return 0


def _show(args, parser) -> int:
    code = _known(args.name, parser)
    if code:
        return code
    described = _describe(load_preset(args.name))
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    print(f"{described['name']}  ({described['path']}, {described['software']})")
    for entry in described["operations"]:
        state = "" if entry["enabled"] else " (off)"
        print(f"  {entry['op']} v{entry['version']}{state}: {json.dumps(entry['params'])}")
    return 0


def _known(name: str, parser) -> int:
    """0 when ``name`` is a saved preset; else the one-line usage error's status 2."""
    try:
        if name in list_presets():
            return 0  # a damaged one is reported when it is read (exit status 1)
        load_preset(name)  # raises the error that says why (a bad name, or the list of presets)
    except PresetError as exc:
        fail(exc)
        return 2
    return 0


def _save(args, parser) -> int:
    source = Path(args.source)
    try:
        if source.name.endswith(SIDECAR_SUFFIX) or source.suffix.lower() == ".json":
            recipe = read_recipe_file(source)
        else:
            if not source.exists():
                return fail(f"{source}: no such file")
            recipe, warning = load_sidecar(source)
            if warning:
                return fail(warning)
            if recipe is None:
                return fail(f"{source} has no edits to save (no {sidecar_path(source).name} beside it)")
    except FileNotFoundError:
        return fail(f"{source}: no such file")
    except RecipeError as exc:
        return fail(exc)
    settings = copy_settings(recipe, args.only)
    if not settings.operations:
        return fail(f"{source} has no edits but geometry ones to save; choose operations with --only")
    try:
        path = save_preset(args.name, settings, replace=args.overwrite)
    except PresetError as exc:
        fail(f"{exc}{' (use --overwrite to replace it)' if 'already exists' in str(exc) else ''}")
        return 2
    if args.json:
        print(json.dumps(_describe(load_preset(args.name)), indent=2))
    else:
        print(f"saved preset {args.name!r} ({', '.join(settings.operations)}) to {path}")
    return 0


def _delete(args, parser) -> int:
    try:
        path = delete_preset(args.name)
    except PresetError as exc:
        fail(exc)
        return 2
    if args.json:
        print(json.dumps({"deleted": args.name, "path": str(path)}, indent=2))
    else:
        print(f"deleted preset {args.name!r}")
    return 0


def _apply(args, parser) -> int:
    code = _known(args.name, parser)
    if code:
        return code
    try:
        preset = load_preset(args.name)
        paths = expand_paths(args.paths)
    except PhotoLabError as exc:
        return fail(exc)
    outcome = paste_onto_files(paths, preset.settings)
    for _, message in outcome.errors:
        fail(message)
    if args.json:
        print(json.dumps({"preset": args.name, "changed": [str(path) for path in outcome.changed],
                          "errors": [{"path": str(path), "error": message} for path, message in outcome.errors]},
                         indent=2))
    else:
        print(f"applied preset {args.name!r} to {len(outcome.changed)} of {len(paths)} photos")
    return 1 if outcome.errors else 0
