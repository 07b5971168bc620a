"""Schedules: validation, the minute tick (driven through ``_tick`` and a fake clock), the registry, the lifecycle."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from desktop_app.engine.server import Server
from tests.waiting import wait_until

T0 = datetime(2030, 1, 7, 9, 0, 20)  # a Monday, 20 s past the minute


def at(hh: int, mm: int, day: int = 7) -> datetime:
    return datetime(2030, 1, day, hh, mm)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, t: datetime) -> None:
        self.t = t
        self.read = threading.Event()

    def __call__(self) -> datetime:
        self.read.set()
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> Iterator[Server]:
    srv = Server(root=tmp_path)
    srv.schedules.now = clock  # the real loop never sees a new minute unless the test moves the clock
    yield srv
    srv.stop(timeout=5)


def tick(server: Server, minute: datetime) -> list[Future[Any]]:
    """Drive one minute and wait for the runs it started."""
    runs = server.schedules._tick(minute)
    for fut in runs:
        fut.result(timeout=5)
    return runs


def noop(e: Any, *args: Any) -> None:
    pass


def join_new_threads(baseline: set[threading.Thread]) -> None:
    for t in set(threading.enumerate()) - baseline:
        t.join(5)
    assert not [t.name for t in set(threading.enumerate()) - baseline]


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": -1}, "[Schedule] job: Cannot have a negative limit"),
        ({"end_time": T0 - timedelta(minutes=1)}, "[Schedule] job: The EndTime value must be in the future"),
        (
            {"start_time": T0 + timedelta(hours=2), "end_time": T0 + timedelta(hours=1)},
            "[Schedule] job: Cannot have a StartTime after the EndTime",
        ),
        (
            {"start_time": T0 + timedelta(hours=1), "end_time": T0 + timedelta(hours=1)},
            "[Schedule] job: Cannot have a StartTime after the EndTime",
        ),
        ({"cron": "* * *"}, "[Schedule] job: Cron expression should only consist of 5 parts: * * *"),
        ({"cron": "61 * * * *"}, "[Schedule] job: Value '61' for minute is invalid"),
        ({"cron": ["0 * * * *", "0 0 * Foo *"]}, "[Schedule] job: Invalid month alias found: Foo"),
        ({"cron": []}, "[Schedule] job: at least one cron expression is required"),
    ],
)
def test_add_rejects_invalid_schedules(server: Server, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"cron": "* * * * *", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        server.add_schedule("job", args.pop("cron"), noop, **args)
    assert not server.schedules.test("job")


def test_duplicate_names_are_rejected_case_insensitively(server: Server) -> None:
    server.add_schedule("Nightly", "0 2 * * *", noop)
    with pytest.raises(ValueError, match=re.escape("[Schedule] NIGHTLY: Schedule already defined")):
        server.add_schedule("NIGHTLY", "0 3 * * *", noop)
    assert [s.sources for s in server.schedules.list()] == [["0 2 * * *"]]


# -- next_run -------------------------------------------------------------------------------------


def test_next_run_is_the_earliest_trigger_over_all_crons(server: Server) -> None:
    s = server.add_schedule("job", ["0 12 * * *", "30 9 * * *"], noop)
    assert s.next_run == at(9, 30)
    assert s.sources == ["0 12 * * *", "30 9 * * *"]
    assert [str(c) for c in s.crons] == ["0 12 * * *", "30 9 * * *"]
    assert s.state == "waiting" and not s.completed


def test_next_run_starts_at_start_time_and_includes_its_minute(server: Server) -> None:
    on_the_minute = server.add_schedule("a", "* * * * *", noop, start_time=at(10, 0))
    mid_minute = server.add_schedule("b", "* * * * *", noop, start_time=at(10, 0) + timedelta(seconds=30))
    assert on_the_minute.next_run == at(10, 0)  # the tick at 10:00 fires it (start_time <= minute)
    assert mid_minute.next_run == at(10, 1)


def test_aware_times_are_stored_as_naive_local(server: Server) -> None:
    end = (T0 + timedelta(days=1)).astimezone(UTC)
    s = server.add_schedule("job", "0 * * * *", noop, end_time=end)
    assert s.end_time == T0 + timedelta(days=1) and s.end_time.tzinfo is None


def test_schedule_without_trigger_before_its_end_is_born_completed(server: Server) -> None:
    s = server.add_schedule("new-year", "0 0 1 1 *", noop, end_time=T0 + timedelta(days=30))
    assert s.completed and s.next_run is None and s.state == "completed"
    server.start()
    assert server.schedules._tick(datetime(2030, 2, 1, 0, 0)) == []
    assert s.count == 0


# -- ticks ----------------------------------------------------------------------------------------


def test_tick_runs_matching_schedules_on_a_named_pool_thread(server: Server) -> None:
    seen: list[tuple[Any, ...]] = []

    def job(e: Any, *args: Any) -> str:
        seen.append((e.name, e.sender, e.server, e.state, args, threading.current_thread().name))
        return "ok"

    s = server.add_schedule("Daily", "30 9 * * *", job, args=(1, 2))
    server.start()
    assert tick(server, at(9, 29)) == []
    assert s.count == 0 and s.last_run is None
    assert len(tick(server, at(9, 30))) == 1
    assert seen == [("Daily", s, server, server.state, (1, 2), "schedule-Daily")]
    assert s.count == 1 and s.last_run == at(9, 30) and s.errors == 0
    assert s.next_run == at(9, 30, day=8)
    assert s.last_duration is not None


def test_any_matching_cron_runs_the_schedule(server: Server) -> None:
    s = server.add_schedule("job", ["0 10 * * *", "5 9 * * *"], noop)
    server.start()
    tick(server, at(9, 5))
    tick(server, at(10, 0))
    tick(server, at(10, 5))
    assert s.count == 2
    assert s.next_run == at(9, 5, day=8)


def test_limit_completes_the_schedule(server: Server) -> None:
    s = server.add_schedule("twice", "* * * * *", noop, limit=2)
    server.start()
    tick(server, at(9, 1))
    assert s.count == 1 and s.next_run == at(9, 2) and not s.completed
    tick(server, at(9, 2))
    assert s.count == 2 and s.completed and s.next_run is None and s.state == "completed"
    assert tick(server, at(9, 3)) == []
    assert s.count == 2 and s.last_run == at(9, 2)
    assert server.schedules.get("twice") is s  # completed schedules stay listed


def test_start_and_end_time_bound_the_runs(server: Server) -> None:
    s = server.add_schedule("window", "* * * * *", noop, start_time=at(9, 10), end_time=at(9, 20))
    server.start()
    assert tick(server, at(9, 5)) == []
    tick(server, at(9, 10))
    assert s.count == 1 and s.next_run == at(9, 11)
    tick(server, at(9, 20))  # end_time is inclusive
    assert s.count == 2
    assert s.completed and s.next_run is None  # no trigger left before end_time


def test_a_schedule_past_its_end_completes_after_the_minute(server: Server) -> None:
    s = server.add_schedule("window", "* * * * *", noop, end_time=at(9, 20))
    server.schedules.pause("window")
    server.start()
    tick(server, at(9, 20))
    assert not s.completed
    tick(server, at(9, 21))
    assert s.completed and s.count == 0


def test_on_start_runs_once_and_counts_toward_the_limit(server: Server) -> None:
    ran = threading.Event()
    s = server.add_schedule("boot", "0 0 1 1 *", lambda e: ran.set(), on_start=True, limit=1)
    other = server.add_schedule("other", "0 0 1 1 *", noop)
    server.start()
    assert ran.wait(5)
    assert s.count == 1 and s.completed and s.last_run == T0 and s.next_run is None
    assert other.count == 0


def test_failing_run_is_counted_and_later_ticks_still_run(server: Server, caplog: Any) -> None:
    calls: list[datetime] = []

    def flaky(e: Any) -> None:
        calls.append(e.timestamp)
        if len(calls) == 1:
            raise RuntimeError("boom")

    s = server.add_schedule("flaky", "* * * * *", flaky)
    server.start()
    tick(server, at(9, 1))
    assert s.count == 1 and s.errors == 1
    assert s.last_error == "RuntimeError: boom"
    assert s.last_traceback is not None and "boom" in s.last_traceback
    assert "flaky" in caplog.text
    tick(server, at(9, 2))
    assert len(calls) == 2 and s.count == 2 and s.errors == 1
    assert server.running and not s.completed


def test_start_recomputes_a_stale_next_run_and_completes_expired_schedules(
    server: Server, clock: Clock
) -> None:
    hourly = server.add_schedule("hourly", "0 * * * *", noop)
    short = server.add_schedule("short", "0 * * * *", noop, end_time=T0 + timedelta(hours=1))
    assert hourly.next_run == at(10, 0) and short.next_run == at(10, 0)
    clock.t = at(11, 20)
    server.start()
    assert hourly.next_run == at(12, 0)
    assert short.completed and short.next_run is None


# -- the minute loop ------------------------------------------------------------------------------


def test_loop_ticks_each_new_minute_once_without_catching_up(
    server: Server, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sch = server.schedules
    ticks: queue.Queue[datetime] = queue.Queue()
    real_tick = sch._tick

    def recording_tick(minute: datetime) -> list[Future[Any]]:
        runs = real_tick(minute)
        for fut in runs:
            fut.result(timeout=5)
        ticks.put(minute)
        return runs

    monkeypatch.setattr(sch, "_tick", recording_tick)
    s = server.add_schedule("every", "* * * * *", noop)

    def move_clock(to: datetime) -> None:
        # Under the condition, so the loop either sees the new time before it waits or is woken; then
        # wait until it has read it, so a wrong tick would be queued before the next expected one.
        with sch._cond:
            clock.t = to
            clock.read.clear()
            sch._cond.notify_all()
        assert clock.read.wait(5)

    server.start()  # the start minute (09:00) is not ticked: the first tick is the next :00
    move_clock(at(9, 1) + timedelta(seconds=0.2))
    assert ticks.get(timeout=5) == at(9, 1)
    move_clock(at(9, 1) + timedelta(seconds=40))  # same minute: no second tick
    move_clock(at(9, 5))  # 09:02..09:04 were missed: not caught up
    assert ticks.get(timeout=5) == at(9, 5)
    move_clock(at(8, 5))  # stepped back an hour (DST ending): repeated minutes do not fire again
    move_clock(at(9, 6))
    assert ticks.get(timeout=5) == at(9, 6)
    move_clock(at(4, 0))  # stepped back more than 3 hours: the clock was wrong, ticking resumes at once
    assert ticks.get(timeout=5) == at(4, 0)
    assert s.count == 4
    assert ticks.empty()


# -- registry -------------------------------------------------------------------------------------


def test_names_are_case_insensitive_and_case_preserving(server: Server) -> None:
    s = server.add_schedule("Nightly", "0 2 * * *", noop)
    assert server.schedules.get("NIGHTLY") is s and s.name == "Nightly"
    assert server.schedules.test("nightly") and not server.schedules.test("daily")
    assert server.schedules.get("daily") is None
    server.schedules.pause("nIGHTLY")
    assert s.paused
    server.schedules.remove("NIGHTLY")
    assert server.schedules.get("Nightly") is None and server.schedules.list() == []


def test_invoke_runs_now_on_the_caller_thread_without_counting(server: Server) -> None:
    seen: list[tuple[Any, ...]] = []

    def job(e: Any, *args: Any) -> int:
        seen.append((e.sender, args, threading.current_thread()))
        return len(seen)

    s = server.add_schedule("once", "* * * * *", job, limit=1, args=("a",))
    assert server.schedules.invoke("once", "b") == 1  # before start too
    server.start()
    tick(server, at(9, 1))
    assert s.completed and s.count == 1
    assert server.schedules.invoke("ONCE") == 3  # completed: still runs
    assert s.count == 1 and s.last_run == at(9, 1)
    assert seen[0] == (s, ("a", "b"), threading.current_thread())
    assert seen[2] == (s, ("a",), threading.current_thread())
    with pytest.raises(KeyError, match="nope"):
        server.schedules.invoke("nope")


def test_edit_reparses_and_recomputes_next_run(server: Server) -> None:
    got: list[Any] = []
    s = server.add_schedule("job", "0 10 * * *", noop)
    assert s.next_run == at(10, 0)
    assert server.schedules.edit("JOB", cron=["0 11 * * *", "45 9 * * *"]) is s
    assert s.sources == ["0 11 * * *", "45 9 * * *"] and s.next_run == at(9, 45)
    with pytest.raises(ValueError, match=re.escape("[Schedule] job: Cron expression should only consist")):
        server.schedules.edit("job", cron="0 10 * *")
    assert s.sources == ["0 11 * * *", "45 9 * * *"] and s.next_run == at(9, 45)
    server.schedules.edit("job", fn=lambda e, *a: got.append(a), args=[7])
    server.start()
    tick(server, at(9, 45))
    assert got == [(7,)]
    with pytest.raises(KeyError):
        server.schedules.edit("nope", cron="* * * * *")


def test_edit_to_a_cron_with_no_trigger_before_the_end_completes(server: Server) -> None:
    s = server.add_schedule("job", "* * * * *", noop, end_time=T0 + timedelta(hours=1))
    server.schedules.edit("job", cron="0 0 1 1 *")
    assert s.completed and s.next_run is None


def test_pause_and_resume(server: Server, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    sch = server.schedules
    ticked: queue.Queue[datetime] = queue.Queue()
    real_tick = sch._tick
    monkeypatch.setattr(sch, "_tick", lambda minute: ticked.put(minute) or real_tick(minute))
    s = server.add_schedule("job", "* * * * *", noop)
    server.start()
    server.schedules.pause("job")
    assert s.paused and s.state == "paused" and s.next_run is None
    assert tick(server, at(9, 1)) == []
    # The real minute loop sees the clock move too: let it tick 09:30 (paused: nothing runs) before
    # resuming, or it may tick 09:30 after the resume and run the job once more than this test drives.
    with sch._cond:
        clock.t = at(9, 30) + timedelta(seconds=10)
        sch._cond.notify_all()
    while ticked.get(timeout=5) != at(9, 30):
        pass
    server.schedules.resume("JOB")
    assert not s.paused and s.state == "waiting" and s.next_run == at(9, 31)
    tick(server, at(9, 31))
    assert s.count == 1
    with pytest.raises(KeyError):
        server.schedules.pause("nope")
    with pytest.raises(KeyError):
        server.schedules.resume("nope")


def test_next_trigger(server: Server) -> None:
    start, end = datetime(2030, 1, 8, 0, 0), datetime(2030, 1, 9, 0, 0)
    server.add_schedule("bounded", "0 * * * *", noop, start_time=start, end_time=end)
    server.add_schedule("open", "0 * * * *", noop)
    nt = server.schedules.next_trigger
    assert nt("bounded") == start  # default: the start time, being later than now
    assert nt("open") == at(10, 0)  # default: now
    assert nt("BOUNDED", datetime(2030, 1, 8, 5, 30)) == datetime(2030, 1, 8, 6, 0)
    assert nt("bounded", datetime(2030, 1, 8, 23, 30)) == end  # end_time is inclusive
    assert nt("bounded", end) is None
    with pytest.raises(ValueError, match="Supplied date is before the start time of the schedule"):
        nt("bounded", start - timedelta(minutes=1))
    with pytest.raises(ValueError, match="Supplied date is after the end time of the schedule"):
        nt("bounded", end + timedelta(minutes=1))
    with pytest.raises(KeyError):
        nt("nope")


# -- concurrency and lifecycle --------------------------------------------------------------------


def test_max_concurrency_validation(server: Server) -> None:
    assert server.schedules.max_concurrency == 10
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"^Maximum concurrent schedules must be >=1 but got: {bad}$"):
            server.schedules.max_concurrency = bad
    assert server.schedules.max_concurrency == 10
    server.schedules.max_concurrency = 2
    assert server.schedules.max_concurrency == 2


def test_max_concurrency_bounds_the_pool_and_changes_take_effect_at_once(server: Server) -> None:
    gate = threading.Event()
    started = {name: threading.Event() for name in ("a", "b")}

    def blocked(e: Any) -> None:
        started[e.name].set()
        gate.wait(5)

    for name in started:
        server.add_schedule(name, "* * * * *", blocked)
    server.schedules.max_concurrency = 1
    server.start()
    runs: list[Future[Any]] = []
    try:
        runs = server.schedules._tick(at(9, 1))
        assert started["a"].wait(5)
        assert not runs[1].running() and not runs[1].done()  # queued: the only thread is busy
        gate.set()
        for fut in runs:
            fut.result(5)

        gate.clear()
        for event in started.values():
            event.clear()
        server.schedules.max_concurrency = 2  # while running: the next runs get a 2-thread pool
        runs = server.schedules._tick(at(9, 2))
        assert started["a"].wait(5) and started["b"].wait(5)  # both at once
    finally:
        gate.set()
    for fut in runs:
        fut.result(5)
    assert server.stop(timeout=5) == []


def test_a_queued_run_is_pending_not_counted(server: Server) -> None:
    # count, last_run and completed move when a thread starts the run, never while it waits its turn.
    gate = threading.Event()
    first = threading.Event()
    ran: list[str] = []

    def job(e: Any) -> None:
        ran.append(e.name)
        if e.name == "a":
            first.set()
            gate.wait(5)

    a = server.add_schedule("a", "* * * * *", job)
    b = server.add_schedule("b", "* * * * *", job, limit=1)
    server.schedules.max_concurrency = 1
    server.start()
    try:
        runs = server.schedules._tick(at(9, 1))
        assert first.wait(5)
        assert a.count == 1 and a.running == 1
        assert b.pending == 1 and b.count == 0 and b.running == 0 and b.last_run is None
        assert not b.completed and b.next_run is None and b.state == "waiting"
        runs += server.schedules._tick(at(9, 2))  # a runs again; b, limit 1, is not dispatched twice
        assert a.pending == 1 and b.pending == 1 and b.count == 0
    finally:
        gate.set()
    for fut in runs:
        fut.result(5)
    assert b.count == 1 and b.pending == 0 and b.completed and b.last_run == at(9, 1)
    assert ran.count("b") == 1 and a.count == 2


def test_stop_reports_a_stuck_run_within_the_deadline(server: Server) -> None:
    baseline = set(threading.enumerate())
    started, gate = threading.Event(), threading.Event()

    def stuck(e: Any) -> None:
        started.set()
        gate.wait(10)

    s = server.add_schedule("stuck", "* * * * *", stuck)
    quick = server.add_schedule("quick", "* * * * *", noop)
    server.start()
    try:
        runs = server.schedules._tick(at(9, 1))
        assert started.wait(5)
        assert s.state == "running"
        # On a loaded machine "quick" may not have run yet: only "stuck" is meant to be left running.
        assert wait_until(lambda: quick.count == 1 and quick.running == 0)
        t0 = time.monotonic()
        assert server.stop(timeout=0.2) == ["schedule-stuck"]
        assert time.monotonic() - t0 < 10  # bounded by the deadline, not by the stuck run
    finally:
        gate.set()
    for fut in runs:
        fut.result(5)
    join_new_threads(baseline)
    assert s.state == "waiting"


def test_start_and_stop_leave_no_thread_behind(tmp_path: Path) -> None:
    baseline = set(threading.enumerate())
    server = Server(root=tmp_path)
    server.add_schedule("hourly", "0 * * * *", noop)
    server.start()
    assert "schedules" in [t.name for t in threading.enumerate()]
    t0 = time.monotonic()
    assert server.stop(timeout=5) == []
    assert time.monotonic() - t0 < 3  # the minute loop wakes at once (it would sleep up to 5 s)
    assert set(threading.enumerate()) == baseline


def test_on_start_run_happens_on_a_schedule_thread(tmp_path: Path) -> None:
    baseline = set(threading.enumerate())
    server = Server(root=tmp_path)
    ran = threading.Event()
    where: list[str] = []

    def boot(e: Any) -> None:
        where.append(threading.current_thread().name)
        ran.set()

    s = server.add_schedule("boot", "0 0 1 1 *", boot, on_start=True)
    server.start()
    try:
        assert ran.wait(5)
    finally:
        assert server.stop(timeout=5) == []
    assert where == ["schedule-boot"]
    assert s.count == 1 and not s.completed and s.last_run is not None
    assert set(threading.enumerate()) == baseline
