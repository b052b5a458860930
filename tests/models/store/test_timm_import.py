"""timm checkpoints load into our models and compute exactly what timm computed (tests/fixtures/timm)."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from photolab.models import ModelImportError
from photolab.models.analysis.excitation import ExcitationProbe
from photolab.models.archs.seresnet import CATALOGUE, find_weights
from photolab.models.store.timm_import import load_state_dict_checked, load_timm_checkpoint, read_state_dict

from tests.models.timm_reference import (ARCHS, expected_sha256, fill_rule_state_dict, pretrained_cfg,
                                         reference_tensors, se_gates, weights_sha256)

TOL = dict(atol=1e-4, rtol=1e-4)


def save_as_timm_would(arch: str, state: dict, folder: Path) -> Path:
    """Legacy weights are pickled state_dicts, the new family's are safetensors."""
    if arch.startswith("legacy_"):
        path = folder / find_weights(arch).file_name
        torch.save(state, path)
    else:
        path = folder / "model.safetensors"
        save_file(state, str(path))
    return path


@pytest.mark.parametrize("arch", ARCHS)
def test_imported_timm_weights_reproduce_reference_outputs(arch, tmp_path):
    state = fill_rule_state_dict(arch)
    assert weights_sha256(state) == expected_sha256(arch), "fill rule does not reproduce the reference weights"
    path = save_as_timm_would(arch, state, tmp_path)
    del state
    model = load_timm_checkpoint(path, arch=arch)
    assert not model.training
    ref = reference_tensors(arch)

    taps = {}
    model.maxpool.register_forward_hook(lambda m, i, o: taps.__setitem__("stem", o))
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        for index, block in enumerate(model.get_submodule(stage)):
            block.register_forward_hook(lambda m, i, o, k=f"{stage}.{index}": taps.__setitem__(k, o))
    with ExcitationProbe(model) as probe, torch.no_grad():
        features = model.forward_features(ref["input"])
        pre_logits = model.forward_head(features, pre_logits=True)
        logits = model.forward_head(features)
    torch.testing.assert_close(taps["stem"], ref["stem"], **TOL)
    for name in [k for k in ref if k.startswith("block_mean/")]:
        torch.testing.assert_close(taps[name.split("/", 1)[1]].mean((2, 3))[0], ref[name], **TOL)
    torch.testing.assert_close(features, ref["features"], **TOL)
    torch.testing.assert_close(pre_logits, ref["pre_logits"], **TOL)
    torch.testing.assert_close(logits, ref["logits"], **TOL)

    # every SE excitation, in timm's order, with timm's widths
    gates = se_gates(arch)
    timm_name = (lambda ours: ours.replace(".se", ".se_module")) if arch.startswith("legacy_") else (lambda o: o)
    excitations = probe.excitations
    assert [timm_name(name) for name in excitations] == [g["module"] for g in gates]
    for (name, s), gate in zip(excitations.items(), gates):
        se = model.get_submodule(name)
        assert (se.channels, se.rd_channels) == (gate["channels"], gate["reduced_channels"])
        torch.testing.assert_close(s[0], ref[f"se/{gate['module']}"], **TOL)


def test_legacy_weights_need_the_legacy_forward(tmp_path):
    state = fill_rule_state_dict("legacy_seresnet18")
    path = save_as_timm_would("legacy_seresnet18", state, tmp_path)
    with pytest.raises(ModelImportError, match="legacy SENet checkpoint.*legacy_"):
        load_timm_checkpoint(path, arch="seresnet18")
    new_style = tmp_path / "new.safetensors"
    save_file({"fc.weight": torch.zeros(10, 512), "conv1.weight": torch.zeros(64, 3, 7, 7)}, str(new_style))
    with pytest.raises(ModelImportError, match="new ResNet checkpoint"):
        load_timm_checkpoint(new_style, arch="legacy_seresnet18")


def test_arch_from_catalogue_file_name_and_new_head(tmp_path):
    state = fill_rule_state_dict("legacy_seresnet18")
    path = save_as_timm_would("legacy_seresnet18", state, tmp_path)
    model = load_timm_checkpoint(path)  # seresnet18-4bb0ce65.pth is in the catalogue
    assert model.default_cfg.architecture == "legacy_seresnet18" and model.default_cfg.interpolation == "bicubic"
    torch.testing.assert_close(model.layer3[1].se.fc2.bias, state["layer3.1.se_module.fc2.bias"], atol=0, rtol=0)
    tuned = load_timm_checkpoint(path, num_classes=3)
    assert tuned.get_classifier().out_features == 3 and tuned.default_cfg.num_classes == 3
    torch.testing.assert_close(tuned.conv1.weight, state["layer0.conv1.weight"], atol=0, rtol=0)
    renamed = path.rename(tmp_path / "renamed.pth")
    with pytest.raises(ModelImportError, match="unknown file; say which architecture"):
        load_timm_checkpoint(renamed)
    assert load_timm_checkpoint(renamed, weights="legacy_seresnet18.in1k").default_cfg.interpolation == "bicubic"


def _small_new_checkpoint(tmp_path, edit):
    state = fill_rule_state_dict("seresnext26d_32x4d")
    edit(state)
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    return path


