"""Learn a look (HDRNet, :mod:`photolab.models.archs.hdrnet`) from the user's before/after pairs.

The pairs come checked and aligned from :mod:`photolab.core.look_pairs` (sRGB-encoded, long side at most
``WORK_SIDE``). First the global part of the look is fitted in closed form: a 3D LUT (:func:`fit_lut`, least
squares with a curvature term, clip-aware, pixels on edges and texture weighing less, by conjugate
gradients), which the network applies before its grid. Learning sees every pair whole (a crop would move the
frame's centre, and a vignette with it), at ``settings.side`` px on the long side, flipped at random, with the
network's low-resolution copy made from the same (flipped) image; the loss is the mean squared error of the
sliced, applied grid against the after. Adam, warm-up then cosine decay over the wall-clock budget; the network
starts as the identity look.

Held-out scores by k-fold cross-validation: the pairs are split into ``folds`` groups; for each, a network
learns from the other groups and is scored on that group's pairs at their working size (PSNR and mean
CIEDE2000 against the after, beside the identity's: before against after), both with its grid and with its
LUT alone. That choice is made on the PSNR in flat areas (:func:`flat_psnr`: where an after exported as a
JPEG is exact; over the whole frame its compression noise hides differences of a dB): unless the grid wins
there by :data:`GRID_MARGIN_DB` (a purely global look, which the LUT already does, and a grid learned from a
few pairs only adds noise to), the look that is saved is the LUT alone (fitted to all pairs, no grid
learned); otherwise it learns its grid from all pairs. The look that is saved gets :data:`FINAL_SHARE` of
the budget and the k cross-validation runs share the rest, so ``--minutes`` is the whole time; a
cross-validation run learns for less time than the saved look, so its scores are, if anything, pessimistic.
The held-out results (before / learned / after) are kept small for the wizard to show.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

from photolab.core.color_difference import mean_ciede2000, psnr
from photolab.core.errors import PhotoLabError
from photolab.core.look_pairs import LookData, LookPair
from photolab.models.archs.hdrnet import (ARCHITECTURE, LUT_SIZE, HDRNet, apply_look, apply_lut, create_model,
                                          identity_lut, model_atlas, network_input, slice_and_apply, without_grid)
from photolab.models.store.card import check_model_name, save_weights_and_card

DEFAULT_MINUTES = 5.0
FINAL_SHARE = 0.5
"""Share of the time budget for the look that is saved (with cross-validation; all of it without)."""
GRID_MARGIN_DB = 0.1
"""How much higher a look must score with its grid than with its LUT alone (cross-validated flat-area PSNR,
dB) to keep the grid."""
PREVIEW_SIDE = 320
"""Long side of the held-out before / learned / after images kept for the wizard."""


class LookLearnError(PhotoLabError):
    """A look could not be learned or saved (the message says why)."""


@dataclass(frozen=True)
class LookSettings:
    """How learning runs: wall-clock ``minutes`` for everything (cross-validation included), ``folds`` for
    cross-validation (0: none), the long side ``side`` of the images learned from, ``batch`` pairs per step,
    Adam at ``lr``, torch ``threads``, ``seed``, ``max_steps`` per run (None: as many as the budget allows), and
    the network's ``levels``, ``cells`` and ``width``; ``lut``: fit the global 3D LUT first (else the identity)."""

    minutes: float = DEFAULT_MINUTES
    folds: int = 3
    side: int = 256
    batch: int = 4
    lr: float = 2e-3
    threads: int = 2
    seed: int = 0
    max_steps: int | None = None
    levels: int = 8
    cells: int = 16
    width: int = 32
    lut: bool = True


@dataclass
class LookOutcome:
    """A finished run: the look's weights, its steps and losses, cross-validated scores, held-out previews."""

    state: dict[str, torch.Tensor]
    settings: LookSettings
    losses: list[float]
    steps: int
    seconds: float
    held_out: dict[str, Any]
    data: dict[str, Any]
    previews: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def model(self) -> HDRNet:
        """The learned network (eval mode), before it is saved."""
        model = create_model(self.settings.levels, self.settings.cells, self.settings.width)
        model.load_state_dict(self.state)
        return model.eval()


# --------------------------------------------------------------------------------------------------- learning

# ---------------------------------------------------------------------------------------------- global LUT

