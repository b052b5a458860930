"""HDRNet (Gharbi et al. 2017, "Deep bilateral learning for real-time image enhancement"): a learned look.

A small network looks at a low-resolution copy (:data:`LOW_SIZE` square) of a photo and predicts a bilateral
grid of local affine colour transforms: ``grid`` (12, D, GH, GW), for each of GH x GW places and D levels
of the *guide* a 3x4 matrix (output RGB from input RGB and 1). The guide is a learned pointwise function of
the full-resolution pixels (here ``clip(w . rgb + b, 0, 1)``). Every full-resolution pixel reads its matrix
from the grid by trilinear interpolation at (its position, its guide value), "slicing", and applies it to its
own RGB: the look follows edges (pixels of different brightness read different grid levels) at any
resolution, while the network itself only ever sees the small copy.

Before the grid, a global colour transform: a 3D LUT (``lut``, LUT_SIZE^3 x 3, trilinear; the identity until
learning fits it to the pairs by least squares), so the grid only has to learn what varies over the photo
(local contrast, a vignette) on top of what a global transform already does exactly. The network's low-resolution
copy is taken of the LUT's output (the LUT applied to the small copy), and so is the guide.

Pixels are sRGB-encoded values in [0, 1], channels last in numpy, first in torch. Positions are cell centred:
pixel column ``i`` of ``W`` sits at grid column ``(i + 0.5) / W * GW - 0.5`` (clamped to the grid), guide
``g`` at level ``g * (D - 1)``.

:meth:`HDRNet.forward` is the differentiable torch version used in learning; :func:`apply_look` the fast one
used on photos: the grid is interpolated to every image row once (a small texture of D x GW per row), and one
OpenCV ``remap`` per output channel interpolates (column, guide) within it, in bands of rows, on all cores.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photolab.core.bands import run_in_bands

ARCHITECTURE = "hdrnet"
LOW_SIZE = 256
"""Side of the square low-resolution copy the network sees."""
LUMA = (0.299, 0.587, 0.114)
LUT_SIZE = 17
"""Nodes per axis of the global 3D LUT."""
_LUT_SLICES = 257  # the LUT resampled to this many blue slices for the full-resolution lookup


def identity_lut(size: int = LUT_SIZE) -> np.ndarray:
    """The identity LUT (size, size, size, 3): node [r, g, b] holds (r, g, b) / (size - 1)."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)


def lut_atlas(lut: np.ndarray) -> np.ndarray:
    """The LUT as a 2D image for one ``cv2.remap``: rows green, columns blue slice * size + red, with blue
    resampled linearly to 257 slices (the lookup then takes the nearest slice: at most 1/512 away)."""
    size = lut.shape[0]
    position = np.linspace(0.0, size - 1.0, _LUT_SLICES)
    low = np.minimum(np.floor(position).astype(int), size - 2)
    fraction = (position - low).astype(np.float32)[None, None, :, None]
    slices = lut[:, :, low] * (1 - fraction) + lut[:, :, low + 1] * fraction  # (r, g, slice, 3)
    return np.ascontiguousarray(slices.transpose(1, 2, 0, 3).reshape(size, _LUT_SLICES * size, 3), np.float32)


