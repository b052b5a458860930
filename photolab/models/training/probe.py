"""Linear classifiers on fixed features: the ridge probe of the fine-tuning wizard, and logistic regression.

The wizard's linear probe is a ridge classifier (least squares on one-hot targets, L2-penalised, on
standardised features) whose scores are scaled by one temperature so that their softmax gives calibrated
probabilities. Its appeal on a CPU: one eigendecomposition per cross-validation fold gives the solution for
every penalty at once, so choosing the penalty by k-fold cross-validation over the user's images costs well
under a second. :func:`fit_logistic` (multinomial logistic regression, L-BFGS) fits the benchmark's baselines
(logistic regression on pixels, on HOG). Both give a :class:`LinearHead` that takes raw features and becomes
the ``Linear`` head of an SE network. Everything is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

RIDGE_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
"""Penalties of the ridge probe (on standardised features, per sample) that cross-validation chooses from."""
LOGISTIC_GRID = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3)
"""Penalties of logistic regression, strongest first: each fit starts from the previous one's solution."""


@dataclass(frozen=True)
class LinearHead:
    """``logits = features @ weight.T + bias`` for raw (not standardised) features."""

    weight: torch.Tensor  # (classes, features)
    bias: torch.Tensor  # (classes,)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores of (N, features) features."""
        return features.float() @ self.weight.T + self.bias

    def scaled(self, factor: float) -> "LinearHead":
        """The same head with its logits multiplied by ``factor`` (a temperature)."""
        return LinearHead(self.weight * factor, self.bias * factor)


def _standardisation(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    features = features.double()
    return features.mean(0), features.std(0).clamp_min(1e-6)


def _raw_head(weight: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> LinearHead:
    """A head on standardised features (weight (C, D)) rewritten for raw features."""
    raw_weight = weight / std
    return LinearHead(raw_weight.float(), (bias - raw_weight @ mean).float())


class RidgePath:
    """Ridge solutions of one training set for any penalty, from one eigendecomposition: of the features'
    covariance (D x D), or, when there are fewer samples than features, of the samples' Gram matrix (N x N),
    whose eigenvectors map to the covariance's through the features (the same solutions, N^3 work)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, classes: int):
        self.mean, self.std = _standardisation(features)
        x = (features.double() - self.mean) / self.std
        targets = F.one_hot(labels, classes).double()
        self.bias = targets.mean(0)
        samples, dimensions = x.shape
        if samples < dimensions:
            eigenvalues, sample_vectors = torch.linalg.eigh(x @ x.T / samples)
            kept = eigenvalues > eigenvalues.max() * 1e-10
            self.eigenvalues = eigenvalues[kept]
            self.eigenvectors = x.T @ sample_vectors[:, kept] / torch.sqrt(samples * self.eigenvalues)
        else:
            self.eigenvalues, self.eigenvectors = torch.linalg.eigh(x.T @ x / samples)
        self.projected = self.eigenvectors.T @ (x.T @ (targets - self.bias) / samples)

    def head(self, l2: float) -> LinearHead:
        """The ridge head for penalty ``l2`` (unit temperature)."""
        weight = self.eigenvectors @ (self.projected / (self.eigenvalues.clamp_min(0) + l2)[:, None])
        return _raw_head(weight.T, self.bias, self.mean, self.std)


def ridge_cross_validation(features: torch.Tensor, image_of: np.ndarray, labels: np.ndarray, classes: int,
                           view_is_plain: np.ndarray, folds: list[np.ndarray], grid=RIDGE_GRID):
    """Cross-validated accuracy of the ridge probe for every penalty, over images: rows of ``features`` are
    views (``image_of`` says of which image), a fold's images are held out with all their views and scored on
    their plain view (``view_is_plain``). Returns ``({l2: accuracy}, {l2: out-of-fold scores (images, C)},
    [each fold's RidgePath])``."""
    row_labels = torch.as_tensor(labels[image_of])
    scores = {l2: torch.zeros(len(labels), classes) for l2 in grid}
    paths = []
    for held_out in folds:
        test_rows = np.isin(image_of, held_out)
        paths.append(RidgePath(features[~test_rows], row_labels[~test_rows], classes))
        plain = np.flatnonzero(test_rows & view_is_plain)
        for l2 in grid:
            scores[l2][torch.as_tensor(image_of[plain])] = paths[-1].head(l2).logits(features[plain])
    target = torch.as_tensor(labels)
    accuracy = {l2: float((s.argmax(1) == target).float().mean()) for l2, s in scores.items()}
    return accuracy, scores, paths


def temperature(scores: torch.Tensor, labels: np.ndarray) -> float:
    """The factor that makes ``softmax(factor * scores)`` best predict ``labels`` (least negative
    log-likelihood; a golden-section search over log factor)."""
    target = torch.as_tensor(labels)

    def loss(log_factor: float) -> float:
        return float(F.cross_entropy(scores * math.exp(log_factor), target))

    low, high = math.log(0.1), math.log(1000.0)
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if loss(a) < loss(b):
            high = b
        else:
            low = a
    return math.exp((low + high) / 2)


def fit_logistic(features: torch.Tensor, labels: torch.Tensor, classes: int, l2: float, max_iter: int = 100,
                 start: LinearHead | None = None) -> LinearHead:
    """The L2-penalised multinomial logistic regression of ``labels`` on ``features`` (standardised inside; the
    returned head takes raw features). ``start``: a head to start from (a nearby penalty's solution)."""
    mean, std = _standardisation(features)
    x = ((features.double() - mean) / std).float()
    if start is None:
        weight, bias = torch.zeros(classes, x.shape[1]), torch.zeros(classes)
    else:  # back to standardised coordinates
        weight = (start.weight.double() * std).float()
        bias = (start.bias.double() + start.weight.double() @ mean).float()
    weight, bias = weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-6,
                                  tolerance_change=1e-9, history_size=20, line_search_fn="strong_wolfe")

    def objective():
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight.T + bias, labels) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    return _raw_head(weight.detach().double(), bias.detach().double(), mean, std)


def logistic_cross_validation(features: torch.Tensor, labels: np.ndarray, classes: int, folds: list[np.ndarray],
                              grid=LOGISTIC_GRID) -> dict[float, float]:
    """Cross-validated accuracy of logistic regression (one row per image) for every penalty."""
    target = torch.as_tensor(labels)
    right = dict.fromkeys(grid, 0)
    for held_out in folds:
        train = np.setdiff1d(np.arange(len(labels)), held_out)
        head = None
        for l2 in grid:
            head = fit_logistic(features[train], target[train], classes, l2, start=head)
            right[l2] += int((head.logits(features[held_out]).argmax(1) == target[held_out]).sum())
    return {l2: count / len(labels) for l2, count in right.items()}


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """``folds`` disjoint index sets, each class spread evenly over them (seeded)."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return [np.flatnonzero(assignment == fold) for fold in range(folds)]
