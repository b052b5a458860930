"""QActions as the window and the features make them: standard shortcuts expanded once, one connected slot."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

Key = QKeySequence.StandardKey


def key_sequences(*shortcuts) -> list[QKeySequence]:
    """The shortcuts as key sequences, each once (a standard key expands to the platform's bindings, which
    may be none): an action bound twice to one key makes Qt refuse that key as ambiguous."""
    sequences: list[QKeySequence] = []
    for shortcut in shortcuts:
        expanded = QKeySequence.keyBindings(shortcut) if isinstance(shortcut, Key) else [QKeySequence(shortcut)]
        sequences += [s for s in expanded if not s.isEmpty() and s not in sequences]
    return sequences


def new_action(parent, text: str, slot, shortcuts=(), *, checkable: bool = False, tip: str = "") -> QAction:
    """A QAction of ``parent`` connected to ``slot`` (``toggled`` when checkable, else ``triggered``)."""
    action = QAction(text, parent, checkable=checkable)
    action.setShortcuts(key_sequences(*shortcuts))
    action.setStatusTip(tip)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action
