"""The recipe: which develop operations are on, with which parameters, as data; saved as a JSON sidecar.
``photolab.core.render`` renders it.

A recipe is immutable: every edit makes a new one, which keeps undo/redo trivial. The sidecar of
``IMG_0001.CR2`` is ``IMG_0001.CR2.photolab.json`` beside it; the original is never written.

The sidecar has one schema version for its layout and, per operation entry, that operation's ``version``
(an entry without one, as PhotoLab wrote before, is version 1). An older entry is migrated with the
operation's ``migrate``; a newer one than this PhotoLab knows makes the sidecar unreadable, like a newer
schema: it is then ignored with a warning and never overwritten silently. The sidecar also records the
pipeline's ``order_version`` (``photolab.core.develop.ORDER_VERSION``; none written means 1): a recipe from
a newer order would render differently here, so it is refused the same way.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photolab import __version__
from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME, ORDER_VERSION, Operation
from photolab.core.errors import RecipeError

SCHEMA_NAME = "photolab.recipe"
SCHEMA_VERSION = 1
SIDECAR_SUFFIX = ".photolab.json"
SIDECAR_EXTRA_KEYS = ("rating", "rejected")
"""Top-level sidecar keys kept beside the recipe by other features (``photolab.core.rating``): rewriting the
recipe keeps them, and a sidecar without them (as older PhotoLabs wrote) reads as before."""
SIDECAR_LOCK = threading.RLock()
"""Held for every read-modify-write of a sidecar, so a rating and a recipe saved at once both survive."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """Parameters per operation name; operations not listed are at their neutral defaults."""

    params: dict[str, Any] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.params) - set(OPERATIONS_BY_NAME)
        if unknown:
            raise KeyError(f"unknown operation(s) {sorted(unknown)}")
        # Keep only parameters that differ from the defaults, so equal edits compare equal (a sidecar lists
        # every operation; a slider dragged back to zero leaves its default params behind).
        changed = {name: value for name, value in self.params.items()
                   if value != OPERATIONS_BY_NAME[name].params_type()}
        if len(changed) != len(self.params):
            object.__setattr__(self, "params", changed)

    def get(self, name: str) -> Any:
        """The params of operation ``name`` (its defaults when the recipe does not set it)."""
        if name in self.params:
            return self.params[name]
        return OPERATIONS_BY_NAME[name].params_type()

    def with_params(self, name: str, params: Any) -> "Recipe":
        """A new recipe with ``name`` set to ``params``."""
        return dataclasses.replace(self, params={**self.params, name: params})

    def with_enabled(self, name: str, enabled: bool) -> "Recipe":
        """A new recipe with operation ``name`` switched on or off (its params are kept)."""
        disabled = self.disabled - {name} if enabled else self.disabled | {name}
        return dataclasses.replace(self, disabled=frozenset(disabled))

    def active_operations(self):
        """(operation, params) in pipeline order, skipping disabled and neutral ones."""
        for op in OPERATIONS:
            params = self.get(op.name)
            if op.name not in self.disabled and not op.is_identity(params):
                yield op, params

    def is_active(self, name: str) -> bool:
        """True when operation ``name`` is on and changes the photo."""
        return any(op.name == name for op, _ in self.active_operations())

    @property
    def is_neutral(self) -> bool:
        return not any(True for _ in self.active_operations())

    def to_dict(self) -> dict:
        """JSON-ready form: every operation in pipeline order with its parameters."""
        return {
            "schema": SCHEMA_NAME,
            "version": SCHEMA_VERSION,
            "order_version": ORDER_VERSION,
            "software": f"PhotoLab {__version__}",
            "operations": [
                {"op": op.name, "version": op.version, "enabled": op.name not in self.disabled,
                 "params": _params_to_json(self.get(op.name))}
                for op in OPERATIONS
            ],
        }

    @staticmethod
    def from_dict(data: Any) -> "Recipe":
        """Parse a recipe dict; raises RecipeError on anything malformed or from a newer schema."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_NAME:
            raise RecipeError("not a PhotoLab recipe (missing or wrong 'schema')")
        version = data.get("version")
        if not isinstance(version, int):
            raise RecipeError("recipe has no integer 'version'")
        if version > SCHEMA_VERSION:
            raise RecipeError(
                f"recipe was written by a newer PhotoLab (schema version {version}, this one reads up to "
                f"{SCHEMA_VERSION})"
            )
        order = data.get("order_version", 1)
        if not isinstance(order, int) or order > ORDER_VERSION:
            raise RecipeError(f"recipe was written for another operation order ({order!r}; this PhotoLab "
                              f"renders order {ORDER_VERSION})")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise RecipeError("recipe has no 'operations' list")
        params: dict[str, Any] = {}
        disabled: set[str] = set()
        for entry in operations:
            if not isinstance(entry, dict) or "op" not in entry:
                raise RecipeError(f"malformed operation entry: {entry!r}")
            name = entry["op"]
            if name not in OPERATIONS_BY_NAME:
                raise RecipeError(f"unknown operation {name!r}")
            op = OPERATIONS_BY_NAME[name]
            params[name] = _params_from_json(op.params_type, _current_params(op, entry))
            if not entry.get("enabled", True):
                disabled.add(name)
        return Recipe(params=params, disabled=frozenset(disabled))


