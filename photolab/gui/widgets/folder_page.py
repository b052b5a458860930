"""The first page of PhotoLab's wizards: a folder typed or browsed to, complete once it exists."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWizardPage


class FolderPage(QWizardPage):
    """A folder chooser page: ``title``/``subtitle`` above, the path field with Browse…, and ``hint`` below
    (rich text). ``caption`` titles the folder dialog."""

    def __init__(self, *, title: str, subtitle: str, placeholder: str, caption: str, hint: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self._caption = caption
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(placeholder)
        self.path_edit.textChanged.connect(self.completeChanged)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        label = QLabel(hint)
        label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(label)
        layout.addStretch(1)

    def folder(self) -> str:
        """The folder typed or chosen."""
        return self.path_edit.text().strip()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self._caption, self.folder())
        if folder:
            self.path_edit.setText(folder)

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        """A folder that exists."""
        return bool(self.folder()) and Path(self.folder()).is_dir()
