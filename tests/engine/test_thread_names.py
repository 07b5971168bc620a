"""Thread names resolved lazily from idents: renames, ident reuse, ended threads, through the public views."""

from __future__ import annotations

import threading
import time

import pytest

from desktop_app.engine import SharedState
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.jobs.job import rename_thread
from desktop_app.engine.locks import Lockable


def _run(target: object, name: str) -> None:
    t = threading.Thread(target=target, name=name)  # type: ignore[arg-type]
    t.start()
    t.join()


def test_a_job_rename_shows_in_later_events_and_not_in_earlier_ones() -> None:
    lock = Lockable("renames")

    def work() -> None:
        with lock:
            pass
        rename_thread("timer-tick")
        with lock:
            pass
        rename_thread("timer-tock")
        with lock:
            pass

    _run(work, "pool-1")
    assert [e.thread for e in lock.events] == ["pool-1", "timer-tick", "timer-tock"]


def test_threads_that_end_keep_their_names_and_reused_idents_get_the_new_one() -> None:
    lock = Lockable("reuse")
    state = SharedState()
    idents = []

    def work() -> None:
        idents.append(threading.get_ident())
        with lock:
            state.set(threading.current_thread().name, 1)

    for i in range(6):  # sequential threads: Linux hands the same ident out again
        _run(work, f"worker-{i}")
    assert [e.thread for e in lock.events] == [f"worker-{i}" for i in range(6)]
    assert {e.name: e.thread for e in state.entries()} == {f"worker-{i}": f"worker-{i}" for i in range(6)}
    assert len(set(idents)) < 6 or len(idents) == 6  # reuse is likely, not required


def test_the_holder_and_the_change_feed_name_the_thread() -> None:
    lock = Lockable("holder")
    state = SharedState()
    held, release = threading.Event(), threading.Event()

    def work() -> None:
        with lock:
            state.set("x", 1)
            state.touch("x")
            held.set()
            release.wait(10)
        state.remove("x")

    t = threading.Thread(target=work, name="holder-thread")
    t.start()
    assert held.wait(5)
    try:
        holder = lock.holder
        assert holder is not None and holder.thread == "holder-thread"
    finally:
        release.set()
        t.join()
    changes = state.changes_since(0)
    assert [(r.op, r.thread) for r in changes.records] == [
        ("set", "holder-thread"),
        ("touch", "holder-thread"),
        ("remove", "holder-thread"),
    ]


def test_name_of_picks_the_name_at_a_time() -> None:
    me = threading.get_ident()
    thread = threading.current_thread()
    old = thread.name
    try:
        thread.name = "name-a"
        thread_names.note()
        t_a, w_a = time.monotonic(), time.time()
        time.sleep(0.001)
        thread.name = "name-b"
        thread_names.note()
        assert thread_names.name_of(me, mono=t_a) == "name-a"
        assert thread_names.name_of(me, wall=w_a) == "name-a"
        assert thread_names.name_of(me) == "name-b"
        assert thread_names.name_of(me, mono=time.monotonic()) == "name-b"
    finally:
        thread.name = old
        thread_names.note()
    assert thread_names.name_of(1) == "thread 1"  # never seen


def test_ended_threads_are_pruned_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thread_names, "KEEP_ENDED", 3)
    go = threading.Event()
    idents: list[int] = []

    def work() -> None:
        thread_names.note()
        idents.append(threading.get_ident())
        go.wait(10)

    threads = [threading.Thread(target=work, name=f"short-{i}") for i in range(8)]
    for t in threads:
        t.start()
    while len(idents) < 8:
        time.sleep(0.001)
    go.set()
    for t in threads:
        t.join()
    thread_names.note()  # pruning happens when a thread is noted
    kept = [i for i in idents if thread_names.name_of(i).startswith("short-")]
    assert len(kept) <= 3


def test_name_span_bounds_each_name_in_time() -> None:
    thread = threading.current_thread()
    old = thread.name
    me = threading.get_ident()
    try:
        thread.name = "span-a"
        thread_names.note()
        t_a = time.monotonic()
        time.sleep(0.001)
        thread.name = "span-b"
        thread_names.note()
        since, until, name = thread_names.name_span(me, t_a)
        assert name == "span-a" and since <= t_a < until
        since_b, until_b, name_b = thread_names.name_span(me, time.monotonic())
        assert name_b == "span-b" and since_b == until and until_b == float("inf")
    finally:
        thread.name = old
        thread_names.note()
