"""The main toolbar: the everyday actions (open, save, snapshot, live/pause, find, start/stop server) as icons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar, QWidget

from desktop_app.ui.common.themed_icons import themed_icon

if TYPE_CHECKING:
    from desktop_app.ui.shell.main_window import MainWindow


def keys_of(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


class MainToolBar(QToolBar):
    """Icons drawn in the palette's text colour, redrawn when the palette changes (light/dark)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Main toolbar", parent)
        self.setObjectName("MainToolBar")  # saveState/restoreState find it by name
        self.setIconSize(QSize(20, 20))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.setMovable(False)
        self._icons: dict[QAction, str] = {}

    def add(self, action: QAction, icon: str, tip: str = "") -> QAction:
        """Add ``action`` with the bundled icon ``icon``; ``tip`` gets the shortcut appended."""
        self._icons[action] = icon
        action.setIcon(themed_icon(icon, self.palette()))
        if tip:
            keys = keys_of(action)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
        self.addAction(action)
        return action

    def set_icon(self, action: QAction, icon: str) -> None:
        """Switch ``action`` to another icon (e.g. pause ⇄ resume)."""
        self._icons[action] = icon
        action.setIcon(themed_icon(icon, self.palette()))

    def icon_name(self, action: QAction) -> str:
        return self._icons[action]

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for action, icon in self._icons.items():
                action.setIcon(themed_icon(icon, self.palette()))


def build_toolbar(w: MainWindow) -> MainToolBar:
    """Open, Save | Snapshot, Live/Pause, Find | Start, Stop: the actions of the first five minutes."""
    bar = MainToolBar(w)
    bar.add(w.open_state_action, "open", "Open a state file")
    bar.add(w.save_action, "save", "Save the state")
    bar.addSeparator()
    bar.add(w.snapshots_dock.take_snapshot_action, "snapshot", "Take a snapshot of the live state")
    # Not the view's checkable Live action: a pressed-in pause button would read as "paused".
    live = w.view.live_action
    w.toolbar_live_action = QAction("Pause / go live", w)
    w.toolbar_live_action.triggered.connect(lambda _checked=False: live.toggle())
    bar.add(w.toolbar_live_action, "pause")

    def show_live(on: bool) -> None:
        keys = keys_of(live)
        bar.set_icon(w.toolbar_live_action, "pause" if on else "resume")
        w.toolbar_live_action.setToolTip(
            f"Live: the tree follows the state. Pause it ({keys})"
            if on
            else f"Paused: the tree is frozen. Go live ({keys})"
        )

    live.toggled.connect(show_live)
    show_live(live.isChecked())
    bar.add(w.view.edit.find, "find", "Find entries by name, path or value")
    bar.addSeparator()
    bar.add(w.start_action, "server-start", "Start the server")
    bar.add(w.stop_action, "server-stop", "Stop the server")
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
