"""RAW benchmark: PhotoLab's reading and export against plain rawpy/OpenCV, measured in the same run.

    .venv/bin/python bench/bench_raw.py [--repeat 3] [--json results.json] [--skip-psnr] [--demosaic-timing]

1. Builds a 24 MP (6000 x 4000) DNG with the test suite's writer from the natural-photo fixtures (each
   enlarged 2x and tiled, mirrored so the seams are smooth).
2. Time to first preview: ``read_preview`` vs a full default ``rawpy.postprocess()``
   (goal: <= 0.5 s and <= 1/4 of it).
3. Full develop + 16-bit TIFF export: ``read_photo`` + ``export_photo(tiff16)`` vs ``postprocess(16-bit)``
   + ``cv2.imwrite`` (goal: <= 1.2x; both uncompressed, and OpenCV's LZW default shown too).
4. Peak memory (ru_maxrss of a fresh subprocess) of that develop + export (goal: <= 2 GB).
5. Demosaicing quality: PSNR against the source photo of every method on every fixture, after one
   exposure gain, beside LibRaw's own faithful development.
Prints a table and one JSON object (the last line), so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import rawpy  # noqa: E402

from photolab.core import io  # noqa: E402
from photolab.core.color import srgb_decode  # noqa: E402
from utils.dng import write_dng  # noqa: E402
from utils.images import NATURAL_PHOTOS, load_fixture, matched_psnr  # noqa: E402

WIDTH, HEIGHT = 6000, 4000


def make_24mp_source() -> np.ndarray:
    """A 6000 x 4000 uint8 photo: the fixtures enlarged 2x (bicubic) and tiled with mirroring."""
    tiles = [cv2.resize(load_fixture(name), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
             for name in NATURAL_PHOTOS]
    tile_h, tile_w, _ = tiles[0].shape
    rows = []
    for row in range(-(-HEIGHT // tile_h)):
        line = []
        for col in range(-(-WIDTH // tile_w)):
            tile = tiles[(row * 5 + col) % len(tiles)]
            tile = tile[:, ::-1] if col % 2 else tile
            line.append(tile[::-1] if row % 2 else tile)
        rows.append(np.hstack(line))
    return np.ascontiguousarray(np.vstack(rows)[:HEIGHT, :WIDTH])


def best_time(function, repeat: int) -> float:
    return best_times([function], repeat)[0]


def best_times(functions, repeat: int, cpu: list | None = None) -> list[float]:
    """The fastest of ``repeat`` runs of each function (wall clock), the functions taking turns so that
    background load on the machine affects them alike. ``cpu`` receives each one's least CPU time
    (user + system, all threads), which other programs' load disturbs less."""
    times = [[] for _ in functions]
    cpu_times = [[] for _ in functions]
    for _ in range(repeat):
        for index, function in enumerate(functions):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu_times[index].append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    if cpu is not None:
        cpu.extend(min(t) for t in cpu_times)
    return [min(t) for t in times]


def baseline_postprocess(path: Path, **options) -> np.ndarray:
    with rawpy.imread(str(path)) as raw:
        return raw.postprocess(**options)


def baseline_export(path: Path, target: Path, compression: int | None) -> None:
    rgb = baseline_postprocess(path, output_bps=16)
    params = [cv2.IMWRITE_TIFF_COMPRESSION, compression] if compression is not None else []
    cv2.imwrite(str(target), np.ascontiguousarray(rgb[:, :, ::-1]), params)


def ours_export(path: Path, target: Path) -> None:
    io.export_photo(io.read_photo(path), target, file_format="tiff16")


def child_peak_memory(mode: str, path: Path, target: Path) -> float:
    """Peak resident memory in MB of a fresh interpreter doing one develop + export."""
    output = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(target)],
                            check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def run_child(mode: str, path: str, target: str) -> None:
    if mode == "ours":
        ours_export(Path(path), Path(target))
    else:
        baseline_export(Path(path), Path(target), 1)
    print(peak_resident_mb())


