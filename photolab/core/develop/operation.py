"""What every develop step is: a name, a label, a params dataclass and a pure ``apply``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from photolab.core.photo import Photo


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

    def is_identity(self, params: Any) -> bool:
        """True when these params leave the photo unchanged (such steps are skipped)."""
        return params == self.params_type() or (self.identity is not None and self.identity(params))
