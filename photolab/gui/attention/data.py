"""The Attention view's jobs: the excitations of the current photo as edited, or of a photo file with its
saved edits (the input ``photolab-cli attention`` reads). The numbers they give are exported by
:mod:`photolab.models.analysis.records`."""

from __future__ import annotations

from pathlib import Path

from photolab.gui.models.service import PhotoSnapshot
from photolab.models.analysis.records import ExcitationSet


def excite_snapshot(context, loaded, snapshot: PhotoSnapshot) -> ExcitationSet:
    """Job work: the excitations of a photo as edited."""
    from photolab.models.inference import excitations

    photo = snapshot.render()
    context.check_cancelled()
    return ExcitationSet(loaded.name, snapshot.name, excitations(loaded, photo))


def excite_file(context, loaded, path: str) -> ExcitationSet:
    """Job work: the excitations of a photo file, with the edits saved beside it (if any): the same input as
    ``photolab-cli attention``."""
    from photolab.services import edited_preview
    from photolab.models.inference import excitations

    photo, _ = edited_preview(path)
    context.check_cancelled()
    return ExcitationSet(loaded.name, Path(path).name, excitations(loaded, photo))
