"""Helpers for walking PhotoLab's wizards (a folder page, then a check page that runs a Job)."""

from __future__ import annotations


def check_folder(qtbot, wizard, folder, timeout: int) -> None:
    """Type ``folder`` on the wizard's folder page, go to its check page and wait until the check Job ended."""
    wizard.folder_page.path_edit.setText(str(folder))
    assert wizard.folder_page.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.check_page
    qtbot.waitUntil(lambda: wizard.check_page.handle is None, timeout=timeout)
