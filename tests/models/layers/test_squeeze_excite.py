"""The SE block's math: squeeze, excitation, scale; the fast path; timm's reduced widths."""

import pytest
import torch
from torch import nn

from photolab.models.layers.squeeze_excite import SEModule, make_divisible


def test_se_block_matches_hand_computation():
    torch.manual_seed(0)
    se = SEModule(32)
    assert se.rd_channels == 2
    x = torch.randn(2, 32, 5, 7)
    w1, b1 = se.fc1.weight[:, :, 0, 0], se.fc1.bias
    w2, b2 = se.fc2.weight[:, :, 0, 0], se.fc2.bias
    with torch.no_grad():
        expected = torch.empty_like(x)
        for n in range(2):
            z = [float(x[n, c].sum()) / 35.0 for c in range(32)]                        # squeeze
            hidden = [max(0.0, sum(float(w1[j, c]) * z[c] for c in range(32)) + float(b1[j])) for j in range(2)]
            for c in range(32):                                                        # excitation, scale
                s = 1.0 / (1.0 + torch.exp(-torch.tensor(sum(float(w2[c, j]) * hidden[j] for j in range(2))
                                                        + float(b2[c]), dtype=torch.float64)))
                expected[n, c] = x[n, c] * float(s)
        out = se(x)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert isinstance(se.gate, nn.Sigmoid)
    assert se.excitation(x).shape == (2, 32, 1, 1)


def test_se_block_fast_path_equals_the_module_path_and_honours_replaced_submodules():
    torch.manual_seed(0)
    se = SEModule(32)
    x = torch.randn(2, 32, 5, 7)
    with torch.no_grad():
        fast = se.excitation(x)
        handle = se.fc1.register_forward_hook(lambda *args: None)  # a hook forces the module-by-module path
        slow = se.excitation(x)
        handle.remove()
        torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-6)
        se.gate = nn.Hardsigmoid()  # a replaced gate or activation is called, never bypassed
        torch.testing.assert_close(se.excitation(x), nn.functional.hardsigmoid(torch.logit(fast)), atol=1e-5,
                                   rtol=1e-5)
        se.act = nn.Identity()
        z = x.mean((2, 3), keepdim=True)
        torch.testing.assert_close(se.excitation(x), nn.functional.hardsigmoid(se.fc2(se.fc1(z))))


def test_se_block_reduction_and_timm_divisor():
    assert SEModule(64).rd_channels == 4                       # C // 16, as timm's legacy SENet
    assert make_divisible(64 / 16, 8, round_limit=0.0) == 8    # timm's new family rounds up to 8 ...
    assert make_divisible(2048 / 16, 8, round_limit=0.0) == 128  # ... and agrees with C // 16 from C = 128 on
    with pytest.raises(ValueError, match="no hidden units"):
        SEModule(8)
