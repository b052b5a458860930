"""What every develop step is: a name, a label, a params dataclass and a pure ``apply``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from photolab.core.develop.params import describe_params
from photolab.core.photo import Photo

Size = tuple[int, int]  # width, height
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end-exclusive


@dataclass(frozen=True)
class Operation:
    """A develop step: ``apply(photo, params) -> Photo`` must not modify its input (slow steps also take
    ``progress=``, see ``reports_progress``)."""

    name: str  # stable identifier used in sidecars
    label: str  # shown in the GUI
    params_type: type
    apply: Callable[..., Photo]
    reports_progress: bool = False  # apply takes ``progress=`` (fraction done, 0..1; raising stops it)
    cost: float = 1.0  # relative running time, to weigh the steps' shares of render's progress

    identity: Callable[[Any], bool] | None = None  # when params other than the defaults do nothing too
    version: int = 1  # of the parameters' meaning, written to sidecars
    migrate: Callable[[dict, int], dict] | None = None  # older sidecar params (a JSON dict) -> this version's

    # Regions (see photolab.core.render). Geometry steps move pixels: they give the output's size for an input
    # size, where an output box lies in the input, and how to turn the input's pixels in that box into the
    # output's (default: ``apply``). Other steps keep positions; a neighbourhood step's ``margin`` says how far
    # around a pixel it looks (None from it: the whole input, as automatic white balance does).
    output_size: Callable[[Any, Size], Size] | None = None
    region_in: Callable[[Any, Size, Box], Box] | None = None
    apply_to_region: Callable[[Photo, Any], Photo] | None = None
    margin: Callable[[Any], int | None] | None = None
    # Steps whose result depends on where a pixel lies in the whole frame (straighten, lens correction,
    # vignette) develop a region with ``apply_to_box(piece, params, size, box_in, box_out)``: ``piece`` is the
    # input's ``box_in`` of a frame of ``size`` (the step's input size); the result is the output's ``box_out``.
    apply_to_box: Callable[[Photo, Any, Size, Box, Box], Photo] | None = None

    def is_identity(self, params: Any) -> bool:
        """True when these params leave the photo unchanged (such steps are skipped)."""
        return params == self.params_type() or (self.identity is not None and self.identity(params))

    def describe(self) -> dict:
        """JSON-ready description: name, label, version and every parameter (see ``describe_params``)."""
        return {"name": self.name, "label": self.label, "version": self.version,
                "parameters": describe_params(self.params_type)}
