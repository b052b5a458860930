"""Merge benchmark: PhotoLab's HDR and burst merges against OpenCV / a plain mean, measured in the same run.

    .venv/bin/python bench/bench_merge.py [--megapixels 12] [--frames 8] [--raw] [--raw-megapixels 24]

1. HDR: 3 brackets (-3, 0, +3 EV, 8-bit, noisy, handheld: shifted a few pixels) of a 12 MP scene made from a
   fixture (enlarged, tiled): ``merge_hdr`` (alignment + deghosting) + the local tone map (goal <= 3 s), against
   OpenCV's CalibrateDebevec + MergeDebevec (no alignment) + TonemapReinhard.
2. Burst: 8 noisy, shifted 12 MP frames: ``merge_burst`` (goal <= 10 s) against a plain (unaligned) mean;
   PSNR of both against the clean scene is printed too.
3. RAW bursts (``--raw``): realistic handheld bursts of permitted photos (tests/utils/raw_bursts.py: 8 DNG
   frames, sub-pixel shifts up to 6 px, rotations up to 0.3 degrees, a moving disc, lens blur, shot + read
   noise in the Bayer mosaic at ISO-3200 levels). Every result is developed the same way (PhotoLab's neutral
   RAW development) and compared with the clean reference frame, on the static region: PhotoLab's mosaic merge
   (``merge_burst_files``), the RGB merge on the developed frames (what RAW bursts got before), and the
   aligned-mean oracle (the mean mosaic of frames shot without motion); the moving region against the single
   frame; the RGB merge's mean weight on the static region (why it lost). Then 8 x 24 MP frames, timed.
Timings are wall-clock on whatever cores the machine has (the goals are for 2). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from photolab.core.burst import merge_burst  # noqa: E402
from photolab.core.color import decode_srgb_integer, encode_srgb_integer  # noqa: E402
from photolab.core.hdr import HdrOptions, merge_hdr  # noqa: E402
from photolab.core.photo import Photo, PhotoMetadata  # noqa: E402
from photolab.core.tonemap import tonemap  # noqa: E402
from utils.images import load_fixture, psnr  # noqa: E402


def big_scene(megapixels: float) -> np.ndarray:
    """A linear scene of about ``megapixels`` (4:3): fixtures enlarged 4x, mirrored tiles."""
    width = int(round(np.sqrt(megapixels * 1e6 * 4 / 3)))
    height = int(round(width * 3 / 4))
    tile = cv2.resize(load_fixture("rock_snow_sky"), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    row = np.concatenate([tile, tile[:, ::-1]], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    reps = (height // block.shape[0] + 1, width // block.shape[1] + 1, 1)
    return decode_srgb_integer(np.tile(block, reps)[:height, :width]).astype(np.float32)


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return np.ascontiguousarray(np.roll(image, (dy, dx), axis=(0, 1)))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_hdr(scene: np.ndarray, rng) -> dict:
    radiance = np.power(scene + 2e-3, 1.8) * 40
    times = (1 / 64, 1 / 8, 1.0)
    encoded = []
    for index, t in enumerate(times):
        frame = shifted(radiance, *(rng.integers(-6, 7, 2) if index != 1 else (0, 0))) * t
        frame = frame + rng.standard_normal(frame.shape, dtype=np.float32) * np.sqrt(2e-4 * frame + 4e-7)
        encoded.append(encode_srgb_integer(np.clip(frame, 0, 1)))
        del frame
    photos = [Photo(decode_srgb_integer(e), PhotoMetadata(shutter_seconds=t, bits_per_sample=8))
              for e, t in zip(encoded, times)]

    def ours():
        return tonemap(merge_hdr(photos, options=HdrOptions()), "local")

    def opencv():
        bgr = [np.ascontiguousarray(e[..., ::-1]) for e in encoded]
        t = np.array(times, np.float32)
        response = cv2.createCalibrateDebevec().process(bgr, t)
        merged = cv2.createMergeDebevec().process(bgr, t, response)
        return cv2.createTonemapReinhard().process(merged)

    _, ours_s = timed(ours)
    _, opencv_s = timed(opencv)
    return {"hdr_photolab_s": round(ours_s, 2), "hdr_opencv_debevec_reinhard_s": round(opencv_s, 2)}


def bench_burst(scene: np.ndarray, frames: int, rng) -> dict:
    clean = scene * 0.9
    photos = []
    for index in range(frames):
        dy, dx = (0, 0) if index == 0 else rng.integers(-8, 9, 2)
        frame = shifted(clean, dy, dx)
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.sqrt(4e-3 * np.maximum(frame, 0) + 1e-5)
        photos.append(Photo(frame))
    merged, ours_s = timed(merge_burst, photos, reference=0)
    mean, mean_s = timed(lambda: np.mean([p.pixels for p in photos], axis=0))
    inner = (slice(16, -16), slice(16, -16))
    return {"burst_photolab_s": round(ours_s, 2), "burst_plain_mean_s": round(mean_s, 2),
            "burst_psnr_single_db": round(psnr(photos[0].pixels[inner], clean[inner]), 2),
            "burst_psnr_photolab_db": round(psnr(merged.pixels[inner], clean[inner]), 2),
            "burst_psnr_plain_mean_db": round(psnr(mean[inner], clean[inner]), 2)}


RAW_BURST_PHOTOS = (  # permitted photos (never the reserved packages), cropped to 1024 px
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg",
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Fossa_by_Jasper_Roks.jpg",
    "lomiri-wallpapers-16.04/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
    "scikit-image/skimage/data/coffee.png",
    "scikit-image/skimage/data/astronaut.png",
)
PHOTO_CACHE = Path.home() / ".cache/photolab/train-photos"  # where training/ unpacks the permitted packages


def bench_raw_quality(work: Path, frames: int) -> dict:
    """Static gain of the mosaic merge, the RGB merge and the oracle over the single frame, after development."""
    import dataclasses

    import photolab.core.burst as burst_module
    from photolab.core.burst import merge_burst_files
    from photolab.core.dng import read_mosaic, write_mosaic_dng
    from photolab.core.hdr import read_frames
    from photolab.core.io import read_photo
    from utils.raw_bursts import make_raw_burst

    rows = []
    for index, name in enumerate(RAW_BURST_PHOTOS):
        path = PHOTO_CACHE / name
        if not path.exists():
            print(f"  (missing {path}: run training/ to unpack the permitted packages)", flush=True)
            continue
        photo = cv2.imread(str(path), cv2.IMREAD_COLOR)[:1024, :1024, ::-1]
        burst = make_raw_burst(work / f"burst{index}", np.ascontiguousarray(photo), frames=frames, seed=index)
        clean = np.clip(read_photo(burst.clean).pixels, 0, 1)
        outcome, ours_s = timed(merge_burst_files, [str(p) for p in burst.frames], work / f"merged{index}.tif",
                                reference=0, dng=work / f"merged{index}.dng")
        oracle = [read_mosaic(p) for p in burst.oracle]
        write_mosaic_dng(work / f"oracle{index}.dng",
                         dataclasses.replace(oracle[0], data=np.mean([m.data for m in oracle], axis=0)))
        captured = {}
        weighted_mean = burst_module.weighted_mean

        def capturing(reference, frames, weights):  # the RGB merge's weights, to report their mean
            captured["w"] = weights
            return weighted_mean(reference, frames, weights)

        burst_module.weighted_mean = capturing
        try:
            rgb, rgb_s = timed(lambda: merge_burst(read_frames([str(p) for p in burst.frames]), reference=0))
        finally:
            burst_module.weighted_mean = weighted_mean

        def db(pixels, mask):
            return psnr(np.clip(pixels, 0, 1)[mask], clean[mask])

        single = read_photo(burst.frames[0]).pixels
        results = {k: read_photo(v).pixels for k, v in (("mosaic", outcome.dng), ("oracle", work / f"oracle{index}.dng"))}
        results["rgb"] = rgb.pixels
        static, moving = burst.static, burst.moving
        base = db(single, static)
        gains = {k: db(v, static) - base for k, v in results.items()}
        row = {"photo": Path(name).name, "single_db": round(base, 2),
               **{f"gain_{k}_db": round(v, 2) for k, v in gains.items()},
               "mosaic_share_of_oracle": round(gains["mosaic"] / gains["oracle"], 3),
               "rgb_share_of_oracle": round(gains["rgb"] / gains["oracle"], 3),
               "moving_mosaic_minus_single_db": round(db(results["mosaic"], moving) - db(single, moving), 2),
               "rgb_mean_static_weight": round(float(np.mean([w[static].mean() for w in captured["w"]])), 3),
               "mosaic_s": round(ours_s, 2), "rgb_s": round(rgb_s, 2), "left_out": list(outcome.left_out)}
        rows.append(row)
        print(f"  {row['photo']}: single {row['single_db']} dB; gain mosaic {row['gain_mosaic_db']:+.2f}, rgb "
              f"{row['gain_rgb_db']:+.2f}, oracle {row['gain_oracle_db']:+.2f} dB -> mosaic "
              f"{row['mosaic_share_of_oracle']:.0%} / rgb {row['rgb_share_of_oracle']:.0%} of the oracle; moving "
              f"{row['moving_mosaic_minus_single_db']:+.2f} dB; rgb weight on static {row['rgb_mean_static_weight']}",
              flush=True)
    shares = [r["mosaic_share_of_oracle"] for r in rows]
    return {"raw_bursts": rows, "raw_mosaic_share_min": min(shares, default=None),
            "raw_mosaic_share_mean": round(float(np.mean(shares)), 3) if shares else None}


def bench_raw_speed(work: Path, frames: int, megapixels: float) -> dict:
    """8 frames of ``megapixels`` through ``merge_burst_files`` (read, merge, DNG, develop, write), and the
    merge alone, with peak memory."""
    import resource

    from photolab.core.burst import merge_burst_files
    from photolab.core.dng import read_mosaic
    from photolab.core.raw_burst import merge_raw_burst
    from utils.raw_bursts import make_raw_burst

    scene = encode_srgb_integer(big_scene(megapixels * 1.02))
    burst = make_raw_burst(work / "big", scene, frames=frames, seed=7, moving_object=True)
    mosaics = [read_mosaic(p) for p in burst.frames]
    _, merge_s = timed(merge_raw_burst, mosaics, 0)
    del mosaics
    _, total_s = timed(merge_burst_files, [str(p) for p in burst.frames], work / "big.tif", reference=0,
                       dng=work / "big_merged.dng")
    shape = burst.static.shape
    return {"raw_speed_megapixels": round(shape[0] * shape[1] / 1e6, 1), "raw_merge_s": round(merge_s, 2),
            "raw_read_merge_dng_develop_write_s": round(total_s, 2),
            "raw_peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def main() -> int:
    """Run both benchmarks and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--raw", action="store_true", help="only the RAW burst benchmarks (section 3)")
    parser.add_argument("--raw-megapixels", type=float, default=24.0)
    args = parser.parse_args()
    if args.raw:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            results = bench_raw_quality(Path(folder), args.frames)
            print(f"RAW bursts: the mosaic merge reaches {results['raw_mosaic_share_mean']:.0%} of the oracle's gain "
                  f"on average, {results['raw_mosaic_share_min']:.0%} at worst (goal >= 95 %)", flush=True)
            results.update(bench_raw_speed(Path(folder), args.frames, args.raw_megapixels))
            print(f"RAW burst {args.frames} x {results['raw_speed_megapixels']} MP: merge {results['raw_merge_s']} s, "
                  f"read + merge + DNG + develop + write {results['raw_read_merge_dng_develop_write_s']} s "
                  f"(goal <= 10 s), peak memory {results['raw_peak_rss_gb']} GB", flush=True)
        print(json.dumps(results))
        return 0
    rng = np.random.default_rng(0)
    scene = big_scene(args.megapixels)
    results = {"megapixels": round(scene.shape[0] * scene.shape[1] / 1e6, 1), "cores": os.cpu_count()}
    results.update(bench_hdr(scene, rng))
    print(f"HDR 3 x {results['megapixels']} MP: PhotoLab {results['hdr_photolab_s']} s (goal <= 3 s), "
          f"OpenCV Debevec + Reinhard {results['hdr_opencv_debevec_reinhard_s']} s", flush=True)
    results.update(bench_burst(scene, args.frames, rng))
    print(f"Burst {args.frames} x {results['megapixels']} MP: PhotoLab {results['burst_photolab_s']} s "
          f"(goal <= 10 s), plain mean {results['burst_plain_mean_s']} s; PSNR single "
          f"{results['burst_psnr_single_db']} dB, PhotoLab {results['burst_psnr_photolab_db']} dB, "
          f"plain mean {results['burst_psnr_plain_mean_db']} dB", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