def _lut_weights(pixels: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(node indices (S, 8), trilinear weights (S, 8)) of pixels (S, 3) in a size^3 LUT (index r*size^2+g*size+b)."""
    position = np.clip(pixels, 0.0, 1.0) * (size - 1)
    low = np.minimum(np.floor(position).astype(np.int64), size - 2)
    fraction = position - low
    indices, weights = [], []
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                indices.append(((low[:, 0] + dr) * size + low[:, 1] + dg) * size + low[:, 2] + db)
                weights.append((fraction[:, 0] if dr else 1 - fraction[:, 0])
                               * (fraction[:, 1] if dg else 1 - fraction[:, 1])
                               * (fraction[:, 2] if db else 1 - fraction[:, 2]))
    return np.stack(indices, axis=1), np.stack(weights, axis=1)


def _smoothness(lattice: np.ndarray) -> np.ndarray:
    """D^T D lattice, D the second differences of the LUT's nodes along r, g and b: a curvature penalty, zero
    for any affine colour map (so it bends a look towards straight lines, never flattens its contrast)."""
    out = np.zeros_like(lattice)
    for axis in range(3):
        take = lambda part: tuple(part if a == axis else slice(None) for a in range(4))  # noqa: E731
        curvature = (lattice[take(slice(None, -2))] - 2 * lattice[take(slice(1, -1))]
                     + lattice[take(slice(2, None))])
        out[take(slice(None, -2))] += curvature
        out[take(slice(1, -1))] -= 2 * curvature
        out[take(slice(2, None))] += curvature
    return out


CURVE_BINS = 64  # bins of the per-channel curves the LUT falls back on where the pairs have no colours


def channel_curves_lut(before: np.ndarray, after: np.ndarray, size: int,
                       weights: np.ndarray | None = None) -> np.ndarray:
    """A LUT (size, size, size, 3) made of one tone curve per channel fitted to pixels (N, 3): the (``weights``-
    weighted) mean after value of each before value's bin, interpolated over the bins that hold pixels. A
    channel's curve needs no particular hue, so it carries a look's general shift to colours the pairs do not
    contain."""
    axis = np.linspace(0.0, 1.0, size)
    weights = np.ones(len(before)) if weights is None else weights
    curves = []
    for channel in range(3):
        bins = np.minimum((before[:, channel] * CURVE_BINS).astype(np.int64), CURVE_BINS - 1)
        counts = np.bincount(bins, weights, minlength=CURVE_BINS)
        sums = np.bincount(bins, weights * after[:, channel], minlength=CURVE_BINS)
        centres = (np.arange(CURVE_BINS) + 0.5) / CURVE_BINS
        filled = counts > 0
        curves.append(np.interp(axis, centres[filled], sums[filled] / counts[filled]) if filled.any() else axis)
    r, g, b = np.meshgrid(*curves, indexing="ij")
    return np.stack([r, g, b], axis=-1)


CLIPPED = 0.5 / 255.0
"""An after value within this of 0 or 1 is taken as clipped there: the look's value is at least (at most) it."""
DETAIL = 0.02
"""The local standard deviation of a before's luma (0-1) at which its pixel weighs half in the LUT fit."""
DETAIL_RADIUS = 2  # pixels: the window of that standard deviation is 5 x 5


def detail_weights(before: np.ndarray, detail: float = DETAIL) -> np.ndarray:
    """(H, W) weights in (0, 1] of ``before``'s pixels (sRGB, 0-1) for the LUT fit: 1 / (1 + (s / detail)^2),
    s the standard deviation of its luma over 5 x 5 pixels. A JPEG-exported after is exact in flat areas and
    off by its compression near edges and in texture. On the benchmark's tone-curve look with JPEG afters of
    quality 90 (75), weighing pixels this way lifted the LUT fit by 2.4 (2.9) dB on held-out pairs, and by 0.1
    dB with lossless afters (``bench/bench_look.py``; looks that vary over the photo lose 0.1 dB in their LUT,
    which their grid makes up)."""
    luma = cv2.cvtColor(np.ascontiguousarray(before, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    window = (2 * DETAIL_RADIUS + 1,) * 2
    mean = cv2.blur(luma, window)
    spread = np.sqrt(np.maximum(cv2.blur(luma * luma, window) - mean * mean, 0.0))
    return 1.0 / (1.0 + (spread / detail) ** 2)


def fit_lut(pairs: list[LookPair], size: int = LUT_SIZE, smooth: float = 0.02, fallback: float = 0.5,
            samples: int = 300_000, iterations: int = 400, clip_rounds: int = 8, detail: float | None = DETAIL,
            seed: int = 0) -> np.ndarray:
    """The global 3D LUT (size, size, size, 3) that best maps the befores to the afters: least squares over up
    to ``samples`` random pixels, plus ``smooth`` x (pixels per node) times the squared second differences of
    neighbouring nodes (:func:`_smoothness`), plus ``fallback`` times that weight times the squared distance to
    the per-channel curves' LUT (:func:`channel_curves_lut`): nodes no pixel reaches drift, within a few nodes
    of the data, to what the channel curves do rather than to an average of the neighbouring colours (a red the
    pairs never show stays red, warmed as the look warms). Solved by conjugate gradients from the identity on the
    normal equations (A^T A is assembled once: each node meets at most 27 others).

    The LUT's output is clipped to [0, 1] when it is applied (:func:`~photolab.models.archs.hdrnet.apply_lut`),
    so its nodes may lie beyond: an after clipped at white (or black) only says the look reached at least 1 (at
    most 0) there. ``clip_rounds`` times, such a pixel's target is raised (lowered) to the LUT's own value where
    that is already beyond, and the system solved again: a look that pushes highlights past white then keeps its
    slope right up to the clipping point instead of bending early, as a LUT fitted to the clipped values does.

    Pixels on edges and texture weigh less (:func:`detail_weights`, with ``detail``; None: all alike): there an
    after exported as a JPEG (ringing, halved colour resolution) says least about the look's colour map."""
    rng = np.random.default_rng(seed)
    before = np.concatenate([p.before.reshape(-1, 3) for p in pairs])
    after = np.concatenate([p.after.reshape(-1, 3) for p in pairs])
    pick = rng.choice(len(before), size=min(samples, len(before)), replace=False)
    x, y = before[pick].astype(np.float64), after[pick].astype(np.float64)
    trust = (np.concatenate([detail_weights(p.before, detail).ravel() for p in pairs])[pick]
             if detail is not None else np.ones(len(x)))
    trust *= len(trust) / trust.sum()
    indices, weights = _lut_weights(x, size)
    trusted = weights * trust[:, None]
    nodes = size ** 3
    weight = smooth * len(x) / nodes
    keys = (indices[:, :, None] * nodes + indices[:, None, :]).ravel()
    products = (trusted[:, :, None] * weights[:, None, :]).ravel()
    dense = np.bincount(keys, products, nodes * nodes)
    entries = np.flatnonzero(dense)
    rows, cols, values = entries // nodes, entries % nodes, dense[entries]
    del dense
    flat = indices.ravel()
    prior = fallback * weight
    curves = prior * channel_curves_lut(x, y, size, trust).reshape(nodes, 3)

    def right_side(targets: np.ndarray) -> np.ndarray:  # A^T W targets + prior curves
        return np.stack([np.bincount(flat, (trusted * targets[:, c:c + 1]).ravel(), nodes) for c in range(3)],
                        axis=1) + curves

    def normal(lattice: np.ndarray) -> np.ndarray:  # (A^T W A + weight D^T D + prior I) lattice, lattice (nodes, 3)
        data = np.stack([np.bincount(rows, values * lattice[cols, c], nodes) for c in range(3)], axis=1)
        return data + weight * _smoothness(lattice.reshape(size, size, size, 3)).reshape(nodes, 3) + prior * lattice

    solution = _conjugate_gradients(normal, right_side(y), identity_lut(size).reshape(nodes, 3).astype(np.float64),
                                    iterations)
    high, low = y >= 1.0 - CLIPPED, y <= CLIPPED
    if high.any() or low.any():
        for _ in range(clip_rounds):
            fitted = np.einsum("sk,skc->sc", weights, solution[indices])
            targets = np.where(high, np.maximum(y, fitted), np.where(low, np.minimum(y, fitted), y))
            solution = _conjugate_gradients(normal, right_side(targets), solution, iterations)
    return solution.reshape(size, size, size, 3).astype(np.float32)


def _conjugate_gradients(normal: Callable[[np.ndarray], np.ndarray], right: np.ndarray, solution: np.ndarray,
                         iterations: int) -> np.ndarray:
    """Solve ``normal(lattice) = right`` for each of its columns by conjugate gradients from ``solution``."""
    solution = solution.copy()
    residual = right - normal(solution)
    direction = residual.copy()
    norm = (residual * residual).sum(axis=0)
    target = 1e-12 * max(1.0, float((right * right).sum()))
    for _ in range(iterations):
        if norm.sum() < target:
            break
        product = normal(direction)
        step = norm / np.maximum((direction * product).sum(axis=0), 1e-30)
        solution += step * direction
        residual -= step * product
        new_norm = (residual * residual).sum(axis=0)
        direction = residual + (new_norm / np.maximum(norm, 1e-30)) * direction
        norm = new_norm
    return solution


# --------------------------------------------------------------------------------------------------- samples

@dataclass
class _Sample:
    low: np.ndarray  # (256, 256, 3): the network's input
    before: np.ndarray  # (h, w, 3) at settings.side, through the LUT
    after: np.ndarray


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def _samples(pairs: list[LookPair], side: int, atlas: np.ndarray) -> list[_Sample]:
    return [_Sample(network_input(pair.before, atlas), apply_lut(_fit(pair.before, side), atlas),
                    _fit(pair.after, side)) for pair in pairs]


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), np.float32))[None]


