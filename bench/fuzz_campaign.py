"""Fuzz campaign: thousands of hostile files, and broken training folders, through the real photolab-cli.

    .venv/bin/python bench/fuzz_campaign.py [--mutants 2000] [--seed 0] [--commands info,develop,classify,attention]
                                            [--workers 2] [--memory-gb 3] [--timeout 60] [--quick] [--keep DIR]

Mutants come from the test suite's generator (tests/utils/mutants.py: byte flips, truncation, TIFF/DNG tag
tampering, PNG IHDR and JPEG SOF sizes, splices, wrong extensions, bombs, 1x1 and 1xN images, NaN/inf
TIFFs, sparse multi-GB tails, text, symlink loops, FIFOs, /dev/zero, folders named like photos, odd names).
Every run is ``python -m photolab.cli ...`` in its own process group, with a wall-clock timeout (a hang)
and RLIMIT_AS (a memory error instead of a swapping machine; torch fits in 1.5 GB). ``info`` and
``develop`` run on every mutant; ``classify`` takes the mutants in batches (one model load for many files;
a batch that goes wrong is re-run file by file to name the culprit); ``attention`` takes one file per run
and loads torch each time, so it runs on every ``--attention-every``-th mutant. About 15 broken training
folders (1x1 and 1:40 images, a class linked to another, link loops, a FIFO, /dev/zero, corrupt files...)
go through ``train`` (one epoch at 32 px), each expected to be refused at the check, and a sound one to
train.

Outcomes (tests/utils/fuzz.py): ok, clean (exit 1/2, one line naming the file), and the bad ones:
traceback, signal (killed by a signal: a crash), hang, memory, silent (exit 0 with a missing or absurd
result), refused (a sound image refused), noisy (library lines on stderr), modified (the input changed),
partial (output left), exit.
Prints counts per outcome, per sub-command and per mutation kind, the bad runs, throughput, and one JSON
line; the exit status is 1 when any run was bad. Nothing is written outside a temporary folder unless
``--keep DIR`` is given (the mutants of bad runs are copied there to reproduce them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from utils.fuzz import BAD_OUTCOMES, COMMANDS, command_line, judge, snapshot  # noqa: E402
from utils.mutants import Mutant, generate, make_seeds, png_bomb  # noqa: E402


@dataclass
class Run:
    """One command on one mutant (or one training folder) and its outcome."""

    command: str
    name: str
    kind: str
    detail: str
    outcome: str = ""
    why: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Process:
    """What a finished (or killed) photolab-cli process left: status, output, and how it ended."""

    code: int
    stdout: str
    stderr: str
    ended: str  # "exit", "signal" or "hang"
    seconds: float


def run_cli(arguments: list[str], *, timeout: float, memory_gb: float, env: dict[str, str]) -> Process:
    """``python -m photolab.cli ARGUMENTS`` in its own process group, under RLIMIT_AS, killed after ``timeout``."""
    limit = int(memory_gb * (1 << 30))

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "photolab.cli", *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=ROOT,
                               preexec_fn=limits, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        ended = "signal" if process.returncode < 0 else "exit"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        ended = "hang"
    return Process(process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), ended,
                   time.perf_counter() - started)


def process_outcome(process: Process) -> tuple[str, str] | None:
    """The outcome a process's ending decides by itself (a hang, a signal), or None."""
    if process.ended == "hang":
        return "hang", f"killed after {process.seconds:.0f} s"
    if process.ended == "signal":
        name = signal.Signals(-process.code).name
        memory = "bad_alloc" in process.stderr or "Cannot allocate memory" in process.stderr
        return ("memory" if memory else "signal"), f"killed by {name}"
    return None


