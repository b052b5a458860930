"""photolab-cli denoise: remove noise from photos with PhotoLab's learned denoiser.

    photolab-cli denoise IN... -o OUT_OR_DIR [--sigma S | --auto] [--model NAME] [--device cpu|cuda|auto]
                 [--tile N] [--overwrite] [--json] [--ray [ADDRESS]]

``--sigma`` is the noise std to remove on the 0-255 scale of the sRGB-encoded image (0-100); ``--auto`` (the
default) measures each photo's noise and follows its noise level function. A camera RAW file is developed
with its sidecar recipe first (as ``develop`` does) and exported as .jpg, .png or .tif; an ordinary image
keeps its bit depth (8/16-bit, float TIFF) and alpha channel, and OUT's extension (.jpg, .png, .tif, .webp)
picks the format. With several inputs OUT is a folder and each output keeps its input's name and format
(RAW files become .tif). The inputs are never written; outputs are written atomically and only replaced
with ``--overwrite``. ``--json`` prints one line per input: ``{"input", "output", "sigma", "auto", "model",
"seconds"}``, or ``{"input", "output": null, "error", "seconds"}`` for one that failed.
``--ray`` denoises on Ray workers (:mod:`photolab.cluster.batch`), the JSON lines then come when the batch ends.
Exit status: 0 when every photo was denoised, 1 when any failed (each with a message), 2 on usage errors.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from photolab.cli.common import (Progress, add_device_option, add_ray_option, fail, jpeg_quality, number, same_file,
                                  warn, whole_number)
from photolab.core.develop.denoise import DEFAULT_TILE, DenoiseParams
from photolab.core.develop.params import param_spec
from photolab.core.export import STORED_SUFFIXES
from photolab.core.io import DEFAULT_DEMOSAIC, DEMOSAIC_METHODS
from photolab.core.errors import PhotoLabError
from photolab.core.recipe import Recipe, load_sidecar
from photolab.services import DenoiseOutcome, denoise_file
from photolab.jobs import Job, JobState


def add_denoise_commands(subparsers) -> None:
    """Add the ``denoise`` sub-command to photolab-cli's sub-parsers."""
    denoise = subparsers.add_parser("denoise", help="remove noise with the learned denoiser",
                                    description="Remove noise from photos with PhotoLab's learned denoiser.")
    denoise.add_argument("inputs", nargs="+", metavar="IN",
                         help="camera RAW files or images (JPEG, PNG, TIFF, WebP)")
    denoise.add_argument("-o", "--output", required=True, metavar="OUT_OR_DIR",
                         help="output file (one input; its extension picks the format: .jpg, .png, .tif, .webp) "
                              "or folder (several inputs)")
    level = denoise.add_mutually_exclusive_group()
    low, high = param_spec(DenoiseParams, "sigma").range
    level.add_argument("--sigma", type=number(low, high, what="sigma (0-255 scale)"), metavar="S",
                       help=f"noise std to remove, {low:g}-{high:g} on the 0-255 scale (15: light, 25: strong)")
    level.add_argument("--auto", action="store_true",
                       help="measure each photo's noise and follow it (the default)")
    denoise.add_argument("--model", default="", metavar="NAME",
                         help="denoiser name (a built-in one or yours, made by denoise-adapt) or .safetensors file "
                              "(default: the built-in one)")
    add_device_option(denoise)
    add_ray_option(denoise)
    denoise.add_argument("--tile", type=whole_number(64, multiple_of=8, what="the tile size"), default=DEFAULT_TILE,
                         metavar="N",
                         help=f"tile size in pixels, a multiple of 8 (default {DEFAULT_TILE}; smaller: less memory)")
    denoise.add_argument("--quality", type=jpeg_quality, default=92, metavar="Q", help="JPEG/WebP quality (default 92)")
    denoise.add_argument("--demosaic", choices=list(DEMOSAIC_METHODS), default=DEFAULT_DEMOSAIC,
                         help=f"RAW demosaicing method (default {DEFAULT_DEMOSAIC})")
    denoise.add_argument("--overwrite", action="store_true", help="replace existing output files")
    denoise.add_argument("--json", action="store_true",
                         help='print one JSON line per input: {"input", "output", "sigma", "auto", "model", '
                              '"seconds"} ({"input", "output": null, "error", "seconds"} when it failed)')
    denoise.set_defaults(command=_denoise)