def global_stage(pairs: list[LookPair], settings: LookSettings, context=None, what: str = "Learning") -> HDRNet:
    """A network whose LUT is fitted to ``pairs`` (:func:`fit_lut`; the identity if ``settings.lut`` is off) and
    whose grid is still the (near-)identity it starts as."""
    torch.manual_seed(settings.seed)
    model = create_model(settings.levels, settings.cells, settings.width)
    if context is not None:
        context.progress(0.0, f"{what}: fitting the global colour transform")
    lut = fit_lut(pairs, seed=settings.seed) if settings.lut else identity_lut()
    with torch.no_grad():
        model.lut.copy_(torch.from_numpy(lut))
    return model


def learn_once(pairs: list[LookPair], settings: LookSettings, seconds: float, context=None,
               on_step: Callable[[int, float], None] | None = None,
               what: str = "Learning") -> tuple[HDRNet, list[float]]:
    """One network learned from ``pairs`` for ``seconds`` (or ``settings.max_steps``): its LUT fitted, then its
    grid learned; returns it and the step losses. ``context`` gets progress (and may cancel: JobCancelled
    propagates)."""
    start = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    model = global_stage(pairs, settings, context, what)
    samples = _samples(pairs, settings.side, model_atlas(model))
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr)
    losses: list[float] = []
    deadline = start + max(0.5, seconds)
    step = 0
    model.train()
    while True:
        now = time.perf_counter()
        fraction = min(1.0, (now - start) / max(1e-6, deadline - start))
        if settings.max_steps is not None:
            fraction = max(fraction, step / settings.max_steps) if now < deadline else 1.0
            if step >= settings.max_steps:
                break
        if now >= deadline and step > 0:
            break
        if context is not None:
            context.progress(fraction, f"{what}: step {step}" + (f", loss {losses[-1]:.2e}" if losses else ""))
        lr = settings.lr * min(1.0, (step + 1) / 20) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * fraction)))
        for group in optimiser.param_groups:
            group["lr"] = lr
        chosen = rng.choice(len(samples), size=min(settings.batch, len(samples)), replace=False)
        flips = [(bool(rng.integers(2)), bool(rng.integers(2))) for _ in chosen]
        lows = []
        for index, (flip_x, flip_y) in zip(chosen, flips):
            low = samples[index].low[::-1 if flip_y else 1, ::-1 if flip_x else 1]
            lows.append(low.transpose(2, 0, 1))
        grids = model.grid(torch.from_numpy(np.ascontiguousarray(np.stack(lows), np.float32)))
        loss = 0.0
        for row, (index, (flip_x, flip_y)) in enumerate(zip(chosen, flips)):
            sample = samples[index]
            dims = [d for d, flip in ((3, flip_x), (2, flip_y)) if flip]
            before, after = _tensor(sample.before), _tensor(sample.after)
            if dims:
                before, after = before.flip(dims), after.flip(dims)
            output = slice_and_apply(grids[row:row + 1], model.guide(before), before)
            loss = loss + torch.mean((output - after) ** 2)
        loss = loss / len(chosen)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
        step += 1
        if on_step is not None:
            on_step(step, losses[-1])
    return model.eval(), losses


