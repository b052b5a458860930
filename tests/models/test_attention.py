"""Excitation probe on ours and on foreign SE naming schemes; CAM and Grad-CAM on models whose answer is known."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from photolab.models import create_model
from photolab.models.attention import (ExcitationProbe, class_activation_map, class_specificity, default_stage_of,
                                       find_se_gates, grad_cam, record_excitations, stage_specificity)


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


class BrightnessNet(nn.Module):
    """Channel 0 = local brightness, channel 1 = local darkness; class 0 = 'bright', class 1 = 'dark'."""

    def __init__(self, inplace=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, stride=2, padding=1)
        self.act = nn.ReLU(inplace=inplace)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0] = 1.0 / 27
            self.conv.weight[1] = -1.0 / 27
            self.conv.bias.copy_(torch.tensor([0.0, 1.0]))
            self.fc.weight.copy_(torch.eye(2))
            self.fc.bias.zero_()

    def forward_features(self, x):
        return self.act(self.conv(x))

    def forward_head(self, x):
        return self.fc(x.mean((2, 3)))

    def get_classifier(self):
        return self.fc

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


def bright_square():
    image = torch.zeros(1, 3, 32, 32)
    image[:, :, 4:12, 20:28] = 1.0
    return image


def peak(map_):
    row, col = divmod(int(map_.argmax()), map_.shape[-1])
    return row, col


@pytest.mark.parametrize("method", ["cam", "grad_cam"])
def test_maps_point_at_the_bright_square(method):
    model, image = BrightnessNet().eval(), bright_square()
    explain = class_activation_map if method == "cam" else (lambda m, x, c: grad_cam(m, x, "act", c))
    bright = explain(model, image, 0)
    assert bright.maps.shape == (1, 32, 32) and float(bright.maps.min()) == 0.0 and float(bright.maps.max()) == 1.0
    row, col = peak(bright.maps[0])
    assert 4 <= row < 12 and 20 <= col < 28
    assert bright.maps[0, 8, 24] > 0.95 and bright.maps[0, 28, 4] < 0.05
    dark = explain(model, image, 1)
    assert dark.maps[0, 8, 24] < 0.05 and dark.maps[0, 28, 4] > 0.95
    assert explain(model, image, None).class_index.tolist() == [1]  # mostly dark image


def test_cam_is_the_logit_decomposition():
    model = create_model("seresnet18", num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    result = class_activation_map(model, x, class_index=[3, 7])
    assert result.raw.shape == (2, 2, 2) and result.class_index.tolist() == [3, 7]
    torch.testing.assert_close(result.raw.mean((1, 2)) + model.fc.bias[[3, 7]], result.score, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(result.score, model(x)[[0, 1], [3, 7]], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="global-average-pool"):
        class_activation_map(nn.Sequential(nn.Conv2d(3, 2, 1)), x)


def test_grad_cam_on_last_stage_equals_rectified_cam():
    """For a GAP + linear head right after layer4, d logit / d A = w / (h w): Grad-CAM = relu(CAM) / (h w)."""
    model = create_model("seresnet18", num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    cam = class_activation_map(model, x)
    with torch.no_grad():  # Grad-CAM must turn gradients on by itself
        result = grad_cam(model, x)
    assert result.class_index.tolist() == cam.class_index.tolist()
    torch.testing.assert_close(result.raw * 4, torch.relu(cam.raw), atol=1e-5, rtol=1e-4)
    assert all(p.grad is None for p in model.parameters())
    assert not model.layer4._forward_hooks and not model.training


def test_grad_cam_survives_inplace_ops_and_releases_hooks():
    image = bright_square()
    reference = grad_cam(BrightnessNet().eval(), image, "conv", 0)
    inplace = BrightnessNet(inplace=True).eval()
    torch.testing.assert_close(grad_cam(inplace, image, "conv", 0).maps, reference.maps)
    assert not inplace.conv._forward_hooks
    model = BrightnessNet().eval()
    model.unused = nn.Conv2d(3, 3, 1)
    with pytest.raises(ValueError, match="did not run"):
        grad_cam(model, image, "unused")
    assert not model.unused._forward_hooks
    with pytest.raises(ValueError, match=r"\(B, C, h, w\) output"):
        grad_cam(model, image, "fc")
    assert not model.fc._forward_hooks


def test_class_specificity_by_hand():
    labels = ["a", "a", "b", "b"]
    excitations = {
        "layer1.0.se": np.array([[0.0], [0.0], [1.0], [1.0]]),   # constant within class: 1
        "layer1.1.se": np.array([[0.0], [1.0], [0.0], [1.0]]),   # same class means: 0
        "layer2.0.se": np.array([[0.0], [2.0], [1.0], [3.0]]),   # means 1, 2; between 0.25 / total 1.25
    }
    result = class_specificity(excitations, labels)
    assert list(result) == list(excitations)
    np.testing.assert_allclose(list(result.values()), [1.0, 0.0, 0.2], atol=1e-12)
    stages = stage_specificity(excitations, labels)
    assert list(stages) == ["layer1", "layer2"]
    np.testing.assert_allclose(list(stages.values()), [0.5, 0.2], atol=1e-12)
    with pytest.raises(ValueError, match="two classes"):
        class_specificity(excitations, ["a"] * 4)
    with pytest.raises(ValueError, match=r"expected \(3, C\)"):
        class_specificity(excitations, ["a", "b", "b"])


def test_class_specificity_separates_class_driven_channels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    noise = rng.uniform(0.2, 0.8, size=(200, 64))
    driven = np.clip(noise * 0.2 + 0.2 * labels[:, None], 0, 1)
    result = class_specificity({"early.se": noise, "late.se": driven}, labels)
    assert result["early.se"] < 0.05 and result["late.se"] > 0.9
