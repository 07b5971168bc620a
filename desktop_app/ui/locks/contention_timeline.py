"""The contention timeline's builder: lock events in, per-thread lanes of wait / hold / hold-while-others-wait segments out."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from desktop_app.engine.locks import Lockable, LockEvent
from desktop_app.ui.locks.timeline_data import WINDOWS, Lane, LockSnapshot, Segment, SegmentKind, Timeline

# Raw intervals, before cutting and clipping: (start, end, thread, site, live) and (start, end, thread, timed_out, live).
_Hold = tuple[float, float, str, str, bool]
_Wait = tuple[float, float, str, bool, bool]

SETTLE = 0.1
"""Seconds after which a finished wait or hold can no longer change shape (see ``TimelineBuilder``).

A waiter leaves the waiting list a few bytecodes before it shows as the holder; this margin
covers that moment (and a thread switch in the middle of it) many times over."""
KEEP = max(WINDOWS) + 5.0
"""Seconds of settled segments kept, so any window can be chosen without losing history."""
OVERRUN_TAKE = 512
"""When a lock's event ring turned over between two samples, only its newest events are taken."""


class _Track:
    """What the builder keeps for one lock between samples."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.clear()

    def clear(self) -> None:
        self.overrun = False
        self.last: LockEvent | None = None
        # every recorded hold, by start (holds of one lock never overlap, so also by end)
        self.holds: list[_Hold] = []
        self.h_acq: list[float] = []
        self.h_rel: list[float] = []
        self.settled_holds = 0  # holds[:settled_holds] are already cut into segments
        # every recorded wait, by end; the ones not yet turned into a settled segment
        self.waits: list[_Wait] = []
        self.w_end: list[float] = []
        self.wait_keys: set[tuple[str, float]] = set()
        self.pending_waits: list[_Wait] = []
        # cuts of open holds and waits from the last sample, reused while their inputs stay the same
        self.hold_cuts: dict[float, tuple[Sequence[_Wait], list[Segment]]] = {}
        self.wait_cuts: dict[tuple[str, float], Segment] = {}
        # settled segments per thread, by start, with their ends for bisecting
        self.rows: dict[str, list[Segment]] = {}
        self.row_ends: dict[str, list[float]] = {}

    # -- taking events ----------------------------------------------------------------------------

    def take(self, events: Sequence[LockEvent]) -> None:
        """Add the events that arrived since the last look (the ring may have wrapped or been cleared)."""
        start = 0
        last = self.last
        if last is not None:
            # By value (a lockable hands out fresh event objects on every read); the release time
            # first, which tells events apart at a fraction of a dataclass comparison's cost.
            released = last.released
            for i in range(len(events) - 1, -1, -1):
                if events[i].released == released and events[i] == last:
                    start = i + 1
                    break
            else:
                if not events or events[0].released < last.released:
                    self.clear()  # the ring was cleared (reset_stats) or belongs to a new lockable
                else:
                    # The ring turned over since the last look: events were lost anyway, so take
                    # only the newest, which keeps a sample's cost bounded at any event rate.
                    self.overrun = True
                    start = max(0, len(events) - OVERRUN_TAKE)
        for e in events[start:] if start else events:
            acquired = e.acquired
            if acquired is None:
                if e.released > e.requested:  # a non-blocking try that failed takes no time
                    self._add_wait((e.requested, e.released, e.thread, True, False))
                continue
            if e.contended and acquired > e.requested:
                self._add_wait((e.requested, acquired, e.thread, False, False))
            if self.h_acq and acquired < self.h_acq[-1]:
                continue  # seen already, before the ring turned over
            self.holds.append((acquired, e.released, e.thread, e.site, False))
            self.h_acq.append(acquired)
            self.h_rel.append(e.released)
        if events:
            self.last = events[-1]

    def _add_wait(self, w: _Wait) -> None:
        key = (w[2], w[0])
        if key in self.wait_keys:
            return
        self.wait_keys.add(key)
        if self.w_end and w[1] < self.w_end[-1]:
            i = bisect_right(self.w_end, w[1])
            self.waits.insert(i, w)
            self.w_end.insert(i, w[1])
        else:
            self.waits.append(w)
            self.w_end.append(w[1])
        self.pending_waits.append(w)

    def trim(self, before: float) -> None:
        """Forget what ended before ``before``."""
        n = min(bisect_left(self.h_rel, before), self.settled_holds)
        if n:
            del self.holds[:n], self.h_acq[:n], self.h_rel[:n]
            self.settled_holds -= n
        n = bisect_left(self.w_end, before)
        if n:
            for w in self.waits[:n]:
                self.wait_keys.discard((w[2], w[0]))
            del self.waits[:n], self.w_end[:n]
        for thread in list(self.rows):
            ends = self.row_ends[thread]
            n = bisect_left(ends, before)
            if n == len(ends):
                del self.rows[thread], self.row_ends[thread]
            elif n:
                del self.rows[thread][:n], ends[:n]

    # -- cutting --------------------------------------------------------------------------------

    def update(self, snap: LockSnapshot, now: float, horizon: float) -> dict[str, list[Segment]]:
        """Take the snapshot; settle what ended before ``horizon``; return the rest (per thread, by start)."""
        self.take(snap.events)
        lock = self.name
        holds, h_acq, h_rel = self.holds, self.h_acq, self.h_rel
        live_hold: _Hold | None = None
        live_waits: list[_Wait] = []
        h = snap.holder
        if h is not None and not any(x[0] == h.since and x[2] == h.thread for x in holds[-4:]):
            live_hold = (h.since, max(now, h.since), h.thread, h.site, True)
            req = snap.holder_requested
            if (
                snap.holder_contended
                and req is not None
                and h.since > req
                and (h.thread, req) not in self.wait_keys
            ):
                live_waits.append((req, h.since, h.thread, False, False))
        for ident, name, since in snap.waiters:
            if h is not None and ident == h.ident:
                continue  # just acquired; its wait is drawn from the holder's request time
            if (name, since) not in self.wait_keys:
                live_waits.append((since, max(now, since), name, False, True))

        # Which waits overlap the holds still to cut (unsettled ones and the live one).
        k = self.settled_holds
        n = len(holds)
        overlap: dict[int, list[_Wait]] = {}
        t0 = holds[k][0] if k < n else live_hold[0] if live_hold else None
        if t0 is not None:
            for w in [*self.waits[bisect_right(self.w_end, t0) :], *live_waits]:
                s, e, thread = w[0], w[1], w[2]
                for i in range(max(bisect_right(h_rel, s), k), bisect_left(h_acq, e)):
                    if holds[i][2] != thread:
                        overlap.setdefault(i, []).append(w)
                if live_hold is not None and s < live_hold[1] and e > live_hold[0] and live_hold[2] != thread:
                    overlap.setdefault(n, []).append(w)

        settled: list[Segment] = []
        transient: list[Segment] = []
        old_cuts = self.hold_cuts
        hold_cuts: dict[float, tuple[Sequence[_Wait], list[Segment]]] = {}
        for i in range(k, n):
            a, r, thread, site, _ = holds[i]
            ws = overlap.get(i, ())
            cut = old_cuts.get(a)
            if cut is not None and cut[0] == ws:
                segs = cut[1]
            else:
                segs = _hold_segments(lock, a, r, thread, site, ws, False)
            if r < horizon and i == self.settled_holds:
                settled.extend(segs)
                self.settled_holds += 1
            else:
                transient.extend(segs)
                hold_cuts[a] = (ws, segs)
        self.hold_cuts = hold_cuts
        if live_hold is not None:
            a, r, thread, site, _ = live_hold
            transient.extend(_hold_segments(lock, a, r, thread, site, overlap.get(n, ()), True))
        still: list[_Wait] = []
        old_waits, wait_cuts = self.wait_cuts, {}
        for w in self.pending_waits:
            key = (w[2], w[0])
            seg = self._wait_segment(w, live_hold, old_waits.get(key))
            if w[1] < horizon:
                settled.append(seg)
            else:
                still.append(w)
                transient.append(seg)
                wait_cuts[key] = seg
        self.pending_waits = still
        self.wait_cuts = wait_cuts
        transient.extend(self._wait_segment(w, live_hold) for w in live_waits)

        settled.sort(key=_start)
        for seg in settled:
            row = self.rows.get(seg.thread)
            if row is None:
                self.rows[seg.thread] = [seg]
                self.row_ends[seg.thread] = [seg.end]
            elif seg.start >= row[-1].start:
                row.append(seg)
                self.row_ends[seg.thread].append(seg.end)
            else:  # a wait recorded late, when its thread released the lock
                i = bisect_right(row, seg.start, key=_start)
                row.insert(i, seg)
                self.row_ends[seg.thread].insert(i, seg.end)
        out: dict[str, list[Segment]] = {}
        transient.sort(key=_start)
        for seg in transient:
            out.setdefault(seg.thread, []).append(seg)
        return out

    def _wait_segment(self, w: _Wait, live_hold: _Hold | None, before: Segment | None = None) -> Segment:
        s, e, thread, timed_out, live = w
        holds = self.holds
        first: _Hold | None = None
        holders: set[str] = set()
        lo = bisect_right(self.h_rel, s)
        for i in range(lo, bisect_left(self.h_acq, e)):
            hold = holds[i]
            if hold[2] != thread:
                if first is None:
                    first = hold
                holders.add(hold[2])
        if live_hold is not None and live_hold[2] != thread and live_hold[0] < e and live_hold[1] > s:
            if first is None:
                first = live_hold
            holders.add(live_hold[2])
        if first is None and lo > 0 and holds[lo - 1][1] == s and holds[lo - 1][2] != thread:
            first = holds[lo - 1]  # released at the very instant the wait began
            holders.add(first[2])
        more = len(holders) - 1 if holders else 0
        if (
            before is not None
            and before.end == e
            and before.more == more
            and (before.others[:1] == (first[2],) if first else not before.others)
        ):
            return before
        return Segment(
            SegmentKind.WAIT,
            self.name,
            s,
            e,
            thread,
            s,
            e,
            "",
            (first[2],) if first else (),
            first[3] if first else "",
            more,
            live,
            timed_out,
        )


def _start(seg: Segment) -> float:
    return seg.start


def _hold_segments(
    lock: str, a: float, r: float, thread: str, site: str, waits: Sequence[_Wait], live: bool
) -> list[Segment]:
    if not waits:
        return [Segment(SegmentKind.HOLD, lock, a, r, thread, a, r, site, (), "", 0, live)]
    out = []
    for ps, pe, who in _cut_hold(a, r, list(waits)):
        if pe <= ps and not (ps == a and pe == r):
            continue
        kind = SegmentKind.HOLD_CONTENDED if who else SegmentKind.HOLD
        out.append(Segment(kind, lock, ps, pe, thread, a, r, site, who, "", 0, live))
    return out


def _cut_hold(a: float, r: float, waits: list[_Wait]) -> list[tuple[float, float, tuple[str, ...]]]:
    """Cut the hold [a, r] where the set of waiting threads changes: (start, end, waiters)."""
    if not waits:
        return [(a, r, ())]
    marks: list[tuple[float, int, str]] = []
    for s, e, thread, _, _ in waits:
        s, e = max(s, a), min(e, r)
        if e > s:
            marks.append((s, 1, thread))
            marks.append((e, -1, thread))
    if not marks:
        return [(a, r, ())]
    marks.sort(key=lambda m: (m[0], m[1]))
    pieces: list[tuple[float, float, tuple[str, ...]]] = []
    count: dict[str, int] = {}
    t = a
    for at, delta, thread in marks:
        if at > t:
            who = tuple(sorted(count))
            if pieces and pieces[-1][2] == who:
                pieces[-1] = (pieces[-1][0], at, who)
            else:
                pieces.append((t, at, who))
            t = at
        n = count.get(thread, 0) + delta
        if n:
            count[thread] = n
        else:
            count.pop(thread, None)
    if r > t:
        if pieces and not pieces[-1][2]:
            pieces[-1] = (pieces[-1][0], r, ())
        else:
            pieces.append((t, r, ()))
    return pieces


class TimelineBuilder:
    """Builds timelines sample after sample, cutting each finished wait and hold only once.

    A wait or hold that ended more than ``SETTLE`` seconds ago cannot change shape any more (every
    wait that overlapped it is in the event ring or is live by then), so it is cut once and kept,
    for up to ``KEEP`` seconds; each sample only cuts what is new or still open. That makes a
    sample cost about the same at 1,000 events/s as at 10.
    """

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._updates = 0

    def clear(self) -> None:
        """Forget everything (after the counters, and so the event rings, were reset)."""
        self._tracks.clear()

    def update(
        self,
        snapshots: Iterable[LockSnapshot],
        now: float,
        window: float = 10.0,
        *,
        only_contended: bool = False,
    ) -> Timeline:
        """The timeline for ``[now - window, now]`` from these lockables' snapshots (see ``build_timeline``)."""
        win_start = now - window
        horizon = now - SETTLE
        lock_order: list[str] = []
        per_thread: dict[str, dict[str, list[Segment]]] = {}
        tracks: dict[str, _Track] = {}
        overrun: list[str] = []
        for snap in snapshots:
            track = self._tracks.get(snap.name) or _Track(snap.name)
            tracks[snap.name] = track
            lock_order.append(snap.name)
            track.overrun = False
            transient = track.update(snap, now, horizon)
            if track.overrun:
                overrun.append(snap.name)
            for thread in {*track.rows, *transient}:
                row = track.rows.get(thread)
                if row:
                    i = bisect_left(track.row_ends[thread], win_start)
                    visible = row[i:]
                else:
                    visible = []
                more = transient.get(thread)
                if more:
                    visible.extend(s for s in more if s.end >= win_start)
                if visible and visible[0].start < win_start:
                    visible[0] = visible[0]._replace(start=win_start)
                if only_contended:
                    visible = [s for s in visible if s.kind is not SegmentKind.HOLD]
                if visible:
                    per_thread.setdefault(thread, {})[snap.name] = visible
        self._tracks = tracks
        self._updates += 1
        if self._updates % 16 == 0:
            for track in tracks.values():
                track.trim(now - KEEP)
        rank = {name: i for i, name in enumerate(lock_order)}
        lanes = []
        for thread in sorted(per_thread, key=lambda t: (t.casefold(), t)):
            rows = per_thread[thread]
            ordered = sorted(rows, key=lambda lk: rank.get(lk, len(rank)))
            lanes.append(Lane(thread, tuple((lk, tuple(rows[lk])) for lk in ordered)))
        return Timeline(win_start, now, tuple(lanes), tuple(lock_order), only_contended, tuple(overrun))


def build_timeline(
    snapshots: Iterable[LockSnapshot], now: float, window: float = 10.0, *, only_contended: bool = False
) -> Timeline:
    """Turn lockables' events, holders and waiters into per-thread lanes for the last ``window`` seconds.

    Args:
        snapshots: one per lockable (``LockSnapshot.take``), in the order their rows should appear.
        now: the right edge, a ``locks.clock()`` time; live holds and waits run up to it.
        window: seconds shown; segments are clipped to ``[now - window, now]``.
        only_contended: drop plain holds, and lanes left with nothing (Tracy's "Only contended").

    Returns:
        Lanes sorted by thread name; in each lane one row per lock, segments by start time.
        A view that follows live uses one ``TimelineBuilder`` instead, which gives the same result
        at a fraction of the cost.
    """
    return TimelineBuilder().update(snapshots, now, window, only_contended=only_contended)


def snapshot_lockables(lockables: Iterable[Lockable]) -> list[LockSnapshot]:
    """``LockSnapshot.take`` for each lockable, in order."""
    return [LockSnapshot.take(lk) for lk in lockables]