class Campaign:
    """Runs the mutants and folders through photolab-cli on a pool of workers, collecting :class:`Run`s."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "PHOTOLAB_DATA_DIR": str(work / "store"),
                    "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def folder(self, label: str) -> Path:
        """A new, empty working folder (safe from several threads)."""
        return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.work))

    def single(self, command: str, mutant: Mutant) -> Run:
        """``command`` on one mutant."""
        folder = self.folder(command)
        path = mutant.create(_made(folder / "in"))
        output = _made(folder / "out")
        before = snapshot(path, output)
        process = run_cli(command_line(command, path, output), timeout=self.args.timeout,
                          memory_gb=self.args.memory_gb, env=self.env)
        run = Run(command, mutant.name, mutant.kind, mutant.detail, seconds=process.seconds)
        run.outcome, run.why = process_outcome(process) or judge(
            command, path, process.code, process.stdout, process.stderr, before, snapshot(path, output), output,
            mutant.readable_by(command))
        self.finish(folder, run, mutant)
        return run

    def classify_batch(self, mutants: list[Mutant]) -> list[Run]:
        """``classify`` on several mutants in one process; anything unattributable is re-run file by file."""
        folder = self.folder("classify")
        paths = [mutant.create(_made(folder / f"in{i}")) for i, mutant in enumerate(mutants)]
        output = _made(folder / "out")
        before = [snapshot(path, output) for path in paths]
        process = run_cli(["classify", *map(str, paths), "--json"], timeout=self.args.timeout * 2 + 5 * len(paths),
                          memory_gb=self.args.memory_gb, env=self.env)
        stderr_lines = [line for line in process.stderr.splitlines() if line.strip()]
        named = {path: [line for line in stderr_lines if f"{path}:" in line] for path in paths}
        unattributed = [line for line in stderr_lines if not any(line in lines for lines in named.values())]
        if process_outcome(process) or "Traceback" in process.stderr or unattributed:
            shutil.rmtree(folder, ignore_errors=True)
            return [self.single("classify", mutant) for mutant in mutants]
        results = {}
        for line in process.stdout.splitlines():
            try:
                results[json.loads(line)["image"]] = line
            except (ValueError, KeyError, TypeError):
                continue
        runs = []
        for mutant, path, state in zip(mutants, paths, before):
            stdout = results.get(str(path), "")
            code = 0 if stdout else 1
            run = Run("classify", mutant.name, mutant.kind, mutant.detail, seconds=process.seconds / len(paths))
            run.outcome, run.why = judge("classify", path, code, stdout, "\n".join(named[path]), state,
                                         snapshot(path, output), output, mutant.readable_by("classify"))
            runs.append(run)
        for mutant, run in zip(mutants, runs):
            self.keep(run, mutant)
        shutil.rmtree(folder, ignore_errors=True)
        return runs

    def train(self, name: str, description: str, steps: list, expect_refusal: bool) -> Run:
        """``train`` (one epoch at 32 px) on a training folder built by ``steps``."""
        folder = self.folder("train")
        dataset = _made(folder / name)
        for step in steps:
            step(dataset)
        env = {**self.env, "PHOTOLAB_DATA_DIR": str(folder / "store")}
        process = run_cli(["train", str(dataset), "--name", "fuzz", "--epochs", "1", "--image-size", "32",
                           "--json"], timeout=self.args.timeout * 5, memory_gb=self.args.memory_gb, env=env)
        run = Run("train", name, f"training:{name}", description, seconds=process.seconds)
        run.outcome, run.why = process_outcome(process) or judge_train(process, expect_refusal)
        shutil.rmtree(folder, ignore_errors=True)
        return run

    def finish(self, folder: Path, run: Run, mutant: Mutant) -> None:
        self.keep(run, mutant)
        for path in folder.rglob("*"):  # unreadable mutants must be removable
            if path.is_file() and not path.is_symlink():
                path.chmod(0o644)
        shutil.rmtree(folder, ignore_errors=True)

    def keep(self, run: Run, mutant: Mutant) -> None:
        """Copy the mutant of a bad run into --keep DIR, to reproduce it."""
        if self.args.keep and run.outcome in BAD_OUTCOMES and mutant.special not in ("fifo",):
            target = _made(Path(self.args.keep) / f"{run.command}-{mutant.name[:80]}")
            if not any(target.iterdir()):
                replace(mutant, tail=0).create(target)


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def judge_train(process: Process, expect_refusal: bool) -> tuple[str, str]:
    """The outcome of ``train`` on a folder: refused at the check with a clear last line when broken,
    trained (a JSON summary) when sound."""
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in process.stderr:
        return ("memory" if "MemoryError" in process.stderr else "traceback"), lines[-1] if lines else ""
    if process.code == 0:
        if expect_refusal:
            return "silent", "a broken folder was trained on"
        try:
            return ("ok", "") if json.loads(process.stdout).get("model") == "fuzz" else ("silent", "no model")
        except ValueError:
            return "silent", "no JSON summary"
    if process.code != 1:
        return "exit", f"exit status {process.code}"
    last = lines[-1] if lines else ""
    if not last.startswith("photolab-cli: error:"):
        return "noisy", last or "no message"
    if expect_refusal and "cannot be used for training" not in last:
        return "silent", f"refused only after training started: {last}"
    return "clean", last


# --- broken training folders -------------------------------------------------------------------------------

def _images(folder: Path, count: int, size: tuple[int, int], seed: int) -> None:
    """``count`` random PNGs of ``size`` = (height, width) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = np.random.default_rng([seed, index]).integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{index}.png")


