"""The white-balance eyedropper: a click on the shown photo becomes spot white-balance parameters, in a job."""

from __future__ import annotations

from photolab.core.develop.white_balance import spot_white_balance_at
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import render
from photolab.jobs import Job


def _pick(context, proxy: Photo, recipe: Recipe, u: float, v: float):
    return spot_white_balance_at(render(proxy, recipe, stop_before="white_balance"), u, v)


def spot_white_balance_job(proxy: Photo, recipe: Recipe, u: float, v: float) -> Job:
    """A job whose result is the WhiteBalanceParams that make the spot at (u, v) neutral."""
    return Job(_pick, proxy, recipe, u, v, title="White balance picker")