def test_importer_rejects_wrong_shape_with_key_names(tmp_path):
    def shrink(state):
        state["layer2.1.se.fc1.weight"] = state["layer2.1.se.fc1.weight"][:8].clone()
    path = _small_new_checkpoint(tmp_path, shrink)
    with pytest.raises(ModelImportError) as info:
        load_timm_checkpoint(path, arch="seresnext26d_32x4d")
    message = str(info.value)
    assert str(path) in message and "seresnext26d_32x4d" in message
    assert "1 wrong shape: layer2.1.se.fc1.weight (file [8, 512, 1, 1], model [32, 512, 1, 1])" in message


def test_importer_rejects_missing_and_unexpected_keys(tmp_path):
    def damage(state):
        del state["layer4.1.bn3.running_var"]
        state["layer4.1.extra.weight"] = torch.zeros(3)
    path = _small_new_checkpoint(tmp_path, damage)
    with pytest.raises(ModelImportError, match=r"1 missing: layer4\.1\.bn3\.running_var; "
                                               r"1 unexpected: layer4\.1\.extra\.weight"):
        load_timm_checkpoint(path, arch="seresnext26d_32x4d")
    # the wrong architecture for a file is caught by the same check
    with pytest.raises(ModelImportError, match="missing: .*unexpected: .*wrong shape"):
        load_timm_checkpoint(path, arch="seresnet50")


def test_check_leaves_model_untouched_on_failure():
    from photolab.models import create_model
    model = create_model("seresnet18")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = {k: torch.ones_like(v) for k, v in before.items()}
    bad["fc.bias"] = torch.ones(3)
    with pytest.raises(ModelImportError):
        load_state_dict_checked(model, bad)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())


class _Payload:
    """Unpickling this would run code: it creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_with_non_tensor_payload_is_refused(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "seresnet18-4bb0ce65.pth"
    torch.save({"conv1.weight": torch.zeros(1), "evil": _Payload(marker)}, path)
    with pytest.raises(ModelImportError, match="refused to load: not a weights-only pickle"):
        read_state_dict(path)
    with pytest.raises(ModelImportError, match="refused"):
        load_timm_checkpoint(path)
    assert not marker.exists()
    plain = tmp_path / "plain.pth"
    torch.save({"conv1.weight": torch.zeros(1), "epoch": 3}, plain)  # allowed by weights_only, still not weights
    with pytest.raises(ModelImportError, match="1 entries are not tensors, first: epoch"):
        read_state_dict(plain)


def test_unreadable_files_are_reported(tmp_path):
    with pytest.raises(ModelImportError, match="no such weights file"):
        read_state_dict(tmp_path / "absent.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 4)
    with pytest.raises(ModelImportError, match="not a readable weights file"):
        read_state_dict(broken)


@pytest.mark.parametrize("arch", ARCHS)
def test_catalogue_matches_timm_pretrained_cfg(arch):
    cfg = pretrained_cfg(arch)
    entry = find_weights(arch)
    pc, data, download = cfg["pretrained_cfg"], cfg["resolved_data_config"], cfg["weights_download"]
    assert entry.name == f"{arch}.{cfg['default_tag']}" and entry.arch == arch
    assert list(entry.config.input_size) == data["input_size"]
    assert list(entry.config.mean) == data["mean"] and list(entry.config.std) == data["std"]
    assert entry.config.crop_pct == data["crop_pct"] and entry.config.interpolation == data["interpolation"]
    assert entry.config.crop_mode == data["crop_mode"] and entry.config.num_classes == pc["num_classes"]
    assert entry.license == pc["license"]
    assert entry.test_crop_pct == pc.get("test_crop_pct")
    assert entry.test_input_size == (tuple(pc["test_input_size"]) if "test_input_size" in pc else None)
    assert entry.source == download["source"]
    if download["source"] == "url":
        assert entry.url == download["url"] and entry.file_name == download["filename"]
        assert entry.file_format == "pth" and download["filename"].split("-")[1].startswith(entry.sha256_prefix)
    else:
        assert (entry.hf_repo_id, entry.hf_filename) == (download["repo_id"], download["filename"])
        assert entry.hf_fallback_filename == download["fallback_filename"]
        assert entry.url == f"https://huggingface.co/{download['repo_id']}/resolve/main/{download['filename']}"
        assert entry.file_format == "safetensors" and entry.alternative_url == pc["url"]


def test_catalogue_is_consistent():
    names = [w.name for w in CATALOGUE]
    assert len(set(names)) == len(names)
    for weights in CATALOGUE:
        assert weights.url.startswith("https://") and weights.file_format in ("pth", "safetensors")
        assert find_weights(weights.file_name) is weights
        assert json.loads(json.dumps(asdict(weights)))["config"]["mean"] == [0.485, 0.456, 0.406]
    for unknown in ("resnet50.a1_in1k", "model.safetensors"):  # every hub file has that name upstream
        with pytest.raises(KeyError):
            find_weights(unknown)
    assert find_weights("seresnext26d_32x4d.bt_in1k.safetensors").arch == "seresnext26d_32x4d"
