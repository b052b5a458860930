"""What defines a fine-tuning run besides the data: the strategies, the settings and their checks, and the
suggestions the wizard and ``photolab-cli train`` make from the data's size. Plain Python (no torch), so the
wizard's pages can read them on the GUI thread; :mod:`photolab.models.training.finetune` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from photolab.core.errors import PhotoLabError

STRATEGIES = {
    "auto": "Automatic (the best of linear probes and a last-stage fine-tune, by cross-validation)",
    "probe": "Linear probe (train only the classifier)",
    "last": "Fine-tune the last stage",
    "full": "Fine-tune everything",
}
"""Strategy key -> label. ``auto``: :mod:`photolab.models.training.fewshot` scores linear probes and a last-stage
fine-tune by cross-validation on the user's images and keeps the best; ``probe``: the backbone stays fixed;
``last``: the last residual stage and the classifier learn; ``full``: every layer learns (the backbone at a
lower rate, after one head-only epoch). All but ``auto`` train with :func:`~photolab.models.training.training.fit` on
one validation split."""

DEFAULT_LR = {"auto": 1e-3, "probe": 3e-3, "last": 1e-3, "full": 5e-4}
"""Learning rate per strategy (AdamW with warm-up and cosine decay)."""

class FinetuneError(PhotoLabError):
    """A fine-tuning run cannot start, go on, or be saved; the message says why and what was kept."""


@dataclass(frozen=True)
class FinetuneSettings:
    """Everything that defines one run besides the data. ``image_size`` None: the base model's;
    ``val_fraction`` None: chosen by data size (:func:`auto_val_fraction`); ``lr`` None: :data:`DEFAULT_LR`."""

    base: str
    strategy: str = "auto"
    epochs: int = 10
    image_size: int | None = None
    lr: float | None = None
    batch_size: int = 16
    val_fraction: float | None = None
    seed: int = 0
    random_crops: bool = True
    flip: bool = True
    patience: int = 3
    num_threads: int | None = None
    excluded: tuple[str, ...] = ()

    def validate(self) -> "FinetuneSettings":
        """Return self if usable; :class:`FinetuneError` naming the bad value otherwise."""
        if self.strategy not in STRATEGIES:
            raise FinetuneError(f"unknown strategy {self.strategy!r}; choose {', '.join(STRATEGIES)}")
        if not 1 <= self.epochs <= 1000:
            raise FinetuneError(f"epochs must be between 1 and 1000, got {self.epochs}")
        if self.image_size is not None and not 32 <= self.image_size <= 1024:
            raise FinetuneError(f"image size must be between 32 and 1024 px, got {self.image_size}")
        if self.val_fraction is not None and not 0.05 <= self.val_fraction <= 0.5:
            raise FinetuneError(f"validation split must be between 0.05 and 0.5, got {self.val_fraction}")
        if self.batch_size < 2:
            raise FinetuneError(f"batch size must be at least 2, got {self.batch_size}")
        if self.lr is not None and not 0 < self.lr < 1:
            raise FinetuneError(f"learning rate must be between 0 and 1, got {self.lr}")
        return self


def recommend_strategy(counts: dict[str, int]) -> tuple[str, str]:
    """The strategy to suggest for ``counts`` (images per class) and a one-sentence reason."""
    smallest = min(counts.values()) if counts else 0
    if smallest < 100:
        return "auto", (f"With {smallest} images in the smallest class, PhotoLab tries linear probes (on the "
                        f"network's features, and on them with gradient histograms) and a last-stage fine-tune on "
                        f"your own images, each judged by cross-validation, and keeps the best.")
    return "full", (f"With {smallest}+ images per class there is enough data to adapt every layer, "
                    f"which usually gives the best accuracy.")


def auto_val_fraction(total_images: int) -> float:
    """The share of images held out for validation, by data size (like Create ML's automatic split): a
    quarter of a small set (so every class has a few validation images), less as the data grows."""
    if total_images < 60:
        return 0.25
    if total_images < 300:
        return 0.2
    if total_images < 2000:
        return 0.15
    return 0.1
