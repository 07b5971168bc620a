"""Save As options: the file format (Pode / Pode v2 typed) and which entries to write."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

FORMAT_LABELS = [("Pode (readable JSON, every Pode version)", "pode"), ("Pode v2 typed (dates, sets, UUIDs)", "pode-v2")]


@dataclass
class SaveOptions:
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
    """Asks for the format and the entry selection (all, or by scope / include / exclude)."""

    def __init__(self, fmt: str = "pode", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save state as")
        layout = QVBoxLayout(self)
        form = QFormLayout()
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
        form.addRow(self.all)
        form.addRow(self.filtered)
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
        form.addRow(self.compress)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def options(self) -> SaveOptions:
        opts = SaveOptions(format=str(self.format.currentData()), compress=self.compress.isChecked())
        if self.filtered.isChecked():
            opts.scope = _split(self.scope.text())
            opts.include = _split(self.include.text())
            opts.exclude = _split(self.exclude.text())
        return opts
