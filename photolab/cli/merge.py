"""photolab-cli hdr / burst: merge exposure brackets or a burst into one photo.

    photolab-cli hdr IN... -o OUT [--times T...] [--method radiance|debevec|robertson|mertens]
                 [--align] [--deghost] [--tonemap local|reinhard|none] [--json]
    photolab-cli burst IN... -o OUT [--reference auto|INDEX] [--dng MERGED.dng] [--json]

The output's extension picks what is written: .hdr (Radiance) or .exr -> float scene radiance;
.tif/.png/.jpg -> a tone-mapped image (HDR) or the merged photo (burst). ``--times`` may come before or
after the frames (``--times 1/250 1/60 1/15 a.jpg b.jpg c.jpg`` works: the times end at the first argument
that is not one), or as one list (``--times 1/250,1/60,1/15``); Mertens fusion needs no times. ``--json``
prints one line: ``{"inputs": [...], "output", "seconds", ...}``.
Exit status: 0 on success, 1 when the merge failed (with a message), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from photolab.cli.common import Progress, fail, same_file
from photolab.core.burst import MAX_FRAMES as MAX_BURST_FRAMES
from photolab.core.burst import merge_burst_files
from photolab.core.export import FORMAT_BY_SUFFIX
from photolab.core.exposure_times import parse_seconds
from photolab.core.hdr import MAX_FRAMES as MAX_HDR_FRAMES
from photolab.core.hdr import METHODS, MIN_FRAMES, HdrOptions, MissingExposureError, merge_hdr_files
from photolab.core.tonemap import RADIANCE_SUFFIXES, TONEMAPS
from photolab.jobs import Job, JobState


def add_merge_commands(subparsers) -> None:
    """Add the ``hdr`` and ``burst`` sub-commands to photolab-cli's sub-parsers."""
    hdr = subparsers.add_parser("hdr", help="merge exposure brackets into HDR radiance or a tone-mapped image")
    hdr.add_argument("paths", nargs="*", metavar="IN", help="2-9 bracketed frames (RAW, TIFF, PNG, JPEG)")
    _add_output(hdr)
    hdr.add_argument("--times", nargs="+", metavar="T",
                     help="exposure time of each frame in seconds, e.g. 1/250 (default: from the files' metadata; "
                          "not needed for mertens)")
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
    burst.add_argument("paths", nargs="*", metavar="IN", help="the burst's frames (2-16)")
    _add_output(burst)
    burst.add_argument("--reference", type=_reference, default="auto", metavar="auto|INDEX",
                       help="frame to align to (0-based), or auto: the sharpest of the first three")
    burst.add_argument("--tonemap", choices=TONEMAPS, default="none",
                       help="tone mapping for .tif/.png/.jpg output (default none)")
    burst.add_argument("--dng", metavar="MERGED.dng",
                       help="RAW bursts: also save the merged mosaic as a DNG (opens in any RAW developer)")
    burst.set_defaults(command=_burst)


