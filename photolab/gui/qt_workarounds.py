"""Work-arounds for defects of the Qt binding, detected at run time and applied only where present.

PySide6 6.12.0 returns ``True`` from ``SignalInstance.emit()`` without taking a new reference to it, so
every Python ``signal.emit(...)`` whose result is discarded lowers the reference count of ``True`` by one.
Python 3.12 and later make ``True`` immortal, so nothing happens there; on Python 3.11 a GUI session that
emits a few thousand signals (a slider drag emits dozens a second) reaches zero and the interpreter aborts
with "Fatal Python error: bool_dealloc". ``protect_booleans`` detects the defect with a probe signal and
gives ``True`` and ``False`` a reference count no session can use up, which is what Python 3.12 does for
them anyway.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_RESERVE = 1 << 40  # references: ~10^12 emits


def emit_drops_references() -> bool:
    """True when emitting a signal from Python lowers the reference count of ``True`` (the defect)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def _add_references(obj: object, count: int) -> bool:
    """Add ``count`` to ``obj``'s reference count in place (CPython < 3.12 layout: ob_refcnt first)."""
    field = ctypes.c_ssize_t.from_address(id(obj))
    before = sys.getrefcount(obj)
    field.value += count
    if sys.getrefcount(obj) - before == count:
        return True
    field.value -= count  # not the layout we expected: undo, leave it alone
    return False


def protect_booleans() -> bool:
    """Apply the work-around if this interpreter and binding need it; True when applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not emit_drops_references():
        return False
    applied = all(_add_references(value, _RESERVE) for value in (True, False))
    if applied:
        log.info("PySide6 signal emit drops references to True; protected True and False")
    else:
        log.warning("PySide6 signal emit drops references to True and the work-around could not be applied; "
                    "long sessions may abort")
    return applied
