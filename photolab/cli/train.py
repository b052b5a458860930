"""photolab-cli train: fine-tune an SE classifier on a folder (one sub-folder per class) and store it.

    photolab-cli train FOLDER --name NAME [--base MODEL] [--strategy auto|probe|last|full] [--epochs N]
                 [--image-size PX] [--val-split F] [--seed S] [--json] [--ray [ADDRESS] [--workers N]]

The folder is checked first (every problem is printed; errors stop the run). Progress goes to stderr (a bar
on a terminal, a line per 10 % on a pipe); the summary to stdout, or with ``--json`` one object
``{"model": NAME, "accuracy": ..., "per_class": {...}, "confusion_matrix": [[...]], ...}``. The model is then
in the store, so ``photolab-cli classify IMG --model NAME`` uses it. Ctrl+C before the first epoch ends saves
nothing; later, the best epoch so far is saved. ``--ray`` runs the same recipe as a Ray Train job, data-parallel
over N workers (:mod:`photolab.cluster.train`), and saves the same card; there, Ctrl+C saves nothing. Exit
status: 0 saved, 1 failed (nothing saved), 2 usage.
"""

from __future__ import annotations

import json
import sys

from photolab.cli.common import Progress, add_ray_option, fail, number, run_job_with_progress, whole_number
from photolab.core.errors import PhotoLabError
from photolab.jobs import JobState


def add_train_commands(subparsers) -> None:
    """Register ``train`` on an argparse sub-parsers object (handler called as ``handler(args, parser)``)."""
    train = subparsers.add_parser("train", help="fine-tune a classifier on a folder of labelled photos")
    train.add_argument("folder", metavar="FOLDER", help="one sub-folder per class, images inside")
    train.add_argument("--name", required=True, help="name of the new model in the store")
    train.add_argument("--base", metavar="MODEL",
                       help="model to start from (default: the built-in backbone, else the first built-in classifier)")
    train.add_argument("--strategy", choices=("auto", "probe", "last", "full"),
                       help="what learns: auto = the best of probe and last by cross-validation on your images, "
                            "probe = classifier only, last = last stage, full = everything (default: recommended "
                            "for the amount of data, auto below 100 images per class)")
    train.add_argument("--epochs", metavar="N", type=whole_number(1, 1000), default=10, help="epochs (default 10)")
    train.add_argument("--image-size", metavar="PX", type=whole_number(32, 1024),
                       help="input size in pixels (default: the base model's)")
    train.add_argument("--val-split", metavar="F", type=number(0.05, 0.5, example="0.2"),
                       help="share of images held out for validation (default: by data size)")
    train.add_argument("--seed", metavar="S", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    train.add_argument("--json", action="store_true", help="print the result as JSON")
    add_ray_option(train)
    train.add_argument("--workers", metavar="N", type=whole_number(1, 1024),
                       help="with --ray: training workers (default: one per GPU of the cluster, else 2)")
    train.set_defaults(command=train_command)


def train_command(args, parser) -> int:
    """``train FOLDER --name NAME ...``: check, train, print the summary, save."""
    from photolab.cli.models import make_manager
    from photolab.models.store.card import check_model_name
    from photolab.models.training.data import scan_folder
    from photolab.models.training.finetune import finetune_job, save_outcome
    from photolab.models.training.settings import FinetuneSettings, recommend_strategy

    if args.workers and not args.ray:
        parser.error("--workers needs --ray")
    try:
        check_model_name(args.name)
        manager = make_manager()
        if not args.overwrite and any(e.name == args.name for e in manager.list_models()):
            return fail(f"a model named {args.name!r} is already installed; pick another name or use --overwrite")
        base = manager.get(args.base) if args.base else manager.default_base()
    except PhotoLabError as exc:
        return fail(exc)
    report = scan_folder(args.folder)
    if report.issues or not args.json:
        print(report.summary(), file=sys.stderr)
    if not report.ok:
        return fail(f"{args.folder} cannot be used for training: "
                     + "; ".join(issue.message for issue in report.errors))
    strategy, reason = (args.strategy, "") if args.strategy else recommend_strategy(report.counts)
    if args.ray and strategy == "auto":
        if args.strategy:
            return fail("--ray trains one model data-parallel; the auto strategy compares several by "
                        "cross-validation on one machine: choose --strategy probe, last or full")
        strategy, reason = "last", RAY_SMALL_DATA_REASON
    if reason:
        print(f"strategy: {strategy} ({reason})", file=sys.stderr)
    settings = FinetuneSettings(base=base.name, strategy=strategy, epochs=args.epochs, image_size=args.image_size,
                                val_fraction=args.val_split, seed=args.seed)
    if args.ray:
        outcome, description = _train_on_ray(manager, report, settings, args)
    else:
        job = finetune_job(manager, report, settings)
        run_job_with_progress(job)  # Ctrl+C: stop, keeping the best epoch so far
        if job.state is JobState.CANCELLED:
            return fail("training was cancelled before the first epoch ended; nothing was saved")
        if job.state is not JobState.FINISHED:
            return fail(job.error_message)
        outcome, description = job.result, f"Trained with photolab-cli on {report.root}"
    try:
        entry = save_outcome(manager, outcome, args.name, description, overwrite=args.overwrite)
    except PhotoLabError as exc:
        return fail(exc)
    _print_summary(entry, outcome, args.json)
    return 0


RAY_SMALL_DATA_REASON = ("--ray trains one model data-parallel; with under 100 images in a class, the last stage "
                         "and the classifier learn")


def _train_on_ray(manager, report, settings, args):
    """``train --ray``: the same run as a Ray Train job (:mod:`photolab.cluster.train`); the outcome and the
    card's description. Ctrl+C stops the job; nothing is saved."""
    from photolab.cluster.train import train_on_ray
    from photolab.models.training.finetune import plan_finetune

    plan = plan_finetune(manager, report, settings)
    progress = Progress(lines_on_pipe=True)
    outcome, how = train_on_ray(plan, args.ray, args.workers, progress)
    progress.finish()
    return outcome, f"Trained with photolab-cli on Ray ({how}) on {report.root}"


def _print_summary(entry, outcome, as_json: bool) -> None:
    """The saved model's validation results: JSON, or a short report with the per-class table."""
    summary = {"model": entry.name, **outcome.summary()}
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    metrics = outcome.result.metrics
    if outcome.result.history:
        print(f"saved model {entry.name}: validation accuracy {metrics.accuracy:.1%} on {outcome.val_images} images "
              f"({outcome.result.stop_reason}, best epoch {outcome.result.best_epoch}, {outcome.result.seconds:.1f} s)")
    else:
        print(f"saved model {entry.name}: cross-validated accuracy {metrics.accuracy:.1%} on all {outcome.val_images} "
              f"images ({outcome.result.stop_reason}; {outcome.result.seconds:.1f} s)")
    width = max(len(c) for c in metrics.classes)
    print(f"{'class':<{width}}  precision  recall  support")
    for name, values in metrics.per_class().items():
        print(f"{name:<{width}}  {values['precision']:9.1%}  {values['recall']:6.1%}  {values['support']:7d}")
    print("confusion matrix (rows: true, columns: predicted):")
    for name, row in zip(metrics.classes, metrics.confusion):
        print(f"{name:<{width}}  " + " ".join(f"{v:4d}" for v in row))
