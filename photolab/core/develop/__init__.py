"""Develop operations: one module per operation, each a params dataclass plus a pure ``apply``.

``OPERATIONS`` lists them in pipeline order (like darktable's pixelpipe the order is fixed, and versioned by
``ORDER_VERSION``; a recipe only says which are on and with what parameters). Each params field carries its
range, step, unit and label (``photolab.core.develop.params``). Each operation also says how a region of its
output maps back to its input (darktable's ``modify_roi_in``), which ``photolab.core.render`` uses to develop
part of a photo.

Sidecars record each operation's ``version``. Changing what an operation's parameters mean or are called
raises its version and gives it a ``migrate(old_params, from_version) -> params`` (darktable's
``legacy_params``) that turns a sidecar entry of any older version into the current one.
"""

from __future__ import annotations

from photolab.core.develop.operation import Box, Operation, Size


def _collect() -> tuple[Operation, ...]:
    from photolab.core.develop import (contrast, denoise, exposure, geometry, highlights, hsl, lens, look, saturation,
                                       shadows, sharpen, straighten, tone_curve, vignette,
                                       white_balance)

    return (
        lens.OPERATION,
        geometry.ORIENT,
        straighten.OPERATION,
        geometry.CROP,
        denoise.OPERATION,
        white_balance.OPERATION,
        exposure.OPERATION,
        highlights.OPERATION,
        shadows.OPERATION,
        contrast.OPERATION,
        saturation.OPERATION,
        hsl.OPERATION,
        tone_curve.OPERATION,
        vignette.OPERATION,
        sharpen.OPERATION,
        look.OPERATION,  # last: a learned look maps the finished photo to the user's edit
    )


OPERATIONS: tuple[Operation, ...] = _collect()
ORDER_VERSION = 1  # raise it when OPERATIONS changes order (a recipe then renders differently); appending a step
# that is neutral by default (look) keeps every older recipe's rendering
OPERATIONS_BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
