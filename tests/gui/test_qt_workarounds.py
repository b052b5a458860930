"""The guard against PySide6 6.12.0's signal emit dropping references to True (see qt_workarounds)."""

import sys

from PySide6.QtCore import QObject, Signal

from photolab.gui import qt_workarounds


class _Emitter(QObject):
    changed = Signal(float, str)


def test_a_long_session_of_emits_does_not_exhaust_true(qapp):
    emitter = _Emitter()
    received = []
    emitter.changed.connect(lambda value, text: received.append(value))
    for index in range(60000):  # more than True's natural reference count on Python 3.11
        emitter.changed.emit(float(index), "x")
    assert len(received) == 60000
    assert sys.getrefcount(True) > 1000 and sys.getrefcount(False) > 1000


def test_reference_adjustment_checks_the_object_layout():
    thing = object()
    before = sys.getrefcount(thing)
    assert qt_workarounds._add_references(thing, 5)
    assert sys.getrefcount(thing) == before + 5
    assert qt_workarounds._add_references(thing, -5)
    assert sys.getrefcount(thing) == before
