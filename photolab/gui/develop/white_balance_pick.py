"""The white-balance eyedropper: a click on the shown photo becomes spot white-balance parameters."""

from __future__ import annotations

from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import render
from photolab.jobs import Job


def stage_position(stage: Photo, u: float, v: float) -> tuple[int, int]:
    """Pixel (x, y) of the normalised position (u, v) in ``stage``, clamped inside it."""
    x = min(max(int(u * stage.width), 0), stage.width - 1)
    y = min(max(int(v * stage.height), 0), stage.height - 1)
    return x, y


def _pick(context, proxy: Photo, recipe: Recipe, u: float, v: float):
    from photolab.core.develop.white_balance import spot_white_balance

    # The white-balance stage sees the photo after the operations before it (rotation, crop), which
    # also give the shown photo its geometry, so (u, v) on screen is (u, v) in the stage's input.
    stage = render(proxy, recipe, stop_before="white_balance")
    x, y = stage_position(stage, u, v)
    return spot_white_balance(stage, x, y)


def spot_white_balance_job(proxy: Photo, recipe: Recipe, u: float, v: float) -> Job:
    """A job whose result is the WhiteBalanceParams that make the spot at (u, v) neutral."""
    return Job(_pick, proxy, recipe, u, v, title="White balance picker")
