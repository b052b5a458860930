"""Excitation probe on ours and on foreign SE naming schemes."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from photolab.models import create_model
from photolab.models.analysis.excitation import ExcitationProbe, find_se_gates, record_excitations
from photolab.models.analysis.records import default_stage_of


class TorchvisionStyleSE(nn.Module):
    """Same names and forward as torchvision.ops.SqueezeExcitation (torchvision is not installed here)."""

    def __init__(self, input_channels, squeeze_channels):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class TimmLegacySE(nn.Module):
    """timm.models.senet.SEModule naming: fc1, relu, fc2, sigmoid."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class Sigmoid(nn.Module):
    """Stands in for timm.layers.activations.Sigmoid: not an nn.Sigmoid."""

    def forward(self, x):
        return x.sigmoid()


class TimmNewSE(nn.Module):
    """timm.layers.squeeze_excite.SEModule naming: fc1, bn, act, fc2, gate."""

    def __init__(self, channels, rd):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd, 1)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd, channels, 1)
        self.gate = Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.bn(self.fc1(x.mean((2, 3), keepdim=True))))))


class NotSE(nn.Module):
    """Two 1x1 convs and a sigmoid, but not a C -> r -> C bottleneck: must not be taken for SE."""

    def __init__(self, channels=32):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, 4, 1)
        self.fc2 = nn.Conv2d(4, 2, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return self.gate(self.fc2(self.fc1(x)))


def hand_excitation(se_input, fc1, fc2):
    z = se_input.mean((2, 3))
    return torch.sigmoid(torch.relu(z @ fc1.weight[:, :, 0, 0].T + fc1.bias) @ fc2.weight[:, :, 0, 0].T + fc2.bias)


def foreign_tree():
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        stem=nn.Conv2d(3, 16, 3, padding=1),
        tv=TorchvisionStyleSE(16, 4),
        stage=nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), TimmLegacySE(32), TimmNewSE(32, 8)),
        odd=NotSE(),
        out=nn.Sigmoid(),
    )).eval()


def test_probe_finds_foreign_se_modules_by_structure():
    model = foreign_tree()
    gates = find_se_gates(model)
    assert [(g.name, g.gate_name, g.channels) for g in gates] == [
        ("tv", "tv.scale_activation", 16), ("stage.1", "stage.1.sigmoid", 32), ("stage.2", "stage.2.gate", 32)]
    inputs = {}
    for name in ("tv", "stage.1", "stage.2"):
        model.get_submodule(name).register_forward_pre_hook(lambda m, a, k=name: inputs.__setitem__(k, a[0]))
    x = torch.randn(2, 3, 16, 16)
    with ExcitationProbe(model) as probe, torch.no_grad():
        model(x)
    excitations = probe.excitations
    assert list(excitations) == ["tv", "stage.1", "stage.2"]
    for name, s in excitations.items():
        se = model.get_submodule(name)
        assert s.shape == (2, se.fc2.out_channels)
        torch.testing.assert_close(s, hand_excitation(inputs[name], se.fc1, se.fc2), atol=1e-6, rtol=1e-5)
    assert all(not g.gate._forward_hooks for g in find_se_gates(model))


def test_probe_on_our_model_records_every_block():
    model = create_model("seresnet18").eval()
    inputs = {}
    model.layer3[1].se.register_forward_pre_hook(lambda m, a: inputs.__setitem__("x", a[0]))
    x = torch.randn(3, 3, 64, 64)
    logits, excitations = record_excitations(model, x, as_numpy=True)
    assert logits.shape == (3, 1000)
    assert list(excitations) == [f"layer{s}.{b}.se" for s in range(1, 5) for b in range(2)]
    widths = {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}
    for name, s in excitations.items():
        assert isinstance(s, np.ndarray) and s.shape == (3, widths[default_stage_of(name)])
        assert ((s > 0) & (s < 1)).all()
    se = model.layer3[1].se
    with torch.no_grad():
        expected = se.excitation(inputs["x"])[:, :, 0, 0].numpy()
    np.testing.assert_allclose(excitations["layer3.1.se"], expected, atol=1e-6)
    assert not se.gate._forward_hooks


def test_probe_accumulates_and_clears():
    model = foreign_tree()
    with ExcitationProbe(model, accumulate=True) as probe, torch.no_grad():
        model(torch.randn(3, 3, 8, 8))
        model(torch.randn(2, 3, 8, 8))
        assert probe.excitations["stage.2"].shape == (5, 32)
        probe.clear()
        assert probe.excitations == OrderedDict()
    with ExcitationProbe(model) as probe, torch.no_grad():
        model(torch.randn(3, 3, 8, 8))
        model(torch.randn(2, 3, 8, 8))
    assert probe.excitations["tv"].shape == (2, 16)


def test_probe_refuses_models_without_se():
    with pytest.raises(ValueError, match="no squeeze-and-excitation"):
        ExcitationProbe(nn.Sequential(nn.Conv2d(3, 8, 1), NotSE(), nn.Sigmoid()))
    assert find_se_gates(create_model("seresnet50"))[0].name == "layer1.0.se"
    assert len(find_se_gates(create_model("seresnet50"))) == 16   # blocks themselves are not mistaken for SE
