"""Handoff: calls from an asyncio loop to a pool and back; results, errors, concurrency, close."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from desktop_app.engine.http.handoff import Handoff


def test_results_and_exceptions_come_back_to_the_awaiting_coroutine() -> None:
    pool = ThreadPoolExecutor(2)

    async def main() -> None:
        handoff = Handoff(pool, 2)
        assert await handoff.submit(lambda a, b: a + b, 2, 3) == 5
        with pytest.raises(ZeroDivisionError):
            await handoff.submit(lambda: 1 / 0)

    try:
        asyncio.run(main())
    finally:
        pool.shutdown()


def test_many_calls_all_resolve_and_at_most_workers_run_at_once() -> None:
    pool = ThreadPoolExecutor(8)
    running = 0
    most = 0
    lock = threading.Lock()

    def work(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if i % 7 == 0:
            time.sleep(0.002)
        with lock:
            running -= 1
        return i * i

    async def main() -> list[int]:
        handoff = Handoff(pool, 3)
        futures = [handoff.submit(work, i) for i in range(500)]
        return list(await asyncio.gather(*futures))

    try:
        assert asyncio.run(main()) == [i * i for i in range(500)]
    finally:
        pool.shutdown()
    assert 1 <= most <= 3


def test_calls_run_on_pool_threads_not_the_loop() -> None:
    pool = ThreadPoolExecutor(1, thread_name_prefix="worker")

    async def main() -> str:
        return await Handoff(pool, 1).submit(lambda: threading.current_thread().name)

    try:
        assert asyncio.run(main()).startswith("worker")
    finally:
        pool.shutdown()


def test_close_cancels_what_has_not_started_and_refuses_new_calls() -> None:
    pool = ThreadPoolExecutor(1)
    release = threading.Event()
    started = threading.Event()

    def block() -> str:
        started.set()
        release.wait(10)
        return "done"

    async def main() -> None:
        handoff = Handoff(pool, 1)
        first = handoff.submit(block)
        queued = handoff.submit(lambda: "never")
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        handoff.close()
        release.set()
        assert await first == "done"  # already running: it finishes
        with pytest.raises(asyncio.CancelledError):
            await queued
        with pytest.raises(RuntimeError):
            handoff.submit(lambda: None)

    try:
        asyncio.run(main())
    finally:
        release.set()
        pool.shutdown()


def test_a_shut_down_pool_is_a_runtime_error() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()

    async def main() -> None:
        with pytest.raises(RuntimeError):
            Handoff(pool, 1).submit(lambda: None)

    asyncio.run(main())


def test_a_call_cancelled_while_queued_is_not_run() -> None:
    pool = ThreadPoolExecutor(1)
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def block() -> None:
        started.set()
        release.wait(10)

    async def main() -> None:
        handoff = Handoff(pool, 1)
        first = handoff.submit(block)
        queued = handoff.submit(ran.append, "cancelled")
        last = handoff.submit(ran.append, "kept")
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        queued.cancel()  # what the stop deadline does to a request still waiting for a worker
        release.set()
        await first
        await last
        assert queued.cancelled()

    try:
        asyncio.run(main())
    finally:
        release.set()
        pool.shutdown()
    assert ran == ["kept"]