def flat_psnr(result: np.ndarray, pair: LookPair) -> float:
    """PSNR (dB) of ``result`` against the pair's after with every pixel weighed by :func:`detail_weights` of
    its before: the error in flat areas, where a JPEG-exported after is exact."""
    weights = detail_weights(pair.before)[..., None]
    error = float((weights * (result.astype(np.float64) - pair.after) ** 2).sum() / (3.0 * weights.sum()))
    return 10.0 * math.log10(1.0 / max(error, 1e-12))


def score(model: HDRNet, pairs: list[LookPair]) -> list[dict[str, Any]]:
    """Per pair: PSNR (also in flat areas: :func:`flat_psnr`) and mean CIEDE2000 of the look's result, and
    PSNR and CIEDE2000 of the before (identity), against the after."""
    rows = []
    for pair in pairs:
        learned = np.clip(apply_look(model, pair.before), 0.0, 1.0)
        rows.append({"name": pair.name, "psnr": psnr(learned, pair.after), "flat_psnr": flat_psnr(learned, pair),
                     "ciede2000": mean_ciede2000(learned, pair.after),
                     "identity_psnr": psnr(pair.before, pair.after),
                     "identity_ciede2000": mean_ciede2000(pair.before, pair.after), "learned": learned})
    return rows


def fold_groups(count: int, folds: int) -> list[list[int]]:
    """Pair indices of each cross-validation fold (every ``folds``-th pair, so each fold spans the folder)."""
    folds = min(folds, count)
    return [list(range(f, count, folds)) for f in range(folds)] if folds >= 2 else []


