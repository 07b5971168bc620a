"""The studio attached to a fleet: the real MainWindow on a real redis-server, with real headless processes.

Two `state-studio run demo --headless --store ...` processes share `hash`; the window attaches and
shows it growing from both, an edit made in the window reaches both processes (their own HTTP
routes answer with it), the Processes dock lists both, the Locks dock names holders in both, a
killed process is marked stopped, a killed Redis shows the banner and refuses edits, and a Redis
started again is resynced. A second test kills a process while it holds a lock.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from desktop_app.engine import SharedState
from desktop_app.ui.bridge.entry_commands import AddChildCommand
from desktop_app.ui.bridge.state_bridge import StateDelta
from desktop_app.ui.locks.lock_table_model import COL_HOLDER
from desktop_app.ui.processes.processes_model import COL_STATUS
from desktop_app.ui.shell.connection_banner import is_greyed
from desktop_app.ui.shell.main_window import MainWindow
from tests.headless_demo import HeadlessDemo
from tests.redis_server import RedisServer
from tests.ui.shell.test_main_window import Dialogs, run

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, loop: Any, dialogs: Dialogs) -> Any:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    w.interactive = False
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()


def _writers(deltas: list[StateDelta]) -> set[str]:
    """``HOST:PID`` of every process the tree saw write ``hash``."""
    return {
        s.thread.split("/", 1)[0] for d in deltas for s in d.upserted if s.name == "hash" and "/" in s.thread
    }


def test_attached_to_two_headless_demos(
    qtbot: Any, window: MainWindow, own_redis: RedisServer, demos: list[HeadlessDemo], tmp_path: Path
) -> None:
    url, ns = own_redis.url, f"demo-{uuid.uuid4().hex[:8]}"
    a = HeadlessDemo(url, ns, tmp_path / "a")
    b = HeadlessDemo(url, ns, tmp_path / "b")
    demos += [a, b]
    http = [a.wait_listening(), b.wait_listening()]
    deltas: list[StateDelta] = []
    window.bridge.entries_changed.connect(deltas.append)
    assert run(qtbot, window, window.attach(url, ns))
    assert window.windowTitle() == f"Shared State Studio — attached to {url} · namespace '{ns}'"
    assert window.script_label.text() == f"Attached: {url} · namespace '{ns}'"

    # the tree shows `hash` growing, written by both processes
    qtbot.waitUntil(lambda: {a.key, b.key} <= _writers(deltas), timeout=30_000)
    node = window.view.model.node_for_path(("hash",))
    assert node is not None and len(node.value["values"]) >= 2

    # the Processes dock lists both, alive, with their jobs
    procs = window.processes_dock.model
    qtbot.waitUntil(lambda: procs.alive_count() == 2, timeout=15_000)
    assert {procs.index(r, 0).data() for r in range(2)} == {a.key, b.key}
    assert window.processes_dock.select_process(a.key)
    qtbot.waitUntil(lambda: window.jobs_dock.jobs_model.find("forever") >= 0, timeout=10_000)
    assert window.jobs_dock.read_only and window.jobs_dock.windowTitle() == f"Jobs — {a.key}"
    window.jobs_dock.select_job("forever")
    assert not window.jobs_dock.run_now_action.isEnabled() and not window.jobs_dock.pause_action.isEnabled()
    assert window.jobs_dock.routes_model.rowCount() == 2

    # the Locks dock: the global lockable per process, and a timeline lane per process's timer thread
    locks = window.locks_dock
    locks.show()
    locks.raise_()

    def lanes() -> set[str]:
        return {lane.thread.split("/", 1)[0] for lane in locks.view.timeline().lanes}

    qtbot.waitUntil(lambda: {a.key, b.key} <= lanes(), timeout=30_000)
    per_process = [row[0] for row in locks.per_process.model.row_texts()]
    assert a.key in per_process and b.key in per_process and per_process[-1] == "Sum of all processes"
    assert locks.model.row_of("global") == 0 and not locks.reset_button.isEnabled()

    # an edit in the window (a key added to the shared dict) reaches both processes
    window.view.runner.submit(AddChildCommand(window.bridge, ("hash",), "note", "from the studio"))
    qtbot.waitUntil(lambda: all(_get(u).get("note") == "from the studio" for u in http), timeout=20_000)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=5000)  # undoable, as any edit

    # a process killed outright is marked stopped (its heartbeat stops, then its key expires)
    b.kill()
    row = procs.row_of(b.key)
    qtbot.waitUntil(lambda: procs.index(row, COL_STATUS).data().startswith("✕ stopped"), timeout=20_000)
    assert procs.alive_count() == 1

    # Redis goes away: the banner, the tree greyed but there, an edit refused with a message
    own_redis.kill()
    qtbot.waitUntil(window.banner.isVisible, timeout=15_000)
    assert "Connection lost to" in window.banner.text() and "retrying" in window.banner.text()
    assert is_greyed(window.view.tree)
    assert window.view.model.node_for_path(("hash",)) is not None
    window.view.runner.submit(AddChildCommand(window.bridge, ("hash",), "lost", 1))
    qtbot.waitUntil(lambda: "connection" in window.view.message_text(), timeout=5000)
    assert "not applied" in window.view.message_text()

    # Redis back (empty: no persistence): the window reconnects and resyncs to what is there now
    own_redis.start()
    SharedState(store=url, namespace=ns).set("after-restart", True)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=20_000)
    qtbot.waitUntil(lambda: window.view.model.node_for_path(("after-restart",)) is not None, timeout=20_000)
    assert not is_greyed(window.view.tree)
    # the surviving process starts a new hash on its next tick, and the tree shows it
    qtbot.waitUntil(lambda: window.view.model.node_for_path(("hash",)) is not None, timeout=20_000)
    # the outage did not make the surviving process look stopped: it beats on, alive
    assert procs.index(procs.row_of(a.key), COL_STATUS).data() == "● alive"

    assert run(qtbot, window, window.detach())
    assert window.attached is None and not window.processes_dock.model.rowCount()


HOLDER = """
import threading

def setup(server):
    orders = server.lockables.new("orders")

    def hold(e):
        with orders:  # held until the process dies
            e.state.set("holding", True)
            threading.Event().wait()

    server.add_timer("hold", 0.1, hold, limit=1)
"""


def test_a_lock_held_by_a_killed_process_is_shown_as_such(
    qtbot: Any, window: MainWindow, redis_url: str, demos: list[HeadlessDemo], tmp_path: Path
) -> None:
    ns = f"hold-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = HeadlessDemo(redis_url, ns, tmp_path / "h", script)
    demos.append(holder)
    assert run(qtbot, window, window.attach(redis_url, ns))
    locks = window.locks_dock
    locks.show()
    locks.raise_()

    def holder_cell() -> str:
        row = locks.model.row_of("orders")
        return "" if row < 0 else str(locks.model.index(row, COL_HOLDER).data())

    qtbot.waitUntil(lambda: holder_cell().startswith(f"{holder.key}/timer-hold"), timeout=30_000)
    holder.kill()
    # its lease (10 s) outlives it: the holder is named, with the process stopped and the lease running out
    qtbot.waitUntil(lambda: "process stopped; lease ends in" in holder_cell(), timeout=20_000)
    assert window.processes_dock.model.alive_count() == 0
