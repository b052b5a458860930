"""Image-quality measures against a reference: PSNR and SSIM (Wang et al. 2004), for benchmarks and cards."""

from __future__ import annotations

import cv2
import numpy as np


def psnr(result: np.ndarray, reference: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of ``result`` against ``reference`` (same shape, values on 0..peak)."""
    if result.shape != reference.shape:
        raise ValueError(f"shapes differ: {result.shape} vs {reference.shape}")
    mse = float(np.mean((np.asarray(result, np.float64) - np.asarray(reference, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def ssim(result: np.ndarray, reference: np.ndarray, peak: float = 1.0) -> float:
    """Mean structural similarity: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, averaged over
    the channels of an (H, W) or (H, W, C) image (the definition of Wang et al., as scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``)."""
    if result.shape != reference.shape:
        raise ValueError(f"shapes differ: {result.shape} vs {reference.shape}")
    x = np.asarray(result, np.float64)
    y = np.asarray(reference, np.float64)
    if x.ndim == 2:
        x, y = x[:, :, None], y[:, :, None]
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    blur = lambda a: cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    scores = []
    for channel in range(x.shape[2]):
        a, b = x[:, :, channel], y[:, :, channel]
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a * mu_a
        var_b = blur(b * b) - mu_b * mu_b
        cov = blur(a * b) - mu_a * mu_b
        index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
        crop = 5  # skimage discards the border where the window does not fit
        scores.append(index[crop:-crop, crop:-crop].mean() if min(a.shape) > 2 * crop else index.mean())
    return float(np.mean(scores))
