"""One registry of every architecture family, timm-style: ``create_model(name, **kwargs)``.

Each family lives in its own module under ``photolab.models.archs`` with its pretrained configs beside it
(``seresnet.CATALOGUE``: the timm weights that fit the SE-ResNet family); this module only maps names to
families, so a stored card's ``architecture`` always builds through here.
"""

from __future__ import annotations

from typing import Callable

import torch

from photolab.models.archs import denoise_unet, seresnet

_FAMILIES: dict[str, Callable[..., torch.nn.Module]] = {
    **{name: seresnet.create_model for name in seresnet.list_models()},
    denoise_unet.ARCHITECTURE: denoise_unet.create_model,
}


def list_models() -> list[str]:
    """Every architecture name :func:`create_model` accepts, sorted."""
    return sorted(_FAMILIES)


def create_model(name: str, **kwargs) -> torch.nn.Module:
    """Build architecture ``name`` (random weights); ``kwargs`` go to its family's constructor (e.g.
    ``num_classes`` for SE-ResNets, ``widths``/``bottleneck`` for the denoiser). ``ValueError`` for unknown names."""
    try:
        family = _FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None
    return family(name, **kwargs)


def pretrained_configs() -> tuple[seresnet.TimmWeights, ...]:
    """The pretrained weights PhotoLab knows how to fetch, each recorded beside its family."""
    return seresnet.CATALOGUE
