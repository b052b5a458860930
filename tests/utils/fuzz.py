"""Running photolab-cli on hostile files and judging each run, for tests/test_fuzz_cli.py (in process) and
bench/fuzz_campaign.py (in subprocesses, where crashes, hangs and memory limits can also be seen).

A run is one command on one mutant. :func:`judge` names its outcome: ``ok`` (exit 0 and a sound result)
and ``clean`` (exit 1 or 2, exactly one line on stderr naming the file, nothing left behind) are good;
``traceback`` (also an exception that is no PhotoLabError, shown by a Job), ``noisy`` (other lines on stderr: a library talking, or several lines), ``silent`` (exit 0
with a missing or absurd result), ``refused`` (a sound image refused), ``modified`` (the input changed),
``partial`` (output left after a failure), ``memory`` (a memory error), ``exit`` (another status) are bad;
the campaign adds ``signal`` and ``hang``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

COMMANDS = ("info", "develop", "classify", "attention")
GOOD_OUTCOMES = ("ok", "clean")
BAD_OUTCOMES = ("traceback", "signal", "hang", "memory", "silent", "refused", "noisy", "modified", "partial",
                "exit")
FILE_FORMATS = ("jpeg", "png", "tiff", "webp", "raw")
_JOB_EXCEPTION = re.compile(r" failed: [A-Z]\w*: ")  # jobs.Job.error_message of an error that is no PhotoLabError
_MEMORY_WORDS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "Out of memory", "not enough memory")


def command_line(command: str, path: Path, output: Path) -> list[str]:
    """photolab-cli's arguments for ``command`` on ``path`` (``develop`` writes into the folder ``output``)."""
    if command == "info":
        return ["info", str(path)]
    if command == "develop":
        return ["develop", str(path), "-o", f"{output}{os.sep}"]
    return [command, str(path), "--json"]


@dataclass(frozen=True)
class Snapshot:
    """What a run must not change: the input's bytes (None when it is no regular file) and the names in its
    folder and in the output folder."""

    input_hash: str | None
    beside_input: frozenset[str]
    outputs: frozenset[str]


def snapshot(path: Path, output: Path) -> Snapshot:
    """The state before (or after) a run on ``path`` writing into ``output``."""
    return Snapshot(_hash(path), frozenset(os.listdir(path.parent)), frozenset(os.listdir(output)))


def _hash(path: Path) -> str | None:
    """Size, modification time and the hash of the first 16 MiB (a sparse tail is gigabytes of zeros)."""
    try:
        if not path.is_file():  # follows links; never opens a FIFO or a device
            return None
        info = path.stat()
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read(1 << 24)).hexdigest()
        return f"{info.st_size}:{info.st_mtime_ns}:{digest}"
    except OSError:
        return None


def judge(command: str, path: Path, code: int, stdout: str, stderr: str, before: Snapshot,
          after: Snapshot, output: Path, sound: bool = False) -> tuple[str, str]:
    """(outcome, why) of one run; see the module docstring for the outcomes. ``sound``: the input is a
    readable image that ``command`` must succeed on."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if any(word in stderr for word in _MEMORY_WORDS):
        return "memory", lines[-1] if lines else ""
    if "Traceback (most recent call last)" in stderr or _JOB_EXCEPTION.search(stderr):
        return "traceback", lines[-1] if lines else ""
    if before.input_hash != after.input_hash:
        return "modified", "the input file changed"
    left = sorted(after.beside_input - before.beside_input)
    if left:
        return "partial", f"new files beside the input: {left}"
    if code == 0:
        problem = _result_problem(command, path, stdout, after.outputs - before.outputs, output)
        if problem:
            return "silent", problem
        return ("noisy", lines[0]) if lines else ("ok", "")
    if code in (1, 2):
        written = sorted(after.outputs - before.outputs)
        if written:
            return "partial", f"left after a failure: {written}"
        if len(lines) != 1:
            return "noisy", " | ".join(lines[:3]) or "no message"
        if str(path) not in lines[0] and path.name not in lines[0]:
            return "noisy", f"the message does not name the file: {lines[0]}"
        return ("refused" if sound else "clean"), lines[0]
    return "exit", f"exit status {code}"


def _result_problem(command: str, path: Path, stdout: str, written: set[str], output: Path) -> str | None:
    """What is wrong with a successful run's result, or None."""
    try:
        if command == "info":
            info = json.loads(stdout)
            if not (isinstance(info.get("width"), int) and isinstance(info.get("height"), int)
                    and info["width"] >= 1 and info["height"] >= 1 and info.get("file_format") in FILE_FORMATS):
                return f"absurd info: {info.get('width')}x{info.get('height')} {info.get('file_format')}"
        elif command == "develop":
            if len(written) != 1:
                return f"expected one output file, found {sorted(written)}"
            with Image.open(output / next(iter(written))) as image:
                image.verify()
        elif command == "classify":
            result = json.loads(stdout)
            if not (isinstance(result.get("label"), str) and result.get("topk")):
                return "no label"
        elif not json.loads(stdout).get("blocks"):
            return "no excitations"
    except (ValueError, OSError, AttributeError, StopIteration) as exc:
        return f"unusable result ({type(exc).__name__}: {exc})"
    return None
