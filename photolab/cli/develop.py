"""photolab-cli info and develop: a photo's metadata, and batch development with each photo's recipe.

    photolab-cli info PATH
    photolab-cli develop PATH... [-o FILE_OR_DIR] [--recipe SIDECAR] [--preset NAME]... [--wb as-shot|auto|KELVIN]
                 [--exposure EV] [--set OPERATION.FIELD=VALUE]... [--format jpg|png|png16|tiff16] [--quality Q]
                 [--json] [--resize long:PX|short:PX|mp:MP [--upscale]] [--colorspace srgb|display-p3|adobe-rgb]
                 [--output-sharpening screen|print[:low|standard|high]] [--name-template TEMPLATE]
                 [--level X1,Y1,X2,Y2] [--ray [ADDRESS]]

Like darktable-cli, ``develop`` applies the sidecar saved beside each photo unless ``--recipe`` names
another one (or ``--no-sidecar`` is given); each ``--preset`` (``photolab-cli presets``) is applied on top of
it, in order; ``--wb`` and ``--exposure`` then override those settings, and
``--set`` any parameter of any operation (``photolab-cli ops`` lists them), last; ``--level`` then straightens the
photo so that the line between two points (pixels of the photo as that recipe develops it) becomes level.
The output options resize, sharpen for output, pick the colour space, and name the files from a template
({name}, {date}, {seq}, {camera}; see photolab.core.naming).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photolab.cli.common import Progress, add_ray_option, fail, jpeg_quality, one_line, same_file, warn
from photolab.core import io
from photolab.core.colorspace import COLOR_SPACES, DEFAULT_COLOR_SPACE
from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.params import param_spec, parse_value
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.errors import PhotoLabError, RecipeError
from photolab.core.export import FORMAT_BY_SUFFIX
from photolab.core.export_options import parse_resize, parse_sharpening
from photolab.core.level import levelled
from photolab.core.presets import PresetError, load_preset
from photolab.core.rating import read_rating
from photolab.core.naming import check_template, expand_template
from photolab.services import develop_file
from photolab.core.recipe import Recipe, load_sidecar, read_recipe_file
from photolab.jobs import Job, JobState


def add_develop_commands(subparsers) -> None:
    """Register ``info`` and ``develop`` on photolab-cli's sub-parsers."""
    info = subparsers.add_parser("info", help="print a photo's metadata, rating and reject flag as JSON")
    info.add_argument("path", metavar="PATH")
    info.set_defaults(command=_info)

    develop = subparsers.add_parser("develop", help="develop photos and export them")
    develop.add_argument("paths", nargs="+", metavar="PATH")
    develop.add_argument("-o", "--output", metavar="FILE_OR_DIR",
                         help="output file (one input) or folder (default: beside each photo)")
    develop.add_argument("--recipe", metavar="SIDECAR", help="apply this recipe instead of each photo's sidecar")
    develop.add_argument("--no-sidecar", action="store_true", help="ignore sidecars; start from the neutral recipe")
    develop.add_argument("--preset", metavar="NAME", action="append", default=[], dest="presets",
                         help="apply this preset (photolab-cli presets list) after the recipe, before --wb, "
                              "--exposure and --set; repeatable, applied in order")
    temperature, tint = (param_spec(WhiteBalanceParams, name).range for name in ("temperature", "tint"))
    develop.add_argument("--wb", metavar="as-shot|auto|KELVIN", type=_white_balance,
                         help="white balance: as shot, automatic, or a colour temperature in kelvin "
                              f"({temperature[0]:g}-{temperature[1]:g})")
    develop.add_argument("--tint", type=float, default=0.0,
                         help=f"tint with a KELVIN white balance, {tint[0]:g} to {tint[1]:g} (+ = magenta)")
    develop.add_argument("--exposure", metavar="EV", type=_exposure, help="exposure in stops, replaces the recipe's")
    develop.add_argument("--set", metavar="OPERATION.FIELD=VALUE", action="append", default=[], dest="settings",
                         help="set any parameter of any operation (see photolab-cli ops), after the recipe and the "
                              "flags above; repeatable; lists and points as JSON, e.g. "
                              "tone_curve.luminance='[[0,0],[0.5,0.6],[1,1]]'")
    develop.add_argument("--level", metavar="X1,Y1,X2,Y2", type=_argument(parse_level),
                         help="straighten so that the line from (X1, Y1) to (X2, Y2), pixels of the photo as the "
                              "recipe develops it, becomes level (or plumb when nearer vertical)")
    develop.add_argument("--format", choices=sorted(io.EXPORT_FORMATS), help="output format (default: from -o, else jpg)")
    develop.add_argument("--quality", metavar="Q", type=jpeg_quality, default=92, help="JPEG quality 1-100 (default 92)")
    develop.add_argument("--demosaic", choices=list(io.DEMOSAIC_METHODS), default=io.DEFAULT_DEMOSAIC,
                         help=f"RAW demosaicing method (default {io.DEFAULT_DEMOSAIC}; vng and dht are sharper, slower)")
    develop.add_argument("--resize", metavar="long:PX|short:PX|mp:MP", type=_argument(parse_resize),
                         help="resize to a long edge, a short edge (pixels) or a number of megapixels; never "
                              "enlarges without --upscale")
    develop.add_argument("--upscale", action="store_true", help="let --resize enlarge smaller photos")
    develop.add_argument("--colorspace", choices=list(COLOR_SPACES), default=DEFAULT_COLOR_SPACE,
                         help="output colour space, its ICC profile embedded (default srgb)")
    develop.add_argument("--output-sharpening", metavar="screen|print[:low|standard|high]",
                         type=_argument(parse_sharpening),
                         help="sharpen for the screen or for print after resizing (default amount standard)")
    develop.add_argument("--name-template", metavar="TEMPLATE", type=_argument(_template),
                         help="output file name without extension, from {name} {date} {seq} {camera} "
                              "(e.g. {date}_{name}); needs -o to be a folder, or no -o")
    develop.add_argument("--overwrite", action="store_true", help="replace existing output files")
    develop.add_argument("--json", action="store_true", help="print a JSON summary of the results on stdout")
    add_ray_option(develop)
    develop.set_defaults(command=_develop)


