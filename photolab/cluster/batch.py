"""One per-file function over many inputs on Ray workers (Ray Data), losing nothing when a worker dies.

:func:`map_files` takes the function the single-process loop of a command calls for each input (so the
outputs are identical) and one argument per input. Each input is its own Ray Data block, so a worker killed
in the middle of a file costs a retry of that file alone; every output is written atomically by the worker
that makes it (:mod:`photolab.core.atomic`), and the temporary files a killed worker leaves are swept when the
batch ends, whether it finished, failed or was interrupted (Ctrl+C). A file whose function raises is reported
once with its error (application errors are never retried); a file whose worker dies on every attempt is
reported as lost. The driver hears of each finished input exactly once, in :func:`map_files`'s
``on_result``, and gets every input's result or error back.
"""

from __future__ import annotations

import logging
import pickle
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from photolab.cluster.runtime import ray_runtime
from photolab.core.atomic import leftover_temporaries
from photolab.jobs import describe_error

RETRIES = 3
"""How many times a file is tried again after its worker process died (not after an error of its own)."""


@dataclass(frozen=True)
class FileResult:
    """What happened to one input: the per-file function's ``value``, or ``error`` (one line)."""

    index: int
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


def map_files(function: Callable[..., Any], arguments: Sequence[Any], *, address: str, names: Sequence[str],
              targets: Iterable[Path] = (), shared: Any = None, title: str = "processing",
              on_result: Callable[[FileResult], None] | None = None, retries: int = RETRIES,
              gpus: float = 0) -> list[FileResult]:
    """Run ``function(argument)`` (``function(argument, shared)`` when ``shared`` is given) for every argument
    on the Ray runtime at ``address`` (see :func:`photolab.cluster.runtime.ray_runtime`); returns one
    :class:`FileResult` per argument, in order.

    ``function`` must be importable by the workers (a module-level function); an exception it raises becomes
    that input's error (``title`` says what failed). ``names`` name the inputs in messages. ``shared`` (a
    model, say) is sent to the object store once, fetched once per worker process and handed to every call.
    ``targets`` are the files the batch may write: the temporaries that killed workers left beside them are
    removed at the end. ``on_result`` is called on the driver as each input finishes (for progress), once
    per input. ``gpus``: the GPUs each file's task reserves (1 when the work runs on ``cuda``: Ray shows a
    task only the GPUs it reserved).
    """
    if not arguments:
        return []
    results: dict[int, FileResult] = {}
    try:
        with ray_runtime(address, "data") as ray:
            _quiet_ray_data(ray)
            rows = [{"index": i, "argument": pickle.dumps(a)} for i, a in enumerate(arguments)]
            dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
            # In a list, Ray hands the reference itself over (fetched once per worker, not once per file).
            shared_ref = [ray.put(shared)] if shared is not None else []
            with warnings.catch_warnings():
                # Ray 2.60 deprecates remote args without a named parameter, max_retries among them (hence
                # ray<2.64 in the cluster extra); without it a file that kills its worker is retried forever.
                warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
                mapped = dataset.map(_run_row, fn_kwargs={"function": function, "shared_ref": shared_ref,
                                                          "title": title}, num_cpus=1, num_gpus=gpus or None,
                                     max_retries=retries)
            for row in mapped.iter_rows():
                result = pickle.loads(row["result"])
                if result.index not in results:
                    results[result.index] = result
                    if on_result is not None:
                        on_result(result)
    finally:
        for target in targets:
            for leftover in leftover_temporaries(target):
                leftover.unlink(missing_ok=True)
    lost = f"its Ray worker died on every one of {retries + 1} attempts; nothing was written"
    return [results.get(i) or FileResult(i, error=f"{names[i]}: {lost}") for i in range(len(arguments))]


def _quiet_ray_data(ray) -> None:
    """Ray Data without its own progress bars and start-up banner (photolab-cli shows its own progress), and
    going on past a file whose worker died on every attempt (that file is reported as lost)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.max_errored_blocks = -1


_shared_cache: dict[str, Any] = {}  # on a worker: the shared object per reference, fetched once per process
_models_installed = []  # on a worker: whether core's model-backed steps (Denoise) were given their loader


def _run_row(row: dict, *, function: Callable, shared_ref: list, title: str) -> dict:
    """On a worker: one input through ``function``; its result or its error, pickled."""
    import ray

    index, started = int(row["index"]), time.perf_counter()
    if not _models_installed:  # what photolab-cli's main does before any command
        from photolab.services import install_models

        install_models()
        _models_installed.append(True)
    try:
        shared = []
        if shared_ref:
            key = shared_ref[0].hex()
            if key not in _shared_cache:
                _shared_cache.clear()
                _shared_cache[key] = ray.get(shared_ref[0])
            shared = [_shared_cache[key]]
        value = function(pickle.loads(row["argument"]), *shared)
        result = FileResult(index, value, seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - one file's failure is reported, the batch goes on
        logging.getLogger(__name__).error("%s failed:\n%s", title, traceback.format_exc())
        result = FileResult(index, error=describe_error(exc, title), seconds=time.perf_counter() - started)
    return {"index": index, "result": pickle.dumps(result)}
