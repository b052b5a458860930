"""Selective copy / paste of a recipe's operations, and presets saved as sidecar-format JSON files."""

from __future__ import annotations

import json
import sys

import pytest

from photolab import __version__
from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams
from photolab.core.develop.sharpen import SharpenParams
from photolab.core.develop.tone_curve import ToneCurveParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.errors import RecipeError
from photolab.core.presets import (PresetError, UnknownPresetError, check_name, delete_preset, list_presets,
                                   load_preset, presets_dir, save_preset, user_data_dir)
from photolab.core.recipe import (CopiedSettings, Recipe, copy_settings, default_copy_selection, edited_operations,
                                  read_recipe_file, save_sidecar)

CROP = CropParams(left=0.1, top=0.05, right=0.9, bottom=0.95)


@pytest.fixture
def source() -> Recipe:
    return (Recipe().with_params("exposure", ExposureParams(ev=0.7))
            .with_params("crop", CROP)
            .with_params("white_balance", WhiteBalanceParams(mode="kelvin", temperature=4300.0, tint=5.0))
            .with_params("tone_curve", ToneCurveParams(luminance=((0.0, 0.0), (0.5, 0.62), (1.0, 1.0))))
            .with_params("sharpen", SharpenParams(amount=0.8)).with_enabled("sharpen", False))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_edited_operations_and_the_default_selection_leave_geometry_out(source):
    assert edited_operations(source) == ["crop", "white_balance", "exposure", "tone_curve", "sharpen"]
    assert default_copy_selection(source) == ["white_balance", "exposure", "tone_curve", "sharpen"]
    assert copy_settings(source).operations == ("white_balance", "exposure", "tone_curve", "sharpen")
    assert edited_operations(Recipe()) == []


def test_paste_replaces_the_chosen_operations_and_keeps_the_others(source):
    target = (Recipe().with_params("contrast", ContrastParams(amount=0.3))
              .with_params("exposure", ExposureParams(ev=-1.0))
              .with_params("crop", CropParams(left=0.2)))
    pasted = copy_settings(source).paste_onto(target)
    assert pasted.get("exposure") == ExposureParams(ev=0.7)
    assert pasted.get("white_balance") == source.get("white_balance")
    assert pasted.get("tone_curve") == source.get("tone_curve")
    assert pasted.get("sharpen") == SharpenParams(amount=0.8) and "sharpen" in pasted.disabled
    assert pasted.get("contrast") == ContrastParams(amount=0.3)  # not copied: kept
    assert pasted.get("crop") == CropParams(left=0.2)  # geometry is not pasted by default


def test_geometry_can_be_chosen_and_an_unedited_choice_resets_that_operation(source):
    target = Recipe().with_params("contrast", ContrastParams(amount=0.3)).with_enabled("exposure", False)
    settings = copy_settings(source, ["crop", "contrast", "exposure"])
    assert settings.operations == ("crop", "exposure", "contrast")  # pipeline order
    pasted = settings.paste_onto(target)
    assert pasted.get("crop") == CROP
    assert pasted.get("contrast") == ContrastParams()  # source has the defaults: pasting them resets it
    assert "exposure" not in pasted.disabled and pasted.get("exposure") == ExposureParams(ev=0.7)
    assert pasted.get("white_balance") == WhiteBalanceParams()  # not chosen


def test_unknown_operations_are_refused(source):
    with pytest.raises(RecipeError, match="nonsense"):
        copy_settings(source, ["exposure", "nonsense"])


def test_settings_round_trip_through_the_sidecar_json_form(source):
    settings = copy_settings(source, ["crop", "contrast", "exposure", "sharpen"])
    data = json.loads(json.dumps(settings.to_dict()))
    assert [entry["op"] for entry in data["operations"]] == ["crop", "exposure", "contrast", "sharpen"]
    assert all(entry["version"] == OPERATIONS_BY_NAME[entry["op"]].version for entry in data["operations"])
    assert CopiedSettings.from_dict(data) == settings
    # The same serialisation as a sidecar: a whole recipe copied is the sidecar's dict.
    assert copy_settings(source, list(OPERATIONS_BY_NAME)).to_dict() == source.to_dict()


