"""photolab-cli denoise: remove noise from one photo with PhotoLab's learned denoiser.

    photolab-cli denoise IN -o OUT [--sigma S | --auto] [--model NAME] [--device cpu|cuda] [--tile N]
                 [--overwrite] [--json]

``--sigma`` is the noise std to remove on the 0-255 scale of the sRGB-encoded image (0-100); ``--auto`` (the
default) measures the photo's noise and follows its noise level function. A camera RAW file is developed
with its sidecar recipe first (as ``develop`` does) and exported as .jpg, .png or .tif; an ordinary image
keeps its bit depth (8/16-bit, float TIFF) and alpha channel, and OUT's extension (.jpg, .png, .tif, .webp)
picks the format. The input is never written; OUT is written atomically and only replaced with
``--overwrite``. Exit status: 0 on success, 1 when denoising failed (with a message), 2 on usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from photolab.cli_args import fail, jpeg_quality, number, run_commands, whole_number
from photolab.core.develop.denoise import DEFAULT_TILE, MAX_SIGMA
from photolab.core.io import DEFAULT_DEMOSAIC, DEMOSAIC_METHODS
from photolab.core.pipeline import denoise_file
from photolab.core.recipe import load_sidecar
from photolab.jobs import Job, JobState


def add_denoise_commands(subparsers) -> None:
    """Add the ``denoise`` sub-command to photolab-cli's sub-parsers."""
    denoise = subparsers.add_parser("denoise", help="remove noise with the learned denoiser",
                                    description="Remove noise from a photo with PhotoLab's learned denoiser.")
    denoise.add_argument("input", metavar="IN", help="a camera RAW file or an image (JPEG, PNG, TIFF, WebP)")
    denoise.add_argument("-o", "--output", required=True, metavar="OUT",
                         help="output file; its extension picks the format (.jpg, .png, .tif, .webp)")
    level = denoise.add_mutually_exclusive_group()
    level.add_argument("--sigma", type=number(0, MAX_SIGMA, what="sigma (0-255 scale)"), metavar="S",
                       help=f"noise std to remove, 0-{MAX_SIGMA:g} on the 0-255 scale (15: light, 25: strong)")
    level.add_argument("--auto", action="store_true",
                       help="measure the photo's noise and follow it (the default)")
    denoise.add_argument("--model", default="", metavar="NAME",
                         help="denoiser name or .safetensors file (default: the built-in one)")
    denoise.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the network runs")
    denoise.add_argument("--tile", type=whole_number(64, multiple_of=8, what="the tile size"), default=DEFAULT_TILE, metavar="N",
                         help=f"tile size in pixels, a multiple of 8 (default {DEFAULT_TILE}; smaller: less memory)")
    denoise.add_argument("--quality", type=jpeg_quality, default=92, metavar="Q", help="JPEG/WebP quality (default 92)")
    denoise.add_argument("--demosaic", choices=list(DEMOSAIC_METHODS), default=DEFAULT_DEMOSAIC,
                         help=f"RAW demosaicing method (default {DEFAULT_DEMOSAIC})")
    denoise.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    denoise.add_argument("--json", action="store_true",
                         help='print one JSON line: {"input", "output", "sigma", "auto", "model", "seconds"}')
    denoise.set_defaults(command=_denoise)


def _denoise(args, parser) -> int:
    source, target = Path(args.input), Path(args.output)
    if target.exists() and not args.overwrite:
        return fail(f"{target} already exists (use --overwrite to replace it)")
    if source.exists() and target.exists() and source.resolve() == target.resolve():
        return fail(f"{target}: refusing to overwrite the input photo")
    recipe, warning = load_sidecar(source)
    if warning:
        print(f"photolab-cli: warning: {warning}", file=sys.stderr)
    started = time.perf_counter()
    job = Job(denoise_file, source, target, sigma=args.sigma, model=args.model, device=args.device, tile=args.tile,
              recipe=recipe, quality=args.quality, demosaic=args.demosaic, title=f"Denoising {source.name}")
    job.run()
    if job.state is not JobState.FINISHED:
        return fail(job.error_message or "cancelled")
    outcome = job.result
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"input": str(source), "output": str(outcome.output), "sigma": round(outcome.sigma, 3),
                          "auto": outcome.auto, "model": outcome.model, "seconds": round(seconds, 3)}))
    else:
        how = "measured" if outcome.auto else "given"
        print(f"wrote {outcome.output} (sigma {outcome.sigma:.1f} {how}, {outcome.model}, {seconds:.1f} s)",
              file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the denoise command on its own (``python -m photolab.cli_denoise denoise ...``)."""
    return run_commands(add_denoise_commands, "PhotoLab denoise command.", argv)


if __name__ == "__main__":
    sys.exit(main())
