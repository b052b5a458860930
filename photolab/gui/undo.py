"""Undo commands: every edit replaces the document's (immutable) recipe, so undo puts the old one back."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from photolab.core.recipe import Recipe

_MERGEABLE_ID = 1000


class RecipeEdit(QUndoCommand):
    """Switch a document from one recipe to another.

    Consecutive edits with the same non-empty ``merge_key`` (the changes of one slider drag) merge into
    one command; a merged command that ends where it began removes itself from the history.
    """

    def __init__(self, document, before: Recipe, after: Recipe, text: str, merge_key: str = "") -> None:
        super().__init__(text)
        self.document = document
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def redo(self) -> None:
        self.document.set_recipe(self.after)

    def undo(self) -> None:
        self.document.set_recipe(self.before)

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _MERGEABLE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, RecipeEdit) or other.merge_key != self.merge_key or other.document is not self.document:
            return False
        self.after = other.after
        self.setObsolete(self.after == self.before)
        return True
