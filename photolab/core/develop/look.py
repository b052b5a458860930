"""Look: a look learned from the user's own before/after edits (HDRNet), as the last develop step.

The look maps a finished, display-referred photo to its edited version, so it runs last, on the sRGB-encoded
pixels clipped to [0, 1] (the range it learned on), and is mixed with them by ``strength`` (0-100 %). It looks
at a small copy of the whole photo (its network predicts a bilateral grid from it), so a region of the photo
needs all of it (``margin`` None), and a preview and the export get the same look.

Core never imports the models (nor torch): it declares what it needs, a :class:`Look`, and a front end
installs the loader of real ones with :func:`register_look_loader` (``photolab.services.install_models`` does,
with the ModelManager's looks), as the Denoise step does with denoisers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from photolab.core.color import srgb_encode
from photolab.core.develop.denoise import decode
from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.errors import PhotoLabError
from photolab.core.photo import Photo


LOOKS_FOLDER = "looks"
"""The user's learned looks live in this folder of the user data folder."""


class LookError(PhotoLabError):
    """A look could not be loaded or applied (unknown name, damaged file, no model runtime)."""


@dataclass(frozen=True)
class LookParams:
    """``model``: the name of an installed look ("" = no look); ``strength``: how much of it, 0-100 %."""

    model: str = param("", label="Look")
    strength: float = param(100.0, label="Strength", range=(0.0, 100.0), step=1.0, unit="%")

    def __post_init__(self) -> None:
        check_params(self, "look")


class Look(Protocol):
    """A loaded look, as the step uses it: called with sRGB-encoded (H, W, 3) float32 pixels in [0, 1] and a
    strength (0-1), it returns the edited pixels (float32, same shape), calling ``progress`` with the fraction
    done (an exception it raises stops the work)."""

    name: str

    def __call__(self, srgb: np.ndarray, strength: float = 1.0,
                 progress: Callable[[float], None] | None = None) -> np.ndarray: ...


LookLoader = Callable[[str], Look]
"""``(name) -> Look``."""

_loader: LookLoader | None = None


def register_look_loader(loader: LookLoader | None) -> None:
    """Install how the step loads its looks (``photolab.services.install_models`` does; None removes it)."""
    global _loader
    _loader = loader


def load_look(name: str) -> Look:
    """The installed look ``name``, through the installed loader; :class:`LookError` without a runtime."""
    if _loader is None:
        raise LookError("no look is available: the model runtime is not installed (photolab.services.install_models)")
    return _loader(name)


def is_identity(params: LookParams) -> bool:
    return not params.model or params.strength <= 0.0


def apply_srgb(srgb: np.ndarray, params: LookParams, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """``params``' look on sRGB-encoded pixels (clipped to [0, 1] first); returns float32 in [0, 1]."""
    if is_identity(params):
        return srgb
    look = load_look(params.model)
    result = look(np.clip(srgb, 0.0, 1.0).astype(np.float32), params.strength / 100.0, progress=progress)
    return np.clip(result, 0.0, 1.0, out=result)


def apply(photo: Photo, params: LookParams, progress: Callable[[float], None] | None = None) -> Photo:
    """The look on a linear photo: encode to sRGB (clipped), apply, decode."""
    if is_identity(params):
        return photo
    return photo.with_pixels(decode(apply_srgb(srgb_encode(photo.pixels), params, progress)))


OPERATION = Operation("look", "Look", LookParams, apply, reports_progress=True, cost=3.0, identity=is_identity,
                      margin=lambda params: None)