def apply_lut(srgb: np.ndarray, atlas: np.ndarray) -> np.ndarray:
    """Look up (H, W, 3) pixels (clipped to [0, 1]) in a :func:`lut_atlas`: bilinear in red and green, nearest
    blue slice; the result clipped to [0, 1] (a LUT's nodes may lie beyond, so a look that clips keeps its slope
    up to the clipping point). The lookup positions are made in place in the split channels (this runs on
    every pixel of a photo)."""
    size = atlas.shape[0]
    red, green, blue = cv2.split(np.ascontiguousarray(srgb, np.float32))
    for channel in (red, green, blue):
        np.clip(channel, 0.0, 1.0, out=channel)
    blue *= np.float32(_LUT_SLICES - 1)
    np.rint(blue, out=blue)
    blue *= np.float32(size)
    red *= np.float32(size - 1)
    red += blue  # column: blue slice * size + red
    green *= np.float32(size - 1)  # row
    result = cv2.remap(atlas, red, green, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(result, 0.0, 1.0, out=result)


def _identity_coefficients(levels: int) -> torch.Tensor:
    """The head's bias that makes every grid cell the identity matrix (output RGB = input RGB), flattened."""
    identity = torch.zeros(levels, 3, 4)
    identity[:, torch.arange(3), torch.arange(3)] = 1.0
    return identity.reshape(-1)


def _conv(cin: int, cout: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride, 1)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class HDRNet(nn.Module):
    """The coefficient network and the guide. ``levels`` (D) guide levels on a ``cells`` x ``cells`` grid
    (GH = GW = cells, a 16 x 16 grid needs LOW_SIZE / 16 = 4 stride-2 convolutions), ``width`` channels."""

    def __init__(self, levels: int = 8, cells: int = 16, width: int = 64) -> None:
        super().__init__()
        if LOW_SIZE % cells or (LOW_SIZE // cells) & (LOW_SIZE // cells - 1):
            raise ValueError(f"cells must divide {LOW_SIZE} by a power of two, got {cells}")
        self.levels, self.cells, self.width = levels, cells, width
        splat, channels, size = [], 3, LOW_SIZE
        while size > cells:
            out = width if size // 2 == cells else max(8, width // (size // 2 // cells))
            splat.append(_conv(channels, out, 2))
            channels, size = out, size // 2
        self.splat = nn.Sequential(*splat)
        self.local = nn.Sequential(_conv(width, width), _conv(width, width, relu=False))
        self.global_conv = nn.Sequential(_conv(width, width, 2), _conv(width, width, 2))
        self.global_fc = nn.Sequential(nn.Linear(width * (cells // 4) ** 2, 4 * width), nn.ReLU(inplace=True),
                                       nn.Linear(4 * width, width), nn.ReLU(inplace=True), nn.Linear(width, width))
        self.head = nn.Conv2d(width, 12 * levels, 1)
        nn.init.normal_(self.head.weight, std=1e-3)
        with torch.no_grad():
            self.head.bias.copy_(_identity_coefficients(levels))
        self.guide_weight = nn.Parameter(torch.tensor(LUMA))
        self.guide_bias = nn.Parameter(torch.zeros(()))
        self.register_buffer("lut", torch.from_numpy(identity_lut()))

    def grid(self, low: torch.Tensor) -> torch.Tensor:
        """The bilateral grid (N, 12, D, GH, GW) of low-resolution copies (N, 3, LOW_SIZE, LOW_SIZE)."""
        features = self.splat(low - 0.5)
        local = self.local(features)
        glob = self.global_fc(self.global_conv(features).flatten(1))
        fused = F.relu(local + glob[:, :, None, None])
        n = low.shape[0]
        coefficients = self.head(fused).view(n, self.levels, 12, self.cells, self.cells)
        return coefficients.permute(0, 2, 1, 3, 4).contiguous()

    def guide(self, image: torch.Tensor) -> torch.Tensor:
        """The guide (N, H, W) in [0, 1] of full-resolution pixels (N, 3, H, W)."""
        return (torch.einsum("nchw,c->nhw", image, self.guide_weight) + self.guide_bias).clamp(0.0, 1.0)

    def forward(self, low: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """The grid's part of the look on ``image`` (N, 3, H, W), the LUT's output, with ``low`` (N, 3, 256,
        256) its low-resolution copies (the LUT is applied before, in numpy: see :func:`apply_look`)."""
        return slice_and_apply(self.grid(low), self.guide(image), image)


def _cell_positions(count: int, cells: int, device=None) -> torch.Tensor:
    return ((torch.arange(count, device=device, dtype=torch.float32) + 0.5) / count * cells - 0.5).clamp(0, cells - 1)


def slice_and_apply(grid: torch.Tensor, guide: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Differentiable slicing: every pixel of ``image`` (N, 3, H, W) transformed by the matrix read from
    ``grid`` (N, 12, D, GH, GW) at its position and ``guide`` (N, H, W) value."""
    n, _, levels, gh, gw = grid.shape
    height, width = image.shape[2:]
    xs = _cell_positions(width, gw, image.device) / max(1, gw - 1) * 2 - 1
    ys = _cell_positions(height, gh, image.device) / max(1, gh - 1) * 2 - 1
    coords = torch.stack([xs.view(1, 1, width).expand(n, height, width),
                          ys.view(1, height, 1).expand(n, height, width), guide * 2 - 1], dim=-1)
    coefficients = F.grid_sample(grid, coords[:, None], mode="bilinear", padding_mode="border",
                                 align_corners=True)[:, :, 0]
    coefficients = coefficients.view(n, 3, 4, height, width)
    return (coefficients[:, :, :3] * image[:, None]).sum(dim=2) + coefficients[:, :, 3]


def low_res(srgb: np.ndarray) -> np.ndarray:
    """The network's view of an sRGB image (H, W, 3): area-resized to LOW_SIZE x LOW_SIZE, float32."""
    height, width = srgb.shape[:2]
    method = cv2.INTER_AREA if height >= LOW_SIZE and width >= LOW_SIZE else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(srgb, np.float32), (LOW_SIZE, LOW_SIZE), interpolation=method)


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """(N, 3, H, W) float32 tensor of (H, W, 3) arrays of one size."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2), np.float32))


def network_input(srgb: np.ndarray, atlas: np.ndarray) -> np.ndarray:
    """What the network sees of a photo: its low-resolution copy through the LUT."""
    return apply_lut(low_res(np.clip(srgb, 0.0, 1.0)), atlas)


def model_atlas(model: HDRNet) -> np.ndarray:
    """The :func:`lut_atlas` of the model's global LUT."""
    return lut_atlas(model.lut.detach().float().numpy())


@torch.no_grad()
def predict_grid(model: HDRNet, srgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(grid (12, D, GH, GW), guide weights (3,), guide bias, LUT atlas) for one image, as numpy."""
    atlas = model_atlas(model)
    grid = model.grid(to_tensor([network_input(srgb, atlas)]))[0].float().numpy()
    return grid, model.guide_weight.detach().float().numpy().copy(), float(model.guide_bias.detach()), atlas


def has_grid(model: HDRNet) -> bool:
    """False where the model's grid is exactly the identity (a look kept as its global LUT alone)."""
    return bool(model.head.weight.detach().any())


def without_grid(model: HDRNet) -> HDRNet:
    """A copy of ``model`` whose grid is exactly the identity: its global LUT alone."""
    plain = create_model(model.levels, model.cells, model.width)
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        plain.head.weight.zero_()
        plain.head.bias.copy_(_identity_coefficients(model.levels))
    return plain.eval()


def apply_grid(srgb: np.ndarray, grid: np.ndarray | None, guide_weight: np.ndarray | None, guide_bias: float,
               strength: float = 1.0, band: int = 32, progress=None, atlas: np.ndarray | None = None) -> np.ndarray:
    """The LUT ``atlas`` (if any), then ``grid`` (None: none) sliced with the result at full resolution and
    applied, mixed with the input ``srgb`` (H, W, 3, float32 in [0, 1]) by ``strength`` (0-1); returns a new
    float32 array (values may leave [0, 1] slightly). Bands of ``band`` rows run on all cores;
    ``progress(fraction)`` is called between groups of bands (raising there stops the work)."""
    srgb = np.ascontiguousarray(srgb, np.float32)
    height, width = srgb.shape[:2]
    out = np.empty_like(srgb)
    mix = np.float32(strength)

    def finish(target: np.ndarray, original: np.ndarray) -> None:
        if strength != 1.0:
            target -= original
            target *= mix
            target += original

    if grid is None:
        def lut_only(start: int, end: int) -> None:
            out[start:end] = srgb[start:end] if atlas is None else apply_lut(srgb[start:end], atlas)
            finish(out[start:end], srgb[start:end])

        run_in_bands(height, band, lut_only, steps=8 if progress is not None else 1, after_step=progress)
        return out
    _, levels, gh, gw = grid.shape
    grid = np.ascontiguousarray(grid, np.float32)
    map_x = np.ascontiguousarray(np.broadcast_to(_cell_positions(width, gw).numpy(), (min(band, height), width)))
    row_y = _cell_positions(height, gh).numpy()
    offsets = (np.arange(min(band, height), dtype=np.float32) * levels)[:, None]
    guide_row = np.array([list(np.asarray(guide_weight, np.float32) * (levels - 1)) + [guide_bias * (levels - 1)]],
                         np.float32)

    def work(start: int, end: int) -> None:
        rows = end - start
        y = row_y[start:end]
        y0 = np.minimum(np.floor(y).astype(np.int64), max(0, gh - 2))
        fy = (y - y0).astype(np.float32)[None, None, :, None]
        y1 = np.minimum(y0 + 1, gh - 1)
        # the grid at each image row, as a texture of D rows x GW columns per image row, 4 coefficients per
        # output channel: (3, rows * D, GW, 4)
        at_rows = grid[:, :, y0, :] * (1 - fy) + grid[:, :, y1, :] * fy
        texture = np.ascontiguousarray(at_rows.reshape(3, 4, levels, rows, gw).transpose(0, 3, 2, 4, 1))
        texture = texture.reshape(3, rows * levels, gw, 4)
        original = srgb[start:end]
        pixels = original if atlas is None else apply_lut(original, atlas)
        level = cv2.transform(pixels, guide_row).reshape(rows, width)
        np.clip(level, 0.0, levels - 1, out=level)
        level += offsets[:rows]
        homogeneous = np.empty((rows, width, 4), np.float32)
        homogeneous[:, :, :3] = pixels
        homogeneous[:, :, 3] = 1.0
        target = out[start:end]
        for channel in range(3):
            coefficients = cv2.remap(texture[channel], map_x[:rows], level, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
            np.einsum("hwk,hwk->hw", coefficients, homogeneous, out=target[:, :, channel])
        finish(target, original)

    run_in_bands(height, band, work, steps=8 if progress is not None else 1, after_step=progress)
    return out


def apply_look(model: HDRNet, srgb: np.ndarray, strength: float = 1.0, progress=None) -> np.ndarray:
    """``model``'s look on ``srgb`` (H, W, 3, sRGB-encoded float32 in [0, 1]), mixed by ``strength`` (0-1). A
    look without a grid (:func:`has_grid`) is its LUT alone: the network is not run."""
    if not has_grid(model):
        return apply_grid(srgb, None, None, 0.0, strength, progress=progress, atlas=model_atlas(model))
    grid, weight, bias, atlas = predict_grid(model, srgb)
    return apply_grid(srgb, grid, weight, bias, strength, progress=progress, atlas=atlas)


def create_model(levels: int = 8, cells: int = 16, width: int = 64) -> HDRNet:
    """A fresh (identity-initialised) HDRNet."""
    return HDRNet(levels=levels, cells=cells, width=width)
