"""What squeeze-and-excitation costs on the CPU, and what recording every excitation costs on top.

Three variants of SE-ResNet-50 (``photolab.models.create_model``), same weights, eval mode, batch 1 (``--batch``
for more: the goals are for one photo, as the paper's 167 vs 164 ms; a batch shows how much of SE's cost is
per call rather than per image), 224x224:

- ``no_se``: the same network with every block's SE module replaced by ``nn.Identity`` (the baseline);
- ``se``: the network as it is;
- ``se_probe``: the network with an :class:`~photolab.models.analysis.excitation.ExcitationProbe` recording the
  excitation of all 16 SE blocks on every forward pass (what the attention view does).

After a warm-up, each round times one forward pass of every variant, in a rotating order so drift (other
processes, frequency scaling) hits all variants alike. Reported: the median time per variant, and the
overheads as the median over rounds of the per-round ratios (the paired estimate, with a 95 % bootstrap
confidence interval; ratios of medians are in the JSON too). Goals: SE <= 3 % over the baseline; the probe <= 2 % over SE.

    .venv/bin/python bench/bench_se.py [--rounds 60] [--warmup 5] [--threads N] [--size 224] [--batch 1]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photolab.models.analysis.excitation import ExcitationProbe, find_se_gates  # noqa: E402
from photolab.models.archs.seresnet import BasicBlock, Bottleneck, create_model  # noqa: E402

GOALS = {"se_vs_no_se": 0.03, "probe_vs_se": 0.02}


def without_se(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose residual blocks skip squeeze-and-excitation (SE replaced by identity)."""
    baseline = copy.deepcopy(model)
    for module in baseline.modules():
        if isinstance(module, (BasicBlock, Bottleneck)):
            module.se = nn.Identity()
    assert not find_se_gates(baseline)
    return baseline.eval()


def median_ci(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap confidence interval of the median of ``values``."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def measure(arch: str, size: int, rounds: int, warmup: int, batch: int = 1) -> dict:
    torch.manual_seed(0)
    se_model = create_model(arch).eval()
    variants = {"no_se": without_se(se_model), "se": se_model, "se_probe": se_model}
    probe = ExcitationProbe(se_model)
    image = torch.randn(batch, 3, size, size)

    def run(name: str) -> float:
        if name == "se_probe":
            probe.__enter__()
        try:
            start = time.perf_counter()
            with torch.inference_mode():
                variants[name](image)
            elapsed = time.perf_counter() - start
        finally:
            if name == "se_probe":
                probe.remove()
        return elapsed

    names = list(variants)
    for _ in range(warmup):
        for name in names:
            run(name)
    with probe, torch.inference_mode():  # the probe really records every block
        se_model(image)
    recorded = len(probe.excitations)
    times = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % 3:] + names[:index % 3]
        for name in order:
            times[name].append(run(name))
    medians = {name: statistics.median(values) for name, values in times.items()}
    se_ratio = [s / b for s, b in zip(times["se"], times["no_se"])]
    probe_ratio = [p / s for p, s in zip(times["se_probe"], times["se"])]
    return {
        "arch": arch, "input": [batch, 3, size, size], "threads": torch.get_num_threads(), "rounds": rounds,
        "warmup": warmup, "se_blocks_recorded": recorded,
        "median_ms": {name: round(value * 1e3, 3) for name, value in medians.items()},
        "min_ms": {name: round(min(values) * 1e3, 3) for name, values in times.items()},
        "overhead": {
            "se_vs_no_se": round(statistics.median(se_ratio) - 1, 4),
            "probe_vs_se": round(statistics.median(probe_ratio) - 1, 4),
            "se_vs_no_se_ratio_of_medians": round(medians["se"] / medians["no_se"] - 1, 4),
            "probe_vs_se_ratio_of_medians": round(medians["se_probe"] / medians["se"] - 1, 4),
        },
        "overhead_ci95": {
            "se_vs_no_se": [round(v - 1, 4) for v in median_ci(se_ratio)],
            "probe_vs_se": [round(v - 1, 4) for v in median_ci(probe_ratio)],
        },
        "goals": GOALS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="seresnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1, help="images per forward pass (the goals are for 1)")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON result here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = load_average()
    result = measure(args.arch, args.size, args.rounds, args.warmup, args.batch)
    result.update(torch=torch.__version__, cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                  load_before=load_before, load_after=load_average())
    med, over = result["median_ms"], result["overhead"]
    print(f"{args.arch} forward, batch {args.batch}, {args.size}x{args.size}, {result['threads']} threads, "
          f"{args.rounds} interleaved rounds (load average {load_before} -> {result['load_after']})")
    print(f"{'variant':<10} {'median ms':>10} {'min ms':>8}  overhead (median of paired ratios)")
    print(f"{'no_se':<10} {med['no_se']:>10.2f} {result['min_ms']['no_se']:>8.2f}  baseline")
    ci = result["overhead_ci95"]
    print(f"{'se':<10} {med['se']:>10.2f} {result['min_ms']['se']:>8.2f}  {over['se_vs_no_se']:+.1%} vs no_se "
          f"[95% CI {ci['se_vs_no_se'][0]:+.1%} .. {ci['se_vs_no_se'][1]:+.1%}] (goal <= {GOALS['se_vs_no_se']:.0%})")
    print(f"{'se_probe':<10} {med['se_probe']:>10.2f} {result['min_ms']['se_probe']:>8.2f}  "
          f"{over['probe_vs_se']:+.1%} vs se [95% CI {ci['probe_vs_se'][0]:+.1%} .. {ci['probe_vs_se'][1]:+.1%}] "
          f"(goal <= {GOALS['probe_vs_se']:.0%}; {result['se_blocks_recorded']} blocks recorded)")
    text = json.dumps(result)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
