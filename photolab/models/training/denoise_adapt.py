"""Adapt the denoiser to one camera from the user's noisy photos alone (Noise2Noise; no clean image).

Noise2Noise (Lehtinen et al. 2018): a network trained to map one noisy view of a scene to *another* noisy view
with independent noise learns the same thing as one trained on clean targets (the mean of the target's noise is
zero, so an L2 loss points at the clean image). Bursts give such views: every frame, aligned to its burst's
reference (:mod:`photolab.core.adapt_folder`), is a target for the reference and the reference for it.
Single photos give them by Neighbor2Neighbor sub-sampling (Huang et al. 2021): in every 2x2 cell two different
pixels are drawn, one for each of two half-size images g1(y), g2(y); the network maps g1(y) to g2(y), with the
paper's regulariser ``|f(g1 y) - g2 y - (g1 f(y) - g2 f(y))|^2`` (gamma = 1), which keeps it from over-smoothing.

First the noise map's gain is calibrated (:func:`calibrate_map_gain`: one forward pass per candidate gain on
fixed training crops, folded exactly into the first convolution), then the network is fine-tuned on random
``crop`` px crops with Adam at a small learning rate (warm-up, then cosine over the wall-clock budget). Its
noise-level input is exactly Auto's map of each photo (:func:`photolab.core.adapt_folder.auto_noise`), so the adapted model is used with Auto afterwards.

Held out: one burst (when there are two or more; else the last frame pair of the only burst, else a share of
the singles) is never trained on. Its score is the PSNR of the denoised first frame against the aligned
second frame (singles: of denoised g1(y) against g2(y)), generic and adapted: the target is noisy, so both
numbers sit below a clean-reference PSNR, but the difference between them is what adaptation gained
(the target's noise adds the same error to both).
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from photolab.core.adapt_folder import AdaptData, NoisyImage, NoisyPair, central_crop
from photolab.core.errors import PhotoLabError
from photolab.models.denoise import Denoiser, denoise_array
from photolab.models.store.card import check_model_name, save_weights_and_card

DEFAULT_MINUTES = 5.0
HELD_OUT_SIDE = 512  # held-out images are scored on their central crop of this side (bounded time)
HELD_OUT_DESCRIPTION = (
    "held-out noisy pairs, never trained on: PSNR (dB) of the denoised first frame (Auto's noise map) against the "
    "aligned second frame of the same burst (valid, unmoved pixels; central {side} px), or, for singles, of "
    "denoised g1(y) against g2(y) (Neighbor2Neighbor sub-images); the target is noisy, so the values are below "
    "clean-reference PSNRs and only the difference generic -> adapted means something")


class AdaptError(PhotoLabError):
    """Adaptation could not run or be saved (the message says why)."""


@dataclass(frozen=True)
class AdaptSettings:
    """How adaptation runs: wall-clock ``minutes`` (loading excluded), ``crop`` px crops in batches of ``batch``,
    Adam at ``lr``, the share of single-photo (Neighbor2Neighbor) samples when there are bursts too
    (``single_share``; 1 without bursts), ``gamma`` of the Neighbor2Neighbor regulariser, torch ``threads``
    (None: all cores), ``seed``, ``max_steps`` (None: as many as the budget allows) and ``bf16`` (bfloat16 autocast
of the forward passes, weights in float32, as the shipped model was trained: about 3x faster on a CPU), and
``calibrate`` (first fit the noise map's gain, see :func:`calibrate_map_gain`)."""

    minutes: float = DEFAULT_MINUTES
    crop: int = 128
    batch: int = 8
    lr: float = 1e-4
    single_share: float = 0.3
    gamma: float = 1.0
    threads: int | None = None
    seed: int = 0
    max_steps: int | None = None
    bf16: bool = True
    calibrate: bool = True


@dataclass
class AdaptOutcome:
    """A finished (or stopped) run: the adapted weights, the step losses, held-out scores, counts, timing."""

    state: dict[str, torch.Tensor]
    base: str
    base_card: dict[str, Any]
    losses: list[float]
    steps: int
    seconds: float
    held_out: dict[str, Any]
    data: dict[str, Any]
    settings: AdaptSettings
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- Neighbor2Neighbor

def neighbour_masks(batch: int, height: int, width: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two index maps (N, H/2, W/2) into the 4 pixels of each 2x2 cell, different from each other in every cell
    and (as Neighbor2Neighbor draws them) neighbours: the second is one of the first's two 4-neighbours."""
    cells = (batch, height // 2, width // 2)
    first = torch.randint(0, 4, cells, generator=generator)
    # cell positions 0 1 / 2 3: each position's 4-neighbours in the cell
    neighbours = torch.tensor([[1, 2], [0, 3], [0, 3], [1, 2]])
    pick = torch.randint(0, 2, cells, generator=generator)
    second = neighbours[first, pick]
    return first, second


def subsample(images: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The half-size image (N, C, H/2, W/2) made of pixel ``index`` (0-3) of every 2x2 cell of ``images``."""
    n, c, h, w = images.shape
    cells = images[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
    cells = cells.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    return torch.gather(cells, 4, index[:, None, :, :, None].expand(n, c, h // 2, w // 2, 1))[..., 0]


def neighbour_pair(images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """(g1(y), g2(y), the masks) for a batch (N, C, H, W) with even H, W."""
    first, second = neighbour_masks(images.shape[0], images.shape[2], images.shape[3], generator)
    return subsample(images, first), subsample(images, second), (first, second)


# -------------------------------------------------------------------------------------------- sampling

def _crop(rng: np.random.Generator, height: int, width: int, side: int) -> tuple[int, int]:
    return int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))


def _pair_sample(rng, pair: NoisyPair, side: int):
    """A crop of a burst pair where most target pixels are valid (the best of a few tries)."""
    height, width = pair.target.shape[:2]
    best = None
    for _ in range(6):
        y, x = _crop(rng, height, width, side)
        valid = pair.valid[y:y + side, x:x + side]
        share = float(valid.mean())
        if best is None or share > best[0]:
            best = (share, y, x)
        if share > 0.95:
            break
    _, y, x = best
    if rng.random() < 0.5:  # flips and transposes do not change the noise's statistics
        flip = (slice(None), slice(None, None, -1))
    else:
        flip = (slice(None), slice(None))
    window = (slice(y, y + side), slice(x, x + side))
    return (pair.input.srgb[window][flip], pair.input.noise_map[window][flip], pair.target[window][flip],
            pair.valid[window][flip].astype(np.float32))


def _single_sample(rng, image: NoisyImage, side: int):
    height, width = image.srgb.shape[:2]
    y, x = _crop(rng, height, width, 2 * side)
    y, x = y & ~1, x & ~1
    window = (slice(y, y + 2 * side), slice(x, x + 2 * side))
    return image.srgb[window], image.noise_map[window]


def _to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    array = np.stack([np.ascontiguousarray(i) for i in images])
    if array.ndim == 3:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2), dtype=np.float32))


# ---------------------------------------------------------------------------------------------- held out

def split_held_out(data: AdaptData) -> tuple[list[NoisyImage], list[NoisyPair], list[NoisyImage], list[NoisyPair], str]:
    """(training singles, training pairs, held-out singles, held-out pairs, what was held out)."""
    bursts = list(dict.fromkeys(pair.burst for pair in data.pairs))
    if len(bursts) >= 2:
        held = bursts[-1]
        return (data.singles, [p for p in data.pairs if p.burst != held], [],
                [p for p in data.pairs if p.burst == held][::2], f"burst {held}")
    if len(bursts) == 1 and len(data.pairs) >= 4:
        # the pairs come as (ref -> frame k, frame k -> ref); keep the last frame's two out of training
        return data.singles, data.pairs[:-2], [], data.pairs[-2:-1], f"the last frame of burst {bursts[0]}"
    count = max(1, round(0.2 * len(data.singles))) if len(data.singles) >= 3 else 0
    if count == 0:
        return data.singles, data.pairs, [], [], "nothing (too few photos)"
    return (data.singles[:-count], data.pairs, data.singles[-count:], [],
            f"{count} single photo(s)")


def _psnr(result: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None) -> float:
    error = (np.clip(result, 0, 1) - target) ** 2
    if weight is not None:
        mse = float((error * weight[..., None]).sum() / max(1.0, 3.0 * float(weight.sum())))
    else:
        mse = float(error.mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def held_out_score(model, singles: list[NoisyImage], pairs: list[NoisyPair], side: int = HELD_OUT_SIDE) -> float | None:
    """Mean PSNR (dB) over the held-out items (see :data:`HELD_OUT_DESCRIPTION`); None without any."""
    scores = []
    for pair in pairs:
        crop = lambda a: central_crop(a, side)  # noqa: E731
        result = denoise_array(model, crop(pair.input.srgb), crop(pair.input.noise_map), tile=512, margin=64)
        scores.append(_psnr(result, crop(pair.target), crop(pair.valid).astype(np.float32)))
    generator = torch.Generator().manual_seed(1234)
    for image in singles:
        srgb = central_crop(image.srgb, 2 * side)
        srgb = srgb[:srgb.shape[0] // 2 * 2, :srgb.shape[1] // 2 * 2]
        level = central_crop(image.noise_map, 2 * side)[:srgb.shape[0], :srgb.shape[1]]
        first, second = neighbour_masks(1, srgb.shape[0], srgb.shape[1], generator)
        g1 = subsample(_to_tensor([srgb]), first)[0].numpy().transpose(1, 2, 0)
        g2 = subsample(_to_tensor([srgb]), second)[0].numpy().transpose(1, 2, 0)
        g1_map = subsample(_to_tensor([level]), first)[0, 0].numpy()
        scores.append(_psnr(denoise_array(model, g1, g1_map, tile=512, margin=64), g2))
    return float(np.mean(scores)) if scores else None


# ---------------------------------------------------------------------------------------------- training

def adapt(base: Denoiser, data: AdaptData, settings: AdaptSettings = AdaptSettings(), context=None,
          on_step: Callable[[int, float], None] | None = None) -> AdaptOutcome:
    """Fine-tune a copy of ``base`` on ``data`` (module docstring) within ``settings.minutes``; ``context``
    (a JobContext) gets progress and may cancel (JobCancelled propagates: nothing is returned, nothing saved);
    ``on_step(step, loss)`` is called after every optimisation step."""
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(settings.threads or cores, cores)))
    rng = np.random.default_rng(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    singles, pairs, held_singles, held_pairs, held_what = split_held_out(data)
    # small photos get smaller crops (at most settings.crop; a single needs twice the crop: it is sub-sampled)
    sides = [min(s.srgb.shape[:2]) // 2 for s in singles] + [min(p.target.shape[:2]) for p in pairs]
    side = min(settings.crop, max(16, min(sides, default=0) // 8 * 8))
    singles = [s for s in singles if min(s.srgb.shape[:2]) >= 2 * side]
    pairs = [p for p in pairs if min(p.target.shape[:2]) >= side]
    if not singles and not pairs:
        raise AdaptError("the photos are too small to train on: at least 32 px a side are needed")
    settings = replace(settings, crop=side)
    single_share = 1.0 if not pairs else (0.0 if not singles else settings.single_share)
    model = copy.deepcopy(base.model).to("cpu").float()
    if context is not None:
        context.progress(0.0, "Scoring the generic model on the held-out photos")
    model.eval()
    generic = held_out_score(model, held_singles, held_pairs)
    budget = max(1.0, settings.minutes * 60.0)
    # the score at the end costs about what it cost now: keep that time out of the training budget
    reserve = time.perf_counter() - started
    deadline = started + max(1.0, budget - reserve)
    gain, gain_losses = 1.0, {}
    if settings.calibrate:
        if context is not None:
            context.progress(0.04, "Calibrating the noise map")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
            gain, gain_losses = calibrate_map_gain(model, singles, pairs, side, settings.seed)
        scale_map_input(model, gain)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr)
    warmup = 20
    losses: list[float] = []
    step = 0
    train_start = time.perf_counter()
    model.train()
    while True:
        now = time.perf_counter()
        fraction = min(1.0, (now - train_start) / max(1e-6, deadline - train_start))
        if (now >= deadline and step > 0) or (settings.max_steps is not None and step >= settings.max_steps):
            break
        if context is not None:
            context.progress(0.05 + 0.9 * fraction, f"Adapting: step {step}"
                             + (f", loss {losses[-1]:.2e}" if losses else ""))
        lr = settings.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * fraction))
        for group in optimiser.param_groups:
            group["lr"] = max(lr, settings.lr * 0.02)
        loss = _step(model, optimiser, rng, generator, singles, pairs, single_share, settings)
        losses.append(loss)
        step += 1
        if on_step is not None:
            on_step(step, loss)
    model.eval()
    if context is not None:
        context.progress(0.96, "Scoring the adapted model on the held-out photos")
    adapted = held_out_score(model, held_singles, held_pairs)
    held_out = {"generic_psnr": None if generic is None else round(generic, 3),
                "adapted_psnr": None if adapted is None else round(adapted, 3),
                "held_out": held_what, "pairs": len(held_pairs), "singles": len(held_singles),
                "description": HELD_OUT_DESCRIPTION.format(side=HELD_OUT_SIDE)}
    summary = data.scan.summary()
    summary.update(pairs=len(data.pairs) // 2, singles=len(data.singles),
                   bursts=len({p.burst for p in data.pairs}),
                   skipped=[str(p) for p, _ in data.skipped],
                   noise_sigma_median=round(float(np.median(data.sigmas)), 3),
                   noise_sigma_range=[round(float(min(data.sigmas)), 3), round(float(max(data.sigmas)), 3)])
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return AdaptOutcome(state, base.name, dict(base.card), losses, step, time.perf_counter() - started, held_out,
                        summary, replace(settings, threads=torch.get_num_threads()),
                        {"trained_singles": len(singles), "trained_pairs": len(pairs), "map_gain": round(gain, 4),
                         "map_gain_losses": gain_losses})


MAP_GAINS = tuple(float(g) for g in np.geomspace(0.5, 8.0, 13))


def scale_map_input(model, gain: float) -> None:
    """Make ``model`` behave as if its noise map were multiplied by ``gain``: the map enters only the first
    convolution (after a 2x2 mean), linearly, so scaling that input channel's weights is exact."""
    with torch.no_grad():
        model.head[0][0].weight[:, -1] *= gain


@torch.no_grad()
def calibrate_map_gain(model, singles, pairs, side: int, seed: int = 0, samples: int = 16) -> tuple[float, dict]:
    """The gain of the noise map (one of :data:`MAP_GAINS`) under which the network best predicts the other noisy
    view, on ``samples`` fixed training crops: burst pairs when there are any (Noise2Noise: the loss against a
    noisy target ranks gains as the loss against the clean image would), else Neighbor2Neighbor sub-images.
    Auto's measured level and the strength this camera's noise needs can differ by a factor (the noise is
    correlated, sharpened, JPEG-compressed): the network would take hundreds of steps to learn that factor
    through its weights, one forward pass per gain finds it. Returns (gain, {gain: loss})."""
    rng = np.random.default_rng(seed + 7)
    generator = torch.Generator().manual_seed(seed + 7)
    model.eval()
    if pairs:
        crops = [_pair_sample(rng, pairs[int(rng.integers(len(pairs)))], side) for _ in range(samples)]
        x, m = _to_tensor([c[0] for c in crops]), _to_tensor([c[1] for c in crops])
        t, w = _to_tensor([c[2] for c in crops]), _to_tensor([c[3] for c in crops])
    else:
        crops = [_single_sample(rng, singles[int(rng.integers(len(singles)))], side) for _ in range(samples)]
        full, full_maps = _to_tensor([c[0] for c in crops]), _to_tensor([c[1] for c in crops])
        x, t, masks = neighbour_pair(full, generator)
        m, w = subsample(full_maps, masks[0]), torch.ones(samples, 1, side, side)
    losses = {}
    for gain in MAP_GAINS:
        out = torch.cat([model(x[i:i + 4], m[i:i + 4] * gain).float() for i in range(0, samples, 4)])
        losses[round(gain, 4)] = float((((out - t) ** 2) * w).sum() / (3 * w.sum()))
    best = min(losses, key=losses.get)
    model.train()
    return float(best), {str(k): round(v, 8) for k, v in losses.items()}


def _step(model, optimiser, rng, generator, singles, pairs, single_share, settings) -> float:
    side = settings.crop
    n_single = int(rng.binomial(settings.batch, single_share)) if pairs and singles else (
        settings.batch if singles else 0)
    inputs, maps, targets, weights = [], [], [], []
    for _ in range(settings.batch - n_single):
        srgb, level, target, valid = _pair_sample(rng, pairs[int(rng.integers(len(pairs)))], side)
        inputs.append(srgb), maps.append(level), targets.append(target), weights.append(valid)
    full = full_maps = None
    if n_single:
        crops = [_single_sample(rng, singles[int(rng.integers(len(singles)))], side) for _ in range(n_single)]
        full, full_maps = _to_tensor([c[0] for c in crops]), _to_tensor([c[1] for c in crops])
        g1, g2, masks = neighbour_pair(full, generator)
        g1_map = subsample(full_maps, masks[0])
    x = _to_tensor(inputs) if inputs else None
    m = _to_tensor(maps) if maps else None
    t = _to_tensor(targets) if targets else None
    w = _to_tensor(weights) if weights else None
    if n_single:
        x = g1 if x is None else torch.cat([x, g1])
        m = g1_map if m is None else torch.cat([m, g1_map])
        t = g2 if t is None else torch.cat([t, g2])
        ones = torch.ones(n_single, 1, side, side)
        w = ones if w is None else torch.cat([w, ones])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
        output = model(x, m)
    output = output.float()
    per_sample = ((output - t) ** 2 * w).sum(dim=(1, 2, 3)) / (3 * w.sum(dim=(1, 2, 3)).clamp_min(1.0))
    loss = per_sample.mean()
    if n_single and settings.gamma > 0:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
            denoised = model(full, full_maps).float()
            gap = subsample(denoised, masks[0]) - subsample(denoised, masks[1])
        own = output[-n_single:]
        regular = ((own - g2 - gap) ** 2).mean(dim=(1, 2, 3))
        loss = loss + settings.gamma * regular.sum() / settings.batch
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimiser.step()
    return float(loss.detach())


# --------------------------------------------------------------------------------------------------- saving

def adapted_card(outcome: AdaptOutcome, name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """The new denoiser's card (what it is, what it learned from, how, and its held-out score)."""
    base_card = outcome.base_card
    return {
        "format_version": 1,
        "name": name,
        "task": "denoise",
        "architecture": base_card.get("architecture", {}),
        "input": base_card.get("input", {"color": "sRGB-encoded RGB in [0, 1]",
                                         "noise_map": "per-pixel noise std, sigma/255"}),
        "license": base_card.get("license", ""),
        "source": {"kind": "adapted", "by": "photolab-cli denoise-adapt (Noise2Noise fine-tuning)",
                   "base": outcome.base, "folder": str(folder) if folder else None},
        "camera": outcome.data.get("camera"),
        "iso_range": outcome.data.get("iso_range"),
        "adaptation": {
            "data": {k: outcome.data.get(k) for k in ("singles", "bursts", "burst_frames", "pairs", "skipped",
                                                       "noise_sigma_median", "noise_sigma_range")},
            "minutes": round(outcome.seconds / 60.0, 3),
            "budget_minutes": outcome.settings.minutes,
            "steps": outcome.steps,
            "recipe": {"method": "Noise2Noise on aligned burst frames (nearest whole-pixel alignment); "
                                 "Neighbor2Neighbor sub-sampling with its regulariser on singles",
                       "noise_map": "Auto's (estimate_params + adaptive noise_map), as used afterwards with --auto",
                       "crop": outcome.settings.crop, "batch": outcome.settings.batch, "lr": outcome.settings.lr,
                       "optimizer": "Adam, warm-up then cosine over the time budget", "loss": "L2 (masked MSE)",
                       "single_share": outcome.settings.single_share, "bf16_autocast": outcome.settings.bf16,
                       "map_gain": outcome.extra.get("map_gain"), "gamma": outcome.settings.gamma,
                       "threads": outcome.settings.threads, "seed": outcome.settings.seed},
            "final_loss": round(float(np.mean(outcome.losses[-20:])), 6) if outcome.losses else None,
        },
        "metrics": {"held_out": outcome.held_out},
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def save_adapted(outcome: AdaptOutcome, name: str, folder: str | Path, *, taken: list[str] = (),
                 overwrite: bool = False, source_folder: str | Path | None = None) -> tuple[Path, dict]:
    """Write ``<folder>/<name>.safetensors`` then its card ``<name>.json`` (each atomically; the card last, so a
    crash never leaves a card without weights). ``taken``: names of other denoisers (built-in ones) that
    ``name`` must not shadow. Returns (weights path, card)."""
    check_model_name(name)
    if name in taken:
        raise AdaptError(f"{name!r} is a built-in denoiser's name; choose another name")
    return save_weights_and_card(outcome.state, adapted_card(outcome, name, source_folder), folder, name,
                                 what="denoiser", folder_label="denoiser folder", overwrite=overwrite, error=AdaptError)


# ----------------------------------------------------------------------------------------------------- job

def adapt_work(context, manager, folder: str | Path, base: str = "", settings: AdaptSettings = AdaptSettings(),
               on_step: Callable[[int, float], None] | None = None, scan=None, data: AdaptData | None = None):
    """Job work: scan ``folder`` (unless ``scan`` is given), refuse it if unusable, load it (unless ``data`` is
    given), adapt ``base`` (a denoiser name, "" for the built-in one, loaded through ``manager`` on the CPU).
    Returns ``(AdaptOutcome, AdaptData)``; nothing is written. ``manager`` may be a callable that returns the
    ModelManager (so a window never creates one, importing torch, on its GUI thread)."""
    from photolab.core.adapt_folder import AdaptDataError, load_adapt_data, scan_adapt_folder

    manager = manager() if callable(manager) else manager
    if data is None:
        if scan is None:
            scan = scan_adapt_folder(folder, context.subtask(0.0, 0.05).progress)
        problems = scan.problems()
        if problems:
            raise AdaptDataError("; ".join(problems))
        data = load_adapt_data(scan, context.subtask(0.05, 0.15).progress)
    denoiser = manager.load_denoiser(base, "cpu")
    outcome = adapt(denoiser, data, settings, context.subtask(0.15, 1.0), on_step)
    return outcome, data


def adapt_job(manager, folder: str | Path, base: str = "", settings: AdaptSettings = AdaptSettings(),
              on_step: Callable[[int, float], None] | None = None, **options):
    """A Job running :func:`adapt_work` (progress, cancel)."""
    from photolab.jobs import Job

    return Job(adapt_work, manager, folder, base, settings, on_step, title="Adapting the denoiser", **options)


def adapted_denoiser(outcome: AdaptOutcome, name: str = "adapted") -> Denoiser:
    """The adapted network, ready to denoise (eval mode, CPU), before it is saved (the wizard's comparison)."""
    from photolab.models.archs.denoise_unet import ARCHITECTURE, create_model

    arch = outcome.base_card.get("architecture", {})
    model = create_model(arch.get("name", ARCHITECTURE), widths=arch.get("widths", (48, 96, 192)),
                         bottleneck=arch.get("bottleneck", 4))
    model.load_state_dict(outcome.state)
    return Denoiser(name, model.eval(), {}, None)
