"""photolab-cli hdr / burst: merge exposure brackets or a burst into one photo.

    photolab-cli hdr IN... -o OUT [--times T...] [--method radiance|debevec|robertson|mertens]
                 [--align] [--deghost] [--tonemap local|reinhard|none]
    photolab-cli burst IN... -o OUT [--reference auto|INDEX]

The output's extension picks what is written: .hdr (Radiance) or .exr -> float scene radiance;
.tif/.png/.jpg -> a tone-mapped image (HDR) or the merged photo (burst).
Exit status: 0 on success, 1 when the merge failed (with a message), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photolab.cli_args import run_commands
from photolab.core.burst import merge_burst_files
from photolab.core.hdr import METHODS, HdrOptions, MissingExposureError, merge_hdr_files
from photolab.core.tonemap import DISPLAY_FORMATS, RADIANCE_SUFFIXES, TONEMAPS
from photolab.jobs import Job, JobState


def add_merge_commands(subparsers) -> None:
    """Add the ``hdr`` and ``burst`` sub-commands to photolab-cli's sub-parsers."""
    hdr = subparsers.add_parser("hdr", help="merge exposure brackets into HDR radiance or a tone-mapped image")
    hdr.add_argument("paths", nargs="+", metavar="IN", help="2-9 bracketed frames (RAW, TIFF, PNG, JPEG)")
    _add_output(hdr)
    hdr.add_argument("--times", nargs="+", type=_seconds, metavar="T",
                     help="exposure time of each frame in seconds (default: from the files' metadata)")
    hdr.add_argument("--method", choices=METHODS, default="radiance",
                     help="radiance: linear merge (default); debevec/robertson: learn the response (8-bit "
                          "frames); mertens: exposure fusion (display image only)")
    hdr.add_argument("--align", action="store_true", help="align handheld frames (translation + small rotation)")
    hdr.add_argument("--deghost", action="store_true",
                     help="take the reference exposure's pixels where things moved between frames")
    hdr.add_argument("--tonemap", choices=TONEMAPS, default="local",
                     help="tone mapping for .tif/.png/.jpg output (default local)")
    hdr.set_defaults(command=_hdr)

    burst = subparsers.add_parser("burst", help="align and merge a burst of equal exposures (less noise)")
    burst.add_argument("paths", nargs="+", metavar="IN", help="the burst's frames")
    _add_output(burst)
    burst.add_argument("--reference", type=_reference, default="auto", metavar="auto|INDEX",
                       help="frame to align to (0-based), or auto: the sharpest of the first three")
    burst.add_argument("--tonemap", choices=TONEMAPS, default="none",
                       help="tone mapping for .tif/.png/.jpg output (default none)")
    burst.set_defaults(command=_burst)


def _add_output(parser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file: .hdr/.exr (float radiance) or .tif/.png/.jpg")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def _seconds(text: str) -> float:
    try:
        if "/" in text:
            numerator, denominator = text.split("/", 1)
            value = float(numerator) / float(denominator)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected seconds such as 0.01 or 1/100, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"exposure times must be positive, got {text!r}")
    return value


def _reference(text: str):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a frame index, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the reference index counts from 0")
    return value


def _check_output(args, parser) -> Path | None:
    target = Path(args.output)
    if target.suffix.lower() not in (*RADIANCE_SUFFIXES, *DISPLAY_FORMATS):
        parser.error(f"-o {args.output}: use .hdr or .exr for radiance, .tif, .png or .jpg for an image")
    if target.exists() and not args.overwrite:
        print(f"photolab-cli: error: {target} already exists (use --overwrite to replace it)", file=sys.stderr)
        return None
    if any(Path(p).resolve() == target.resolve() for p in args.paths):
        print(f"photolab-cli: error: {target}: refusing to overwrite an input frame", file=sys.stderr)
        return None
    return target


def _run(job: Job) -> int:
    job.on_progress(lambda fraction, message: None)
    job.run()
    if job.state is JobState.FINISHED:
        print(f"wrote {job.result}", file=sys.stderr)
        return 0
    message = job.error_message or "cancelled"
    if isinstance(job.error, MissingExposureError):
        message += " (pass --times with one exposure time in seconds per frame, e.g. --times 1/250 1/60 1/15)"
    print(f"photolab-cli: error: {message}", file=sys.stderr)
    return 1


def _hdr(args, parser) -> int:
    target = _check_output(args, parser)
    if target is None:
        return 1
    if args.times is not None and len(args.times) != len(args.paths):
        parser.error(f"--times: {len(args.times)} times for {len(args.paths)} frames; give one per frame")
    options = HdrOptions(method=args.method, align=args.align, deghost=args.deghost)
    return _run(Job(lambda context: merge_hdr_files(args.paths, target, times=args.times, options=options,
                                                    tonemap_name=args.tonemap, context=context),
                    title=f"HDR merge of {len(args.paths)} frames"))


def _burst(args, parser) -> int:
    target = _check_output(args, parser)
    if target is None:
        return 1
    return _run(Job(lambda context: merge_burst_files(args.paths, target, reference=args.reference,
                                                      tonemap_name=args.tonemap, context=context),
                    title=f"Burst merge of {len(args.paths)} frames"))


def main(argv: list[str] | None = None) -> int:
    """Run the merge commands on their own (``python -m photolab.cli_merge hdr ...``)."""
    return run_commands(add_merge_commands, "PhotoLab merge commands.", argv)


if __name__ == "__main__":
    sys.exit(main())
