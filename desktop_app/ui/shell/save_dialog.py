"""Save As in one dialog: where (the path, shown and editable), the format, and which entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

FORMAT_LABELS = [("Pode (readable JSON, every Pode version)", "pode"), ("Pode v2 typed (dates, sets, UUIDs)", "pode-v2")]
FILE_FILTER = "State files (*.json);;All files (*)"


@dataclass
class SaveOptions:
    path: Path = field(default_factory=lambda: Path("state.json"))
    format: str = "pode"
    scope: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    compress: bool = False

    def save_kwargs(self) -> dict[str, object]:
        return {
            "format": self.format,
            "scope": self.scope or None,
            "include": self.include or None,
            "exclude": self.exclude or None,
            "compress": self.compress,
        }


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class SaveOptionsDialog(QDialog):
    """Save As: the file (typed, or picked with Browse…), the format and the entry selection, then Save.

    A note under the path says when Save will replace an existing file, or cannot write (no such folder).
    """

    def __init__(self, path: Path, fmt: str = "pode", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save state as")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        where = QHBoxLayout()
        self.path_edit = QLineEdit(str(path))
        self.path_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("x") * 56)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        where.addWidget(self.path_edit, 1)
        where.addWidget(self.browse_button)
        form.addRow("File:", where)
        self.path_note = QLabel()
        self.path_note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow("", self.path_note)
        self.format = QComboBox()
        for label, value in FORMAT_LABELS:
            self.format.addItem(label, value)
        values = [v for _, v in FORMAT_LABELS]
        self.format.setCurrentIndex(values.index(fmt) if fmt in values else 0)
        form.addRow("Format:", self.format)
        self.all = QRadioButton("All entries")
        self.filtered = QRadioButton("Only entries matching:")
        self.all.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.all)
        group.addButton(self.filtered)
        form.addRow("Entries:", self.all)
        form.addRow("", self.filtered)
        self.scope = QLineEdit(placeholderText="scopes, comma-separated (any of them)")
        self.include = QLineEdit(placeholderText="entry names to include")
        self.exclude = QLineEdit(placeholderText="entry names to leave out")
        for w in (self.scope, self.include, self.exclude):
            w.setEnabled(False)
            self.filtered.toggled.connect(w.setEnabled)
        form.addRow("Scope:", self.scope)
        form.addRow("Include:", self.include)
        form.addRow("Exclude:", self.exclude)
        self.compress = QCheckBox("Compact (no indentation)")
        form.addRow("", self.compress)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.path_edit.textChanged.connect(lambda _text: self._check_path())
        self._check_path()

    @property
    def save_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Save)

    def path(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    def browse(self) -> None:
        """Pick the file with the platform's dialog; the choice lands in the path field, not on disk."""
        chosen, _ = QFileDialog.getSaveFileName(
            self,
            "Save state as: choose a file",
            str(self.path()),
            FILE_FILTER,
            options=QFileDialog.Option.DontConfirmOverwrite,  # the note under the path says so instead
        )
        if chosen:
            self.path_edit.setText(chosen)

    def _check_path(self) -> None:
        text = self.path_edit.text().strip()
        path = self.path()
        ok = bool(text) and path.parent.is_dir() and not path.is_dir()
        if not text:
            note = "Enter a file name."
        elif path.is_dir():
            note = "That is a folder: add a file name."
        elif not path.parent.is_dir():
            note = f"No such folder: {path.parent}"
        elif path.exists():
            note = "The file exists: Save replaces it."
        else:
            note = "A new file."
        self.path_note.setText(note)
        self.save_button.setEnabled(ok)

    def options(self) -> SaveOptions:
        opts = SaveOptions(
            path=self.path(), format=str(self.format.currentData()), compress=self.compress.isChecked()
        )
        if self.filtered.isChecked():
            opts.scope = _split(self.scope.text())
            opts.include = _split(self.include.text())
            opts.exclude = _split(self.exclude.text())
        return opts
