"""File ▸ Merge to HDR… and Merge Burst…: the two commands, the merge job, and what happens when it ends.

``install_merge_action(window)`` adds both commands to the window's File menu through its command API. The
merge is the same core function the CLI runs (``merge_hdr_files`` / ``merge_burst_files``), as a Job on the
window's runner, tracked so that quitting asks about it; a merge that fails shows why and then the dialog
again, with its frames and settings.
"""

from __future__ import annotations

from photolab.core.burst import merge_burst_files
from photolab.core.hdr import MissingExposureError, merge_hdr_files
from photolab.gui.merge.dialog import BURST, HDR, MergeDialog, MergeRequest
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.actions import new_action
from photolab.jobs import Job, JobState


def merge_job(request: MergeRequest) -> Job:
    """The background job for ``request`` (its result is the path written)."""
    if request.mode == HDR:
        return Job(lambda context: merge_hdr_files(request.paths, request.target, times=request.times,
                                                   options=request.options, tonemap_name=request.tonemap,
                                                   context=context),
                   title=f"Merging {len(request.paths)} brackets to HDR")
    return Job(lambda context: merge_burst_files(request.paths, request.target, reference=request.reference,
                                                 tonemap_name=request.tonemap, dng=request.dng, context=context),
               title=f"Merging a burst of {len(request.paths)} frames")


def start_merge(window, request: MergeRequest):
    """Run the merge on the window's job runner; when it ends, open the result (or show why it failed)."""
    handle = window.track_job(window.runner.submit(merge_job(request)))
    handle.finished.connect(lambda result: _merged(window, result))

    def failed(message: str) -> None:
        if isinstance(handle.job.error, MissingExposureError):
            message += " (enter them in the Exposure times field, or choose Mertens fusion, which needs none)"
        dialogs.show_error(window, "Merge failed", message)

    handle.failed.connect(failed)
    handle.cancelled.connect(lambda: window.statusBar().showMessage("Merge cancelled", 5000))
    return handle


def _merged(window, result) -> None:
    """Open the merge's result; say which burst frames were left out and where the merged DNG went."""
    document = window.open_path(str(result))
    notes = list(getattr(result, "left_out", ()))
    if getattr(result, "dng", None) is not None:
        notes.append(f"merged DNG saved as {result.dng}")
    if notes:  # after the window's own "Opened ..." message
        document.fully_loaded.connect(lambda: window.statusBar().showMessage("; ".join(notes), 15000))


def open_merge_dialog(window, mode: str, dialog: MergeDialog | None = None) -> None:
    """Show the merge dialog for ``mode`` (or ``dialog`` again) and start the merge when accepted. A merge that
    fails shows its error, then the same dialog with its frames and settings, until one succeeds or the user
    cancels."""
    dialog = dialog or MergeDialog(mode, window)
    dialog.open_photo = window.document.path if window.document is not None else None
    if not window.exec_dialog(dialog):
        dialog.deleteLater()
        return
    handle = start_merge(window, dialog.request())
    handle.ended.connect(lambda ended: open_merge_dialog(window, mode, dialog)
                         if ended.job.state is JobState.FAILED else dialog.deleteLater())


def install_merge_action(window) -> None:
    """Add "Merge to HDR…" and "Merge Burst…" to the window's File menu (after Open Recent)."""
    hdr = new_action(window, "Merge to &HDR…", lambda: open_merge_dialog(window, HDR),
                     tip="Merge exposure brackets into one high-dynamic-range photo")
    burst = new_action(window, "Merge &Burst…", lambda: open_merge_dialog(window, BURST),
                       tip="Align and merge a burst of equal exposures into one less noisy photo")
    window.add_action("file", "merge_hdr", hdr, after="recent")
    window.add_action("file", "merge_burst", burst, after="merge_hdr")