def test_data_dir_honours_the_override_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "mine"))
    assert presets_dir() == tmp_path / "mine" / "presets"
    monkeypatch.delenv("PHOTOLAB_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert user_data_dir() == tmp_path / "xdg" / "photolab"


def test_preset_round_trip_through_files(data_dir, source):
    settings = copy_settings(source)
    path = save_preset("Warm film", settings)
    assert path == data_dir / "presets" / "Warm film.json"
    data = json.loads(path.read_text())
    assert data["software"] == f"PhotoLab {__version__}" and data["preset"] == "Warm film"
    assert [entry["op"] for entry in data["operations"]] == list(settings.operations)
    assert load_preset("Warm film").settings == settings
    assert read_recipe_file(path) == settings.recipe  # a preset file is a (partial) sidecar
    save_preset("another", copy_settings(source, ["crop"]))
    assert list_presets() == ["another", "Warm film"]
    with pytest.raises(PresetError, match="already exists"):
        save_preset("another", settings)
    save_preset("another", settings, replace=True)
    assert load_preset("another").settings == settings
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind
    delete_preset("another")
    assert list_presets() == ["Warm film"]
    with pytest.raises(UnknownPresetError, match="no preset named 'another' .*presets: Warm film"):
        load_preset("another")
    with pytest.raises(UnknownPresetError):
        delete_preset("another")


def test_a_sidecar_and_a_preset_of_every_operation_agree(data_dir, source, tmp_path):
    photo = tmp_path / "photo.png"
    sidecar = save_sidecar(photo, source)
    save_preset("all", copy_settings(source, list(OPERATIONS_BY_NAME)))
    preset = json.loads(preset_file("all").read_text())
    del preset["preset"]
    assert preset == json.loads(sidecar.read_text())


def preset_file(name):
    return presets_dir() / f"{name}.json"


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "trailing.", "trailing ", "nul\0", "x" * 101,
                                  "tab\tname", "back\\slash"])
def test_unsafe_names_are_refused(data_dir, source, name):
    with pytest.raises(PresetError, match="not a usable preset name"):
        save_preset(name, copy_settings(source))
    assert not (data_dir / "presets").exists() or not any((data_dir / "presets").iterdir())


def test_safe_names_are_accepted():
    for name in ("Warm", "B&W (strong)", "Été 2024", "v1.2-soft_look"):
        assert check_name(name) == name


def test_an_empty_selection_is_refused(data_dir, source):
    with pytest.raises(PresetError, match="at least one"):
        save_preset("empty", copy_settings(source, []))


@pytest.mark.parametrize("content, reason", [
    ("{not json", "invalid JSON"),
    ('{"schema": "something.else", "version": 1, "operations": []}', "not a PhotoLab recipe"),
    ('{"schema": "photolab.recipe", "version": 99, "operations": []}', "newer PhotoLab"),
    ('{"schema": "photolab.recipe", "version": 1, "operations": [{"op": "exposure", "version": 7, "params": {}}]}',
     "newer PhotoLab"),
    ('[1, 2]', "not a PhotoLab recipe"),
])
def test_a_damaged_or_foreign_preset_is_a_one_line_error_naming_it(data_dir, content, reason):
    folder = data_dir / "presets"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text(content)
    assert list_presets() == ["broken"]
    with pytest.raises(PresetError) as info:
        load_preset("broken")
    message = str(info.value)
    assert "\n" not in message and "broken" in message and reason in message
    assert not isinstance(info.value, UnknownPresetError)


def test_no_presets_folder_lists_none_and_names_the_folder(data_dir):
    assert list_presets() == []
    with pytest.raises(UnknownPresetError, match="there are no presets in"):
        load_preset("anything")
