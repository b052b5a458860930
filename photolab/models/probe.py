"""Multinomial logistic regression on fixed features, and the stratified folds that choose its strength.

The linear probe of the fine-tuning wizard: features of a frozen backbone (several augmented views of every
training image) go in, the weights of a ``Linear`` head come out, which replaces the backbone's classifier so
the result is still an SE network. The same code fits the benchmark's baselines (logistic regression on
pixels, on HOG), so they and the probe are solved the same way. Deterministic: L-BFGS from zero weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
"""Strengths of the L2 penalty (per sample, on standardised features) that cross-validation chooses from."""


@dataclass(frozen=True)
class LinearHead:
    """``logits = features @ weight.T + bias`` for raw (not standardised) features."""

    weight: torch.Tensor  # (classes, features)
    bias: torch.Tensor  # (classes,)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores of (N, features) features."""
        return features @ self.weight.T + self.bias


def fit_logistic(features: torch.Tensor, labels: torch.Tensor, classes: int, l2: float,
                 max_iter: int = 200) -> LinearHead:
    """The L2-penalised multinomial logistic regression of ``labels`` on ``features`` (standardised inside; the
    returned head takes raw features)."""
    features = features.double()
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    x = (features - mean) / std
    weight = torch.zeros(classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-7,
                                  tolerance_change=1e-10, history_size=20, line_search_fn="strong_wolfe")

    def objective():
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight.T + bias, labels) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    raw_weight = (weight.detach() / std).float()
    raw_bias = (bias.detach() - (weight.detach() * (mean / std)).sum(1)).float()
    return LinearHead(raw_weight, raw_bias)


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """``folds`` disjoint index sets, each class spread evenly over them (seeded)."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return [np.flatnonzero(assignment == fold) for fold in range(folds)]


def cross_validate_logistic(features: torch.Tensor, image_of: np.ndarray, labels: np.ndarray, classes: int,
                            view_is_plain: np.ndarray, folds: list[np.ndarray], l2_grid=L2_GRID) -> dict[float, float]:
    """Accuracy of the probe for every L2 strength, by cross-validation over images: rows of ``features`` are
    views (``image_of`` says of which image); a fold's images are held out with all their views, and scored on
    their plain view (``view_is_plain``). Returns ``{l2: accuracy}``."""
    image_labels = torch.as_tensor(labels)
    row_labels = image_labels[torch.as_tensor(image_of)]
    scores = {}
    for l2 in l2_grid:
        right = 0
        for held_out in folds:
            test_rows = np.isin(image_of, held_out)
            head = fit_logistic(features[~test_rows], row_labels[~test_rows], classes, l2)
            plain = test_rows & view_is_plain
            predicted = head.logits(features[plain]).argmax(1)
            right += int((predicted == row_labels[plain]).sum())
        scores[l2] = right / len(labels)
    return scores
