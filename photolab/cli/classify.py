"""photolab-cli sub-commands that look at a photo with a classifier: classify, attention.

    photolab-cli classify IN... [--model NAME] [--top K] [--device cpu|cuda|auto] [--no-sidecar] [--json]
                 [--ray [ADDRESS]]
    photolab-cli attention IN [--model NAME] [--device cpu|cuda|auto] [--no-sidecar] [--json]
    photolab-cli attention IN --class-average FOLDER [--model NAME] [--json]

Like the window, ``classify`` and ``attention`` look at the photo as edited (its sidecar's recipe applied to
the screen-sized copy the window shows; ``--no-sidecar`` looks at it unedited). ``classify --json`` prints
one line per image: ``{"image": PATH, "label": TOP1, "topk": [[LABEL, PROB], ...]}``; ``attention --json``
prints ``{"model": NAME, "blocks": [{"name": BLOCK, "channels": C, "excitation": [...]}, ...]}``, the shape
the Attention view's export extends. ``--class-average FOLDER`` adds the class averages over a folder with one
sub-folder of photos per class and how class-specific each block and stage is, with its chance level and
interval (``"class_average"``, the same numbers and keys as the view's Class Average tab). Without
``--model`` the default model (the first built-in classifier) of the user's store
(:func:`photolab.cli.models.make_manager`) is used. Exit status: 0 on success, 1 when anything failed (each
failure gets a message on stderr), 2 on usage errors. :func:`add_classify_commands` registers the commands on
``photolab-cli``'s sub-parsers; each handler is called as ``handler(args, parser)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from photolab.cli import models as store_commands
from photolab.cli.common import Progress, add_device_option, add_ray_option, fail, warn, whole_number
from photolab.core.errors import PhotoLabError
from photolab.jobs import Job, JobState, describe_error
from photolab.services import edited_preview


def add_classify_commands(subparsers) -> None:
    """Register ``classify`` and ``attention`` on an argparse sub-parsers object."""
    classify = subparsers.add_parser("classify", help="label photos with a classifier")
    classify.add_argument("inputs", nargs="+", metavar="IN", help="photos to classify")
    classify.add_argument("--model", metavar="NAME", help="model to use (default: the first built-in)")
    classify.add_argument("--top", metavar="K", type=whole_number(1), default=5, help="labels to show (default 5)")
    classify.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    add_device_option(classify)
    _add_sidecar_option(classify)
    add_ray_option(classify)
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


def _load(name: str | None, device: str):
    """The classifier ``name`` (default: the store's default) on ``device``; a backbone is refused."""
    manager = store_commands.make_manager()
    entry = manager.get(name) if name else manager.default_entry()
    if entry.card.is_backbone:
        raise PhotoLabError(f"{entry.name} is a backbone for fine-tuning, not a classifier: its outputs are the "
                            "surrogate classes it was pretrained on. Train a classifier from it with "
                            f"'photolab-cli train FOLDER --name NAME --base {entry.name}', or choose another "
                            "model ('photolab-cli models list')")
    return manager.load(entry, device)


def classify_command(args, parser) -> int:
    """``classify IN... [--model NAME] [--top K] [--json] [--ray [ADDRESS]]``."""
    loaded = _load(args.model, "cpu" if args.ray else args.device)  # on Ray, each worker moves it to --device
    progress = Progress(total=len(args.inputs))
    works = [ClassifyWork(path, args.top, not args.no_sidecar) for path in args.inputs]
    failed = 0
    for index, work, top, error in (_classify_on_ray(works, loaded, args.device, args.ray, progress) if args.ray
                                    else _classify_here(works, loaded, progress)):
        progress.clear()
        if error:
            failed += 1
            fail(error)
        elif args.json:
            print(json.dumps({"image": work.path, "label": top[0][0], "topk": [[label, p] for label, p in top]}),
                  flush=True)
        else:
            others = ", ".join(f"{label} {p:.1%}" for label, p in top[1:])
            print(f"{work.path}: {top[0][0]} {top[0][1]:.1%}" + (f"  ({others})" if others else ""), flush=True)
    progress.finish()
    return 1 if failed else 0


@dataclass(frozen=True)
class ClassifyWork:
    """One photo to classify (sent as it is to a Ray worker)."""

    path: str
    top: int
    use_sidecar: bool


def classify_work(work: ClassifyWork, loaded, on_warning=None) -> tuple[list[tuple[str, float]], str | None]:
    """The ``work.top`` labels of one photo as the window shows it, and the sidecar's warning (also given to
    ``on_warning`` at once); the one per-file step of ``classify``, in this process or on a Ray worker."""
    from photolab.models.inference import classify

    try:
        photo, warning = edited_preview(work.path, use_sidecar=work.use_sidecar)
        if warning and on_warning is not None:
            on_warning(warning)
        return classify(loaded, photo, work.top), warning
    except Exception as exc:  # noqa: BLE001 - said as one line naming the file
        raise PhotoLabError(_file_error(work.path, exc, "classifying")) from None


def _classify_here(works: list[ClassifyWork], loaded, progress: Progress):
    """Classify in this process; yields (index, work, top labels or None, error or None) per photo."""
    for index, work in enumerate(works):
        progress(0.0, Path(work.path).name, index)
        try:
            top, _ = classify_work(work, loaded, on_warning=warn)
        except PhotoLabError as exc:
            yield index, work, None, str(exc)
            continue
        yield index, work, top, None


def _classify_on_ray(works: list[ClassifyWork], loaded, device: str, address: str, progress: Progress):
    """``classify --ray``: the model goes to Ray's object store once and every worker classifies with it on
    ``device`` (:func:`classify_on_worker`); yields what :func:`_classify_here` does, in input order."""
    from photolab.cluster.batch import map_files

    done = [0]

    def on_result(result) -> None:
        done[0] += 1
        progress(1.0, Path(works[result.index].path).name, done[0] - 1)
        if result.value is not None and result.value[1]:
            progress.clear()
            warn(result.value[1])

    results = map_files(classify_on_worker, works, address=address, names=[work.path for work in works],
                        shared=(loaded.entry, loaded.model, device), gpus=1 if device == "cuda" else 0,
                        title="classifying", on_result=on_result)
    for index, (work, result) in enumerate(zip(works, results)):
        yield index, work, result.value[0] if result.value else None, result.error


def classify_on_worker(work: ClassifyWork, model) -> tuple[list[tuple[str, float]], str | None]:
    """:func:`classify_work` on a Ray worker, with the model the driver sent (its store entry, its network on
    the CPU, the device to run it on: cpu, cuda or auto)."""
    from photolab.models.inference import LoadedModel
    from photolab.models.store.manager import resolve_device

    entry, network, device = model
    target = resolve_device(device)
    return classify_work(work, LoadedModel(entry, network.to(target), target))


def attention_command(args, parser) -> int:
    """``attention IN [--model NAME] [--class-average FOLDER] [--json]``: the excitation of every SE block,
    and with a folder, its class averages and class specificity."""
    from photolab.models.analysis.records import excitation_record
    from photolab.models.inference import excitations

    loaded = _load(args.model, args.device)
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