def _add_output(parser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file: .hdr/.exr (float radiance) or .tif/.png/.jpg")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON line: {"inputs": [...], "output", "seconds", ...}')


def _times_and_frames(args, parser) -> tuple[list[float] | None, list[str]]:
    """Split ``--times``' tokens into the times and the frame names it swallowed when it came before them
    (argparse gives every following word to ``--times``): the times end at the first word that is not one."""
    if args.times is None:
        return None, args.paths
    tokens = [part for token in args.times for part in token.split(",") if part]
    times: list[float] = []
    for position, token in enumerate(tokens):
        try:
            times.append(parse_seconds(token))
            continue
        except ValueError:
            pass
        looks_like_a_number = token[:1].isdigit() or token[:1] == "."
        if not times or (looks_like_a_number and not os.path.lexists(token)):
            parser.error(f"--times: expected seconds such as 0.01 or 1/100, got {token!r}")
        return times, tokens[position:] + args.paths
    return times, args.paths


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


def _check_frames(paths: list[str], parser, maximum: int) -> None:
    if len(paths) < MIN_FRAMES:
        parser.error(f"merging needs at least {MIN_FRAMES} frames, got {len(paths)}")
    if len(paths) > maximum:
        parser.error(f"merging takes at most {maximum} frames, got {len(paths)}")


def _check_output(args, parser, paths: list[str]) -> Path | None:
    target = Path(args.output)
    if target.suffix.lower() not in (*RADIANCE_SUFFIXES, *FORMAT_BY_SUFFIX):
        parser.error(f"-o {args.output}: use .hdr or .exr for radiance, .tif, .png or .jpg for an image")
    if any(same_file(p, target) for p in paths):
        fail(f"{target}: refusing to overwrite an input frame")
        return None
    if os.path.lexists(target) and not args.overwrite:
        fail(f"{target} already exists (use --overwrite to replace it)")
        return None
    return target


def _run(job: Job, args, paths: list[str], outcome=lambda result: {}, **described) -> int:
    started = time.perf_counter()
    progress = Progress()
    job.on_progress(progress)
    job.run()
    progress.finish()
    if job.state is JobState.FINISHED:
        if args.json:
            print(json.dumps({"inputs": paths, "output": str(job.result), **described, **outcome(job.result),
                              "seconds": round(time.perf_counter() - started, 3)}))
        else:
            for line in outcome(job.result).get("left_out", ()):
                print(f"warning: {line}", file=sys.stderr)
            print(f"wrote {job.result}", file=sys.stderr)
        return 0
    message = job.error_message or "cancelled"
    if isinstance(job.error, MissingExposureError):
        message += (" (pass --times with one exposure time in seconds per frame, e.g. --times 1/250 1/60 1/15, "
                    "or use --method mertens, which needs none)")
    return fail(message)


def _hdr(args, parser) -> int:
    times, paths = _times_and_frames(args, parser)
    _check_frames(paths, parser, MAX_HDR_FRAMES)
    if times is not None and len(times) != len(paths):
        parser.error(f"--times: {len(times)} times for {len(paths)} frames; give one per frame")
    target = _check_output(args, parser, paths)
    if target is None:
        return 1
    options = HdrOptions(method=args.method, align=args.align, deghost=args.deghost)
    job = Job(lambda context: merge_hdr_files(paths, target, times=times, options=options,
                                              tonemap_name=args.tonemap, context=context),
              title=f"HDR merge of {len(paths)} frames")
    return _run(job, args, paths, method=args.method, times=times, tonemap=args.tonemap)


def _burst(args, parser) -> int:
    _check_frames(args.paths, parser, MAX_BURST_FRAMES)
    target = _check_output(args, parser, args.paths)
    if target is None:
        return 1
    dng = Path(args.dng) if args.dng else None
    if dng is not None:
        if dng.suffix.lower() != ".dng":
            parser.error(f"--dng {args.dng}: the merged mosaic is written as a .dng file")
        if any(same_file(p, dng) for p in args.paths) or same_file(dng, target):
            return fail(f"{dng}: refusing to overwrite an input frame or the output")
        if os.path.lexists(dng) and not args.overwrite:
            return fail(f"{dng} already exists (use --overwrite to replace it)")
    job = Job(lambda context: merge_burst_files(args.paths, target, reference=args.reference,
                                                tonemap_name=args.tonemap, dng=dng, context=context),
              title=f"Burst merge of {len(args.paths)} frames")

    def outcome(result) -> dict:
        return {"dng": str(result.dng) if result.dng else None, "merged_in": "mosaic" if result.in_mosaic else "rgb",
                "reference_used": result.reference, "frames_merged": result.frames,
                "left_out": list(result.left_out)}

    return _run(job, args, args.paths, outcome, reference=args.reference, tonemap=args.tonemap)
