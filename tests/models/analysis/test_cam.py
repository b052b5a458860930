"""CAM and Grad-CAM on models whose answer is known."""

import pytest
import torch
from torch import nn

from photolab.models import create_model
from photolab.models.analysis.cam import class_activation_map, grad_cam


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


def test_cam_of_a_network_that_also_reads_gradient_histograms():
    torch.manual_seed(0)
    model = create_model("seresnet18_gh", num_classes=3).eval()
    images = torch.randn(2, 3, 64, 64)
    result = class_activation_map(model, images)
    with torch.no_grad():
        logits = model(images)
    assert torch.allclose(result.score, logits.gather(1, result.class_index[:, None])[:, 0], atol=1e-5)
    assert result.maps.shape[-2:] == (64, 64)
