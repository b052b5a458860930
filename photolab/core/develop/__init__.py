"""Develop operations: one module per operation, each a params dataclass plus a pure ``apply``.

``OPERATIONS`` lists them in pipeline order (like darktable's pixelpipe the order is fixed; a recipe only
says which are on and with what parameters).
"""

from __future__ import annotations

from photolab.core.develop.operation import Operation


def _collect() -> tuple[Operation, ...]:
    from photolab.core.develop import (contrast, denoise, exposure, geometry, highlights, saturation, shadows,
                                       white_balance)

    return (
        geometry.ORIENT,
        geometry.CROP,
        denoise.OPERATION,
        white_balance.OPERATION,
        exposure.OPERATION,
        highlights.OPERATION,
        shadows.OPERATION,
        contrast.OPERATION,
        saturation.OPERATION,
    )


OPERATIONS: tuple[Operation, ...] = _collect()
OPERATIONS_BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
