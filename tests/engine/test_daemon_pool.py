"""DaemonPool: named daemon workers, queued calls cancelled at shutdown, a bounded join, resizing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest

from desktop_app.engine.jobs.daemon_pool import DaemonPool
from tests.waiting import wait_until


def test_workers_are_named_daemons_and_take_their_name_back() -> None:
    pool = DaemonPool("timer", 2)

    def job() -> tuple[str, bool]:
        me = threading.current_thread()
        seen = (me.name, me.daemon)
        me.name = "timer-renamed"  # jobs rename their thread while they run
        return seen

    assert pool.submit(job).result(5) == ("timer-1", True)
    assert [t.name for t in pool.threads] == ["timer-1"]  # renamed back once the job returned
    pool.shutdown()
    assert pool.threads == []


def test_shutdown_cancels_queued_calls_and_join_reports_the_stuck_thread() -> None:
    pool = DaemonPool("route", 1)
    gate, entered = threading.Event(), threading.Event()
    first = pool.submit(lambda: (entered.set(), gate.wait(10)))
    queued = pool.submit(lambda: "never")
    assert entered.wait(5)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(CancelledError):
        queued.result(0)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    stuck = pool.join(time.monotonic() + 0.05)
    assert [t.name for t in stuck] == ["route-1"] and stuck[0].daemon
    gate.set()
    assert first.result(5) == (None, True)
    assert pool.join(time.monotonic() + 5) == []


def test_max_workers_can_grow_and_shrink_while_running() -> None:
    pool = DaemonPool("schedule", 1)
    gate = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> None:
        started.release()
        gate.wait(10)

    runs = [pool.submit(blocked) for _ in range(3)]
    assert started.acquire(timeout=5)
    assert len(pool.threads) == 1 and not runs[1].running() and not runs[2].running()  # queued
    pool.max_workers = 3
    assert started.acquire(timeout=5) and started.acquire(timeout=5)  # both queued runs start at once
    pool.max_workers = 1
    gate.set()
    for run in runs:
        run.result(5)
    assert wait_until(lambda: len(pool.threads) == 1)  # surplus threads end once idle
    pool.shutdown()
    with pytest.raises(ValueError):
        pool.max_workers = 0
