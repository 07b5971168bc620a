"""The timeline's data model: lanes and typed segments from real lockables and from scripted events, filters, trimming."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

import pytest

from desktop_app.engine.locks import Holder, Lockable, LockEvent, clock
from desktop_app.ui.locks.contention_timeline import TimelineBuilder, build_timeline
from desktop_app.ui.locks.timeline_data import LockSnapshot, Segment, SegmentKind, format_duration, short_site

HOLD, CONT, WAIT = SegmentKind.HOLD, SegmentKind.HOLD_CONTENDED, SegmentKind.WAIT
A_EXTRA = 0.06  # A keeps the lock this long after B starts waiting
TOL = 0.005  # timings compared with the engine's own event times


def _poll(cond: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def _kinds(segments: list[Segment]) -> list[SegmentKind]:
    return [s.kind for s in segments]


def test_scripted_two_threads_on_a_named_lockable() -> None:
    lock = Lockable("orders")
    cache = Lockable("cache")
    a_in, a_go, b_in, b_go = threading.Event(), threading.Event(), threading.Event(), threading.Event()

    def run_a() -> None:
        with lock:
            a_in.set()
            a_go.wait(5)
            time.sleep(A_EXTRA)

    def run_b() -> None:
        with lock:
            b_in.set()
            b_go.wait(5)

    def run_c() -> None:
        with cache:  # never contended
            time.sleep(0.01)

    ta = threading.Thread(target=run_a, name="thread-a")
    tb = threading.Thread(target=run_b, name="thread-b")
    tc = threading.Thread(target=run_c, name="thread-c")
    ta.start()
    assert a_in.wait(5)
    tb.start()
    tc.start()
    try:
        _poll(lambda: lock.waiting() == ("thread-b",))

        # live: A holds while B waits
        now = clock()
        live = build_timeline([LockSnapshot.take(lock), LockSnapshot.take(cache)], now)
        a_live = live.lane("thread-a")
        b_live = live.lane("thread-b")
        assert a_live is not None and b_live is not None
        assert _kinds(a_live.segments) == [HOLD, CONT]
        assert all(s.live for s in a_live.segments) and a_live.segments[-1].end == now
        assert a_live.segments[-1].others == ("thread-b",)
        (b_wait,) = b_live.segments
        assert b_wait.kind is WAIT and b_wait.live and b_wait.end == now
        assert (
            b_wait.detail.startswith("waiting ")
            and "so far for orders, held by thread-a at test_contention_timeline.py:" in b_wait.detail
        )

        a_go.set()
        assert b_in.wait(5)
        # B holds now: its finished wait shows before its live hold, though the event ring has only A's use yet
        mid = build_timeline([LockSnapshot.take(lock)], clock())
        b_mid = mid.lane("thread-b")
        assert b_mid is not None and _kinds(b_mid.segments) == [WAIT, HOLD]
        assert not b_mid.segments[0].live and b_mid.segments[1].live
        b_go.set()
    finally:
        a_go.set()
        b_go.set()
        for t in (ta, tb, tc):
            t.join(5)

    ev_a, ev_b = [e for e in lock.events]
    assert (ev_a.thread, ev_b.thread) == ("thread-a", "thread-b") and ev_b.contended
    assert ev_a.acquired is not None and ev_b.acquired is not None
    now = clock()
    tl = build_timeline([LockSnapshot.take(lock), LockSnapshot.take(cache)], now, 10.0)
    assert [ln.thread for ln in tl.lanes] == ["thread-a", "thread-b", "thread-c"]
    assert tl.locks == ("orders", "cache")

    lane_a, lane_b = tl.lane("thread-a"), tl.lane("thread-b")
    assert lane_a is not None and lane_b is not None
    # A: holding, then holding while B waits
    hold_a, cont_a = lane_a.segments
    assert (hold_a.kind, cont_a.kind) == (HOLD, CONT)
    assert hold_a.start == ev_a.acquired and cont_a.end == ev_a.released
    assert hold_a.end == cont_a.start == ev_b.requested
    assert cont_a.others == ("thread-b",)
    assert A_EXTRA - TOL <= cont_a.duration <= A_EXTRA + 0.5
    assert cont_a.total == pytest.approx(ev_a.released - ev_a.acquired)
    # B: waiting, then holding
    wait_b, hold_b = lane_b.segments
    assert (wait_b.kind, hold_b.kind) == (WAIT, HOLD)
    assert wait_b.start == ev_b.requested and wait_b.end == ev_b.acquired == hold_b.start
    assert wait_b.duration == pytest.approx(cont_a.duration, abs=0.05)  # apart by the hand-over only
    assert wait_b.others == ("thread-a",) and "test_contention_timeline.py" in wait_b.other_site
    assert wait_b.detail == (
        f"waited {format_duration(wait_b.total)} for orders, held by thread-a at {short_site(ev_a.site)}"
    )
    assert hold_b.end == ev_b.released
    assert "while thread-b waited" in cont_a.detail and cont_a.detail.startswith("held orders for ")
    lane_c = tl.lane("thread-c")
    assert lane_c is not None and _kinds(lane_c.segments) == [HOLD] and lane_c.locks == ("cache",)
    assert 0.01 - TOL <= lane_c.segments[0].duration < 0.5

    # only contended: plain holds and the thread that never waited nor made anyone wait are gone
    only = build_timeline([LockSnapshot.take(lock), LockSnapshot.take(cache)], now, 10.0, only_contended=True)
    assert [ln.thread for ln in only.lanes] == ["thread-a", "thread-b"]
    assert _kinds(only.segments(thread="thread-a")) == [CONT]
    assert _kinds(only.segments(thread="thread-b")) == [WAIT]
    assert only.segments(kind=HOLD) == []

    # window trimming: a window starting inside A's contended hold cuts it there, drops what came before
    cut = cont_a.start + cont_a.duration / 2
    trimmed = build_timeline([LockSnapshot.take(lock), LockSnapshot.take(cache)], now, now - cut)
    ta_lane = trimmed.lane("thread-a")
    assert ta_lane is not None and _kinds(ta_lane.segments) == [CONT]
    assert ta_lane.segments[0].start == pytest.approx(cut) and ta_lane.segments[0].began == ev_a.acquired
    assert _kinds(trimmed.segments(thread="thread-b")) == [WAIT, HOLD]
    assert trimmed.segments(thread="thread-b")[0].start == pytest.approx(cut)
    assert all(s.start >= trimmed.start and s.end <= trimmed.end for s in trimmed.segments())
    # a window after everything is empty
    assert build_timeline([LockSnapshot.take(lock)], now + 20, 5.0).lanes == ()


def _ev(
    thread: str, req: float, acq: float | None, rel: float, site: str = "", contended: bool = False
) -> LockEvent:
    return LockEvent(thread, req, acq, rel, site, contended, 0)


def test_scripted_events_three_threads_timeout_and_split() -> None:
    # A holds 0..10; B waits 2..10 then holds 10..12; C waits 4..6 and times out; D waits 5..12 then holds.
    events = [
        _ev("A", 0, 0, 10, "/src/a.py:1"),
        _ev("C", 4, None, 6, contended=True),
        _ev("B", 2, 10, 12, "/src/b.py:2", True),
        _ev("D", 5, 12, 13, "/src/d.py:3", True),
    ]
    tl = build_timeline([LockSnapshot("L", events)], now=20, window=30)
    a = tl.segments(thread="A")
    assert [(s.kind, s.start, s.end, s.others) for s in a] == [
        (HOLD, 0, 2, ()),
        (CONT, 2, 4, ("B",)),
        (CONT, 4, 5, ("B", "C")),
        (CONT, 5, 6, ("B", "C", "D")),
        (CONT, 6, 10, ("B", "D")),
    ]
    (c,) = tl.segments(thread="C")
    assert (c.kind, c.start, c.end, c.timed_out) == (WAIT, 4, 6, True)
    assert c.detail == "gave up after 2.00 s waiting for L, held by A at a.py:1"
    d_wait, _d_hold = tl.segments(thread="D")
    assert d_wait.others == ("A",) and d_wait.more == 1  # B held it too before D got it
    assert d_wait.detail == "waited 7.00 s for L, held by A at a.py:1 (then 1 other thread)"
    _b_wait, b_hold = tl.segments(thread="B")
    assert (b_hold.kind, b_hold.start, b_hold.end, b_hold.others) == (CONT, 10, 12, ("D",))
    assert tl.lane("A") is not None and tl.lane("A").waited == 0  # type: ignore[union-attr]
    assert tl.lane("D").waited == 7  # type: ignore[union-attr]


def test_live_holder_and_waiters_without_events() -> None:
    holder = Holder("H", since=8.0, site="/src/h.py:9", ident=1)
    snap = LockSnapshot(
        "L", (), holder, holder_requested=7.5, holder_contended=True, waiters=((2, "W", 9.0),)
    )
    tl = build_timeline([snap], now=10.0, window=5.0)
    h_wait, h_hold, h_cont = tl.segments(thread="H")
    assert (h_wait.kind, h_wait.start, h_wait.end, h_wait.live) == (WAIT, 7.5, 8.0, False)
    assert (h_hold.kind, h_hold.start, h_hold.end) == (HOLD, 8.0, 9.0)
    assert (h_cont.kind, h_cont.start, h_cont.end, h_cont.live, h_cont.others) == (
        CONT,
        9.0,
        10.0,
        True,
        ("W",),
    )
    assert h_cont.detail == "holding L for 2.00 s so far at h.py:9 while W waited"
    (w,) = tl.segments(thread="W")
    assert (w.kind, w.start, w.end, w.live) == (WAIT, 9.0, 10.0, True)
    assert w.detail == "waiting 1.00 s so far for L, held by H at h.py:9"


def test_a_release_seen_both_in_the_ring_and_as_holder_is_drawn_once() -> None:
    holder = Holder("H", since=1.0, site="s.py:1", ident=1)
    snap = LockSnapshot("L", (_ev("H", 1.0, 1.0, 2.0, "s.py:1"),), holder)
    tl = build_timeline([snap], now=3.0)
    assert [(s.start, s.end) for s in tl.segments()] == [(1.0, 2.0)]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 ms"),
        (0.000004, "<0.01 ms"),
        (0.00042, "0.42 ms"),
        (0.0035, "3.5 ms"),
        (0.18, "180 ms"),
        (1.25, "1.25 s"),
        (125, "2 min 05 s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_short_site() -> None:
    assert short_site("/a/b/server.py:27") == "server.py:27"
    assert short_site("C:\\x\\y.py:3") == "y.py:3"
    assert short_site("?") == "?"


class _SimLock:
    """Threads taking one lock in simulated time (FIFO hand-over, some timeouts): its ring, holder and waiters."""

    def __init__(self, name: str, threads: list[str], rng: random.Random, ring: int = 4096) -> None:
        self.name, self.rng = name, rng
        self.events: deque[LockEvent] = deque(maxlen=ring)
        self.idle_until = {t: rng.uniform(0, 0.03) for t in threads}
        self.ids = {t: i + 1 for i, t in enumerate(threads)}
        self.holder: tuple[str, float, float, bool, float] | None = (
            None  # thread, requested, since, contended, until
        )
        self.waiters: dict[str, tuple[float, float | None]] = {}

    def step(self, t: float) -> None:
        rng, h = self.rng, self.holder
        if h is not None and h[4] <= t:
            self.events.append(LockEvent(h[0], h[1], h[2], t, f"/sim/{h[0]}.py:1", h[3], len(self.waiters)))
            self.holder = None
            self.idle_until[h[0]] = t + rng.uniform(0, 0.03)
        for th, (since, give_up) in list(self.waiters.items()):
            if give_up is not None and give_up <= t:
                del self.waiters[th]
                self.events.append(LockEvent(th, since, None, t, "", True, 0))
                self.idle_until[th] = t + rng.uniform(0, 0.03)
        for th, until in list(self.idle_until.items()):
            if until <= t:
                del self.idle_until[th]
                if self.holder is None and not self.waiters:
                    self.holder = (th, t, t, False, t + rng.uniform(0.0005, 0.02))
                else:
                    self.waiters[th] = (t, t + rng.uniform(0.005, 0.05) if rng.random() < 0.1 else None)
        if self.holder is None and self.waiters:
            th = min(self.waiters, key=lambda k: self.waiters[k][0])
            since, _ = self.waiters.pop(th)
            self.holder = (th, since, t, True, t + rng.uniform(0.0005, 0.02))

    def snapshot(self) -> LockSnapshot:
        waiters = tuple((self.ids[th], th, since) for th, (since, _) in self.waiters.items())
        h = self.holder
        if h is None:
            return LockSnapshot(self.name, tuple(self.events), None, None, False, waiters)
        holder = Holder(h[0], h[2], f"/sim/{h[0]}.py:1", self.ids[h[0]])
        return LockSnapshot(self.name, tuple(self.events), holder, h[1], h[3], waiters)


def _simulate(
    locks: list[_SimLock], until: float, sample: Callable[[float], object], dt: float = 0.0005
) -> float:
    t, next_sample = 0.0, 0.037
    while t < until:
        for lk in locks:
            lk.step(t)
        if t >= next_sample:
            sample(t)
            next_sample += 0.037
        t += dt
    return t


def test_builder_sample_after_sample_equals_one_build() -> None:
    rng = random.Random(7)
    threads = [f"t{i}" for i in range(6)]
    locks = [_SimLock("A", threads[:4], rng), _SimLock("B", threads[2:], rng)]
    builder = TimelineBuilder()
    end = _simulate(locks, 12.0, lambda t: builder.update([lk.snapshot() for lk in locks], t, 10.0))
    snaps = [lk.snapshot() for lk in locks]
    assert all(0 < len(lk.events) < 4096 for lk in locks)  # nothing fell out of the rings
    for window, only in ((10.0, False), (5.0, True), (30.0, False)):
        live = builder.update(snaps, end, window, only_contended=only)
        once = build_timeline(snaps, end, window, only_contended=only)
        assert live == once
        assert live.segments(kind=WAIT) and live.segments(kind=CONT)
        assert any(s.timed_out for s in live.segments(kind=WAIT))


def test_builder_keeps_history_when_the_ring_turns_over_and_forgets_on_clear() -> None:
    rng = random.Random(8)
    lock = _SimLock("A", ["t0", "t1", "t2"], rng, ring=4)
    builder = TimelineBuilder()
    overruns: list[tuple[str, ...]] = []
    end = _simulate(
        [lock], 4.0, lambda t: overruns.append(builder.update([lock.snapshot()], t, 10.0).overrun)
    )
    assert ("A",) in overruns and () in overruns  # said when the ring turned over between two looks
    snap = lock.snapshot()
    live = builder.update([snap], end, 10.0)
    once = build_timeline([snap], end, 10.0)
    oldest = snap.events[0].requested
    assert min(s.start for s in live.segments()) < oldest - 1.0  # kept what the ring no longer has
    recent = [s for s in live.segments() if s.began > oldest + 0.5]
    assert recent == [s for s in once.segments() if s.began > oldest + 0.5]
    builder.clear()
    assert builder.update([LockSnapshot("A")], end, 10.0).lanes == ()


def test_a_real_lockable_sampled_again_is_not_a_gap() -> None:
    # Lockable.events() hands out fresh event objects on every read: the builder must find the
    # last one it took by value, or a sample looks like a ring that turned over (a false "Gaps"
    # note) or was cleared (the track rebuilt from the ring, losing what only the builder kept).
    lock = Lockable("orders")
    builder = TimelineBuilder()
    with lock:
        pass
    assert builder.update([LockSnapshot.take(lock)], clock(), 10.0).overrun == ()
    assert builder.update([LockSnapshot.take(lock)], clock(), 10.0).overrun == ()  # nothing new
    for _ in range(4):
        with lock:
            pass
    track = builder.update([LockSnapshot.take(lock)], clock(), 10.0)
    assert track.overrun == ()  # four new events since the last look: nothing was lost
    assert len(track.segments(kind=HOLD)) == 5  # each use drawn once
    track = builder.update([LockSnapshot.take(lock)], clock(), 10.0)
    assert track.overrun == () and len(track.segments(kind=HOLD)) == 5
