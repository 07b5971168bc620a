"""The hot paths' twins side by side: the compiled one (when built) behaves as the pure specification.

The rest of tests/engine runs through whichever twin ``hotpath`` picked (``make test`` runs it twice,
once with STATE_STUDIO_PURE=1); these tests call both twins directly in one process.
"""

from __future__ import annotations

import enum
import gc
import importlib
import itertools
import math
import os
import signal
import sys
import threading
import time
import uuid
import weakref
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

from desktop_app.engine import hotpath
from desktop_app.engine.hotpath import pure as hotpath_pure
from desktop_app.engine.hotpath import thread_names
from desktop_app.engine.lock_records import _site
from tests.engine.twins import TWINS, twin_param


def test_the_implementation_follows_the_environment() -> None:
    forced = os.environ.get(hotpath.PURE_ENV, "").strip() not in ("", "0")
    built = importlib.util.find_spec("desktop_app.engine.hotpath._hotpath") is not None
    expected = "compiled" if built and not forced else "pure"
    assert hotpath.IMPLEMENTATION == expected
    assert (hotpath.LockCore is hotpath_pure.LockCore) == (expected == "pure")


def _core_class(twin: ModuleType) -> type[Any]:
    class Core(twin.LockCore):  # type: ignore[misc, name-defined]
        """The smallest slow path: wait without statistics beyond what the core keeps."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def _acquire_contended(self, me: int, blocking: bool, timeout: float) -> bool:
            requested = hotpath_pure.monotonic()
            if not blocking:
                self._failed(me, requested, requested)
                return False
            got = self._wait_lock(timeout)
            now = hotpath_pure.monotonic()
            if got:
                frame = sys._getframe(1)
                self._took(me, requested, now, frame.f_code, frame.f_lasti, True)
            else:
                self._failed(me, requested, now)
            return bool(got)

    return Core


@twin_param
def test_acquire_release_counts_reentrant_levels_once(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    assert lock.acquire() is True
    assert lock.acquire(timeout=1) is True and lock.acquire(blocking=True) is True
    assert lock._depth == 3 and lock.held_by_me() and lock.locked()
    lock.release()
    lock.release()
    assert lock.held_by_me()
    lock.release()
    assert not lock.locked() and not lock.held_by_me()
    with pytest.raises(RuntimeError, match="cannot release lock 'x': not held by this thread"):
        lock.release()
    acquisitions, contentions, timeouts, lost, since, wait, hold = lock._counters()
    assert (acquisitions, contentions, timeouts, lost) == (1, 0, 0, 0.0)
    assert hold[0] == 1 and sum(hold[3]) == 1 and len(hold[3]) == len(hotpath.BOUNDS)
    assert wait == (0, 0.0, 0.0, [0] * len(hotpath.BOUNDS))
    assert since <= time.monotonic()


@twin_param
def test_with_records_the_caller_site_and_one_event(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    before = time.monotonic()
    with lock:
        line = sys._getframe().f_lineno - 1
        me, since, code, lasti, requested, contended = lock._hold_raw()
    after = time.monotonic()
    assert me == threading.get_ident() and before <= since <= after and requested == since
    assert code is test_with_records_the_caller_site_and_one_event.__code__ and contended is False
    assert _site(code, lasti) == f"{__file__}:{line}"
    assert lock._hold_raw() is None
    [event] = lock._events_raw()
    ident, req, acquired, released, ev_code, ev_lasti, ev_contended, waiters = event
    assert ident == me and req == acquired == since and since <= released <= time.monotonic()
    assert ev_code is code and ev_lasti == lasti and ev_contended is False and waiters == 0
    assert lock._last_event_raw() == event


@twin_param
def test_blocking_wait_then_failed_try_are_counted(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder, name="holder")
    t.start()
    assert held.wait(5)
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0.01) is False
    threading.Timer(0.05, release.set).start()
    assert lock.acquire(timeout=10) is True
    lock.release()
    t.join()
    acquisitions, contentions, timeouts, lost, _, wait, _ = lock._counters()
    assert (acquisitions, contentions, timeouts) == (2, 3, 2)  # the holder and us; 2 failed + 1 wait
    assert wait[0] == 3 and lost == pytest.approx(wait[1]) and lost > 0.01
    events = lock._events_raw()
    assert [e[2] is None for e in events] == [True, True, False, False]  # two failed, holder, us
    lock._reset_counters()
    assert lock._counters()[:4] == (0, 0, 0, 0.0) and lock._events_raw() == []


@twin_param
def test_histogram_buckets_match_bisect_left(twin: ModuleType) -> None:
    from bisect import bisect_left

    lock = _core_class(twin)("x")
    seen = []
    for _ in range(50):
        with lock:
            pass
        released = lock._last_event_raw()
        seen.append(released[3] - released[2])
    buckets = lock._counters()[6][3]
    expected = [0] * len(hotpath.BOUNDS)
    for held in seen:
        expected[bisect_left(hotpath.BOUNDS, held, 0, len(hotpath.BOUNDS) - 1)] += 1
    assert buckets == expected


@twin_param
def test_the_ring_keeps_the_newest_events(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    for _ in range(hotpath.RING_SIZE + 10):
        with lock:
            pass
    events = lock._events_raw()
    assert len(events) == hotpath.RING_SIZE
    assert all(a[3] <= b[1] for a, b in itertools.pairwise(events))  # oldest first


@twin_param
def test_guard_gives_the_lockable(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    guard = twin.Guard(lock)
    with guard as held:
        assert held is lock and lock.held_by_me()
    assert not lock.locked()
    with pytest.raises(ValueError), guard:
        raise ValueError
    assert not lock.locked()


@twin_param
def test_an_observer_is_counted_apart_and_never_waits(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    assert lock.try_acquire_apart() is True
    line = sys._getframe().f_lineno - 1
    assert lock.held_by_me() and lock.try_acquire_apart() is True and lock._depth == 2
    me, _since, code, lasti, _requested, contended = lock._hold_raw()  # the observer is the holder
    assert me == threading.get_ident() and _site(code, lasti) == f"{__file__}:{line}" and not contended
    lock.release_apart()
    assert lock.held_by_me()
    lock.release_apart()
    assert not lock.locked() and lock._hold_raw() is None
    with pytest.raises(RuntimeError, match="cannot release lock 'x': not held by this thread"):
        lock.release_apart()
    held, release = threading.Event(), threading.Event()

    def user() -> None:
        with lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=user)
    t.start()
    assert held.wait(5)
    assert lock.try_acquire_apart() is False  # busy: no wait, no contention for the user
    release.set()
    t.join()
    observed, busy, hold = lock._observer_counters()
    assert (observed, busy) == (1, 1) and hold >= 0
    acquisitions, contentions, timeouts, _lost, _since, wait, _hold = lock._counters()
    assert (acquisitions, contentions, timeouts, wait[0]) == (1, 0, 0, 0)  # only the user's use
    assert [e[0] for e in lock._events_raw()] == [t.ident]
    lock._reset_counters()
    assert lock._observer_counters() == (0, 0, 0.0)


@twin_param
def test_a_subclass_can_take_and_give_back_more_than_the_raw_lock(twin: ModuleType) -> None:
    """What a Redis lockable does: take the raw lock, something else, then record; record, then free."""
    lock = _core_class(twin)("x")
    me = threading.get_ident()
    assert lock._wait_lock(0) is True
    assert not lock.locked()  # taken, not yet recorded
    lock._unlock()  # the something else failed
    assert lock._wait_lock(0) is True
    now = time.monotonic()
    lock._took(me, now - 0.5, now, None, -1, False)
    assert lock.held_by_me() and lock._counters()[:3] == (1, 0, 0)
    with pytest.raises(RuntimeError, match="has an owner"):
        lock._unlock()
    lock.acquire()
    with pytest.raises(RuntimeError, match="last level"):
        lock._release_held()
    lock.release()
    event = lock._release_held()
    assert event[:4] == (me, now - 0.5, now, event[3]) and event[6] is False
    assert not lock.locked() and lock._events_raw() == [event]
    assert lock._wait_lock(0) is False  # the raw lock is still taken
    lock._unlock()
    assert lock.acquire(blocking=False) is True
    lock.release()
    assert lock._wait_lock(0) is True
    lock._took(me, now - 0.5, now, None, -1, True)  # contended: the wait is counted
    lock.release()
    _acq, contentions, _timeouts, lost, _since, wait, _hold = lock._counters()
    assert contentions == 1 and wait[0] == 1 and lost == pytest.approx(0.5)


@twin_param
def test_store_set_sets_the_change_events_after_the_change(twin: ModuleType) -> None:
    store = twin.StoreCore(16)
    seen: list[int] = []

    class Event(threading.Event):
        def set(self) -> None:
            seen.append(store.version)  # the change is visible when the event is set
            assert not store.mutex.locked()  # outside the mutex
            super().set()

    first, second = Event(), Event()
    store.set("a", "a", 1, [])  # nobody listens
    store.change_events = (first, second)
    store.set("a", "a", 2, [])
    assert first.is_set() and second.is_set() and seen == [2, 2]
    store.set("a", "a", 3, [])  # still set: not set again
    assert seen == [2, 2]
    first.clear()
    store._changed()
    assert seen == [2, 2, 3]


@twin_param
def test_a_new_owner_is_noted_before_it_takes_the_lock(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    names: dict[str, int] = {}

    def use(name: str) -> None:
        threading.current_thread().name = name
        with lock:
            names[name] = threading.get_ident()

    for name in ("first-user", "second-user"):
        t = threading.Thread(target=use, args=(name,))
        t.start()
        t.join()
    events = lock._events_raw()
    assert [thread_names.name_of(e[0], mono=e[1]) for e in events] == ["first-user", "second-user"]


@twin_param
def test_the_slow_path_runs_signal_handlers_while_waiting(twin: ModuleType) -> None:
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        pytest.skip("needs the main thread and setitimer")
    lock = _core_class(twin)("x")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            held.set()
            release.wait(10)

    class Interrupted(Exception):
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise Interrupted

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(5)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupted):
            lock.acquire(timeout=5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.set()
        t.join()
    assert not lock.locked()


@twin_param
def test_cores_and_entries_are_collected(twin: ModuleType) -> None:
    lock = _core_class(twin)("x")
    with lock:
        pass
    lock.me = lock  # a cycle through the subclass's __dict__
    ref = weakref.ref(lock)
    del lock
    gc.collect()
    assert ref() is None

    class Store(twin.StoreCore):  # type: ignore[misc, name-defined]
        pass

    store = Store(16)
    value: list[Any] = []
    store.set("k", "K", value, [])
    value.append(store)  # value -> store -> entries -> entry -> value
    sref = weakref.ref(store)
    del store, value
    gc.collect()
    assert sref() is None


@twin_param
def test_store_set_keeps_the_shown_name_and_records_the_change(twin: ModuleType) -> None:
    store = twin.StoreCore(4)
    before = time.time()
    store.set("hash", "Hash", {"a": 1}, ["users"])
    store.set("hash", "HASH", [1], [])
    e = store.entries["hash"]
    assert (e.name, e.value, e.scope, e.version, e.thread) == ("Hash", [1], [], 2, threading.get_ident())
    assert before <= e.time <= time.time()
    assert [r[:3] for r in store.ring] == [(1, "set", "Hash"), (2, "set", "Hash")]
    assert store.ring[-1][3:] == (e.time, threading.get_ident(), None)
    assert store.version == 2 and store._writer() == threading.get_ident()
    for i in range(10):
        store.set(f"k{i}", f"k{i}", i, [])
    assert len(store.ring) == 4 and store.version == 12


@twin_param
def test_store_set_records_the_calling_thread_after_a_python_method_saw_it(twin: ModuleType) -> None:
    """The compiled set() caches the writer's int; a Python method's _writer() must not fool it."""
    store = twin.StoreCore(16)
    store.set("a", "a", 1, [])  # this thread's int is cached
    other: list[int] = []

    def write() -> None:
        store._writer()  # what remove/touch/rename/load do first
        store.set("b", "b", 2, [])
        other.append(threading.get_ident())

    t = threading.Thread(target=write)
    t.start()
    t.join()
    assert store.ring[-1][4] == store.entries["b"].thread == other[0]
    store.set("c", "c", 3, [])
    assert store.ring[-1][4] == store.entries["c"].thread == threading.get_ident()


@twin_param
def test_store_set_waits_for_a_python_method_holding_the_mutex(twin: ModuleType) -> None:
    store = twin.StoreCore(16)
    done = threading.Event()

    def writer() -> None:
        store.set("k", "k", 1, [])
        done.set()

    with store.mutex:
        t = threading.Thread(target=writer)
        t.start()
        assert not done.wait(0.2)  # blocked behind the mutex
        assert "k" not in store.entries and store.version == 0
        store.version = 41  # what a Python method might do under the mutex
    t.join(5)
    assert done.is_set() and store.entries["k"].version == 42 and store.version == 42


@twin_param
def test_entry_fields_are_plain_attributes(twin: ModuleType) -> None:
    e = twin.Entry("n", [1], ["s"], 3, 1.5, 7)
    assert (e.name, e.value, e.scope, e.version, e.time, e.thread) == ("n", [1], ["s"], 3, 1.5, 7)
    e.version, e.time, e.thread = 4, 2.5, 8
    assert (e.version, e.time, e.thread) == (4, 2.5, 8)


@twin_param
def test_the_clocks_are_time_monotonic_and_time_time(twin: ModuleType) -> None:
    for ours, theirs in ((twin.monotonic, time.monotonic), (twin.wall, time.time)):
        a, b, c = theirs(), ours(), theirs()
        assert a <= b <= c


class _Color(enum.Enum):
    RED = 1


class _Number(enum.IntEnum):
    ONE = 1


class _Text(str):
    pass


_REFUSED = [
    uuid.uuid4(),
    _Color.RED,
    math.nan,
    math.inf,
    -math.inf,
    datetime(2024, 1, 1),
    {1, 2},
    _Text("x"),
    _Number.ONE,
    {1: "int key"},
    {"nested": [1, {"deep": math.nan}]},
    (1, 2, uuid.UUID(int=0)),
    b"bytes",
]


def _entries(twin: ModuleType, values: list[Any]) -> list[Any]:
    return [twin.Entry(f"e{i}", v, ["s"], 1, 0.0, 0) for i, v in enumerate(values)]


@twin_param
@pytest.mark.parametrize("bad", _REFUSED, ids=lambda v: type(v).__name__)
def test_fill_chunk_refuses_what_a_pode_file_must_not_hold(twin: ModuleType, bad: Any) -> None:
    entries = _entries(twin, [1, "two", bad, 4])
    pool = [{"Value": None, "Scope": None} for _ in range(4)]
    assert twin.fill_chunk(entries, 0, 4, pool, {}) == 2


@twin_param
def test_fill_chunk_fills_clean_entries(twin: ModuleType) -> None:
    values = [None, True, 1, -(2**63), 2**64 - 1, 1.5, "s", [1, [2]], (3,), {"a": {"b": [None]}}]
    entries = _entries(twin, values)
    pool = [{"Value": None, "Scope": None} for _ in range(len(values))]
    out: dict[str, Any] = {}
    assert twin.fill_chunk(entries, 2, len(values), pool, out) == -1
    assert list(out) == [f"e{i}" for i in range(2, len(values))]
    assert out["e9"] == {"Value": {"a": {"b": [None]}}, "Scope": ["s"]} and out["e9"] is pool[7]


@twin_param
def test_fill_chunk_refuses_bad_scopes_names_and_foreign_entries(twin: ModuleType) -> None:
    pool = [{"Value": None, "Scope": None}]
    assert twin.fill_chunk([twin.Entry("n", 1, [1], 1, 0.0, 0)], 0, 1, pool, {}) == 0
    assert twin.fill_chunk([twin.Entry("n", 1, "s", 1, 0.0, 0)], 0, 1, pool, {}) == 0
    assert twin.fill_chunk([twin.Entry(5, 1, [], 1, 0.0, 0)], 0, 1, pool, {}) == 0
    other = hotpath_pure.Entry if twin is not hotpath_pure else TWINS[-1].Entry
    if other is not twin.Entry:
        assert twin.fill_chunk([other("n", 1, [], 1, 0.0, 0)], 0, 1, pool, {}) == 0


@twin_param
def test_fill_chunk_stops_at_the_depth_limit_and_on_cycles(twin: ModuleType) -> None:
    ok: Any = 1
    for _ in range(hotpath.SAVE_MAX_DEPTH):  # MAX_DEPTH lists inside each other: a file holds them
        ok = [ok]
    deep: Any = [ok]
    loop: list[Any] = []
    loop.append(loop)
    loop.append(loop)  # a binary tree of itself: must stop at the first deep path, not explore it
    pool = [{"Value": None, "Scope": None} for _ in range(3)]
    entries = _entries(twin, [ok, deep, loop])
    assert twin.fill_chunk(entries, 0, 1, pool, {}) == -1
    assert twin.fill_chunk(entries, 0, 2, pool, {}) == 1
    assert twin.fill_chunk(entries, 2, 3, pool, {}) == 2


def test_the_save_depth_matches_the_file_format() -> None:
    from desktop_app.engine import persistence

    assert hotpath.SAVE_MAX_DEPTH == persistence.MAX_DEPTH == 200


# -- SharedState.set/get and Server.lock: compiled fronts of the Python methods (both runs of the suite)


def test_set_and_get_take_keywords_and_normalise_scopes() -> None:
    from desktop_app.engine import SharedState

    state = SharedState()
    assert state.set(name="Hash", value={"v": 1}, scope="Users") == {"v": 1}
    assert state.get("HASH", with_scope=True) == {"Value": {"v": 1}, "Scope": ["Users"]}
    scope = ["a", "b"]
    state.set("list", 1, scope)
    scope.append("c")  # the state keeps its own copy
    assert state.get("list", with_scope=True) == {"Value": 1, "Scope": ["a", "b"]}
    state.set("tuple", 2, ("x",))
    assert state.get("tuple", with_scope=True)["Scope"] == ["x"]
    assert state.get("missing") is None and state.get("missing", 7) == 7
    assert state.get("missing", default=7, with_scope=True) is None
    assert state.set("none") is None and state.test("none")


class _Name(str):
    pass


def test_set_and_get_refuse_what_the_python_methods_refuse() -> None:
    from desktop_app.engine import SharedState

    state = SharedState()
    for bad in (None, "", 5):
        with pytest.raises(ValueError, match="non-empty string name"):
            state.set(bad, 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="non-empty string name"):
            state.get(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scope names must be strings"):
        state.set("x", 1, [1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        state.set("x", 1, None, "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        state.set("x", valu=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        state.get()  # type: ignore[call-arg]
    state.set(_Name("Sub"), 3)
    assert state.get("sub") == 3 and state.names() == ["Sub"]
    assert state.version == 1  # nothing else was written


def test_server_lock_without_arguments_is_the_global_guard() -> None:
    from desktop_app.engine.server import Server

    server = Server()
    assert server.lock() is server.lock() is server._global_guard
    with server.lock() as held:
        assert held is server.lockable and held.held_by_me()
    with server.lock(None, timeout=1) as held, server.lock("GLOBAL") as again:
        assert held is again is server.lockable
    with pytest.raises(TypeError):
        server.lock(None, 1)  # type: ignore[misc]
    assert not server.lockable.locked()


@pytest.mark.slow
def test_writes_racing_the_python_store_methods_keep_the_feed_whole() -> None:
    """set() (compiled or not) against remove/touch/merge-load holding the mutex across bytecodes."""
    from desktop_app.engine import SharedState

    state = SharedState(ring_size=200_000)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(3000):
                state.set(f"k{i % 40}", (n, i))
                if i % 5 == 0:
                    state.remove(f"k{(i + n) % 40}")
                if i % 7 == 0 and state.test(f"k{i % 40}"):
                    try:
                        state.touch(f"k{i % 40}")
                    except KeyError:
                        pass  # removed meanwhile
                if i % 97 == 0:
                    state.load_entries({f"k{i % 40}": ((n, -i), ["merged"])}, merge=True)
        except BaseException as err:
            errors.append(err)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # preempt often, also inside the Python methods' critical sections
    try:
        threads = [threading.Thread(target=writer, args=(n,), name=f"racer-{n}") for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    changes = state.changes_since(0)
    versions = [r.version for r in changes.records]
    assert versions == list(range(1, state.version + 1))  # no lost, duplicated or reordered record
    by_version = {r.version: r for r in changes.records}
    for info in state.entries():
        record = by_version[info.version]  # every entry's version is a record of that entry
        assert record.name == info.name and record.op in ("set", "touch")
        assert record.thread == info.thread and record.thread.startswith("racer-")