def _sound(root: Path) -> None:
    _images(root / "cats", 6, (40, 48), 1)
    _images(root / "dogs", 6, (40, 48), 2)


def _too_small_class(root: Path) -> None:
    _images(root / "owls", 2, (40, 48), 3)


def _cross_links(root: Path) -> None:
    for index in range(6):
        dog = root / "dogs" / f"img{index}.png"
        dog.unlink()
        dog.symlink_to(root / "cats" / f"img{index}.png")


def _damaged_class(root: Path, seeds) -> None:
    for index, seed in enumerate(seeds):
        (_made(root / "broken") / f"cut{index}{seed.suffix}").write_bytes(seed.data[:40])


def _bombs_and_tails(root: Path) -> None:
    big = _made(root / "big")
    for index in range(3):
        (big / f"bomb{index}.png").write_bytes(png_bomb(20000, 20000))
    for index in range(2):
        tail = Path(shutil.copy(root / "cats" / f"img{index}.png", big / f"tail{index}.png"))
        os.truncate(tail, tail.stat().st_size + (2 << 30))


def training_folders(seeds) -> list[tuple[str, str, list, bool]]:
    """(name, description, steps that build it in a folder, whether train must refuse it at the check)."""
    return [
        ("sound", "two classes of six 48x40 images", [_sound], False),
        ("one-pixel", "a class of 1x1 images", [_sound, lambda r: _images(r / "dots", 6, (1, 1), 5)], True),
        ("thin", "a class of 4000x10 images", [_sound, lambda r: _images(r / "thin", 6, (10, 4000), 6)], True),
        ("elongated", "a class of 4000x100 images", [_sound, lambda r: _images(r / "strips", 6, (100, 4000), 7)],
         True),
        ("linked-class", "class C is a link to class cats", [_sound, lambda r: (r / "C").symlink_to("cats")], True),
        ("linked-root", "a class is a link to the dataset folder", [_sound, lambda r: (r / "all").symlink_to(".")],
         True),
        ("file-loop", "m.dng -> m.dng in a class (and a class too small)",
         [_sound, _too_small_class, lambda r: (r / "cats" / "m.dng").symlink_to("m.dng")], True),
        ("fifo", "a FIFO named like a photo in a class (and a class too small)",
         [_sound, _too_small_class, lambda r: os.mkfifo(r / "dogs" / "pipe.jpg")], True),
        ("dev-zero", "a link to /dev/zero in a class (and a class too small)",
         [_sound, _too_small_class, lambda r: (r / "cats" / "zero.png").symlink_to("/dev/zero")], True),
        ("folder-loop", "sub -> .. inside a class (and a class too small)",
         [_sound, _too_small_class, lambda r: (r / "cats" / "sub").symlink_to("..")], True),
        ("empty-classes", "three empty class folders", [lambda r: [_made(r / name) for name in "abc"]], True),
        ("one-class", "a single class", [lambda r: _images(r / "only", 8, (40, 48), 12)], True),
        ("damaged-class", "a class of damaged files", [_sound, lambda r: _damaged_class(r, seeds)], True),
        ("cross-links", "every dog is a link to a cat", [_sound, _cross_links], True),
        ("bombs-and-tails", "a class of decompression bombs and 2 GiB sparse tails", [_sound, _bombs_and_tails],
         True),
        ("hidden-only", "only hidden class folders",
         [lambda r: _images(r / ".cats", 6, (40, 48), 13), lambda r: _images(r / "dogs" / ".thumbs", 6, (40, 48), 14)],
         True),
    ]


