"""The Locks dock's Slow waits tab: waits over a threshold, newest first, with the waiter's and holder's stacks.

The list holds still while a row is selected (new waits are counted, and shown on a click or when
the selection clears), and stacks show the person's own frames first, library frames folded."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, Qt
from PySide6.QtGui import QFontDatabase, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine.locks import Lockable, SlowWait
from desktop_app.ui.locks.slow_wait_model import MAX_SLOW_WAITS, SlowWaitModel
from desktop_app.ui.locks.stack_frames import fold_stack
from desktop_app.ui.locks.timeline_data import format_duration, short_site


class SlowWaitsPanel(QWidget):
    """The threshold, the list of slow waits, and the two stacks of the selected one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._slow_seen: dict[int, dict[int, SlowWait]] = {}
        self._held: list[SlowWait] = []
        """New waits kept back while a row is selected, so the row being read does not move."""
        self._held_count = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Keep waits over"))
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 60_000)
        self.threshold.setSuffix(" ms")
        self.threshold.setValue(round(Lockable.slow_wait_threshold * 1000))
        self.threshold.setToolTip(
            "Waits at least this long are kept with the waiter's and the holder's stacks"
        )
        self.threshold.valueChanged.connect(self._set_threshold)
        bar.addWidget(self.threshold)
        self.slow_count = QLabel("")
        bar.addWidget(self.slow_count)
        self.new_button = QPushButton("")
        self.new_button.setObjectName("new_waits_button")
        self.new_button.setToolTip(
            "New slow waits wait here while a row is selected, so the list holds still.\n"
            "Click to show them at the top (clearing the selection, or Esc in the list, shows them too)."
        )
        self.new_button.clicked.connect(lambda: self.show_new())
        self.new_button.hide()
        bar.addWidget(self.new_button)
        bar.addStretch(1)
        self.all_frames = QCheckBox("Show all frames")
        self.all_frames.setToolTip(
            "Stacks show your code's frames; tick to see the standard library's (threading…),\n"
            "installed packages' and the engine's frames around them too"
        )
        self.all_frames.toggled.connect(lambda _on=False: self._show_stacks(self.slow_table.currentIndex()))
        bar.addWidget(self.all_frames)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the slow waits and their stacks as JSON")
        self.export_button.clicked.connect(lambda: self.export_slow_waits())
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.slow_model = SlowWaitModel(self)
        self.slow_table = QTableView()
        self.slow_table.setModel(self.slow_model)
        self.slow_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.slow_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.slow_table.setAlternatingRowColors(True)
        self.slow_table.verticalHeader().hide()
        self.slow_table.verticalHeader().setDefaultSectionSize(self.slow_table.fontMetrics().height() + 6)
        self.slow_table.horizontalHeader().setStretchLastSection(True)
        fm = self.slow_table.fontMetrics()
        samples = (
            "00:00:00.000",
            "timer-refresh-cache",
            "orders-xx",
            "999 ms",
            "timed out",
            "timer-refresh-cache",
        )
        for col, sample in enumerate(samples):
            self.slow_table.setColumnWidth(col, fm.horizontalAdvance(sample) + 24)
        self.slow_table.selectionModel().currentRowChanged.connect(self._show_stacks)
        self.slow_table.selectionModel().selectionChanged.connect(self._on_selection)
        self.slow_table.installEventFilter(self)
        split.addWidget(self.slow_table)
        stacks = QSplitter(Qt.Orientation.Horizontal)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.waiter_stack = QPlainTextEdit()
        self.holder_stack = QPlainTextEdit()
        self.waiter_title = QLabel("Waiter's stack")
        self.holder_title = QLabel("Holder's stack")
        for edit, title in ((self.waiter_stack, self.waiter_title), (self.holder_stack, self.holder_title)):
            edit.setReadOnly(True)
            edit.setFont(mono)
            edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            edit.setPlaceholderText(f"Select a slow wait to see the {title.text().lower()}")
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            column.addWidget(title)
            column.addWidget(edit, 1)
            stacks.addWidget(box)
        split.addWidget(stacks)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

    def clear(self) -> None:
        """Forget every slow wait shown (new server, or the counters were reset)."""
        self.slow_model.clear()
        self._slow_seen.clear()
        self._held.clear()
        self._held_count = 0
        self._update_counts()
        self.waiter_stack.clear()
        self.holder_stack.clear()

    def held_count(self) -> int:
        """New slow waits not shown yet because a row is selected."""
        return self._held_count

    def show_new(self) -> None:
        """Put the held-back waits at the top of the list and scroll there (the selection stays)."""
        if self._held:
            self.slow_model.add(self._held)
            self.slow_table.scrollToTop()
        self._held.clear()
        self._held_count = 0
        self._update_counts()

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._held_count and not self.slow_table.selectionModel().hasSelection():
            self.show_new()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.slow_table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.slow_table.selectionModel().hasSelection()
        ):
            self.slow_table.selectionModel().clear()  # done reading: the held-back waits show
            return True
        return super().eventFilter(watched, event)

    def _update_counts(self) -> None:
        n = self.slow_model.rowCount()
        self.slow_count.setText(f"{n} kept" if n else "none yet")
        if self._held_count:
            more = f"{MAX_SLOW_WAITS}+" if self._held_count > MAX_SLOW_WAITS else f"{self._held_count:,}"
            self.new_button.setText(f"{more} new — show")
        self.new_button.setVisible(bool(self._held_count))

    def collect(self, locks: list[Lockable]) -> int:
        """Add the slow waits the lockables recorded since the last call; returns how many are kept."""
        fresh: list[SlowWait] = []
        seen_now: dict[int, dict[int, SlowWait]] = {}
        for lk in locks:
            known = self._slow_seen.get(id(lk), {})
            current = {id(w): w for w in list(lk.slow_waits)}
            fresh.extend(w for key, w in current.items() if key not in known)
            seen_now[id(lk)] = current  # holding them keeps their ids unique
        self._slow_seen = seen_now
        if fresh and self.slow_table.selectionModel().hasSelection():
            self._held.extend(fresh)
            self._held_count += len(fresh)
            if len(self._held) > MAX_SLOW_WAITS:  # only the newest would be kept anyway
                self._held.sort(key=lambda w: w.at)
                del self._held[:-MAX_SLOW_WAITS]
        else:
            self.slow_model.add(fresh)
        self._update_counts()
        return self.slow_model.rowCount()

    def export_slow_waits(self, path: str | Path | None = None) -> Path | None:
        """Write the slow waits with both stacks as JSON; asks for a file when ``path`` is None.

        Returns the file written, or None when cancelled or on an error (shown in a message box).
        """
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export slow waits", "slow-waits.json", "JSON files (*.json);;All files (*)"
            )
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        data = {
            "exported": datetime.now().isoformat(timespec="seconds"),
            "threshold_ms": self.threshold.value(),
            "slow_waits": self.slow_model.as_json(),
        }
        try:
            target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as err:
            QMessageBox.critical(
                self,
                "Export slow waits",
                f"Could not write {target}:\n{err.strerror or err}\n\nChoose another folder or file name.",
            )
            return None
        return target

    def _set_threshold(self, ms: int) -> None:
        Lockable.slow_wait_threshold = ms / 1000.0

    def _stack_text(self, frames: list[str]) -> str:
        if self.all_frames.isChecked():
            return "".join(frames)
        folded = fold_stack(frames)
        text = "".join(folded.shown)
        if folded.hidden:
            text += (
                f"# … {folded.hidden} library frame{'s' if folded.hidden != 1 else ''} hidden "
                f"({', '.join(folded.kinds)}): tick Show all frames to see them\n"
            )
        return text

    def _show_stacks(self, current: QModelIndex, _previous: QModelIndex | None = None) -> None:
        if not current.isValid():
            self.waiter_stack.clear()
            self.holder_stack.clear()
            self.waiter_title.setText("Waiter's stack")
            self.holder_title.setText("Holder's stack")
            return
        w = self.slow_model.wait_at(current.row())
        outcome = "gave up after" if w.timed_out else "waited"
        self.waiter_title.setText(
            f"Waiter's stack: <b>{escape(w.thread)}</b> {outcome} {format_duration(w.waited)} for {escape(w.lock)}"
        )
        where = f" at {escape(short_site(w.holder_site))}" if w.holder_site else ""
        self.holder_title.setText(
            f"Holder's stack: <b>{escape(w.holder or '?')}</b> held {escape(w.lock)}{where}"
        )
        self.waiter_stack.setPlainText(
            f"# {w.thread} waited {format_duration(w.waited)} for {w.lock}"
            f"{' and gave up' if w.timed_out else ''}\n" + self._stack_text(w.waiter_stack)
        )
        head = f"# {w.holder or '?'} held {w.lock} at {w.holder_site or '?'}\n"
        if w.holder_stack:
            self.holder_stack.setPlainText(head + self._stack_text(w.holder_stack))
        else:
            self.holder_stack.setPlainText(
                head + "# (no stack: the holder had released the lock before it could be captured)\n"
            )
        # Folded, the person's frames come first; whole, the innermost frames (where the lock was
        # taken) are the interesting end.
        for edit in (self.waiter_stack, self.holder_stack):
            bar = edit.verticalScrollBar()
            bar.setValue(bar.maximum() if self.all_frames.isChecked() else 0)
