"""photolab-cli ops: every develop operation in pipeline order, with its version and parameters."""

from __future__ import annotations

import dataclasses
import json

import pytest

from photolab.cli import main
from photolab.core.develop import OPERATIONS
from photolab.core.develop.params import param_specs

PARAMETER_KEYS = {"name", "type", "default", "range", "step", "unit", "label"}


def ops_json(capsys) -> dict:
    assert main(["ops", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ops_json_lists_every_operation_in_pipeline_order_with_its_version(capsys):
    listed = ops_json(capsys)["operations"]
    assert [op["name"] for op in listed] == [op.name for op in OPERATIONS]
    assert [op["version"] for op in listed] == [op.version for op in OPERATIONS]
    assert [op["label"] for op in listed] == [op.label for op in OPERATIONS]


def test_ops_json_describes_every_parameter_from_the_dataclasses(capsys):
    for op, listed in zip(OPERATIONS, ops_json(capsys)["operations"]):
        parameters = listed["parameters"]
        assert [p["name"] for p in parameters] == [f.name for f in dataclasses.fields(op.params_type)]
        specs = param_specs(op.params_type)
        for parameter in parameters:
            assert PARAMETER_KEYS <= set(parameter)
            spec = specs[parameter["name"]]
            assert parameter["label"] == spec.label and parameter["unit"] == spec.unit
            assert parameter["range"] == (list(spec.range) if spec.range else None)
            default = getattr(op.params_type(), parameter["name"])
            assert parameter["default"] == json.loads(json.dumps(default))


def test_ops_json_gives_the_ranges_the_cli_and_the_sliders_use(capsys):
    by_name = {op["name"]: {p["name"]: p for p in op["parameters"]} for op in ops_json(capsys)["operations"]}
    assert by_name["white_balance"]["temperature"] == {
        "name": "temperature", "type": "float", "default": 0.0, "range": [1500.0, 50000.0], "step": 50.0,
        "unit": "K", "label": "Temperature", "unset": 0.0, "soft_range": [2000.0, 50000.0]}
    assert by_name["exposure"]["ev"]["range"] == [-10.0, 10.0] and by_name["exposure"]["ev"]["unit"] == "EV"
    assert by_name["denoise"]["sigma"]["range"] == [0.0, 100.0]
    assert by_name["white_balance"]["mode"]["choices"] == ["as_shot", "auto", "kelvin", "custom"]
    assert by_name["orient"]["quarter_turns"]["type"] == "int"


def test_plain_ops_prints_a_table_with_one_row_per_parameter(capsys):
    assert main(["ops"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["OPERATION", "VERSION", "PARAMETER", "TYPE", "DEFAULT", "RANGE", "STEP", "UNIT",
                                "LABEL"]
    assert len(lines) == 1 + sum(len(dataclasses.fields(op.params_type)) for op in OPERATIONS)
    exposure = next(line for line in lines if line.startswith("exposure "))
    assert exposure.split() == ["exposure", "1", "ev", "float", "0.0", "-10", "..", "10", "0.01", "EV", "Exposure"]
    firsts = [line.split()[0] for line in lines[1:] if not line.startswith(" ")]
    assert firsts == [op.name for op in OPERATIONS]


def test_develop_checks_the_kelvin_range_of_the_white_balance_parameters(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"")
    for kelvin in ("1000", "60000"):
        with pytest.raises(SystemExit) as info:
            main(["develop", str(photo), "--wb", kelvin])
        assert info.value.code == 2
        assert "between 1500 and 50000 K" in capsys.readouterr().err