# --- report ----------------------------------------------------------------------------------------------------

def report(runs: list[Run], seconds: float) -> dict:
    """Print the tables; return the JSON summary."""
    outcomes = Counter(run.outcome for run in runs)
    by_command: dict[str, Counter] = defaultdict(Counter)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for run in runs:
        by_command[run.command][run.outcome] += 1
        by_kind[run.kind][run.outcome] += 1
    columns = [o for o in ("ok", "clean", *BAD_OUTCOMES) if outcomes[o]]
    print(f"{len(runs)} runs in {seconds:.0f} s ({len(runs) / seconds:.2f} runs/s)")
    print(f"{'':<28}" + "".join(f"{column:>10}" for column in columns))
    for title, table in (("by sub-command", by_command), ("by mutation kind", by_kind)):
        print(title)
        for key in sorted(table):
            print(f"  {key:<26}" + "".join(f"{table[key][column]:>10}" for column in columns))
    print(f"{'all':<28}" + "".join(f"{outcomes[column]:>10}" for column in columns))
    bad = [run for run in runs if run.outcome in BAD_OUTCOMES]
    if bad:
        print(f"\n{len(bad)} bad run(s):")
        for run in bad[:60]:
            print(f"  {run.outcome:<9} {run.command:<9} {run.name[:50]:<50} {run.detail[:40]:<40} {run.why[:160]}")
    return {"runs": len(runs), "seconds": round(seconds, 1), "runs_per_second": round(len(runs) / seconds, 3),
            "outcomes": dict(outcomes), "by_command": {k: dict(v) for k, v in by_command.items()},
            "by_kind": {k: dict(v) for k, v in by_kind.items()},
            "bad": [[run.outcome, run.command, run.name, run.detail, run.why] for run in bad]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=2000, help="mutants to generate (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--commands", default=",".join(COMMANDS) + ",train",
                        help="comma-separated: info,develop,classify,attention,train (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="processes at a time (default 2)")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="RLIMIT_AS of every run (default 3)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as hung")
    parser.add_argument("--batch", type=int, default=16, help="mutants per classify process (default 16)")
    parser.add_argument("--attention-every", type=int, default=8, help="attention on every N-th mutant")
    parser.add_argument("--quick", action="store_true", help="150 mutants, attention on every 4th")
    parser.add_argument("--keep", metavar="DIR", help="copy the mutants of bad runs here")
    args = parser.parse_args(argv)
    if args.quick:
        args.mutants, args.attention_every = 150, 4
    commands = set(args.commands.split(","))
    unknown = commands - set(COMMANDS) - {"train"}
    if unknown:
        parser.error(f"unknown command(s): {', '.join(sorted(unknown))}")
    seeds = make_seeds()
    mutants = generate(args.mutants, args.seed, seeds)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="photolab-fuzz-") as work:
        campaign = Campaign(args, Path(work))
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = []
            if "train" in commands:
                futures += [pool.submit(lambda t=t: [campaign.train(*t)]) for t in training_folders(seeds)]
            if "classify" in commands:
                futures += [pool.submit(campaign.classify_batch, mutants[i:i + args.batch])
                            for i in range(0, len(mutants), args.batch)]
            for index, mutant in enumerate(mutants):
                for command in ("info", "develop", "attention"):
                    if command in commands and (command != "attention" or index % args.attention_every == 0):
                        futures.append(pool.submit(lambda c=command, m=mutant: [campaign.single(c, m)]))
            runs = []
            for done, future in enumerate(futures, 1):
                runs += future.result()
                if done % 100 == 0:
                    print(f"... {done}/{len(futures)} tasks, {len(runs)} runs, {time.perf_counter() - started:.0f} s",
                          file=sys.stderr, flush=True)
    summary = report(runs, time.perf_counter() - started)
    print(json.dumps(summary))
    return 1 if summary["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