def learn(data: LookData, settings: LookSettings = LookSettings(), context=None,
          on_step: Callable[[str, int, float], None] | None = None) -> LookOutcome:
    """Cross-validate, then learn the look from every pair of ``data`` (module docstring) within
    ``settings.minutes``. ``context`` (a JobContext) gets progress and may cancel (JobCancelled propagates:
    nothing is returned); ``on_step(run, step, loss)`` is called after every step (``run``: "fold 1/3", ...,
    "final")."""
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(settings.threads or cores, cores)))
    try:
        pairs = data.pairs
        groups = fold_groups(len(pairs), settings.folds)
        budget = settings.minutes * 60.0
        share = budget * (1.0 - FINAL_SHARE) / len(groups) if groups else 0.0
        with_grid: list[dict[str, Any]] = []
        lut_alone: list[dict[str, Any]] = []
        for number, group in enumerate(groups):
            run = f"fold {number + 1}/{len(groups)}"
            span = (1.0 - FINAL_SHARE) / len(groups)
            sub = context.subtask(number * span, (number + 1) * span) if context is not None else None
            held = set(group)
            model, _ = learn_once([p for i, p in enumerate(pairs) if i not in held], settings, share * 0.92, sub,
                                  (lambda s, l, run=run: on_step(run, s, l)) if on_step else None,
                                  f"Cross-validating ({run})")
            with_grid += score(model, [pairs[i] for i in group])
            lut_alone += score(without_grid(model), [pairs[i] for i in group])
        grid = not groups or _mean_psnr(with_grid, "flat_psnr") > _mean_psnr(lut_alone, "flat_psnr") + GRID_MARGIN_DB
        sub = context.subtask(1.0 - FINAL_SHARE if groups else 0.0, 1.0) if context is not None else None
        if grid:
            remaining = budget - (time.perf_counter() - started)
            model, losses = learn_once(pairs, settings, max(budget * FINAL_SHARE * 0.5, remaining - 1.0), sub,
                                       (lambda s, l: on_step("final", s, l)) if on_step else None, "Learning the look")
        else:
            model = without_grid(global_stage(pairs, settings, sub, "Learning the look (global part alone)"))
            losses = []
    finally:
        torch.set_num_threads(previous_threads)
    rows = with_grid if grid else lut_alone
    held_out = _summarise(rows, len(groups))
    held_out["grid"] = grid
    held_out["lut_alone_psnr"] = _mean_psnr(lut_alone)
    held_out["with_grid_psnr"] = _mean_psnr(with_grid)
    held_out["lut_alone_flat_psnr"] = _mean_psnr(lut_alone, "flat_psnr")
    held_out["with_grid_flat_psnr"] = _mean_psnr(with_grid, "flat_psnr")
    previews = [(row["name"], _fit(pair.before, PREVIEW_SIDE), _fit(row["learned"], PREVIEW_SIDE),
                 _fit(pair.after, PREVIEW_SIDE))
                for row in rows for pair in pairs if pair.name == row["name"]]
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return LookOutcome(state, settings, losses, len(losses), time.perf_counter() - started, held_out,
                       data.summary(), previews)