# --- copy / paste -----------------------------------------------------------------------------------------
GEOMETRY_OPERATIONS = frozenset({"lens_correction", "orient", "straighten", "crop"})
"""Operations that frame one particular photo: not copied unless chosen (another photo's crop is rarely wanted)."""


def edited_operations(recipe: Recipe) -> list[str]:
    """Names of the operations ``recipe`` sets (params other than the defaults, or switched off), in
    pipeline order: what a copy may take."""
    return [op.name for op in OPERATIONS if op.name in recipe.params or op.name in recipe.disabled]


def default_copy_selection(recipe: Recipe) -> list[str]:
    """What a copy takes unless told otherwise: the edited operations but the geometry ones."""
    return [name for name in edited_operations(recipe) if name not in GEOMETRY_OPERATIONS]


@dataclass(frozen=True)
class CopiedSettings:
    """Some operations' settings taken from a recipe (selective copy, a preset): pasting them sets exactly
    those operations, params and on/off state, and leaves the others as they are. An operation chosen at its
    defaults is kept: pasting it resets that operation."""

    recipe: Recipe
    operations: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [name for name in self.operations if name not in OPERATIONS_BY_NAME]
        if unknown:
            raise RecipeError(f"unknown operation(s) {', '.join(map(repr, unknown))}")
        chosen = set(self.operations)  # pipeline order, each once
        object.__setattr__(self, "operations", tuple(op.name for op in OPERATIONS if op.name in chosen))
        object.__setattr__(self, "recipe", Recipe(
            params={name: value for name, value in self.recipe.params.items() if name in chosen},
            disabled=frozenset(self.recipe.disabled & chosen)))

    def paste_onto(self, target: Recipe) -> Recipe:
        """``target`` with these operations replaced by the copied ones."""
        for name in self.operations:
            target = target.with_params(name, self.recipe.get(name)).with_enabled(name, name not in self.recipe.disabled)
        return target

    def to_dict(self) -> dict:
        """The sidecar's JSON form, listing only the copied operations."""
        data = self.recipe.to_dict()
        data["operations"] = [entry for entry in data["operations"] if entry["op"] in self.operations]
        return data

    @staticmethod
    def from_dict(data: Any) -> "CopiedSettings":
        """Parse the sidecar JSON form; the operations it lists are the copied ones."""
        recipe = Recipe.from_dict(data)
        return CopiedSettings(recipe, tuple(entry["op"] for entry in data["operations"]))


def copy_settings(recipe: Recipe, operations=None) -> CopiedSettings:
    """The settings of ``operations`` (names; default :func:`default_copy_selection`) of ``recipe``."""
    return CopiedSettings(recipe, tuple(default_copy_selection(recipe) if operations is None else operations))


def _current_params(op: Operation, entry: dict) -> Any:
    """The entry's params as the operation's current version reads them (older ones migrated)."""
    version = entry.get("version", 1)
    data = entry.get("params", {})
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecipeError(f"operation {op.name!r} has no valid 'version' (a whole number from 1): {version!r}")
    if version > op.version:
        raise RecipeError(f"operation {op.name!r} was written by a newer PhotoLab (version {version}, this one "
                          f"reads up to {op.version})")
    if version == op.version:
        return data
    if op.migrate is None or not isinstance(data, dict):
        raise RecipeError(f"operation {op.name!r}: cannot read parameters of version {version}")
    try:
        return op.migrate(dict(data), version)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecipeError(f"operation {op.name!r}: cannot migrate parameters of version {version} ({exc})") from exc


def _params_to_json(params: Any) -> dict:
    return {f.name: _to_json_value(getattr(params, f.name)) for f in dataclasses.fields(params)}


def _to_json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    return value


def _params_from_json(params_type: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise RecipeError(f"params of {params_type.__name__} must be an object")
    known = {f.name: f for f in dataclasses.fields(params_type)}
    unknown = set(data) - set(known)
    if unknown:
        raise RecipeError(f"unknown parameter(s) {sorted(unknown)} for {params_type.__name__}")
    values = {}
    for name, value in data.items():
        default = getattr(params_type(), name)
        values[name] = _coerce(name, value, default)
    try:
        return params_type(**values)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"invalid parameters for {params_type.__name__}: {exc}") from exc


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Check a JSON value against the type of the field's default."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = type(default)(value) if ok and isinstance(default, float) else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple) or default is None:
        ok = value is None or isinstance(value, list)
        value = tuple(value) if isinstance(value, list) else value
    else:
        ok = True
    if not ok:
        raise RecipeError(f"parameter {name!r} has the wrong type: {value!r}")
    return value


