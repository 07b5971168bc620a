"""The one question before loading entries into the live state: Replace, Merge or Cancel (Enter merges)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def merge_question(parent: QWidget | None, title: str, question: str, source: str) -> QMessageBox:
    """The message box, not yet shown. ``source`` names what is loaded: "the file", "the snapshot"."""
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setText(question)
    box.setInformativeText(
        f"Replace: the state becomes exactly {source}.\n"
        f"Merge: entries in {source} overwrite the same entries; others stay.\n\n"
        "Either way, Undo brings it back."
    )
    box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
    merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    # Enter must not throw the live state away: the safe choice is the default.
    box.setDefaultButton(merge)
    return box


def ask_replace_or_merge(parent: QWidget | None, title: str, question: str, source: str) -> bool | None:
    """True = merge, False = replace, None = cancelled."""
    box = merge_question(parent, title, question, source)
    box.exec()
    clicked = box.clickedButton()
    if clicked is None or box.buttonRole(clicked) == QMessageBox.ButtonRole.RejectRole:
        return None
    return box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole
