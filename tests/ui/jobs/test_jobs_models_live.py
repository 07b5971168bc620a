"""The Jobs dock's tables pass Qt's model checker while jobs and routes come and go and write the state;
``find()`` finds routes as it finds jobs, whatever the case."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QTimer

from desktop_app.engine.server import Server
from desktop_app.ui.jobs.jobs_dock import JobsDock
from tests.ui.model_checks import attach_checkers, run_worker

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_find_matches_a_route_row_whatever_the_case(qtbot: Any, server: Server, dock: JobsDock) -> None:
    server.add_route("GET", "/Items", lambda e: None)
    server.add_route("post", "/items", lambda e: None)
    server.add_timer("Tick", 60, lambda e: None)
    dock.set_server(server)
    dock.sample()
    routes = dock.routes_model
    rows = {r.key: i for i, r in enumerate(routes.rows())}
    assert len(rows) == 2
    get, post = (next(i for k, i in rows.items() if k[1].startswith(m)) for m in ("GET", "POST"))
    assert routes.find("GET /Items") == get and routes.find("get /items") == get
    assert routes.find("POST /items") == post and routes.find("Post /ITEMS") == post
    assert routes.find("DELETE /items") == -1
    assert dock.jobs_model.find("tick") == 0 and dock.jobs_model.find("TICK") == 0


def churn(server: Server, rounds: int) -> None:
    """Jobs and routes come and go (the dock samples meanwhile); the timers write the state."""

    def write(e: Any, n: int) -> None:
        e.state.set(f"t{n}", [n, float(n)])

    for i in range(rounds):
        server.add_timer(f"timer{i}", 0.01, write, args=(i,), limit=3)  # completes after three runs
        server.add_schedule(f"sched{i}", "* * * * *", lambda e: None)
        server.add_route("GET", f"/r{i}", lambda e: {"i": 1})
        if i % 2:
            server.timers.remove(f"timer{i - 1}")
            server.schedules.remove(f"sched{i - 1}")
            server.http.remove_route("GET", f"/r{i - 1}")
        if i % 3 == 0:
            server.timers.pause(f"timer{i}")
        server.state.set("round", i)


def test_job_tables_pass_the_checker_while_jobs_change(
    qtbot: Any, qtmodeltester: Any, server: Server, dock: JobsDock
) -> None:
    checkers = attach_checkers(qtmodeltester, dock.jobs_model, dock.routes_model)
    server.add_timer("steady", 0.01, lambda e: e.state.set("steady", e.sender.count))
    dock.set_server(server)
    server.start()
    fast = QTimer()
    fast.timeout.connect(dock.sample)  # far more samples than the dock's own 4 Hz
    fast.start(10)
    try:
        run_worker(qtbot, lambda: churn(server, rounds=30))

        def tables_match() -> None:
            jobs = {(r.key[0], r.key[1]) for r in dock.jobs_model.rows()}
            live = {("timer", j.name.casefold()) for j in server.timers.list()}
            live |= {("schedule", j.name.casefold()) for j in server.schedules.list()}
            assert jobs == live
            routes = {r.key[1] for r in dock.routes_model.rows()}
            assert routes == {f"{r.method} {r.path}" for r in server.http.routes}

        qtbot.waitUntil(tables_match, timeout=10_000)
    finally:
        fast.stop()
    del checkers