def _mean_psnr(rows: list[dict[str, Any]], key: str = "psnr") -> float | None:
    return round(float(np.mean([row[key] for row in rows])), 3) if rows else None


def _summarise(rows: list[dict[str, Any]], folds: int) -> dict[str, Any]:
    if not rows:
        return {"folds": 0, "pairs": 0, "psnr": None, "ciede2000": None, "identity_psnr": None,
                "identity_ciede2000": None, "per_pair": []}
    mean = lambda key: round(float(np.mean([row[key] for row in rows])), 3)  # noqa: E731
    return {"folds": folds, "pairs": len(rows), "psnr": mean("psnr"), "ciede2000": mean("ciede2000"),
            "identity_psnr": mean("identity_psnr"), "identity_ciede2000": mean("identity_ciede2000"),
            "per_pair": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k != "learned"}
                         for row in rows],
            "description": "k-fold cross-validation: each pair scored by a look learned without it, at its working "
                           "size; PSNR (dB) and mean CIEDE2000 against the after; identity = the before itself"}


# ------------------------------------------------------------------------------------------------------ saving

def look_card(outcome: LookOutcome, name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """The look's card: what it is, what it learned from, how, and its cross-validated scores."""
    settings = outcome.settings
    return {
        "format_version": 1,
        "name": name,
        "task": "look",
        "architecture": {"name": ARCHITECTURE, "levels": settings.levels, "cells": settings.cells,
                         "width": settings.width},
        "input": "sRGB-encoded RGB in [0, 1], the finished photo; output the same",
        "source": {"kind": "learned", "by": "photolab-cli look learn (HDRNet, deep bilateral learning)",
                   "pairs_folder": str(folder) if folder else None},
        "learning": {"pairs": outcome.data.get("pairs"), "layout": outcome.data.get("layout"),
                     "refused": outcome.data.get("refused"), "unpaired": outcome.data.get("unpaired"),
                     "notes": outcome.data.get("notes"),
                     "minutes": round(outcome.seconds / 60.0, 3), "budget_minutes": settings.minutes,
                     "steps": outcome.steps, "global_lut": settings.lut, "grid": outcome.held_out.get("grid", True),
                     "side": settings.side, "batch": settings.batch, "lr": settings.lr,
                     "threads": settings.threads, "seed": settings.seed,
                     "final_loss": round(float(np.mean(outcome.losses[-20:])), 7) if outcome.losses else None},
        "metrics": {"cross_validation": outcome.held_out},
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def save_look(outcome: LookOutcome, name: str, folder: str | Path, *, overwrite: bool = False,
              source_folder: str | Path | None = None) -> tuple[Path, dict]:
    """Write ``<folder>/<name>.safetensors`` then its card ``<name>.json`` (each atomically; the card last, so a
    crash never leaves a card without its weights). Returns (weights path, card)."""
    check_model_name(name)
    return save_weights_and_card(outcome.state, look_card(outcome, name, source_folder), folder, name, what="look",
                                 folder_label="looks folder", overwrite=overwrite, error=LookLearnError)


# --------------------------------------------------------------------------------------------------------- job

def learn_work(context, folder: str | Path, settings: LookSettings = LookSettings(),
               on_step: Callable[[str, int, float], None] | None = None, data: LookData | None = None):
    """Job work: scan and check the pairs of ``folder`` (unless ``data`` is given), then :func:`learn`.
    Returns ``(LookOutcome, LookData)``; nothing is written."""
    from photolab.core.look_pairs import load_look_pairs, scan_look_pairs

    if data is None:
        data = load_look_pairs(scan_look_pairs(folder), context.subtask(0.0, 0.1).progress)
    outcome = learn(data, settings, context.subtask(0.1, 1.0), on_step)
    return outcome, data


def learn_job(folder: str | Path, settings: LookSettings = LookSettings(),
              on_step: Callable[[str, int, float], None] | None = None, **options):
    """A Job running :func:`learn_work` (progress, cancel)."""
    from photolab.jobs import Job

    return Job(learn_work, folder, settings, on_step, title="Learning a look", **options)

