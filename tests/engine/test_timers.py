"""Timers: validation, skip/limit/on_start, overruns, errors (R4), invoke/edit/pause/resume/remove, shutdown."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import pytest

from desktop_app.engine.jobs import timers
from desktop_app.engine.server import Server
from tests.waiting import wait_until as _wait


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"interval": 0}, "[Timer] t: Interval must be greater than 0"),
        ({"interval": -1}, "Interval must be greater than 0"),
        ({"interval": 1, "limit": -1}, "[Timer] t: Limit"),
        ({"interval": 1, "skip": -2}, "[Timer] t: Skip"),
    ],
)
def test_validation(kwargs: dict[str, Any], message: str) -> None:
    server = Server()
    interval = kwargs.pop("interval")
    with pytest.raises(ValueError) as info:
        server.add_timer("t", interval, lambda e: None, **kwargs)
    assert message in str(info.value)


def test_duplicate_name_case_insensitive() -> None:
    server = Server()
    server.add_timer("Tick", 1, lambda e: None)
    with pytest.raises(ValueError, match=r"\[Timer\] tick: Timer already defined"):
        server.add_timer("tick", 1, lambda e: None)


def test_runs_on_named_thread_with_event_and_args() -> None:
    server = Server()
    seen: list[tuple[str, Any, Any, Any]] = []
    done = threading.Event()

    def job(e: Any, a: int, b: str) -> None:
        seen.append((threading.current_thread().name, e.name, e.sender, (a, b)))
        assert e.lockable is server.lockable and e.state is server.state and e.server is server
        done.set()

    t = server.add_timer("work", 0.02, job, args=(1, "x"))
    with server:
        assert done.wait(5)
    name, ename, sender, args = seen[0]
    assert name == "timer-work" and ename == "work" and sender is t and args == (1, "x")


def test_limit_completes_and_stays_listed() -> None:
    server = Server()
    t = server.add_timer("three", 0.01, lambda e: None, limit=3)
    with server:
        assert _wait(lambda: t.completed and t.running == 0)
    assert t.count == 3
    assert t.next_run is None
    assert server.timers.get("three") is t and server.timers.list() == [t]


def test_failed_run_counts_toward_limit_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    server = Server()

    def boom(e: Any) -> None:
        raise RuntimeError("kaput")

    t = server.add_timer("boom", 0.01, boom, limit=2)
    with caplog.at_level(logging.ERROR), server:
        assert _wait(lambda: t.completed and t.running == 0)
    assert t.count == 2 and t.errors == 2
    assert t.last_error == "RuntimeError: kaput"
    assert t.last_traceback and "kaput" in t.last_traceback
    assert any("kaput" in r.getMessage() and r.exc_info for r in caplog.records)


def test_skip_delays_first_run() -> None:
    server = Server()
    runs: list[float] = []
    t = server.add_timer("skip", 0.1, lambda e: runs.append(time.monotonic()), skip=2)
    t0 = time.monotonic()
    with server:
        nxt = t.next_run
        assert nxt is not None
        assert _wait(lambda: len(runs) >= 1)
    # first run at (2+1) x 0.1 s
    assert runs[0] - t0 >= 0.29


def _seconds_until(when: datetime | None) -> float:
    assert when is not None
    return (when - datetime.now()).total_seconds()


@pytest.mark.parametrize(("skip", "intervals"), [(0, 1), (1, 2), (2, 3), (5, 6)])
def test_next_run_is_set_when_the_timer_is_added(skip: int, intervals: int) -> None:
    # Pode sets NextTriggerTime in Add-PodeTimer: now + interval, + interval x skip when skip > 1.
    # Its skip 1 is a no-op (spec §10 item 15); here skip N always means N skipped intervals.
    server = Server()
    t = server.add_timer("t", 10, lambda e: None, skip=skip)
    assert not server.running
    left = _seconds_until(t.next_run)
    assert intervals * 10 - 1 < left <= intervals * 10
    server.timers.pause("t")
    assert t.next_run is None
    server.timers.resume("t")
    assert intervals * 10 - 1 < _seconds_until(t.next_run) <= intervals * 10


def test_start_counts_the_intervals_from_the_start() -> None:
    server = Server()
    t = server.add_timer("t", 10, lambda e: None, skip=2)
    with server:
        assert 29 < _seconds_until(t.next_run) <= 30
    assert t.next_run is None  # stopped: nothing is due


def test_on_start_runs_at_start_and_counts() -> None:
    server = Server()
    ran = threading.Event()
    t = server.add_timer("now", 60, lambda e: ran.set(), on_start=True, limit=1)
    with server:
        assert ran.wait(2)
        assert _wait(lambda: t.completed)
    assert t.count == 1


def test_count_never_claims_a_run_that_has_not_started() -> None:
    # Every pool thread busy: a due run waits in `pending`; count, running, last_run and completed
    # must not move until a thread starts it (the demo's e2e test read "count went up and nothing is
    # running" as "the tick has happened" and found no hash).
    server = Server()
    gate = threading.Event()
    busy = threading.Semaphore(0)

    def block(e: Any) -> None:
        busy.release()
        gate.wait(10)

    for i in range(timers.POOL_SIZE):
        server.add_timer(f"block-{i}", 0.01, block, limit=1)
    ran = threading.Event()
    late = server.add_timer("late", 0.01, lambda e: ran.set(), limit=1)
    endless = server.add_timer("endless", 0.01, lambda e: None)
    with server:
        try:
            for _ in range(timers.POOL_SIZE):
                assert busy.acquire(timeout=5)
            assert _wait(lambda: late.pending == 1 and endless.pending == 1)
            assert late.count == 0 and late.running == 0 and late.last_run is None
            assert not late.completed and late.state == "waiting" and not ran.is_set()
            assert endless.count == 0 and endless.running == 0
        finally:
            gate.set()
        assert ran.wait(5)
        assert _wait(lambda: late.completed and late.running == 0)
        assert late.count == 1 and late.pending == 0
        assert _wait(lambda: endless.count >= 3)
        assert endless.pending in (0, 1)


def test_a_run_dropped_at_stop_is_never_counted_and_runs_after_a_restart() -> None:
    server = Server()
    gate = threading.Event()
    busy = threading.Semaphore(0)

    def block(e: Any) -> None:
        busy.release()
        gate.wait(10)

    for i in range(timers.POOL_SIZE):
        server.add_timer(f"block-{i}", 0.01, block, limit=1)
    ran = threading.Event()
    late = server.add_timer("late", 0.01, lambda e: ran.set(), limit=1)
    server.start()
    try:
        for _ in range(timers.POOL_SIZE):
            assert busy.acquire(timeout=5)
        assert _wait(lambda: late.pending == 1)
        assert len(server.stop(timeout=0.1)) == timers.POOL_SIZE  # the blockers are abandoned
    finally:
        gate.set()
    assert not ran.is_set()
    assert late.count == 0 and late.pending == 0 and not late.completed
    with server:
        assert ran.wait(5)
        assert _wait(lambda: late.completed and late.running == 0)
    assert late.count == 1 and late.pending == 0


def test_overlap_is_skipped_and_counted_as_overrun() -> None:
    server = Server()
    release = threading.Event()
    started = threading.Event()
    active = []

    def slow(e: Any) -> None:
        active.append(1)
        assert len(active) == 1, "a timer must never overlap itself"
        started.set()
        release.wait(5)
        active.pop()

    t = server.add_timer("slow", 0.01, slow)
    fast_runs = []
    server.add_timer("fast", 0.01, lambda e: fast_runs.append(1))
    with server:
        assert started.wait(5)
        # one slow timer does not delay the others
        assert _wait(lambda: len(fast_runs) >= 10)
        assert _wait(lambda: t.overruns >= 3)
        release.set()
    assert t.count >= 1


def test_invoke_edit_pause_resume_remove_clear() -> None:
    server = Server()
    calls: list[tuple[Any, ...]] = []
    t = server.add_timer("t", 30, lambda e, *a: calls.append(a) or "result", args=(1,), limit=1)
    assert server.timers.invoke("T", 2) == "result"
    assert calls == [(1, 2)] and t.count == 0
    with pytest.raises(KeyError):
        server.timers.invoke("nope")
    with pytest.raises(ValueError, match="Interval"):
        server.timers.edit("t", interval=0)
    with pytest.raises(KeyError):
        server.timers.edit("nope", interval=1)
    with server:
        before = t.next_run
        assert before is not None
        server.timers.edit("t", interval=0.5, args=(9,))
        after = t.next_run
        assert after is not None and after < before  # next run recomputed from the new interval
        server.timers.pause("t")
        assert t.paused and t.next_run is None and t.state == "paused"
        server.timers.resume("t")
        assert not t.paused and t.next_run is not None
        # completed is set when the last run starts; wait for the run itself
        assert _wait(lambda: t.completed and calls[-1] == (9,))
        assert server.timers.invoke("t") == "result"  # works on a completed timer
    assert server.timers.test("T")
    server.timers.remove("t")
    assert not server.timers.test("t") and server.timers.get("t") is None
    server.add_timer("a", 1, lambda e: None)
    server.add_timer("b", 1, lambda e: None)
    server.timers.clear()
    assert server.timers.list() == []


def test_timer_added_while_running_runs() -> None:
    server = Server()
    ran = threading.Event()
    with server:
        server.add_timer("late", 0.01, lambda e: ran.set())
        assert ran.wait(5)


def test_r4_failing_timer_does_not_disturb_others() -> None:
    server = Server()
    server.state.set("n", 0)

    def boom(e: Any) -> None:
        raise ValueError("always")

    def count(e: Any) -> None:
        with e.lockable:
            e.state.set("n", e.state.get("n") + 1)

    logging.getLogger("desktop_app.engine.jobs.job").disabled = True
    try:
        bad = server.add_timer("bad", 0.001, boom, limit=10_000)
        good = server.add_timer("good", 0.01, count)
        with server:
            assert _wait(lambda: bad.completed and bad.running == 0, timeout=60)
            assert _wait(lambda: good.count >= 5)
    finally:
        logging.getLogger("desktop_app.engine.jobs.job").disabled = False
    assert bad.count == 10_000 and bad.errors == 10_000
    assert good.errors == 0 and server.state.get("n") >= 5


@pytest.mark.allow_threads
def test_stop_reports_a_stuck_job_and_does_not_hang() -> None:
    server = Server()
    release = threading.Event()
    started = threading.Event()

    def stuck(e: Any) -> None:
        started.set()
        release.wait(10)

    server.add_timer("stuck", 0.01, stuck)
    server.start()
    assert started.wait(5)
    t0 = time.monotonic()
    assert server.stop(timeout=0.2) == ["timer-stuck"]
    assert time.monotonic() - t0 < 10  # bounded by the deadline, not by the stuck run (generous: loaded CI)
    release.set()


def test_no_thread_left_after_stop_and_restart_works() -> None:
    server = Server()
    ran = threading.Event()
    server.add_timer("t", 0.01, lambda e: ran.set())
    server.start()
    assert ran.wait(5)
    assert server.stop() == []
    ran.clear()
    server.start()
    assert ran.wait(5)
    server.stop()