def _denoise(args, parser) -> int:
    output = Path(args.output)
    several = len(args.inputs) > 1
    if several and output.suffix.lower() in STORED_SUFFIXES and not output.is_dir():
        parser.error("with several inputs, -o must be a folder")
    progress = Progress(total=len(args.inputs))
    # On Ray, --device is resolved by each worker (cuda: its task reserves a GPU; auto: no GPU is reserved).
    outcomes = _denoise_on_ray(output, several, args.device, args, progress) if args.ray else \
        (_denoise_here(output, several, _device(args.device), args, progress, index)
         for index in range(len(args.inputs)))
    failed = 0
    for source, outcome, error, seconds in outcomes:
        progress.clear()
        if error:
            failed += 1
            fail(error)
        if args.json and outcome is not None:
            print(json.dumps({"input": str(source), "output": str(outcome.output), "sigma": round(outcome.sigma, 3),
                              "auto": outcome.auto, "model": outcome.model, "seconds": round(seconds, 3)}),
                  flush=True)
        elif args.json:
            print(json.dumps({"input": str(source), "output": None, "error": error, "seconds": round(seconds, 3)}),
                  flush=True)
        elif outcome is not None:
            how = "measured" if outcome.auto else "given"
            print(f"wrote {outcome.output} (sigma {outcome.sigma:.1f} {how}, {outcome.model}, {seconds:.1f} s)",
                  file=sys.stderr)
    progress.finish()
    if several and not args.json:
        print(f"{len(args.inputs) - failed} of {len(args.inputs)} photos denoised", file=sys.stderr)
    return 1 if failed else 0


def _target(source: Path, output: Path, several: bool) -> Path:
    return output / _output_name(source) if several or output.is_dir() else output


def _denoise_here(output: Path, several: bool, device: str, args, progress: Progress, index: int):
    """Denoise input ``index`` in this process; returns (source, outcome or None, error or None, seconds)."""
    source = Path(args.inputs[index])
    started = time.perf_counter()
    work, error = _prepare(source, _target(source, output, several), device, args, progress)
    outcome = None
    if work is not None:
        try:
            outcome = denoise_work(work, lambda fraction, message: progress(fraction, source.name, index))
        except PhotoLabError as exc:
            error = str(exc)
    return source, outcome, error, time.perf_counter() - started


def _denoise_on_ray(output: Path, several: bool, device: str, args, progress: Progress):
    """``denoise --ray``: check every target here, then denoise on Ray workers with :func:`denoise_work` (see
    :mod:`photolab.cluster.batch`); yields what :func:`_denoise_here` returns, as each input finishes."""
    from photolab.cluster.batch import map_files

    ready = []
    for name in args.inputs:
        source = Path(name)
        work, error = _prepare(source, _target(source, output, several), device, args, progress)
        if work is None:
            yield source, None, error, 0.0
        else:
            ready.append(work)
    finished = []

    def on_result(result) -> None:
        finished.append(result)
        progress(1.0, ready[result.index].source.name, len(finished) - 1)

    results = map_files(denoise_work, ready, address=args.ray, names=[str(work.source) for work in ready],
                        targets=[work.target for work in ready], gpus=1 if device == "cuda" else 0,
                        title="denoising", on_result=on_result)
    for work, result in zip(ready, results):
        yield work.source, result.value, result.error, result.seconds


def _device(choice: str) -> str:
    """``cpu`` or ``cuda``: ``auto`` picks a GPU when there is one."""
    if choice != "auto":
        return choice
    from photolab.models.store.manager import resolve_device

    return resolve_device("auto").type


def _output_name(source: Path) -> str:
    """The output's name inside a folder: the input's, a RAW file's as .tif (16-bit)."""
    return source.name if source.suffix.lower() in STORED_SUFFIXES else source.stem + ".tif"


@dataclass(frozen=True)
class DenoiseWork:
    """Everything denoising one input needs (sent as it is to a Ray worker)."""

    source: Path
    target: Path
    recipe: Recipe | None
    sigma: float | None
    model: str
    device: str
    tile: int
    quality: int
    demosaic: str


def _prepare(source: Path, target: Path, device: str, args, progress: Progress):
    """Check one input's target and read its sidecar; returns (DenoiseWork, None) or (None, error message)."""
    if same_file(source, target):
        return None, f"{target}: refusing to overwrite the input photo"
    if os.path.lexists(target) and not args.overwrite:
        return None, f"{target} already exists (use --overwrite to replace it)"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return None, f"{target.parent}: cannot create the output folder ({exc.strerror or exc})"
    recipe, warning = load_sidecar(source)
    if warning:
        progress.clear()
        warn(warning)
    return DenoiseWork(source, target, recipe, args.sigma, args.model, device, args.tile, args.quality,
                       args.demosaic), None


def denoise_work(work: DenoiseWork, progress=None) -> DenoiseOutcome:
    """Denoise one input and write it (atomically); the one per-file step of ``denoise``, in this process
    or on a Ray worker. Raises PhotoLabError."""
    job = Job(denoise_file, work.source, work.target, sigma=work.sigma, model=work.model, device=work.device,
              tile=work.tile, recipe=work.recipe, quality=work.quality, demosaic=work.demosaic,
              title=f"Denoising {work.source.name}")
    if progress is not None:
        job.on_progress(progress)
    job.run()
    if job.state is not JobState.FINISHED:
        raise PhotoLabError(job.error_message or "cancelled")
    return job.result
