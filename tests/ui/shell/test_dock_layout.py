"""The first-run layout at 1440x900: the Locks dock shows every lockable and a tall timeline, Jobs fits its columns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtWidgets import QApplication

from desktop_app.ui.shell.dock_layout import first_run_geometry, first_run_size
from desktop_app.ui.shell.main_window import MainWindow

SCREEN = QRect(0, 0, 1440, 900)


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    lp = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def first_run(qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    """A window with no remembered layout, sized as on a 1440x900 screen (offscreen has no such screen)."""
    w = MainWindow(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    w.interactive = False
    qtbot.addWidget(w)
    w.setGeometry(first_run_geometry(SCREEN))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_first_run_size_fits_the_screen() -> None:
    size = first_run_size(SCREEN.size())
    assert size.width() <= 1440 and size.height() <= 900
    assert size.width() >= 1300 and size.height() >= 820  # most of the screen, not a small window
    assert first_run_size(QSize(1024, 600)) == QSize(1024, 600)  # never larger than a small screen
    assert first_run_size(QSize(3840, 2160)).width() <= 1800  # nor sprawling on a big one


def test_contention_demo_shows_every_lockable_and_200px_of_timeline(qtbot: Any, first_run: MainWindow) -> None:
    w = first_run
    demo = next(a for a in w.menuBar().actions()[0].menu().actions() if a.text() == "Open demo").menu()
    contention = next(a for a in demo.actions() if a.text().startswith("Lock contention"))
    contention.trigger()  # File -> Open demo -> Lock contention
    dock = w.locks_dock
    qtbot.waitUntil(lambda: w.script is not None and w.script.name == "contention.py", timeout=15_000)
    qtbot.waitUntil(lambda: dock.model.rowCount() >= 3, timeout=10_000)
    assert dock.isVisible() and not dock.visibleRegion().isEmpty()  # brought forward
    table = dock.table
    viewport = table.viewport().rect()
    for row in range(dock.proxy.rowCount()):
        rect = table.visualRect(dock.proxy.index(row, 0))
        assert viewport.contains(rect), f"row {row} of {dock.proxy.rowCount()} is not fully visible"
    assert dock.timeline_scroll.viewport().height() >= 200
    # the tree keeps a good part of the width
    assert w.view.width() >= 0.5 * w.width()


def test_jobs_dock_shows_all_its_columns_and_the_routes(qtbot: Any, first_run: MainWindow, tmp_path: Path) -> None:
    w = first_run
    script = tmp_path / "srv.py"
    script.write_text(
        "def setup(server):\n"
        "    server.add_timer('forever', 2, lambda e: None)\n"
        "    server.add_route('GET', '/', lambda e: None)\n"
    )
    task = w.spawn(w.load_script(script))
    qtbot.waitUntil(task.done, timeout=10_000)
    jobs = w.jobs_dock
    assert jobs.isVisible() and not jobs.visibleRegion().isEmpty()  # in front on a first run
    qtbot.waitUntil(lambda: jobs.jobs_model.rowCount() == 1, timeout=5000)
    view = jobs.jobs_view
    last = view.model().columnCount() - 1
    assert view.columnViewportPosition(last) + view.columnWidth(last) <= view.viewport().width()
    routes = jobs.routes_view
    last = routes.model().columnCount() - 1
    assert routes.columnViewportPosition(last) + routes.columnWidth(last) <= routes.viewport().width()
    assert view.visualRect(jobs.jobs_model.index(0, 0)).bottom() <= view.viewport().height()


def test_a_remembered_layout_wins_over_the_default(qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    from PySide6.QtCore import Qt

    ini = str(tmp_path / "kept.ini")
    w = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.jobs_dock)  # the user moves Jobs
    w.close()
    again = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.dockWidgetArea(again.jobs_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
        assert again.dockWidgetArea(again.locks_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    finally:
        again.close()


def test_the_locks_dock_fits_a_column_beside_the_tree(qtbot: Any) -> None:
    from desktop_app.ui.locks.locks_dock import LocksDock
    from desktop_app.ui.shell.dock_layout import RIGHT_MIN

    dock = LocksDock()
    qtbot.addWidget(dock)
    assert dock.minimumSizeHint().width() <= RIGHT_MIN
    dock.overrun_note.show()  # the "Gaps" note must wrap, not widen the dock
    assert dock.minimumSizeHint().width() <= RIGHT_MIN


def test_the_snapshots_toolbar_fits_its_default_width(qtbot: Any, first_run: MainWindow) -> None:
    from PySide6.QtWidgets import QToolButton

    dock = first_run.snapshots_dock
    dock.raise_()
    qtbot.waitUntil(lambda: dock.isVisible() and dock.toolbar.width() > 0, timeout=3000)
    qtbot.waitUntil(lambda: first_run.locks_dock.width() >= 500, timeout=3000)  # the first-run sizes applied
    overflow = dock.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert overflow is None or not overflow.isVisible()
    assert dock.toolbar.sizeHint().width() <= dock.toolbar.width()
