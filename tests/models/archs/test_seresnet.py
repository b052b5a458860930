"""The SE-ResNet family: every architecture runs, the legacy and "d" variants, the fused SE paths."""

import pytest
import torch
from torch import nn

from photolab.models import create_model
from photolab.models.archs.seresnet import Bottleneck, list_models
from photolab.models.layers.squeeze_excite import SEModule

EXPECTED_MODELS = {"seresnet18", "seresnet34", "seresnet50", "seresnet101", "seresnext26d_32x4d",
                   "seresnext50_32x4d", "legacy_seresnet18", "legacy_seresnet34", "legacy_seresnet50",
                   "legacy_seresnet101"}


def test_the_family_lists_its_architectures_each_also_with_gradient_histograms():
    assert set(list_models()) == EXPECTED_MODELS | {f"{name}_gh" for name in EXPECTED_MODELS}


@pytest.mark.parametrize("name", sorted(EXPECTED_MODELS) + ["seresnet18_gh"])
def test_every_registered_model_runs_a_small_forward(name):
    model = create_model(name, num_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(x)
        pooled = model.forward_head(features, pre_logits=True)
        logits = model(x)
    assert features.shape == (2, model.num_features, 2, 2)
    assert pooled.shape == (2, model.num_features)
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    torch.testing.assert_close(model.logits_from(features, x), logits)
    cfg = model.default_cfg
    assert cfg.architecture == name and cfg.input_size == (3, 224, 224) and cfg.num_classes == 7
    assert cfg.mean == (0.485, 0.456, 0.406) and cfg.std == (0.229, 0.224, 0.225)
    assert model.get_submodule(cfg.classifier) is model.get_classifier()
    assert isinstance(model.get_submodule(cfg.first_conv), nn.Conv2d)


def test_reset_classifier_for_fine_tuning():
    model = create_model("seresnet18")
    before = model.layer1[0].conv1.weight.clone()
    model.reset_classifier(5)
    assert model.get_classifier().out_features == 5 and model.default_cfg.num_classes == 5
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 5)
    assert torch.equal(model.layer1[0].conv1.weight, before)
    model.reset_classifier(0)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 512)


def test_legacy_variant_moves_pool_and_stride():
    new, legacy = create_model("seresnet50"), create_model("legacy_seresnet50")
    assert (new.maxpool.padding, new.maxpool.ceil_mode) == (1, False)
    assert (legacy.maxpool.padding, legacy.maxpool.ceil_mode) == (0, True)
    assert new.layer2[0].conv1.stride == (1, 1) and new.layer2[0].conv2.stride == (2, 2)
    assert legacy.layer2[0].conv1.stride == (2, 2) and legacy.layer2[0].conv2.stride == (1, 1)
    # same parameter shapes, hence the same state_dict keys once renamed
    assert {k: v.shape for k, v in new.state_dict().items()} == {k: v.shape for k, v in legacy.state_dict().items()}
    # a grouped (ResNeXt) bottleneck keeps the stride on the 3x3 even in legacy mode, like timm's legacy SENet
    block = Bottleneck(256, 128, stride=2, legacy=True, cardinality=32, base_width=4)
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert create_model("seresnet50", legacy=True).maxpool.ceil_mode


def test_family_reduced_widths_follow_timm():
    assert [m.rd_channels for m in create_model("legacy_seresnet18").modules() if isinstance(m, SEModule)][:1] == [4]
    assert [m.rd_channels for m in create_model("seresnet18").modules() if isinstance(m, SEModule)][:1] == [8]
    deep = create_model("seresnext26d_32x4d")
    assert [tuple(deep.conv1[i].weight.shape) for i in (0, 3, 6)] == [(32, 3, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3)]
    assert deep.layer2[0].conv2.groups == 32 and isinstance(deep.layer2[0].downsample[0], nn.AvgPool2d)
    assert isinstance(deep.layer1[0].downsample[0], nn.Identity)


def test_legacy_rejects_d_variant_options():
    with pytest.raises(ValueError, match="legacy"):
        create_model("seresnext26d_32x4d", legacy=True)


def test_package_import_is_light():
    """Importing photolab.models (e.g. for ModelImportError) must not pull torch in; create_model does."""
    import subprocess
    import sys
    code = ("import sys, photolab.models as m; assert 'torch' not in sys.modules; "
            "assert issubclass(m.ModelImportError, ValueError); m.create_model; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["seresnet18", "seresnet50", "legacy_seresnet18"])
def test_fused_scale_and_matrix_product_excitation_equal_the_module_path(name):
    """The forward pass fuses the SE scale into the residual addition and runs fc1/fc2 as matrix products;
    a hook on an SE module (or its fc layers) makes the block call the modules instead: same numbers."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=5).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        fast = model(x)
        seen = []
        handles = [m.register_forward_hook(lambda module, inputs, out: seen.append(out.shape))
                   for m in model.modules() if isinstance(m, SEModule)]
        handles += [m.fc1.register_forward_hook(lambda *_: None) for m in model.modules() if isinstance(m, SEModule)]
        plain = model(x)
    for handle in handles:
        handle.remove()
    assert len(seen) == sum(isinstance(m, SEModule) for m in model.modules())  # the hooked path really ran
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)


def test_fused_block_trains_like_the_module_path():
    """Gradients through the fused scale + in-place ReLU equal those of ``se(out) + shortcut``."""
    torch.manual_seed(0)
    block = Bottleneck(64, 16).train()
    x = torch.randn(2, 64, 8, 8, requires_grad=True)
    block(x).square().sum().backward()
    fast_grads = [x.grad.clone()] + [p.grad.clone() for p in block.parameters()]
    x.grad = None
    block.zero_grad()
    handle = block.se.register_forward_hook(lambda *_: None)
    block(x).square().sum().backward()
    handle.remove()
    plain_grads = [x.grad] + [p.grad for p in block.parameters()]
    for fast_grad, plain_grad in zip(fast_grads, plain_grads):
        torch.testing.assert_close(fast_grad, plain_grad, atol=1e-5, rtol=1e-4)
