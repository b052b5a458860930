"""The recipe as data: JSON round trip, validation, sidecars next to the original."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME, ORDER_VERSION
from photolab.core.develop.look import LookParams
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.denoise import DenoiseParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.develop.highlights import HighlightsParams
from photolab.core.develop.hsl import HslParams
from photolab.core.develop.saturation import SaturationParams
from photolab.core.develop.lens import LensParams
from photolab.core.develop.shadows import ShadowsParams
from photolab.core.develop.sharpen import SharpenParams
from photolab.core.develop.straighten import StraightenParams
from photolab.core.develop.tone_curve import ToneCurveParams
from photolab.core.develop.vignette import VignetteParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.errors import RecipeError
from photolab.core.photo import Photo
from photolab.core.recipe import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    Recipe,
    load_sidecar,
    read_recipe_file,
    save_sidecar,
    sidecar_path,
)

EVERY_OPERATION = {
    "lens_correction": LensParams(enabled=True, lens="Canon EF 16-35mm f/2.8L II USM", tca=False),
    "orient": OrientParams(1),
    "straighten": StraightenParams(2.5),
    "crop": CropParams(0.1, 0.05, 0.8, 0.9),
    "denoise": DenoiseParams(12.5, adaptive=True),
    "white_balance": WhiteBalanceParams("custom", temperature=4100.0, tint=-12.5, multipliers=(1.7, 1.0, 1.3)),
    "exposure": ExposureParams(0.7),
    "highlights": HighlightsParams(-55.0),
    "shadows": ShadowsParams(35.0, -20.0),
    "contrast": ContrastParams(25.0),
    "saturation": SaturationParams(15.0, 40.0),
    "hsl": HslParams(red_hue=10.0, green_saturation=-30.0, blue_luminance=25.0),
    "tone_curve": ToneCurveParams(luminance=((0.0, 0.05), (0.5, 0.55), (1.0, 1.0)), blue=((0.0, 0.0), (1.0, 0.9))),
    "vignette": VignetteParams(amount=-35.0, midpoint=40.0, roundness=20.0, feather=70.0),
    "sharpen": SharpenParams(amount=80.0, radius=1.2, masking=25.0),
    "look": LookParams("test-look", 60.0),
}


def full_recipe() -> Recipe:
    recipe = Recipe()
    for name, params in EVERY_OPERATION.items():
        recipe = recipe.with_params(name, params)
    return recipe


def test_every_operation_is_covered_with_non_default_params():
    assert list(EVERY_OPERATION) == [op.name for op in OPERATIONS]
    assert not any(OPERATIONS_BY_NAME[name].is_identity(p) for name, p in EVERY_OPERATION.items())


def sample_photo(seed=0) -> Photo:
    rng = np.random.default_rng(seed)
    return Photo((rng.random((24, 36, 3)) ** 2 * 1.3).astype(np.float32))


def round_trip(recipe: Recipe) -> Recipe:
    return Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))


# --- JSON ---------------------------------------------------------------------------------------------


def test_json_round_trip_with_every_operation_set_and_one_disabled():
    recipe = full_recipe().with_enabled("contrast", False)
    back = round_trip(recipe)
    assert back == recipe
    assert back.get("white_balance").multipliers == (1.7, 1.0, 1.3)
    assert back.disabled == frozenset({"contrast"})


def test_to_dict_lists_every_operation_in_pipeline_order_with_schema_and_version():
    data = Recipe().with_params("exposure", ExposureParams(1.0)).to_dict()
    assert data["schema"] == SCHEMA_NAME and data["version"] == SCHEMA_VERSION
    assert data["order_version"] == ORDER_VERSION
    assert [entry["op"] for entry in data["operations"]] == [op.name for op in OPERATIONS]
    exposure_entry = next(entry for entry in data["operations"] if entry["op"] == "exposure")
    assert exposure_entry == {"op": "exposure", "version": 1, "enabled": True, "params": {"ev": 1.0}}


def test_a_partial_recipe_reads_back_to_the_same_settings():
    recipe = Recipe().with_params("shadows", ShadowsParams(blacks=10.0))
    back = round_trip(recipe)
    assert all(back.get(op.name) == recipe.get(op.name) for op in OPERATIONS)
    assert [op.name for op, _ in back.active_operations()] == ["shadows"]


def test_json_numbers_are_coerced_to_the_parameter_types():
    data = Recipe().to_dict()
    params = {entry["op"]: entry["params"] for entry in data["operations"]}
    params["exposure"]["ev"] = 1  # an int where a float is expected
    params["orient"]["quarter_turns"] = 2.0  # a whole float where an int is expected
    recipe = Recipe.from_dict(data)
    assert recipe.get("exposure") == ExposureParams(1.0) and isinstance(recipe.get("exposure").ev, float)
    assert recipe.get("orient") == OrientParams(2)


def with_entry(op: str, params: dict) -> dict:
    data = Recipe().to_dict()
    data["operations"].append({"op": op, "enabled": True, "params": params})
    return data


@pytest.mark.parametrize(
    "data,words",
    [
        (with_entry("no_such_step", {"amount": 10}), "unknown operation 'no_such_step'"),
        (with_entry("exposure", {"ev": 1.0, "gamma": 2.2}), "unknown parameter"),
        (with_entry("exposure", {"ev": "bright"}), "wrong type"),
        (with_entry("exposure", {"ev": 40.0}), "between"),
        (with_entry("white_balance", {"mode": "candlelight"}), "mode"),
        (with_entry("crop", {"left": 0.9, "right": 0.1}), "less than"),
        (with_entry("white_balance", {"mode": "custom", "multipliers": [1, 2]}), "multipliers"),
        (with_entry("contrast", [1, 2]), "must be an object"),
        ({"schema": "something.else", "version": 1, "operations": []}, "not a PhotoLab recipe"),
        ({"schema": SCHEMA_NAME, "operations": []}, "version"),
        ({"schema": SCHEMA_NAME, "version": SCHEMA_VERSION + 1, "operations": []}, "newer"),
        ({"schema": SCHEMA_NAME, "version": SCHEMA_VERSION}, "operations"),
        ({"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "order_version": ORDER_VERSION + 1, "operations": []},
         "another operation order"),
        ({"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "order_version": "new", "operations": []},
         "another operation order"),
        ([1, 2, 3], "not a PhotoLab recipe"),
    ],
)
def test_invalid_recipes_raise_recipe_error_with_a_clear_message(data, words):
    with pytest.raises(RecipeError, match=words):
        Recipe.from_dict(data)


# --- per-operation versions ------------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_sidecar_written_before_operation_versions_still_loads(tmp_path):
    path = FIXTURES / "sidecar_before_operation_versions.photolab.json"
    recipe = read_recipe_file(path)
    written = {entry["op"] for entry in json.loads(path.read_text())["operations"]}
    expected = Recipe(params={name: params for name, params in EVERY_OPERATION.items() if name in written})
    assert recipe == expected.with_enabled("contrast", False)


def test_every_entry_records_its_operations_version():
    entries = Recipe().to_dict()["operations"]
    assert [entry["version"] for entry in entries] == [op.version for op in OPERATIONS]


def exposure_entry_of_version(version: int, params: dict) -> dict:
    data = Recipe().to_dict()
    data["operations"] = [{"op": "exposure", "version": version, "enabled": True, "params": params}]
    return data


@pytest.fixture
def exposure_version_2(monkeypatch):
    """Exposure as if its version 2 had renamed ``stops`` (version 1) to ``ev``."""
    calls = []

    def migrate(params: dict, from_version: int) -> dict:
        calls.append((dict(params), from_version))
        return {"ev": params.pop("stops")}

    op = dataclasses.replace(OPERATIONS_BY_NAME["exposure"], version=2, migrate=migrate)
    monkeypatch.setitem(OPERATIONS_BY_NAME, "exposure", op)
    return calls


def test_an_older_operation_version_is_migrated(exposure_version_2):
    recipe = Recipe.from_dict(exposure_entry_of_version(1, {"stops": 1.5}))
    assert recipe.get("exposure") == ExposureParams(1.5)
    assert exposure_version_2 == [({"stops": 1.5}, 1)]
    assert Recipe.from_dict(exposure_entry_of_version(2, {"ev": 0.5})).get("exposure") == ExposureParams(0.5)


def test_a_migration_that_fails_is_a_recipe_error(exposure_version_2):
    with pytest.raises(RecipeError, match="operation 'exposure': cannot migrate parameters of version 1"):
        Recipe.from_dict(exposure_entry_of_version(1, {"ev": 1.0}))


def test_an_older_version_without_a_migration_is_a_recipe_error(monkeypatch):
    monkeypatch.setitem(OPERATIONS_BY_NAME, "exposure", dataclasses.replace(OPERATIONS_BY_NAME["exposure"], version=3))
    with pytest.raises(RecipeError, match="cannot read parameters of version 1"):
        Recipe.from_dict(exposure_entry_of_version(1, {"ev": 1.0}))


@pytest.mark.parametrize("version,words", [
    (2, "operation 'exposure' was written by a newer PhotoLab \\(version 2, this one reads up to 1\\)"),
    (0, "no valid 'version'"),
    ("1", "no valid 'version'"),
    (True, "no valid 'version'"),
])
def test_a_newer_or_invalid_operation_version_is_a_recipe_error(version, words):
    with pytest.raises(RecipeError, match=words):
        Recipe.from_dict(exposure_entry_of_version(version, {"ev": 1.0}))


def test_a_sidecar_with_a_newer_operation_is_ignored_with_a_warning_and_kept(tmp_path):
    photo = tmp_path / "photo.png"
    sidecar_path(photo).write_text(json.dumps(exposure_entry_of_version(7, {"ev": 1.0})))
    recipe, warning = load_sidecar(photo)
    assert recipe is None and "newer PhotoLab (version 7" in warning
    with pytest.raises(RecipeError, match="not overwriting"):
        save_sidecar(photo, full_recipe())


# --- sidecars ---------------------------------------------------------------------------------------------


@pytest.fixture
def original(tmp_path):
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(b"pretend raw data")
    return path


def test_sidecar_sits_beside_the_original_with_the_full_name():
    assert sidecar_path("/photos/IMG_0001.CR2").as_posix() == "/photos/IMG_0001.CR2.photolab.json"


def test_sidecar_save_and_load_round_trip_leaves_the_original_alone(original):
    recipe = full_recipe().with_enabled("orient", False)
    written = save_sidecar(original, recipe)
    assert written == sidecar_path(original)
    assert json.loads(written.read_text())["schema"] == SCHEMA_NAME
    assert load_sidecar(original) == (recipe, None)
    assert original.read_bytes() == b"pretend raw data"
    assert sorted(p.name for p in original.parent.iterdir()) == ["IMG_0001.CR2", "IMG_0001.CR2.photolab.json"]


def test_a_missing_sidecar_is_no_recipe_and_no_warning(original):
    assert load_sidecar(original) == (None, None)
    with pytest.raises(FileNotFoundError):
        read_recipe_file(sidecar_path(original))


def test_saving_replaces_an_older_readable_sidecar(original):
    save_sidecar(original, Recipe().with_params("exposure", ExposureParams(1.0)))
    save_sidecar(original, Recipe().with_params("exposure", ExposureParams(-1.0)))
    assert load_sidecar(original)[0].get("exposure") == ExposureParams(-1.0)


@pytest.mark.parametrize(
    "content,words",
    [
        ("{ this is not json", "invalid JSON"),
        (json.dumps({"schema": SCHEMA_NAME, "version": SCHEMA_VERSION + 5, "operations": []}), "newer PhotoLab"),
        (json.dumps({"schema": SCHEMA_NAME, "version": 1, "operations": [{"op": "warp", "params": {}}]}), "warp"),
    ],
    ids=["invalid-json", "future-schema", "unknown-operation"],
)
def test_an_unreadable_sidecar_is_ignored_with_a_warning_and_never_overwritten_silently(original, caplog, content,
                                                                                         words):
    path = sidecar_path(original)
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="photolab.core.recipe"):
        recipe, warning = load_sidecar(original)
    assert recipe is None
    assert words in warning and str(path) in warning
    assert any(words in record.getMessage() for record in caplog.records)
    with pytest.raises(RecipeError, match="not overwriting"):
        save_sidecar(original, full_recipe())
    assert path.read_text() == content
    save_sidecar(original, full_recipe(), overwrite_unreadable=True)  # only when told to
    assert load_sidecar(original) == (full_recipe(), None)


def test_a_sidecar_that_is_not_text_is_reported(original):
    sidecar_path(original).write_bytes(b"\xff\xfe\x00binary")
    recipe, warning = load_sidecar(original)
    assert recipe is None and "not a text file" in warning


def test_default_parameters_are_dropped_so_equal_edits_compare_equal():
    assert Recipe.from_dict(Recipe().to_dict()) == Recipe()
    edited = Recipe().with_params("exposure", ExposureParams(1.0))
    assert edited.with_params("exposure", ExposureParams(0.0)) == Recipe()
    assert Recipe.from_dict(edited.to_dict()) == edited
