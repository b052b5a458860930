"""Parameter metadata: each field of an operation's params dataclass says, once, which values it takes.

A field is declared with ``param(default, label=..., range=(low, high), step=..., unit=...)``. Three readers
use it: validation (:func:`check_params`, called from the dataclasses' ``__post_init__``), the Develop panel
(its sliders take range, step, unit and label from here) and photolab-cli (option checks and ``ops``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
_METADATA_KEY = "photolab.param"


@dataclass(frozen=True)
class ParamSpec:
    """What one parameter means.

    ``label``: its name in the GUI; ``range``: the valid numbers (inclusive; None for text and flags);
    ``step``: the GUI's increment, whose decimals are the ones shown (a step of 1 on an int field: whole
    numbers); ``unit``: shown after a number ("" for none); ``choices``: the valid values of a text
    parameter; ``unset``: a value outside ``range`` that means "not set"; ``soft_range``: where the GUI slider
    travels when that is narrower than ``range`` (the number box still takes all of it, like darktable's
    soft limits); ``log_scale``: slider positions spaced logarithmically.
    """

    label: str
    range: tuple[float, float] | None = None
    step: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    unset: float | None = None
    soft_range: tuple[float, float] | None = None
    log_scale: bool = False

    @property
    def slider_range(self) -> tuple[float, float]:
        """Where a slider for this parameter travels."""
        if self.range is None:
            raise ValueError(f"{self.label} is not a number")
        return self.soft_range or self.range

    @property
    def decimals(self) -> int:
        """Digits after the decimal point that the step needs (0.01 -> 2, 0.5 -> 1, 50 -> 0)."""
        if self.step is None:
            return 0
        return len(f"{self.step:f}".rstrip("0").partition(".")[2])


def param(default: T, *, label: str, range: tuple[float, float] | None = None, step: float | None = None,
          unit: str = "", choices: tuple[str, ...] = (), unset: float | None = None,
          soft_range: tuple[float, float] | None = None, log_scale: bool = False) -> T:
    """A dataclass field with ``default`` that carries its :class:`ParamSpec`."""
    spec = ParamSpec(label, range, step, unit, tuple(choices), unset, soft_range, log_scale)
    return dataclasses.field(default=default, metadata={_METADATA_KEY: spec})


def param_specs(params_type: type) -> dict[str, ParamSpec]:
    """The spec of every field of a params dataclass, in declaration order."""
    return {field.name: field.metadata[_METADATA_KEY] for field in dataclasses.fields(params_type)
            if _METADATA_KEY in field.metadata}


def param_spec(params_type: type, name: str) -> ParamSpec:
    """The spec of field ``name`` of a params dataclass (KeyError when it has none)."""
    return param_specs(params_type)[name]


def _is_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def check_params(params: Any, operation: str) -> None:
    """Check every field of a frozen params dataclass against its spec, and store numbers as the field's
    type (float, or int for an int default) and flags as bool; raises ValueError naming the parameter."""
    for field in dataclasses.fields(params):
        spec = field.metadata.get(_METADATA_KEY)
        if spec is None:
            continue
        value = getattr(params, field.name)
        what = " ".join(dict.fromkeys((operation.replace("_", " "), field.name)))  # "saturation", not twice
        if isinstance(field.default, (bool, np.bool_)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{what} must be true or false, got {value!r}")
            object.__setattr__(params, field.name, bool(value))
        elif isinstance(field.default, str):
            if not isinstance(value, str):
                raise ValueError(f"{what} must be text, got {value!r}")
            if spec.choices and value not in spec.choices:
                raise ValueError(f"{what} must be one of {', '.join(spec.choices)}; got {value!r}")
        elif isinstance(field.default, tuple) and spec.range is not None:
            object.__setattr__(params, field.name, _checked_numbers(what, value, spec, field.default))
        elif spec.range is not None:
            number = _checked_number(what, value, spec, whole=isinstance(field.default, int))
            object.__setattr__(params, field.name, number)


def _checked_number(what: str, value: Any, spec: ParamSpec, *, whole: bool) -> float | int:
    low, high = spec.range
    unit = f" {spec.unit}" if spec.unit else ""
    kind = "a whole number" if whole else "a number"
    if not _is_number(value) or not math.isfinite(value) or (whole and not float(value).is_integer()):
        raise ValueError(f"{what} must be {kind} between {low:g} and {high:g}{unit}, got {value!r}")
    if value != spec.unset and not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}{unit}, got {value!r}")
    return int(value) if whole else float(value)


def _checked_numbers(what: str, value: Any, spec: ParamSpec, default: tuple) -> tuple:
    """A list of numbers, or of pairs (points), each in ``spec.range``, as nested tuples of floats shaped like
    ``default``'s items."""
    low, high = spec.range
    pairs = bool(default) and isinstance(default[0], tuple)
    kind = f"a list of [x, y] points between {low:g} and {high:g}" if pairs else \
        f"a list of numbers between {low:g} and {high:g}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{what} must be {kind}, got {value!r}")
    items = []
    for item in value:
        numbers = item if pairs else (item,)
        if pairs and (isinstance(item, (str, bytes)) or not hasattr(item, "__len__") or len(item) != 2):
            raise ValueError(f"{what} must be {kind}, got {value!r}")
        if not all(_is_number(n) and math.isfinite(n) and low <= n <= high for n in numbers):
            raise ValueError(f"{what} must be {kind}, got {value!r}")
        items.append(tuple(float(n) for n in numbers) if pairs else float(item))
    return tuple(items)


def parse_value(params_type: type, name: str, text: str) -> Any:
    """The value of field ``name`` written as text, read by the field's type: a number, a whole number,
    true/false, text, or JSON for lists and points (``[[0, 0], [0.5, 0.6], [1, 1]]``; ``null`` for "not
    set"). Raises KeyError for an unknown field and ValueError for text of the wrong type (the range is
    checked when the params are made)."""
    fields = {field.name: field for field in dataclasses.fields(params_type)}
    if name not in fields:
        raise KeyError(name)
    default = fields[name].default
    try:
        if isinstance(default, (bool, np.bool_)):
            words = {"true": True, "yes": True, "on": True, "1": True,
                     "false": False, "no": False, "off": False, "0": False}
            if text.strip().lower() not in words:
                raise ValueError
            return words[text.strip().lower()]
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str):
            return text
        value = json.loads(text)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(type(default), "JSON")
        raise ValueError(f"expected {kind}, got {text!r}") from None
    if value is not None and not isinstance(value, list):
        raise ValueError(f"expected a JSON list, got {text!r}")
    return value


def describe_params(params_type: type) -> list[dict]:
    """JSON-ready description of every parameter: name, type, default, range, step, unit, label (and
    choices or the "not set" value where a parameter has them)."""
    defaults = params_type()
    described = []
    for field in dataclasses.fields(params_type):
        spec = field.metadata[_METADATA_KEY]
        entry = {
            "name": field.name,
            "type": field.type if isinstance(field.type, str) else field.type.__name__,
            "default": _json_value(getattr(defaults, field.name)),
            "range": list(spec.range) if spec.range is not None else None,
            "step": spec.step,
            "unit": spec.unit,
            "label": spec.label,
        }
        if spec.choices:
            entry["choices"] = list(spec.choices)
        if spec.unset is not None:
            entry["unset"] = spec.unset
        if spec.soft_range is not None:
            entry["soft_range"] = list(spec.soft_range)
        described.append(entry)
    return described


def _json_value(value: Any) -> Any:
    return [_json_value(item) for item in value] if isinstance(value, tuple) else value
