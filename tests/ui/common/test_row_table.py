"""RowTableModel: a painted cell costs one Python call (multiData), directly and through RowSortProxy."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from PySide6.QtCore import QAbstractTableModel, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage
from PySide6.QtWidgets import QTableView

from desktop_app.ui.common.row_table import RowSortProxy, RowTableModel


class Cells(RowTableModel):
    columns = ("name", "count", "note")

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        self.calls["data"] += 1
        return super().data(index, role)

    def multiData(self, index: Any, roleDataSpan: Any) -> None:
        self.calls["multiData"] += 1
        super().multiData(index, roleDataSpan)

    def cell(self, row: Any, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row}:{col}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(QColor("#c62828"))
        if role == Qt.ItemDataRole.FontRole and col == 2:
            font = QFont()
            font.setUnderline(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class PerRole(Cells):
    """What Qt does without the override: a ``data`` call per role."""

    def multiData(self, index: Any, roleDataSpan: Any) -> None:
        QAbstractTableModel.multiData(self, index, roleDataSpan)


def _paint(qtbot: Any, model: Cells, proxy: QSortFilterProxyModel | None) -> QImage:
    view = QTableView()
    qtbot.addWidget(view)
    if proxy is not None:
        proxy.setSourceModel(model)
    view.setModel(proxy if proxy is not None else model)
    view.resize(360, 200)
    view.show()
    qtbot.waitExposed(view)
    model.calls.clear()
    return view.viewport().grab().toImage()


@pytest.mark.parametrize("proxied", [False, True])
def test_a_painted_cell_is_one_python_call(qtbot: Any, proxied: bool) -> None:
    model = Cells()
    model.append_rows(["a", "b", "c", "d"])
    image = _paint(qtbot, model, RowSortProxy() if proxied else None)
    assert model.calls["data"] == 0
    assert 0 < model.calls["multiData"] <= 4 * len(Cells.columns)
    # and it paints what the per-role path paints (colours, fonts, alignment)
    slow = PerRole()
    slow.append_rows(["a", "b", "c", "d"])
    assert _paint(qtbot, slow, QSortFilterProxyModel() if proxied else None) == image
    assert slow.calls["data"] > 0


def test_a_row_that_is_gone_has_no_data(qtbot: Any) -> None:
    model = Cells()
    model.append_rows(["a"])
    proxy = RowSortProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.show()
    qtbot.waitExposed(view)
    model.clear()
    view.viewport().grab()  # paints no cell of the removed row, and does not fail
    assert proxy.rowCount() == 0