MAX_RECIPE_BYTES = 16_000_000


def sidecar_path(photo_path: str | Path) -> Path:
    """``IMG_0001.CR2`` -> ``IMG_0001.CR2.photolab.json``."""
    photo_path = Path(photo_path)
    return photo_path.with_name(photo_path.name + SIDECAR_SUFFIX)


def read_recipe_file(path: str | Path) -> Recipe:
    """Read a recipe JSON file; raises RecipeError (invalid/future, not a regular file, over 16 MB) or
    FileNotFoundError."""
    return _parse_file(path, Recipe.from_dict)


def read_settings_file(path: str | Path) -> "CopiedSettings":
    """Read a recipe JSON file as the settings of the operations it lists (a preset lists some; a sidecar
    all); raises like :func:`read_recipe_file`."""
    return _parse_file(path, CopiedSettings.from_dict)


def _parse_file(path: str | Path, parse):
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise RecipeError(f"{path}: not a regular file")
        if info.st_size > MAX_RECIPE_BYTES:
            raise RecipeError(f"{path}: {info.st_size / 1e6:.0f} MB is far too large for a recipe")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: not a text file") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise RecipeError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from exc
    except RecursionError:
        raise RecipeError(f"{path}: invalid JSON (nested too deeply)") from None
    try:
        return parse(data)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise RecipeError(f"{path}: not a PhotoLab recipe ({type(exc).__name__}: {exc})") from exc


def load_sidecar(photo_path: str | Path) -> tuple[Recipe | None, str | None]:
    """The recipe saved beside ``photo_path``: (recipe, None), (None, None) when there is no sidecar, or
    (None, warning) when it exists but cannot be used (invalid JSON, future schema): it is then ignored and
    ``save_sidecar`` will refuse to overwrite it unless told to."""
    path = sidecar_path(photo_path)
    try:
        return read_recipe_file(path), None
    except FileNotFoundError:
        return None, None
    except RecipeError as exc:
        log.warning("ignoring sidecar: %s", exc)
        return None, f"Ignoring the edit sidecar: {exc}"


def save_sidecar(photo_path: str | Path, recipe: Recipe, *, overwrite_unreadable: bool = False) -> Path:
    """Write the recipe beside the photo, atomically. An existing sidecar that cannot be read (corrupt or
    from a newer PhotoLab) is kept unless ``overwrite_unreadable``: raises RecipeError instead."""
    from photolab.core.atomic import write_bytes_atomic

    path = sidecar_path(photo_path)
    with SIDECAR_LOCK:
        try:
            existing = read_sidecar_data(photo_path) or {}
        except RecipeError as exc:
            if not overwrite_unreadable:
                raise RecipeError(f"not overwriting the existing sidecar, which this PhotoLab cannot read: {exc}") \
                    from exc
            existing = {}
        data = recipe.to_dict()
        data.update({key: existing[key] for key in SIDECAR_EXTRA_KEYS if key in existing})
        write_bytes_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return path


def read_sidecar_data(photo_path: str | Path) -> dict | None:
    """The sidecar's JSON object, checked to hold a recipe this PhotoLab reads; None when there is no sidecar.
    Raises RecipeError like :func:`read_recipe_file`."""
    try:
        return _parse_file(sidecar_path(photo_path), lambda data: (Recipe.from_dict(data), data)[1])
    except FileNotFoundError:
        return None


def update_sidecar_data(photo_path: str | Path, changes: dict) -> dict:
    """Set top-level ``changes`` (keys of :data:`SIDECAR_EXTRA_KEYS`) in the sidecar, atomically, keeping its
    recipe (a photo without a sidecar gets one with the neutral recipe); returns the new JSON object. A
    sidecar this PhotoLab cannot read is never overwritten: raises RecipeError."""
    from photolab.core.atomic import write_bytes_atomic

    unknown = set(changes) - set(SIDECAR_EXTRA_KEYS)
    if unknown:
        raise KeyError(f"not sidecar keys: {sorted(unknown)}")
    with SIDECAR_LOCK:
        try:
            data = read_sidecar_data(photo_path)
        except RecipeError as exc:
            raise RecipeError(f"not changing the sidecar, which this PhotoLab cannot read: {exc}") from exc
        data = dict(data) if data is not None else Recipe().to_dict()
        data.update(changes)
        write_bytes_atomic(sidecar_path(photo_path), (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return data
