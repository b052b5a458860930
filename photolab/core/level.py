"""The level tool (the window's Level button, ``photolab-cli develop --level X1,Y1,X2,Y2``): a line drawn along
a horizon or a vertical sets the straighten angle that makes it level (or plumb)."""

from __future__ import annotations

from photolab.core.develop.straighten import StraightenParams, level_angle
from photolab.core.recipe import Recipe

Point = tuple[float, float]


def levelled(recipe: Recipe, start: Point, end: Point) -> Recipe:
    """``recipe`` with straighten on and turned so that the line from ``start`` to ``end`` becomes level, or
    plumb when it is closer to vertical. The points are pixels of the photo as ``recipe`` develops it (after
    its turns, straighten and crop; y down); the angle is clamped to straighten's range. Raises ValueError for
    a line of no length."""
    if start[0] == end[0] and start[1] == end[1]:
        raise ValueError("the two ends of the level line are the same point")
    current = recipe.get("straighten").angle if "straighten" not in recipe.disabled else 0.0
    angle = level_angle(current, start, end)
    return recipe.with_enabled("straighten", True).with_params("straighten", StraightenParams(angle=angle))
