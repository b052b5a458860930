"""Torch networks and their runtime (no Qt here), laid out like timm: ``layers/`` (the SE block), ``archs/`` (one
family per module), ``registry`` (``create_model(name)``), ``store/`` (ModelManager: cards, weights, cache,
device, checksum; import, download, export), ``training/`` and the inference modules.

``create_model`` and ``list_models`` are re-exported lazily from :mod:`photolab.models.registry`, so importing
this package (e.g. for :class:`ModelImportError`) does not import torch.
"""

from photolab.core.errors import PhotoLabError

__all__ = ["ModelImportError", "create_model", "list_models"]


class ModelImportError(PhotoLabError, ValueError):
    """A weights file cannot be loaded into a model: unreadable, unsafe, or keys/shapes that do not match.

    The message names the file and the first offending keys, so a person can tell a wrong architecture
    from a damaged download.
    """


def __getattr__(name: str):
    if name in ("create_model", "list_models"):
        from photolab.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
