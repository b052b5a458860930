"""Scale-out benchmark: ``develop`` and ``classify`` over many files on Ray with 1 and 2 local workers, against
the single-process path, in the same run.

    .venv/bin/python bench/bench_ray.py [--files 200] [--workers 1 2] [--rounds 2] [--json results.json]

Inputs: ``--files`` hard links to the bundled sample RAW (resources/samples/picos-de-europa.dng, 1620 x 1216,
3.9 MB), so every input is a real RAW file read, demosaiced and developed (the page cache serves the bytes:
this measures compute, not storage). ``develop`` runs photolab-cli's own command (``main([...])`` in this
process) with ``--exposure 0.3 --quality 90`` to a fresh folder; ``classify`` with the default built-in
classifier and ``--json`` (stdout discarded). For each worker count N, a local Ray runtime with N CPUs (no
dashboard) is started first (its start-up time is reported apart), then the same command with ``--ray``
reuses it, so the throughput is the batch's own; Ray's per-batch costs (Ray Data planning, the model sent
to the object store and fetched once per worker process) are inside it. Every process runs as a user's
would: PhotoLab's row bands and OpenCV use every core in each process (the single-process path is already
multi-threaded), torch gets the one thread Ray gives each worker; a second single-process baseline runs torch
on one thread too (torch's thread pool spins badly on a machine busier than its cores). The modes run in
alternating rounds (single, single on 1 thread, 1, 2 workers, then backwards) so that drift in the machine's
load hits them alike; the times are summed over the rounds. The speed-ups are against the default single
process. The Ray outputs are checked byte for byte against the single-process ones.

Prints a table (files/s, s per file, speed-up against the single-process path, efficiency = speed-up /
workers) and one JSON object (the last line); ``--json PATH`` writes it indented too. The machine's CPU
count and load average at the start and the end are reported: on a shared machine the numbers move with
them. docs/SCALE_OUT.md turns these figures into an estimate for 100 000 photos on N machines.
"""

from __future__ import annotations

import argparse
import contextlib
import io as text_io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from photolab.cli import main  # noqa: E402

SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"


def make_inputs(folder: Path, count: int) -> list[str]:
    """``count`` distinct paths to the sample RAW (hard links; copies where links are not possible)."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = folder / f"photo{index:04d}.dng"
        try:
            os.link(SAMPLE, path)
        except OSError:
            shutil.copyfile(SAMPLE, path)
        paths.append(str(path))
    return paths


def timed_command(argv: list[str]) -> float:
    """Seconds photolab-cli takes for ``argv`` (its stdout discarded; it must succeed)."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(text_io.StringIO()):
        code = main(argv)
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"photolab-cli {' '.join(argv[:1])} failed with status {code}")
    return seconds


def run_commands(inputs: list[str], out: Path, ray: bool) -> dict[str, float]:
    flag = ["--ray"] if ray else []
    return {"develop": timed_command(["develop", *inputs, "-o", str(out), "--exposure", "0.3", "--quality", "90",
                                      *flag]),
            "classify": timed_command(["classify", *inputs, "--json", *flag])}


def same_outputs(first: Path, second: Path) -> bool:
    names = sorted(p.name for p in first.iterdir())
    return names == sorted(p.name for p in second.iterdir()) and all(
        (first / n).read_bytes() == (second / n).read_bytes() for n in names)


def model_load_seconds() -> float:
    """Seconds to load the default classifier from the store into a fresh model (what a new process pays)."""
    from photolab.models.inference import load_entry
    from photolab.models.store.manager import ModelManager

    entry = ModelManager().default_entry()
    started = time.perf_counter()
    load_entry(entry, "cpu")
    return time.perf_counter() - started


ONE_THREAD = -1
"""The mode "single process with torch on one thread", as each Ray worker runs it."""


def run_mode(workers: int, inputs: list[str], out: Path) -> dict[str, float]:
    """One mode's times: the single-process path (``workers`` 0; :data:`ONE_THREAD`: with torch on one thread)
    or ``--ray`` on a fresh local runtime with ``workers`` CPUs (its start-up timed apart)."""
    import ray
    import torch

    if workers == ONE_THREAD:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return run_commands(inputs, out, ray=False)
        finally:
            torch.set_num_threads(threads)
    if not workers:
        return run_commands(inputs, out, ray=False)
    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    startup = time.perf_counter() - started
    try:
        return {"ray_start_s": startup, **run_commands(inputs, out, ray=True)}
    finally:
        ray.shutdown()


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    load_start = os.getloadavg()
    modes = [0, ONE_THREAD, *args.workers]
    names = {0: "single process", ONE_THREAD: "single, 1 thread",
             **{w: f"ray, {w} worker{'s' if w > 1 else ''}" for w in args.workers}}
    rows = {names[m]: {"workers": max(0, m), "develop": 0.0, "classify": 0.0,
                       **({"ray_start_s": 0.0} if m > 0 else {})} for m in modes}
    work = Path(tempfile.mkdtemp(prefix="photolab-bench-ray-"))
    try:
        inputs = make_inputs(work / "in", args.files)
        for round_index in range(args.rounds):
            for mode in (modes if round_index % 2 == 0 else modes[::-1]):
                out = work / f"round{round_index}-mode{mode}"
                for key, seconds in run_mode(mode, inputs, out).items():
                    rows[names[mode]][key] += seconds
            for mode in args.workers:
                if not same_outputs(work / f"round{round_index}-mode0", work / f"round{round_index}-mode{mode}"):
                    raise SystemExit(f"the outputs of {mode} Ray workers differ from the single-process ones")
        load_seconds = model_load_seconds()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[names[0]]
    total = args.files * args.rounds
    print(f"{args.files} RAW files (1620 x 1216) x {args.rounds} rounds on {os.cpu_count()} CPUs; load average "
          f"{load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"{'':<18} {'command':<9} {'files/s':>8} {'s/file':>7} {'speed-up':>9} {'efficiency':>10}")
    for name, row in rows.items():
        for command in ("develop", "classify"):
            speedup = base[command] / row[command]
            row[f"{command}_files_per_s"] = round(total / row[command], 3)
            row[f"{command}_speedup"] = round(speedup, 3)
            efficiency = f"{speedup / row['workers']:10.0%}" if row["workers"] else f"{'':>10}"
            print(f"{name:<18} {command:<9} {total / row[command]:8.2f} {row[command] / total:7.3f} "
                  f"{speedup:8.2f}x {efficiency}")
        for key in ("develop", "classify", "ray_start_s"):
            if key in row:
                row[key] = round(row[key] / args.rounds, 2)  # per round
    result = {"files": args.files, "rounds": args.rounds, "input": "picos-de-europa.dng (1620x1216 RAW)",
              "load_average": [round(load_start[0], 2), round(os.getloadavg()[0], 2)], "cpus": os.cpu_count(),
              "model_load_s": round(load_seconds, 3), "seconds_are": "per round", "runs": rows}
    print("Ray start-up (per round): " + ", ".join(f"{n} {r['ray_start_s']:.1f} s" for n, r in rows.items()
                                                    if "ray_start_s" in r))
    print(f"loading the classifier into a new process: {load_seconds:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
