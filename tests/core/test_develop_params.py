"""Parameter metadata: every field of every operation declares its range, step, unit and label once, and
validation reads it from there."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from photolab.core.develop import OPERATIONS
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.params import ParamSpec, check_params, describe_params, param, param_spec, param_specs
from photolab.core.develop.white_balance import WhiteBalanceParams


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_field_of_every_operation_has_metadata(op):
    specs = param_specs(op.params_type)
    assert list(specs) == [field.name for field in dataclasses.fields(op.params_type)]
    defaults = op.params_type()
    for name, spec in specs.items():
        assert spec.label
        default = getattr(defaults, name)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            low, high = spec.range
            assert low < high and spec.step > 0
            assert low <= default <= high or default == spec.unset
            if spec.soft_range is not None:
                assert low <= spec.soft_range[0] < spec.soft_range[1] <= high


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_the_ends_of_every_range_are_valid_and_beyond_them_not(op):
    for name, spec in param_specs(op.params_type).items():
        if spec.range is None:
            continue
        low, high = spec.range
        if isinstance(getattr(op.params_type(), name), tuple):  # points: every coordinate in the range
            assert getattr(op.params_type(**{name: ((low, low), (high, high))}), name) == ((low, low), (high, high))
            for value in (low - (high - low), high + (high - low)):
                with pytest.raises(ValueError, match="between"):
                    op.params_type(**{name: ((low, low), (high, value))})
            continue
        for value in (low, high):
            try:
                assert getattr(op.params_type(**{name: value}), name) == value
            except ValueError as exc:  # another rule of the operation (crop: left < right), not the range
                assert "between" not in str(exc)
        span = high - low
        for value in (low - span, high + span):
            with pytest.raises(ValueError, match="between"):
                op.params_type(**{name: value})


def test_decimals_follow_the_step():
    assert [ParamSpec("x", step=step).decimals for step in (0.01, 0.5, 1.0, 50.0, 0.25, 0.001)] == [2, 1, 0, 0, 2, 3]
    assert ParamSpec("x").decimals == 0


def test_the_slider_travels_the_soft_range_where_there_is_one():
    assert param_spec(ExposureParams, "ev").slider_range == (-5.0, 5.0)
    assert param_spec(ExposureParams, "ev").range == (-10.0, 10.0)
    assert param_spec(WhiteBalanceParams, "tint").slider_range == (-150.0, 150.0)


@dataclass(frozen=True)
class _Example:
    count: int = param(1, label="Count", range=(0, 9), step=1)
    level: float = param(0.0, label="Level", range=(-1.0, 1.0), step=0.1, unit="EV")
    on: bool = param(False, label="On")
    kind: str = param("a", label="Kind", choices=("a", "b"))
    off: float = param(0.0, label="Off", range=(10.0, 20.0), step=1.0, unset=0.0)

    def __post_init__(self) -> None:
        check_params(self, "example")


def test_check_params_converts_numbers_and_flags_to_the_field_types():
    import numpy as np

    example = _Example(count=2.0, level=np.float32(0.5), on=np.bool_(True))
    assert type(example.count) is int and type(example.level) is float and example.on is True


@pytest.mark.parametrize("bad,words", [
    ({"count": 1.5}, "example count must be a whole number between 0 and 9"),
    ({"count": True}, "example count must be a whole number"),
    ({"level": 2.0}, "example level must be between -1 and 1 EV, got 2.0"),
    ({"level": float("nan")}, "example level must be a number"),
    ({"level": "high"}, "example level must be a number"),
    ({"on": 1}, "example on must be true or false"),
    ({"kind": "c"}, "example kind must be one of a, b"),
    ({"kind": 3}, "example kind must be text"),
    ({"off": 5.0}, "example off must be between 10 and 20"),
])
def test_check_params_names_the_parameter_and_its_range(bad, words):
    with pytest.raises(ValueError, match=words):
        _Example(**bad)


def test_the_unset_value_is_accepted_beside_the_range():
    assert _Example(off=0.0).off == 0.0 and _Example(off=15).off == 15.0


def test_describe_params_lists_name_type_default_range_step_unit_label():
    described = describe_params(_Example)
    assert described[1] == {"name": "level", "type": "float", "default": 0.0, "range": [-1.0, 1.0], "step": 0.1,
                            "unit": "EV", "label": "Level"}
    assert described[3]["choices"] == ["a", "b"] and described[3]["range"] is None
    assert described[4]["unset"] == 0.0
