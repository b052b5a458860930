"""photolab-cli denoise-adapt: fine-tune the denoiser on one camera's noisy photos (Noise2Noise, no clean image).

    photolab-cli denoise-adapt FOLDER --name NAME [--base MODEL] [--minutes M] [--threads N] [--seed S]
                 [--max-steps N] [--crop PX] [--single-share F] [--overwrite] [--json]

FOLDER holds noisy photos of one camera (JPEG, PNG, TIFF, WebP or RAW): singles, and bursts (a sub-folder per
burst, or frames with time stamps less than a second apart). Bursts give Noise2Noise pairs once aligned, singles
Neighbor2Neighbor sub-sampled pairs (see :mod:`photolab.models.training.denoise_adapt`). The built-in denoiser (or
``--base``) is fine-tuned for ``--minutes`` of wall-clock time and saved as a new denoiser, NAME, in the user's
denoiser folder (``<data dir>/denoisers``), with a card (camera, ISO range, data, minutes, base, held-out score);
``photolab-cli denoise IN -o OUT --model NAME`` and the window's Denoise model choice then use it.
``--json`` prints one line: ``{"name", "model_path", "card_path", "base", "camera", "iso_range", "singles",
"bursts", "pairs", "minutes", "steps", "held_out": {"generic_psnr", "adapted_psnr", ...}, "seconds"}``.
Exit status: 0 saved, 1 when the folder cannot be used or the run failed or was cancelled (Ctrl+C: nothing is
saved), 2 on usage errors. The photos are only read.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from photolab.cli.common import fail, number, run_job_with_progress, warn, whole_number
from photolab.core.errors import PhotoLabError
from photolab.jobs import JobState


def add_denoise_adapt_commands(subparsers) -> None:
    """Add the ``denoise-adapt`` sub-command."""
    adapt = subparsers.add_parser(
        "denoise-adapt", help="adapt the denoiser to your camera from its noisy photos",
        description="Fine-tune the denoiser on noisy photos of one camera (singles and bursts; no clean image) "
                    "and save it as a new denoiser.")
    adapt.add_argument("folder", metavar="FOLDER", help="noisy photos of one camera; bursts in sub-folders")
    adapt.add_argument("--name", required=True, help="name of the new denoiser")
    adapt.add_argument("--base", metavar="MODEL", default="",
                       help="denoiser to start from (default: the built-in one)")
    adapt.add_argument("--minutes", type=number(0.05, 600, what="minutes"), default=5.0, metavar="M",
                       help="wall-clock training budget in minutes (default 5)")
    adapt.add_argument("--threads", type=whole_number(1, 1024, what="threads"), metavar="N",
                       help="torch threads (default: all cores; never more than the machine has)")
    adapt.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    adapt.add_argument("--max-steps", type=whole_number(1, None, what="steps"), metavar="N",
                       help="stop after N optimisation steps even if time is left")
    adapt.add_argument("--crop", type=whole_number(16, 512, multiple_of=8, what="the crop size"), default=128,
                       metavar="PX", help="training crop size in pixels, a multiple of 8 (default 128)")
    adapt.add_argument("--single-share", type=number(0.0, 1.0, what="the share of single-photo samples"),
                       metavar="F", help="share of single-photo (Neighbor2Neighbor) samples when there are bursts "
                                         "too (default: AdaptSettings.single_share; 0: bursts only)")
    adapt.add_argument("--overwrite", action="store_true", help="replace your denoiser of the same name")
    adapt.add_argument("--json", action="store_true", help="print the result as one JSON line")
    adapt.set_defaults(command=denoise_adapt_command)


def denoise_adapt_command(args, parser) -> int:
    """``denoise-adapt FOLDER --name NAME``: scan, check, load, adapt, save."""
    from photolab.models.store.card import ModelCardError, check_model_name, existing_model_message
    from photolab.models.training.denoise_adapt import AdaptSettings, adapt_job, save_adapted
    from photolab.services import model_manager

    started = time.perf_counter()
    try:
        check_model_name(args.name)
    except ModelCardError as exc:
        parser.error(str(exc))
    manager = model_manager()
    builtin = [n for n in _names(manager.denoiser_dir)]
    if args.name in builtin:
        return fail(f"{args.name!r} is a built-in denoiser's name; choose another name")
    taken = existing_model_message(manager.user_denoiser_dir, args.name, "denoiser")
    if taken and not args.overwrite:
        return fail(taken)
    settings = AdaptSettings(minutes=args.minutes, threads=args.threads, seed=args.seed, max_steps=args.max_steps,
                             crop=args.crop)
    if args.single_share is not None:
        settings = replace(settings, single_share=args.single_share)
    job = adapt_job(manager, args.folder, args.base, settings)
    run_job_with_progress(job)  # Ctrl+C cancels: nothing is saved
    if job.state is JobState.CANCELLED:
        return fail("adaptation was cancelled; nothing was saved")
    if job.state is not JobState.FINISHED:
        return fail(job.error_message)
    outcome, data = job.result
    for path, reason in data.skipped:
        warn(f"skipped {path}: {reason}")
    try:
        weights, card = save_adapted(outcome, args.name, manager.user_denoiser_dir, taken=builtin,
                                     overwrite=args.overwrite, source_folder=args.folder)
    except PhotoLabError as exc:
        return fail(exc)
    result = {"name": args.name, "model_path": str(weights), "card_path": str(weights.with_suffix(".json")),
              "base": outcome.base, "camera": card["camera"], "iso_range": card["iso_range"],
              "singles": outcome.data["singles"], "bursts": outcome.data["bursts"], "pairs": outcome.data["pairs"],
              "minutes": card["adaptation"]["minutes"], "steps": outcome.steps,
              "held_out": {k: outcome.held_out[k] for k in ("generic_psnr", "adapted_psnr", "held_out")},
              "seconds": round(time.perf_counter() - started, 3)}
    if args.json:
        print(json.dumps(result), flush=True)
        return 0
    held = outcome.held_out
    score = (f"held-out noisy-pair PSNR {held['generic_psnr']:.2f} -> {held['adapted_psnr']:.2f} dB"
             if held["generic_psnr"] is not None else "no held-out photos to score")
    print(f"saved denoiser {args.name} ({card['camera']}; {result['singles']} singles, {result['bursts']} bursts, "
          f"{result['pairs']} pairs; {outcome.steps} steps in {result['minutes']:.1f} min; {score})")
    print(f"use it with: photolab-cli denoise IN -o OUT --model {args.name}")
    return 0


def _names(folder) -> list[str]:
    from photolab.models.store.denoisers import list_denoisers

    return list_denoisers(folder)