def peak_resident_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process image since exec; ru_maxrss
    would also count the parent's memory at fork time."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def demosaic_quality(folder: Path) -> dict:
    """PSNR (dB) per fixture for LibRaw's faithful development and each of our demosaic methods."""
    table = {}
    for name in NATURAL_PHOTOS:
        source = load_fixture(name)
        path = write_dng(folder / f"{name}.dng", source).path
        encoded = baseline_postprocess(path, use_camera_wb=True, gamma=(2.4, 12.92), no_auto_bright=True,
                                       output_bps=16)
        row = {"libraw": matched_psnr(srgb_decode(encoded / 65535.0), source)}
        for method in io.DEMOSAIC_METHODS:
            row[method] = matched_psnr(io.read_photo(path, demosaic=method).pixels, source)
        table[name] = row
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-psnr", action="store_true")
    parser.add_argument("--demosaic-timing", action="store_true", help="also time every demosaic method")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return

    results: dict = {"load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                     "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="photolab-bench-") as folder:
        folder = Path(folder)
        start = time.perf_counter()
        dng = write_dng(folder / "24mp.dng", make_24mp_source()).path
        results["dng_write_s"] = time.perf_counter() - start
        target = folder / "out.tif"

        preview, full_default = best_times([lambda: io.read_preview(dng), lambda: baseline_postprocess(dng)],
                                           args.repeat)
        results["preview"] = {"read_preview_s": preview, "rawpy_postprocess_default_s": full_default,
                              "ratio": preview / full_default,
                              "goal_met": preview <= 0.5 and preview <= full_default / 4}

        cpu: list[float] = []
        ours, plain, lzw = best_times([lambda: ours_export(dng, target),
                                       lambda: baseline_export(dng, folder / "base.tif", 1),
                                       lambda: baseline_export(dng, folder / "base_lzw.tif", None)], args.repeat, cpu)
        results["develop_export"] = {"ours_s": ours, "baseline_uncompressed_s": plain,
                                     "baseline_cv2_default_lzw_s": lzw, "ratio": ours / plain,
                                     "ours_cpu_s": cpu[0], "baseline_cpu_s": cpu[1], "cpu_ratio": cpu[0] / cpu[1],
                                     "goal_met": ours <= 1.2 * plain}

        peak = child_peak_memory("ours", dng, target)
        baseline_peak = child_peak_memory("baseline", dng, folder / "base.tif")
        results["peak_memory"] = {"ours_mb": peak, "baseline_mb": baseline_peak, "goal_met": peak <= 2048}

        if args.demosaic_timing:
            results["demosaic_timing_s"] = {
                method: best_time(lambda m=method: io.read_photo(dng, demosaic=m), 1) for method in io.DEMOSAIC_METHODS}
        if not args.skip_psnr:
            results["psnr_db"] = demosaic_quality(folder)

    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


def report(results: dict) -> None:
    p, d, m = results["preview"], results["develop_export"], results["peak_memory"]
    print(f"24 MP DNG ({WIDTH}x{HEIGHT}), written in {results['dng_write_s']:.1f} s; "
          f"load average before: {results['load_average']}")
    print(f"{'measure':44} {'ours':>9} {'baseline':>9} {'ratio':>6}  goal")
    print(f"{'first preview (read_preview / postprocess())':44} {p['read_preview_s']:8.3f}s "
          f"{p['rawpy_postprocess_default_s']:8.3f}s {p['ratio']:6.2f}  <=0.5 s, <=0.25x: {ok(p['goal_met'])}")
    print(f"{'develop + TIFF16 export (vs uncompressed)':44} {d['ours_s']:8.3f}s {d['baseline_uncompressed_s']:8.3f}s "
          f"{d['ratio']:6.2f}  <=1.2x: {ok(d['goal_met'])}")
    print(f"{'  CPU time, all threads':44} {d['ours_cpu_s']:8.3f}s {d['baseline_cpu_s']:8.3f}s "
          f"{d['cpu_ratio']:6.2f}")
    print(f"{'  (baseline with cv2 default LZW)':44} {'':9} {d['baseline_cv2_default_lzw_s']:8.3f}s")
    print(f"{'peak memory, develop + export (MB)':44} {m['ours_mb']:9.0f} {m['baseline_mb']:9.0f} "
          f"{m['ours_mb'] / m['baseline_mb']:6.2f}  <=2048 MB: {ok(m['goal_met'])}")
    if "demosaic_timing_s" in results:
        print("read_photo time per demosaic method: " + ", ".join(
            f"{k} {v:.2f}s" for k, v in results["demosaic_timing_s"].items()))
    if "psnr_db" in results:
        table = results["psnr_db"]
        columns = list(next(iter(table.values())))
        print("\nPSNR (dB) vs source photo, after one exposure gain")
        print(f"{'photo':16}" + "".join(f"{c:>11}" for c in columns))
        for name, row in table.items():
            print(f"{name:16}" + "".join(f"{row[c]:11.2f}" for c in columns))
        means = {c: float(np.mean([row[c] for row in table.values()])) for c in columns}
        worst = {c: float(min(row[c] - row["libraw"] for row in table.values())) for c in columns}
        print(f"{'mean':16}" + "".join(f"{means[c]:11.2f}" for c in columns))
        print(f"{'worst vs libraw':16}" + "".join(f"{worst[c]:11.2f}" for c in columns))


def ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


if __name__ == "__main__":
    main()
