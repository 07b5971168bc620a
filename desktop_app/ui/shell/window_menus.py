"""The main window's menu bar, built from the actions the window and its docks own; Help → Keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from desktop_app.engine.paths import resources_dir
from desktop_app.ui.shell.shortcuts_dialog import ShortcutsDialog, action_shortcuts, menu_shortcuts

if TYPE_CHECKING:
    from desktop_app.ui.shell.main_window import MainWindow


def make_action(
    parent: QWidget, text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None, tip: str = ""
) -> QAction:
    act = QAction(text, parent)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setStatusTip(tip)
    act.triggered.connect(lambda _checked=False: slot())
    return act


def demos() -> list[tuple[str, Path, str | None]]:
    """``(menu label, script, the dock it is about)``: opening a demo brings its dock forward."""
    demo_dir = resources_dir() / "demo"
    return [
        ("Timer, routes and saved state (the Pode example)", demo_dir / "server.py", None),
        ("Lock contention (five workers, three locks)", demo_dir / "contention.py", "locks_dock"),
    ]


def build_menus(w: MainWindow) -> None:
    """File, Edit, View, Server, Snapshots, Help; ``w.recent_menu`` is filled by the window."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(w.open_script_action)
    demo_menu = file_menu.addMenu("Open demo")
    for label, path, dock in demos():
        demo_menu.addAction(make_action(w, label, lambda p=path, d=dock: w.spawn(w.open_demo(p, d))))
    file_menu.addSeparator()
    file_menu.addAction(w.attach_action)
    file_menu.addAction(w.detach_action)
    file_menu.addSeparator()
    file_menu.addAction(w.open_state_action)
    w.recent_menu = QMenu("Recent state files", w)
    file_menu.addMenu(w.recent_menu)
    file_menu.addAction(w.save_action)
    file_menu.addAction(w.save_as_action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    edit = bar.addMenu("&Edit")
    edit.addAction(w.undo_action)
    edit.addAction(w.redo_action)
    edit.addSeparator()
    for act in w.view.edit_actions():
        edit.addAction(act)
    view = bar.addMenu("&View")
    for act in w.view.view_actions():
        view.addAction(act)
    view.addSeparator()
    for dock in (w.log_dock, w.locks_dock, w.jobs_dock, w.snapshots_dock, w.processes_dock):
        view.addAction(dock.toggleViewAction())
    server = bar.addMenu("&Server")
    server.addAction(w.start_action)
    server.addAction(w.stop_action)
    server.addAction(w.restart_action)
    snapshots = bar.addMenu("S&napshots")
    dock = w.snapshots_dock
    for act in (dock.take_snapshot_action, dock.diff_live_action, dock.diff_pair_action, dock.restore_action):
        snapshots.addAction(act)
    snapshots.addSeparator()
    snapshots.addAction(dock.export_action)
    help_menu = bar.addMenu("&Help")
    w.shortcuts_action = make_action(w, "Keyboard shortcuts", w.show_shortcuts, "F1")
    help_menu.addAction(w.shortcuts_action)
    help_menu.addSeparator()
    help_menu.addAction(make_action(w, "About Shared State Studio", w.about))


def show_shortcuts(w: MainWindow) -> ShortcutsDialog:
    """Help → Keyboard shortcuts: the menus' shortcuts, then those that work inside a dock."""
    rows = menu_shortcuts(w.menuBar())
    rows += action_shortcuts("Jobs dock", w.jobs_dock.job_actions())
    rows += action_shortcuts("Snapshots dock", [w.snapshots_dock.delete_action])
    dialog = ShortcutsDialog(rows, w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
