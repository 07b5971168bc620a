"""Where the docks go on a first run, and how big the window and each dock start.

A remembered layout (QSettings ``geometry`` / ``window_state``) always wins; this is what a new
user sees before moving anything:

    +-------------------------------+---------------------+
    | toolbar                                             |
    +-------------------------------+---------------------+
    | the state tree                | Locks | Snapshots   |   full height: the lock table shows
    |                               |  (table, timeline)  |   every lockable, the timeline lanes
    |                               |                     |   get hundreds of pixels
    +-------------------------------+---------------------+
    | Jobs | Log   (the whole width: every Jobs column fits, a line of log reads in one piece) |
    +-----------------------------------------------------+
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt

if TYPE_CHECKING:
    from desktop_app.ui.shell.main_window import MainWindow

SCREEN_SHARE = 0.95
"""A first-run window takes this share of the screen's free area (each way)."""
MIN_SIZE = QSize(1024, 680)
MAX_SIZE = QSize(1800, 1120)
RIGHT_SHARE = 0.42
"""The Locks / Snapshots column's share of the window's width."""
RIGHT_MIN = 560
BOTTOM_SHARE = 0.25
"""The Jobs / Log row's share of the window's height: a few job rows and their routes side by side."""
BOTTOM_MIN = 190


def first_run_size(available: QSize) -> QSize:
    """The window's size on a first run, on a screen whose free area is ``available``."""
    width = round(available.width() * SCREEN_SHARE)
    height = round(available.height() * SCREEN_SHARE)
    width = max(min(width, MAX_SIZE.width()), min(MIN_SIZE.width(), available.width()))
    height = max(min(height, MAX_SIZE.height()), min(MIN_SIZE.height(), available.height()))
    return QSize(width, height)


def first_run_geometry(available: QRect) -> QRect:
    """``first_run_size`` centred in the screen's free area."""
    rect = QRect(0, 0, 0, 0)
    rect.setSize(first_run_size(available.size()))
    rect.moveCenter(available.center())
    return rect


def arrange_docks(w: MainWindow) -> None:
    """The default places: Locks and Snapshots tabbed on the right, Jobs and Log tabbed along the bottom."""
    area = Qt.DockWidgetArea
    # The bottom row runs under the right column too: the Jobs table needs the whole width.
    w.setCorner(Qt.Corner.BottomLeftCorner, area.BottomDockWidgetArea)
    w.setCorner(Qt.Corner.BottomRightCorner, area.BottomDockWidgetArea)
    w.addDockWidget(area.RightDockWidgetArea, w.locks_dock)
    w.addDockWidget(area.RightDockWidgetArea, w.snapshots_dock)
    w.tabifyDockWidget(w.locks_dock, w.snapshots_dock)
    w.addDockWidget(area.BottomDockWidgetArea, w.processes_dock)
    w.addDockWidget(area.BottomDockWidgetArea, w.jobs_dock)
    # Processes left of Jobs: selecting a process shows its jobs beside it (shown when attached)
    w.splitDockWidget(w.processes_dock, w.jobs_dock, Qt.Orientation.Horizontal)
    w.addDockWidget(area.BottomDockWidgetArea, w.log_dock)
    w.tabifyDockWidget(w.jobs_dock, w.log_dock)
    w.processes_dock.hide()
    # The contention view is the studio's signature; the Jobs tab counts down to the demo's next tick.
    w.locks_dock.raise_()
    w.jobs_dock.raise_()


def size_docks(w: MainWindow) -> None:
    """Give the right column and the bottom row their first-run share of the window (once it is shown)."""
    right = max(RIGHT_MIN, round(w.width() * RIGHT_SHARE))
    bottom = max(BOTTOM_MIN, round(w.height() * BOTTOM_SHARE))
    w.resizeDocks([w.locks_dock], [right], Qt.Orientation.Horizontal)
    w.resizeDocks([w.jobs_dock], [bottom], Qt.Orientation.Vertical)


PROCESSES_SHARE = 0.36
"""Attached: the Processes dock's share of the bottom row (the Jobs dock beside it has the rest)."""
PROCESSES_MIN = 460


def size_processes_dock(w: MainWindow) -> None:
    """Give the Processes dock room beside the Jobs dock when it first shows (attaching)."""
    dock = w.processes_dock
    if dock.isFloating() or w.dockWidgetArea(dock) != Qt.DockWidgetArea.BottomDockWidgetArea:
        return
    w.resizeDocks([dock], [max(PROCESSES_MIN, round(w.width() * PROCESSES_SHARE))], Qt.Orientation.Horizontal)
