"""The Snapshots dock: take, list, diff, restore (undoable), delete and export snapshots of the live state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
    QWidget,
)

from desktop_app.ui.bridge.edit_commands import EditFeedback, ReplaceStateCommand
from desktop_app.ui.common.plural import count
from desktop_app.ui.common.replace_or_merge import ask_replace_or_merge
from desktop_app.ui.common.worker_lanes import WorkerLanes
from desktop_app.ui.snapshots.diff_runner import DiffRunner, Inputs
from desktop_app.ui.snapshots.diff_view import DiffResult
from desktop_app.ui.snapshots.restore_command import RestoreStateCommand
from desktop_app.ui.snapshots.snapshot_list_model import SnapshotListModel
from desktop_app.ui.snapshots.snapshot_store import Entries, SnapshotInfo, SnapshotStore, entries_of
from desktop_app.ui.snapshots.snapshots_panel import SnapshotsPanel

log = logging.getLogger("desktop_app.ui.snapshots")

class SnapshotsDock(QDockWidget):
    """Snapshots of the live state: take (Ctrl+T), diff, restore as an undoable step, delete, export.

    All file I/O, every read of the state and every diff run on worker threads; results come back
    through queued signals. ``store`` may be replaced (tests point it at a temporary folder).

    Signals:
        snapshots_listed(list): the list was re-read from the folder (list of SnapshotInfo, newest first).
        snapshot_taken(object): a SnapshotInfo, after "Take snapshot" or an auto-snapshot.
        diff_ready(object): a DiffResult, once shown in the diff tree.
        state_restored(str): a restore, its undo or its redo was applied to the live state.
        failed(str): an operation failed; the message is also shown in the dock.
    """

    snapshots_listed = Signal(list)
    snapshot_taken = Signal(object)
    diff_ready = Signal(object)
    state_restored = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        bridge: Any,
        undo_stack: QUndoStack,
        parent: QWidget | None = None,
        store: SnapshotStore | None = None,
    ) -> None:
        super().__init__("Snapshots", parent)
        self.setObjectName("SnapshotsDock")
        self.bridge = bridge
        self.undo_stack = undo_stack
        self._store = store
        self.server: Any = None
        # One thread per lane: file writes stay in order (a take and its prune never race another
        # take), a long diff never delays a snapshot, and restores apply in undo-stack order.
        self._workers = WorkerLanes("snapshots", workers=1, parent=self)
        self._last_auto_version: int | None = None
        self._feedback: EditFeedback | None = None

        self.model = SnapshotListModel(self)
        self._make_actions()
        panel = SnapshotsPanel(self.model)
        self.list_view, self.diff_view, self.status = panel.list_view, panel.diff_view, panel.status
        self.auto_check, self.auto_minutes, self.auto_keep = panel.auto_check, panel.auto_minutes, panel.auto_keep
        self.toolbar = panel.toolbar
        self.toolbar.addAction(self.take_snapshot_action)
        self.toolbar.addAction(self.diff_live_action)
        self.toolbar.addAction(self.diff_pair_action)
        self.toolbar.addAction(self.restore_action)
        self.toolbar.addAction(self.export_action)
        self.toolbar.addAction(self.delete_action)
        self.setWidget(panel)
        self.diffs = DiffRunner(
            self.diff_view,
            lambda fn, done: self._submit(fn, done, lane="diff"),
            self._diff_shown,
            lambda _title, err: self._fail("Could not compute the diff", err),
            self,
        )

        self.auto_timer = QTimer(self)
        self.auto_timer.timeout.connect(self.auto_snapshot_now)
        self.auto_check.toggled.connect(self._auto_settings_changed)
        self.auto_minutes.valueChanged.connect(self._auto_settings_changed)
        self.list_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.list_view.customContextMenuRequested.connect(self._context_menu)
        self.list_view.doubleClicked.connect(lambda _index: self.diff_with_live())
        self.model.rowsInserted.connect(lambda *_: self._update_actions())
        self.model.rowsRemoved.connect(lambda *_: self._update_actions())
        self._update_actions()
        self.refresh()

    # -- construction ---------------------------------------------------------------------------

    def _make_actions(self) -> None:
        def make(
            text: str, slot: Callable[[], Any], tip: str, shortcut: QKeySequence | str | None = None
        ) -> QAction:
            act = QAction(text, self)
            act.setStatusTip(tip)
            act.setToolTip(tip)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.take_snapshot_action = make(
            "Take snapshot…", self.ask_and_take_snapshot, "Save a snapshot of the live state", "Ctrl+T"
        )
        self.take_snapshot_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.diff_live_action = make(
            "Diff with live", self.diff_with_live, "Compare the selected snapshot with the live state"
        )
        self.diff_pair_action = make(
            "Diff selected", self.diff_selected, "Compare the two selected snapshots (older → newer)"
        )
        self.restore_replace_action = make(
            "Restore (replace)",
            lambda: self.restore_selected(merge=False),
            "Replace the whole state with the snapshot",
        )
        self.restore_merge_action = make(
            "Restore (merge)",
            lambda: self.restore_selected(merge=True),
            "Put the snapshot's entries back, keeping entries it does not have",
        )
        self.restore_action = make(
            "Restore…", self.ask_and_restore, "Restore the selected snapshot: replace or merge (undoable)"
        )
        self.export_action = make(
            "Export…", self.ask_and_export, "Write the selected snapshot to a state file"
        )
        self.delete_action = make("Delete", self.ask_and_delete, "Delete the selected snapshots")
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.delete_action)

    @property
    def store(self) -> SnapshotStore:
        if self._store is None:
            self._store = SnapshotStore()
        return self._store

    @store.setter
    def store(self, store: SnapshotStore) -> None:
        self._store = store
        self.refresh()

    def set_server(self, server: Any) -> None:
        """Snapshot and restore ``server``'s state (None: actions that need a state are disabled)."""
        self.server = server
        self._last_auto_version = None
        self.diffs.cancel()  # a diff against the old server's state is moot
        if server is None:
            self.auto_timer.stop()
            self._workers.shutdown()
        else:
            self._auto_settings_changed()
        self._update_actions()

    # -- off-thread plumbing --------------------------------------------------------------------

    def _submit(
        self, fn: Callable[[], Any], on_done: Callable[[Future[Any]], None], *, lane: str = "io"
    ) -> Future[Any]:
        """Run ``fn`` on the lane's thread ("io", "diff" or "edit"); ``on_done(future)`` runs on the GUI thread."""
        return self._workers.submit(fn, on_done, lane=lane)

    def _fail(self, what: str, err: BaseException) -> None:
        message = f"{what}: {err}"
        log.warning("%s", message)
        self.status.setText(message)
        self.failed.emit(message)

    # -- selection ------------------------------------------------------------------------------

    def selected(self) -> list[SnapshotInfo]:
        """The selected snapshots, newest first."""
        rows = sorted(index.row() for index in self.list_view.selectionModel().selectedRows())
        return [self.model.info(r) for r in rows]

    def select(self, *infos: SnapshotInfo) -> None:
        """Select these snapshots (by file) in the list."""
        sel = self.list_view.selectionModel()
        sel.clearSelection()
        for info in infos:
            row = self.model.row_of(info.path)
            if row >= 0:
                sel.select(
                    self.model.index(row, 0),
                    sel.SelectionFlag.Select | sel.SelectionFlag.Rows,
                )

    def _update_actions(self) -> None:
        n = len(self.selected())
        live = self.server is not None
        self.take_snapshot_action.setEnabled(live)
        self.diff_live_action.setEnabled(live and n == 1)
        self.diff_pair_action.setEnabled(n == 2)
        self.restore_replace_action.setEnabled(live and n == 1)
        self.restore_merge_action.setEnabled(live and n == 1)
        self.restore_action.setEnabled(live and n == 1)
        self.export_action.setEnabled(n == 1)
        self.delete_action.setEnabled(n >= 1)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.list_view.indexAt(pos)
        if index.isValid() and not self.list_view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.list_view.selectRow(index.row())
        menu = QMenu(self)
        for act in (
            self.take_snapshot_action,
            self.diff_live_action,
            self.diff_pair_action,
            self.restore_replace_action,
            self.restore_merge_action,
            self.export_action,
            self.delete_action,
        ):
            menu.addAction(act)
        menu.exec(self.list_view.viewport().mapToGlobal(pos))

    # -- listing --------------------------------------------------------------------------------

    def refresh(self, select: Path | None = None) -> Future[Any]:
        """Re-read the folder (off the GUI thread) and update the list in place; then select ``select``."""
        store = self.store

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                self._fail("Could not list the snapshots", err)
                return
            infos: list[SnapshotInfo] = f.result()
            self.model.set_snapshots(infos)
            if select is not None and (row := self.model.row_of(select)) >= 0:
                index = self.model.index(row, 0)
                self.select(self.model.info(row))
                self.list_view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                self.list_view.scrollTo(index)
            self.snapshots_listed.emit(infos)

        return self._submit(store.list, done)

    # -- taking ---------------------------------------------------------------------------------

    def ask_and_take_snapshot(self) -> None:
        if self.server is None:
            return
        label, ok = QInputDialog.getText(self, "Take snapshot", "Label (optional):")
        if ok:
            self.take_snapshot(label)

    def take_snapshot(self, label: str = "", *, auto: bool = False) -> Future[Any] | None:
        """Snapshot the live state on a worker thread; ``snapshot_taken`` follows."""
        server, store = self.server, self.store
        if server is None:
            return None
        keep = self.auto_keep.value()

        def take() -> SnapshotInfo:
            info = store.take(server.state, label, auto=auto)
            if auto:
                store.prune(keep, auto_only=True)
            return info

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                self._fail("Could not take the snapshot", err)
                return
            info: SnapshotInfo = f.result()
            if info.version is not None:
                self._last_auto_version = info.version
            self.status.setText(f"Took snapshot {info.title!r}: {count(info.entries, 'entry')}")
            # A snapshot someone asked for is shown selected; an automatic one leaves the selection be.
            self.refresh(select=None if auto else info.path)
            self.snapshot_taken.emit(info)

        self.status.setText("Taking a snapshot…")
        return self._submit(take, done)

    def _auto_settings_changed(self, *_args: Any) -> None:
        if self.auto_check.isChecked() and self.server is not None:
            self.auto_timer.start(self.auto_minutes.value() * 60_000)
        else:
            self.auto_timer.stop()

    def auto_snapshot_now(self) -> Future[Any] | None:
        """What the auto-snapshot timer does: snapshot only if the state changed since the last one."""
        server = self.server
        if server is None:
            return None
        on_redis = getattr(server, "store", None) is not None  # there `version` is a round trip: not here
        if not on_redis and self._last_auto_version is not None and server.state.version == self._last_auto_version:
            return None  # `version` is a plain int read: no lock
        return self.take_snapshot("auto", auto=True)

    # -- diffs ----------------------------------------------------------------------------------

    def diff_with_live(self, info: SnapshotInfo | None = None) -> Future[Any] | None:
        """Diff a snapshot (default: the selected one) against the live state: snapshot -> live."""
        if info is None:
            chosen = self.selected()
            if len(chosen) != 1:
                return None
            info = chosen[0]
        server, store = self.server, self.store
        if server is None:
            return None
        title = f"{info.title} → live"

        def inputs() -> tuple[dict[str, Any], dict[str, Any]]:
            a = {name: value for name, (value, _scope) in store.load(info).items()}
            b = {name: value for name, (value, _scope) in entries_of(server.state).items()}
            return a, b

        return self._run_diff(title, inputs)

    def diff_selected(self) -> Future[Any] | None:
        """Diff the two selected snapshots, older -> newer."""
        chosen = self.selected()
        if len(chosen) != 2:
            return None
        return self.diff_snapshots(*sorted(chosen, key=lambda i: (i.time, i.path.name)))

    def diff_snapshots(self, older: SnapshotInfo, newer: SnapshotInfo) -> Future[Any]:
        store = self.store
        title = f"{older.title} → {newer.title}"

        def inputs() -> tuple[dict[str, Any], dict[str, Any]]:
            a = {name: value for name, (value, _scope) in store.load(older).items()}
            b = {name: value for name, (value, _scope) in store.load(newer).items()}
            return a, b

        return self._run_diff(title, inputs)

    def _run_diff(self, title: str, inputs: Inputs) -> Future[Any]:
        return self.diffs.run(title, inputs)

    def _diff_shown(self, result: DiffResult) -> None:
        self.status.setText("")
        self.diff_ready.emit(result)

    # -- restoring ------------------------------------------------------------------------------

    def ask_and_restore(self) -> Future[Any] | None:
        chosen = self.selected()
        if len(chosen) != 1 or self.server is None:
            return None
        merge = ask_replace_or_merge(
            self, "Restore snapshot", f"Restore {chosen[0].title!r} into the live state?", "the snapshot"
        )
        return None if merge is None else self.restore_snapshot(chosen[0], merge=merge)

    def restore_selected(self, merge: bool) -> Future[Any] | None:
        chosen = self.selected()
        return self.restore_snapshot(chosen[0], merge=merge) if len(chosen) == 1 else None

    def restore_snapshot(self, info: SnapshotInfo, *, merge: bool) -> Future[Any] | None:
        """Restore ``info`` into the live state as one undoable step (Replace, or Merge per key).

        The snapshot and the live "before" picture are read on a worker; then the step is pushed on
        the undo stack, which applies it on the edit thread. ``state_restored`` follows.
        """
        server, store = self.server, self.store
        if server is None:
            return None
        mode = "merge" if merge else "replace"
        text = f"Restore snapshot {info.title!r} ({mode})"

        def read() -> tuple[Entries, Entries]:
            return entries_of(server.state), store.load(info)

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                self._fail(f"Could not restore {info.title!r}", err)
                return
            if server is not self.server:
                return  # the server changed meanwhile: restoring into it would surprise
            before, after = f.result()
            self.undo_stack.push(self._restore_command(server, before, after, merge, text))

        self.status.setText(f"Reading {info.title!r}…")
        return self._submit(read, done)

    def _restore_command(
        self, server: Any, before: Entries, after: Entries, merge: bool, text: str
    ) -> QUndoCommand:
        """ReplaceStateCommand through the bridge's edit thread when the bridge shows this server."""
        bridge = self.bridge
        if bridge is not None and getattr(bridge, "server", None) is server:
            if self._feedback is None:
                self._feedback = EditFeedback(self)
                self._feedback.applied.connect(self._restore_applied)
                self._feedback.failed.connect(lambda message: self._fail("Restore", RuntimeError(message)))
                self._feedback.waiting.connect(lambda _path, text: self.status.setText(f"Restoring: {text}"))
            return ReplaceStateCommand(bridge, before, after, merge, text, feedback=self._feedback)
        return RestoreStateCommand(server, before, after, merge, text, self._run_edit)

    def _restore_applied(self, text: str) -> None:
        self.status.setText(f"{text}: done")
        self.state_restored.emit(text)

    def _run_edit(self, fn: Callable[[], None], text: str) -> None:
        """Apply a RestoreStateCommand step on this dock's edit thread; report it on the GUI thread."""
        self.status.setText(f"{text}…")

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                self._fail(text, err)
                return
            self._restore_applied(text)

        self._submit(fn, done, lane="edit")

    # -- deleting and exporting -----------------------------------------------------------------

    def ask_and_delete(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        names = ", ".join(repr(i.title) for i in chosen[:5]) + (" …" if len(chosen) > 5 else "")
        answer = QMessageBox.question(
            self,
            "Delete snapshots",
            f"Delete {count(len(chosen), 'snapshot')} ({names})? This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_snapshots(chosen)

    def delete_snapshots(self, infos: Sequence[SnapshotInfo]) -> Future[Any]:
        store = self.store
        doomed = list(infos)

        def delete() -> None:
            for info in doomed:
                store.delete(info)

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                self._fail("Could not delete", err)
            else:
                self.status.setText(f"Deleted {count(len(doomed), 'snapshot')}")
            self.refresh()

        return self._submit(delete, done)

    def ask_and_export(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        info = chosen[0]
        filters = "Pode state file (*.json);;Pode 2.14 typed state file (*.json)"
        suggested = str(Path.home() / f"{info.path.stem}.json")
        path, chosen_filter = QFileDialog.getSaveFileName(self, "Export snapshot", suggested, filters)
        if path:
            self.export_snapshot(info, path, "pode-v2" if "2.14" in chosen_filter else "pode")

    def export_snapshot(self, info: SnapshotInfo, path: str | Path, format: str = "pode") -> Future[Any]:
        """Write ``info`` to ``path`` as a state file (off the GUI thread)."""
        store = self.store

        def done(f: Future[Any]) -> None:
            err = f.exception()
            if err is not None:
                hint = " (values such as dates or sets need the Pode 2.14 format)" if format == "pode" else ""
                self._fail(f"Could not export {info.title!r}{hint}", err)
                return
            self.status.setText(f"Exported {info.title!r} to {f.result()}")

        return self._submit(lambda: store.export(info, path, format), done)
