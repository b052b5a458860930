"""What the screenshot scripts in docs/ share: driving the real window until it reaches a state."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QApplication


def wait(app: QApplication, condition, timeout_s: float = 300.0) -> None:
    """Process events until ``condition()`` is true; TimeoutError after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)
