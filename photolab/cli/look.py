"""photolab-cli look: learn a look from your own before/after edits (HDRNet), apply it, list the looks.

    photolab-cli look learn PAIRS --name NAME [--minutes M] [--json] [--folds K] [--threads N] [--seed S]
                 [--max-steps N] [--overwrite]
    photolab-cli look apply IN... -o OUT_OR_DIR --look NAME [--strength S] [--format jpg|png|png16|tiff16]
                 [--quality Q] [--no-sidecar] [--overwrite] [--json] [--ray [ADDRESS]]
    photolab-cli look list [--json]

PAIRS is a folder with ``before/`` and ``after/`` (same file names; the befores RAW, JPEG, PNG or TIFF, the
afters their edited exports), or a folder of photos with PhotoLab sidecars (PhotoLab renders the befores and
afters). The pairs are checked (sizes, crops and misalignments registered, orientation, colour space;
unpaired files, different scenes and transparent images reported), then a look is learned in ``--minutes``
(cross-validation included) and saved in ``<data dir>/looks`` with a card (pairs, minutes, cross-validated
PSNR and CIEDE2000). ``--json`` prints one line: ``{"name", "model_path", "card_path", "pairs", "refused",
"unpaired", "minutes", "steps", "grid", "cross_validation": {"psnr", "ciede2000", "identity_psnr",
"identity_ciede2000", "folds"}, "seconds"}``; ``grid`` is false where cross-validation found the look global
(its LUT alone scored higher than with a local grid), and then no grid is learned (``steps`` 0).
Ctrl+C cancels: nothing is saved.

``apply`` develops each IN (with its sidecar unless ``--no-sidecar``, as ``photolab-cli develop`` does) with
the Look step set to NAME at ``--strength`` percent (default 100) and writes it to OUT (a file for one photo,
else a folder). The Look step in a sidecar is replayed by ``photolab-cli develop``. ``--ray [ADDRESS]`` spreads
the photos over Ray workers (:mod:`photolab.cluster`) with the same per-photo step and the same outputs.
Exit status: 0 done, 1 when something could not be done, 2 on usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from photolab.cli.common import Progress, add_ray_option, fail, jpeg_quality, number, run_job_with_progress, \
    same_file, warn, whole_number
from photolab.core.errors import PhotoLabError
from photolab.core.export import EXPORT_FORMATS
from photolab.jobs import Job, JobState


def add_look_commands(subparsers) -> None:
    """Add ``look learn``, ``look apply`` and ``look list``."""
    look = subparsers.add_parser("look", help="learn a look from your before/after edits and apply it",
                                 description="Learn a look (HDRNet) from before/after pairs, apply it, list looks.")
    commands = look.add_subparsers(dest="look_command", metavar="{learn,apply,list}", required=True)

    learn = commands.add_parser("learn", help="learn a look from before/after pairs",
                                description="Learn a look from before/after pairs and save it in the model store.")
    learn.add_argument("pairs", metavar="PAIRS", help="a folder with before/ and after/, or photos with sidecars")
    learn.add_argument("--name", required=True, help="name of the new look")
    learn.add_argument("--minutes", type=number(0.05, 600, what="minutes"), default=5.0, metavar="M",
                       help="wall-clock learning budget in minutes, cross-validation included (default 5)")
    learn.add_argument("--folds", type=whole_number(0, 10, what="folds"), default=3, metavar="K",
                       help="cross-validation folds for the held-out scores (default 3; 0 or 1: none)")
    learn.add_argument("--threads", type=whole_number(1, 1024, what="threads"), default=2, metavar="N",
                       help="torch threads (default 2)")
    learn.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    learn.add_argument("--max-steps", type=whole_number(1, None, what="steps"), metavar="N",
                       help="stop each run after N steps even if time is left")
    learn.add_argument("--overwrite", action="store_true", help="replace your look of the same name")
    learn.add_argument("--json", action="store_true", help="print the result as one JSON line")
    learn.set_defaults(command=look_learn_command)

    apply = commands.add_parser("apply", help="apply a learned look to photos",
                                description="Develop photos with a learned look as their last step.")
    apply.add_argument("inputs", nargs="+", metavar="IN", help="photos (RAW, JPEG, PNG, TIFF, WebP)")
    apply.add_argument("-o", "--output", required=True, metavar="OUT_OR_DIR",
                       help="the output file (one photo) or folder")
    apply.add_argument("--look", required=True, metavar="NAME", help="a learned look (photolab-cli look list)")
    apply.add_argument("--strength", type=number(0, 100, what="strength"), default=100.0, metavar="S",
                       help="how much of the look, 0-100 %% (default 100)")
    apply.add_argument("--format", choices=sorted(EXPORT_FORMATS), help="output format (default: from -o, or jpg)")
    apply.add_argument("--quality", type=jpeg_quality, default=92, metavar="Q", help="JPEG quality (default 92)")
    apply.add_argument("--no-sidecar", action="store_true", help="ignore the photos' PhotoLab sidecars")
    apply.add_argument("--overwrite", action="store_true", help="replace existing output files")
    apply.add_argument("--json", action="store_true", help="print the results as JSON")
    add_ray_option(apply)
    apply.set_defaults(command=look_apply_command)

    listing = commands.add_parser("list", help="list the learned looks", description="List the learned looks.")
    listing.add_argument("--json", action="store_true", help="print the looks as JSON")
    listing.set_defaults(command=look_list_command)


def look_learn_command(args, parser) -> int:
    """``look learn PAIRS --name NAME``: check the pairs, learn, save."""
    from photolab.models.store.card import ModelCardError, check_model_name, existing_model_message
    from photolab.models.training.look_learn import LookSettings, learn_job, save_look
    from photolab.services import model_manager

    started = time.perf_counter()
    try:
        check_model_name(args.name)
    except ModelCardError as exc:
        parser.error(str(exc))
    folder = model_manager().user_look_dir
    taken = existing_model_message(folder, args.name, "look")
    if taken and not args.overwrite:
        return fail(taken)
    settings = replace(LookSettings(), minutes=args.minutes, folds=args.folds, threads=args.threads,
                       seed=args.seed, max_steps=args.max_steps)
    job = learn_job(args.pairs, settings)
    run_job_with_progress(job)  # Ctrl+C cancels: nothing is saved
    if job.state is JobState.CANCELLED:
        return fail("learning was cancelled; nothing was saved")
    if job.state is not JobState.FINISHED:
        return fail(job.error_message)
    outcome, data = job.result
    for path, reason in data.scan.unpaired:
        warn(f"unpaired {path}: {reason}")
    for name, reason in data.refused:
        warn(f"refused pair {name}: {reason}")
    try:
        weights, card = save_look(outcome, args.name, folder, overwrite=args.overwrite, source_folder=args.pairs)
    except PhotoLabError as exc:
        return fail(exc)
    held = outcome.held_out
    result = {"name": args.name, "model_path": str(weights), "card_path": str(weights.with_suffix(".json")),
              "pairs": len(data.pairs), "refused": len(data.refused), "unpaired": len(data.scan.unpaired),
              "minutes": card["learning"]["minutes"], "steps": outcome.steps, "grid": held["grid"],
              "cross_validation": {k: held[k] for k in ("psnr", "ciede2000", "identity_psnr", "identity_ciede2000",
                                                        "folds")},
              "seconds": round(time.perf_counter() - started, 3)}
    if args.json:
        print(json.dumps(result), flush=True)
        return 0
    score = (f"held-out PSNR {held['psnr']:.2f} dB (identity {held['identity_psnr']:.2f}), CIEDE2000 "
             f"{held['ciede2000']:.2f} (identity {held['identity_ciede2000']:.2f}) by {held['folds']}-fold "
             f"cross-validation" if held["psnr"] is not None else "no cross-validation")
    parts = (f"{outcome.steps} steps in {result['minutes']:.1f} min" if held["grid"] else
             f"global colour transform alone: in flat areas cross-validation scored it "
             f"{held['lut_alone_flat_psnr']:.2f} dB, {held['with_grid_flat_psnr']:.2f} dB with a local grid")
    print(f"saved look {args.name} ({len(data.pairs)} pairs; {parts}; {score})")
    print(f"apply it with: photolab-cli look apply IN -o OUT --look {args.name}")
    return 0


def look_apply_command(args, parser) -> int:
    """``look apply IN... -o OUT --look NAME``: develop each photo with the look as its last step."""
    from photolab.cli.develop import DevelopWork, _format_from_output, _names_a_folder, develop_work
    from photolab.core.develop.look import LookError
    from photolab.services import model_manager

    file_format = args.format or _format_from_output(args.output) or "jpg"
    if len(args.inputs) > 1 and not _names_a_folder(args.output, len(args.inputs)):
        parser.error("with several photos, -o must be a folder")
    try:
        model_manager().load_look(args.look)  # an unknown or damaged look fails once, before any photo
    except (LookError, OSError) as exc:
        return fail(exc)
    progress = Progress(total=len(args.inputs))
    results: list[dict] = []
    planned: list[tuple[dict, DevelopWork]] = []
    for source in map(Path, args.inputs):
        result = {"input": str(source), "output": None, "ok": False, "error": None, "seconds": 0.0}
        results.append(result)
        started = time.perf_counter()
        work, result["error"] = _look_work(source, args, file_format)
        result["seconds"] = round(time.perf_counter() - started, 3)
        if work is None:
            progress.clear()
            fail(result["error"])
        else:
            planned.append((result, work))

    def finished(result: dict, work: DevelopWork, error: str | None, seconds: float, index: int) -> None:
        result.update(output=None if error else str(work.target), ok=error is None, error=error,
                      seconds=round(result["seconds"] + seconds, 3))
        progress(1.0, work.source.name, index)
        if error:
            progress.clear()
            fail(error)

    if args.ray:
        from photolab.cluster.batch import map_files

        done = [0]

        def on_result(outcome) -> None:
            done[0] += 1
            result, work = planned[outcome.index]
            finished(result, work, outcome.error, outcome.seconds, done[0] - 1)

        map_files(develop_work, [work for _, work in planned], address=args.ray,
                  names=[str(work.source) for _, work in planned], targets=[work.target for _, work in planned],
                  title=f"applying {args.look}", on_result=on_result)
    else:
        for index, (result, work) in enumerate(planned):
            started = time.perf_counter()
            try:
                develop_work(work, lambda fraction, message, index=index, name=work.source.name:
                             progress(fraction, name, index))
                error = None
            except PhotoLabError as exc:
                error = str(exc)
            finished(result, work, error, time.perf_counter() - started, index)
    progress.finish()
    failed = sum(1 for r in results if not r["ok"])
    if args.json:
        print(json.dumps({"look": args.look, "strength": args.strength, "results": results,
                          "succeeded": len(results) - failed, "failed": failed}, indent=2))
    elif len(results) > 1:
        print(f"{len(results) - failed} of {len(results)} photos written", file=sys.stderr)
    return 1 if failed else 0


def _look_work(source: Path, args, file_format: str):
    """(the DevelopWork that applies the look to ``source``, None) or (None, why it cannot be done)."""
    from photolab.cli.develop import DevelopWork, _output_path
    from photolab.core import io
    from photolab.core.colorspace import DEFAULT_COLOR_SPACE
    from photolab.core.develop.look import LookParams
    from photolab.core.recipe import Recipe, load_sidecar

    try:
        target = _output_path(source, args.output, file_format, len(args.inputs))
        recipe, warning = (None, None) if args.no_sidecar else load_sidecar(source)
        if warning:
            warn(warning)
        recipe = (recipe or Recipe()).with_params("look", LookParams(args.look, args.strength)).with_enabled("look", True)
    except (PhotoLabError, OSError, ValueError) as exc:
        return None, str(exc)
    if same_file(target, source):
        return None, f"{target}: refusing to overwrite the original photo"
    if target.exists() and not args.overwrite:
        return None, f"{target} already exists (use --overwrite to replace it)"
    return DevelopWork(source, target, recipe, file_format, args.quality, io.DEFAULT_DEMOSAIC, None, None,
                       DEFAULT_COLOR_SPACE), None


def look_list_command(args, parser) -> int:
    """``look list``: the learned looks with their cards' key facts."""
    from photolab.core.develop.look import LookError
    from photolab.models.store.looks import read_look_card
    from photolab.services import model_manager

    folder = model_manager().user_look_dir
    rows = []
    for name in model_manager().list_looks():
        try:
            card = read_look_card(folder, name)
        except LookError as exc:
            warn(exc)
            continue
        held = card.get("metrics", {}).get("cross_validation", {})
        learning = card.get("learning", {})
        rows.append({"name": name, "pairs": learning.get("pairs"), "minutes": learning.get("minutes"),
                     "psnr": held.get("psnr"), "ciede2000": held.get("ciede2000"), "created": card.get("created")})
    if args.json:
        print(json.dumps({"folder": str(folder), "looks": rows}, indent=2))
        return 0
    if not rows:
        print(f"no looks in {folder}; learn one with: photolab-cli look learn PAIRS --name NAME")
        return 0
    for row in rows:
        score = f"held-out {row['psnr']:.2f} dB, CIEDE2000 {row['ciede2000']:.2f}" if row["psnr"] is not None \
            else "not cross-validated"
        print(f"{row['name']}\t{row['pairs']} pairs, {row['minutes']:.1f} min, {score}")
    return 0
