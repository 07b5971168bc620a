"""The typed editor commits exactly the edits that change the value: 0.0 -> -0.0 does, nan -> nan does not."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from PySide6.QtCore import QPersistentModelIndex
from PySide6.QtWidgets import QLineEdit, QStyleOptionViewItem, QWidget

from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot
from desktop_app.ui.tree.state_model import VALUE, StateModel
from desktop_app.ui.tree.value_delegate import ValueDelegate


@pytest.mark.parametrize(
    ("value", "typed", "committed"),
    [(0.0, "-0.0", "-0.0"), (-0.0, "0.0", "0.0"), (math.nan, "nan", None), (1.5, "1.5", None), (1, "2", "2")],
)
def test_only_a_real_change_is_committed(qtbot: Any, value: Any, typed: str, committed: str | None) -> None:
    model = StateModel()
    model.reset_entries([EntrySnapshot("v", value, (), 1, time.time(), "t")])
    host = QWidget()
    qtbot.addWidget(host)
    delegate = ValueDelegate(host)
    seen: list[Any] = []
    delegate.value_committed.connect(lambda index, v: seen.append(v))
    index = model.index(0, VALUE)
    editor = delegate.createEditor(host, QStyleOptionViewItem(), index)
    assert isinstance(editor, QLineEdit)
    delegate.setEditorData(editor, index)
    editor.setText(typed)
    delegate.setModelData(editor, model, QPersistentModelIndex(index))
    assert [repr(v) for v in seen] == ([] if committed is None else [committed])