def _white_balance(text: str) -> WhiteBalanceParams:
    if text in ("as-shot", "as_shot"):
        return WhiteBalanceParams(mode="as_shot")
    if text == "auto":
        return WhiteBalanceParams(mode="auto")
    try:
        kelvin = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected as-shot, auto or a temperature in kelvin, got {text!r}") from None
    try:
        return WhiteBalanceParams(mode="kelvin", temperature=kelvin)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _argument(parse):
    """An argparse type from a parser raising ValueError (its message becomes the one-line usage error)."""
    def parse_argument(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse_argument.__name__ = parse.__name__.removeprefix("parse_").removeprefix("_")
    return parse_argument


def _template(text: str) -> str:
    check_template(text)
    return text


def _exposure(text: str) -> ExposureParams:
    try:
        return ExposureParams(ev=float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _info(args, parser) -> int:
    info = io.read_metadata(args.path).to_dict()
    try:
        rating = read_rating(args.path)
        info.update(rating=rating.stars, rejected=rating.rejected)
    except RecipeError as exc:
        warn(exc)
    print(json.dumps(info, indent=2))
    return 0


@dataclass
class _Task:
    source: Path
    target: Path | None
    error: str | None = None
    warning: str | None = None
    seconds: float = 0.0
    size: tuple[int, int] | None = None
    work: "DevelopWork | None" = None


def _develop(args, parser) -> int:
    file_format = args.format or _format_from_output(args.output) or "jpg"
    if args.output and len(args.paths) > 1 and Path(args.output).suffix.lower() in FORMAT_BY_SUFFIX \
            and not Path(args.output).is_dir():
        parser.error("with several photos, -o must be a folder")
    if args.name_template and args.output and not _names_a_folder(args.output, len(args.paths)):
        parser.error("with --name-template, -o must be a folder")
    if args.upscale and args.resize is None:
        parser.error("--upscale needs --resize")
    if args.resize is not None and args.upscale:
        args.resize = dataclasses.replace(args.resize, upscale=True)
    base_recipe = None
    if args.recipe:
        try:
            base_recipe = read_recipe_file(args.recipe)
        except (PhotoLabError, OSError) as exc:
            parser.error(f"cannot use --recipe: {exc}")
    if args.wb is not None and args.wb.mode == "kelvin":
        try:
            args.wb = WhiteBalanceParams(mode="kelvin", temperature=args.wb.temperature, tint=args.tint)
        except ValueError as exc:
            parser.error(f"--tint: {exc}")
    try:
        args.settings = parse_settings(args.settings)
        args.presets = [load_preset(name) for name in args.presets]
    except (ValueError, PresetError) as exc:
        fail(f"--preset: {exc}" if isinstance(exc, PresetError) else exc)
        return 2
    tasks = [_Task(Path(p), None) for p in args.paths]
    progress = Progress(total=len(tasks))
    written: dict[Path, Path] = {}  # outputs of this batch -> their inputs
    if args.ray:
        _develop_on_ray(tasks, base_recipe, file_format, args, progress, written)
    else:
        for index, task in enumerate(tasks):
            started = time.perf_counter()
            task.error = _develop_one(task, index, base_recipe, file_format, args, progress, written)
            task.seconds = time.perf_counter() - started
            progress(1.0, task.source.name, index)
            if task.error:
                progress.clear()
                fail(task.error)
    progress.finish()
    failed = sum(1 for task in tasks if task.error)
    if args.json:
        print(json.dumps({
            "results": [
                {"input": str(t.source), "output": None if t.error else str(t.target), "ok": t.error is None,
                 "error": t.error, "seconds": round(t.seconds, 3),
                 "width": t.size[0] if t.size else None, "height": t.size[1] if t.size else None,
                 "color_space": None if t.error else args.colorspace}
                for t in tasks
            ],
            "succeeded": len(tasks) - failed,
            "failed": failed,
        }, indent=2))
    elif len(tasks) > 1:
        print(f"{len(tasks) - failed} of {len(tasks)} photos developed", file=sys.stderr)
    return 1 if failed else 0


def _prepare(task: _Task, index: int, base_recipe: Recipe | None, file_format: str, args, progress: Progress,
             written: dict[Path, Path]) -> str | None:
    """Name one photo's output and build its recipe (``task.target``, ``task.work``); returns why it cannot
    be developed, or None."""
    try:
        name = _template_name(task.source, args.name_template, index, len(args.paths)) if args.name_template \
            else None
        task.target = _output_path(task.source, args.output, file_format, len(args.paths), name)
        recipe = _recipe_for(task, base_recipe, args)
    except (PhotoLabError, OSError, ValueError) as exc:  # ValueError: a --set the recipe forbids
        return str(exc)
    earlier = written.get(Path(os.path.abspath(task.target)))
    if earlier is not None:
        return (f"{task.target}: already written for {earlier} in this batch; "
                "add {seq} or {name} to the name template")
    if task.warning:
        progress.clear()
        warn(task.warning)
    if same_file(task.target, task.source):
        return f"{task.target}: refusing to overwrite the original photo"
    if os.path.lexists(task.target) and not args.overwrite:
        return f"{task.target} already exists (use --overwrite to replace it)"
    task.work = DevelopWork(task.source, task.target, recipe, file_format, args.quality, args.demosaic,
                            args.resize, args.output_sharpening, args.colorspace)
    return None


def _develop_one(task: _Task, index: int, base_recipe: Recipe | None, file_format: str, args,
                 progress: Progress, written: dict[Path, Path]) -> str | None:
    """Develop one photo of the batch; returns its error message, or None when it was written."""
    error = _prepare(task, index, base_recipe, file_format, args, progress, written)
    if error:
        return error
    try:
        task.size = develop_work(task.work, lambda fraction, message: progress(fraction, task.source.name, index))
    except PhotoLabError as exc:
        return str(exc)
    written[Path(os.path.abspath(task.target))] = task.source
    return None


@dataclass(frozen=True)
class DevelopWork:
    """Everything developing one photo needs (sent as it is to a Ray worker)."""

    source: Path
    target: Path
    recipe: Recipe
    file_format: str
    quality: int
    demosaic: str
    resize: Any
    sharpening: Any
    color_space: str


def develop_work(work: DevelopWork, progress=None) -> tuple[int, int] | None:
    """Develop one photo and write it (atomically, replacing the target); returns the written image's size.
    The one per-file step of ``develop``, in this process or on a Ray worker; raises PhotoLabError."""
    job = Job(develop_file, work.source, work.target, work.recipe, file_format=work.file_format,
              quality=work.quality, demosaic=work.demosaic, resize=work.resize, sharpening=work.sharpening,
              color_space=work.color_space, title=f"Developing {work.source.name}")
    if progress is not None:
        job.on_progress(progress)
    job.run()
    if job.state is not JobState.FINISHED:
        raise PhotoLabError(job.error_message or "cancelled")
    metadata = io.read_metadata(work.target)
    return (metadata.width, metadata.height) if metadata.width and metadata.height else None


def _develop_on_ray(tasks: list[_Task], base_recipe: Recipe | None, file_format: str, args, progress: Progress,
                    written: dict[Path, Path]) -> None:
    """``develop --ray``: name every output and build every recipe here, then develop the photos on Ray
    workers with :func:`develop_work` (see :mod:`photolab.cluster.batch`)."""
    from photolab.cluster.batch import map_files

    for index, task in enumerate(tasks):
        task.error = _prepare(task, index, base_recipe, file_format, args, progress, written)
        if task.error:
            progress.clear()
            fail(task.error)
        else:
            written[Path(os.path.abspath(task.target))] = task.source
    ready = [task for task in tasks if task.error is None]
    done = [0]

    def finished(result) -> None:
        task = ready[result.index]
        task.size, task.error, task.seconds = result.value, result.error, result.seconds
        done[0] += 1
        progress(1.0, task.source.name, done[0] - 1)
        if task.error:
            progress.clear()
            fail(task.error)

    map_files(develop_work, [task.work for task in ready], address=args.ray, names=[str(t.source) for t in ready],
              targets=[task.target for task in ready], title="developing", on_result=finished)


def _template_name(source: Path, template: str, index: int, count: int) -> str:
    """The output name (without extension) the template gives; metadata is read only when it is needed."""
    metadata = io.read_metadata(source) if "{date}" in template or "{camera}" in template else None
    return expand_template(template, source, metadata, index=index, count=count)


def _format_from_output(output: str | None) -> str | None:
    if not output or Path(output).is_dir():
        return None
    return FORMAT_BY_SUFFIX.get(Path(output).suffix.lower())


def _names_a_folder(output: str, count: int) -> bool:
    return count > 1 or Path(output or ".").is_dir() or (output or "").endswith(os.sep) \
        or not Path(output or ".").suffix


def _output_path(source: Path, output: str | None, file_format: str, count: int, name: str | None = None) -> Path:
    """Where a photo's export goes: -o FILE, inside -o DIR, or beside the photo (never the photo itself);
    ``name`` (from a template) replaces the photo's own name."""
    extension = io.EXPORT_FORMATS[file_format]
    if output and not _names_a_folder(output, count):
        return Path(output)
    folder = Path(output) if output else source.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    target = folder / ((name or source.stem) + extension)
    if same_file(target, source):
        target = folder / f"{name or source.stem}_developed{extension}"
    return target


def _recipe_for(task: _Task, base_recipe: Recipe | None, args) -> Recipe:
    if base_recipe is not None:
        recipe = base_recipe
    elif args.no_sidecar:
        recipe = Recipe()
    else:
        sidecar_recipe, task.warning = load_sidecar(task.source)
        recipe = sidecar_recipe or Recipe()
    for preset in args.presets:
        recipe = preset.settings.paste_onto(recipe)
    if args.wb is not None:
        recipe = recipe.with_params("white_balance", args.wb)
    if args.exposure is not None:
        recipe = recipe.with_params("exposure", args.exposure)
    recipe = with_settings(recipe, args.settings)
    return recipe if args.level is None else levelled(recipe, *args.level)


def parse_level(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """``X1,Y1,X2,Y2`` as two points; ValueError with a one-line message otherwise."""
    parts = text.split(",")
    try:
        x1, y1, x2, y2 = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"{text!r}: expected X1,Y1,X2,Y2 (four numbers, pixels), e.g. 0,410,1200,380") from None
    if (x1, y1) == (x2, y2):
        raise ValueError(f"{text!r}: the two points are the same; draw the line between two points of a horizon")
    return (x1, y1), (x2, y2)


Setting = tuple[str, str, Any]  # operation, field, value as parsed (checked when applied)


def parse_settings(texts: list[str]) -> list[Setting]:
    """``--set OPERATION.FIELD=VALUE`` texts, each checked alone against the operation's parameters (on
    the default params, so a bad one fails before any photo is read); raises ValueError with a one-line
    message naming the setting."""
    settings = []
    for text in texts:
        target, equals, value_text = text.partition("=")
        operation, dot, field = target.strip().partition(".")
        if not equals or not dot:
            raise ValueError(f"--set {text!r}: expected OPERATION.FIELD=VALUE, e.g. exposure.ev=0.5")
        if operation not in OPERATIONS_BY_NAME:
            raise ValueError(f"--set {target}: unknown operation {operation!r} (photolab-cli ops lists them)")
        params_type = OPERATIONS_BY_NAME[operation].params_type
        try:
            value = parse_value(params_type, field, value_text)
        except KeyError:
            known = ", ".join(f.name for f in dataclasses.fields(params_type))
            raise ValueError(f"--set {target}: {operation} has no parameter {field!r} (it has {known})") from None
        except ValueError as exc:
            raise ValueError(f"--set {target}: {exc}") from None
        _with_value(params_type(), operation, field, value)
        settings.append((operation, field, value))
    return settings


def _with_value(params: Any, operation: str, field: str, value: Any) -> Any:
    try:
        return dataclasses.replace(params, **{field: value})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--set {operation}.{field}: {one_line(exc)}") from None


def with_settings(recipe: Recipe, settings: list[Setting]) -> Recipe:
    """``recipe`` with each setting applied in turn (a setting another parameter forbids, such as a crop
    edge past the opposite one, raises ValueError)."""
    for operation, field, value in settings:
        recipe = recipe.with_params(operation, _with_value(recipe.get(operation), operation, field, value))
    return recipe


