"""A heartbeat both ways: what a process writes about its jobs and lockables, and the records a viewer reads back.

``heartbeat_details(server)`` is what a heartbeat says about the process's jobs and lockables
beyond their counts; ``redis.presence.Presence.record`` adds it. ``Heartbeat.parse`` and
``LockFigures.parse`` read a heartbeat key's JSON back into immutable records (``redis/fleet.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from desktop_app.engine.locks import TimeFigures

if TYPE_CHECKING:
    from desktop_app.engine.server import Server


# -- what a heartbeat adds ------------------------------------------------------------------------


def _epoch(when: datetime | None) -> float | None:
    """A job's naive local time as seconds since the epoch (what another host can read)."""
    return when.timestamp() if when is not None else None


def _figures(f: TimeFigures) -> list[float]:
    return [f.count, f.total, f.max, f.p50, f.p99]


def job_record(kind: str, job: Any) -> dict[str, Any]:
    """One timer, schedule or route as the heartbeat publishes it (plain JSON data)."""
    rec: dict[str, Any] = {
        "kind": kind,
        "name": job.name,
        "count": job.count,
        "errors": job.errors,
        "last_error": job.last_error,
        "last_ok": job.last_ok,
        "last_run": _epoch(job.last_run),
        "last_duration": job.last_duration,
        "paused": job.paused,
    }
    if kind == "route":
        try:
            p50, p99 = job.p50, job.p99
        except RuntimeError:  # latencies appended while copied
            p50 = p99 = None
        rec.update(method=job.method, path=job.path, p50=p50, p99=p99)
        return rec
    rec.update(
        state=job.state,
        next_run=_epoch(job.next_run),
        limit=job.limit,
        completed=job.completed,
        running=job.running,
    )
    if kind == "timer":
        rec["interval"] = job.interval
    else:
        rec["crons"] = list(job.sources)
    return rec


def lock_record(lock: Any) -> dict[str, Any]:
    """One lockable's counters in this process (``stats()``), as plain JSON data."""
    st = lock.stats()
    return {
        "name": st.name,
        "acquisitions": st.acquisitions,
        "contentions": st.contentions,
        "timeouts": st.timeouts,
        "wait": _figures(st.wait),
        "hold": _figures(st.hold),
        "lost": st.thread_time_lost,
        "waiting": list(st.waiting),
        "counting": max(0.0, st.taken_at - st.since),
    }


def heartbeat_details(server: Server) -> dict[str, Any]:
    """What a heartbeat says beyond who the process is: every job in full, and every lockable's counters.

    ``jobs`` is a superset of the heartbeat's own short records (kind, name, count, errors), so a
    reader of either shape finds what it needs.
    """
    jobs = [job_record("timer", t) for t in server.timers.list()]
    jobs += [job_record("schedule", s) for s in server.schedules.list()]
    jobs += [job_record("route", r) for r in server.http.routes]
    return {"jobs": jobs, "locks": [lock_record(lk) for lk in server.all_lockables()]}


# -- what a viewer reads ----------------------------------------------------------------------------


def _time_figures(raw: Any) -> TimeFigures:
    try:
        count, total, top, p50, p99 = raw
        return TimeFigures(int(count), float(total), float(top), float(p50), float(p99))
    except (TypeError, ValueError):
        return TimeFigures()


@dataclass(frozen=True)
class LockFigures:
    """One lockable's counters in one process, as its last heartbeat gave them."""

    name: str
    acquisitions: int = 0
    contentions: int = 0
    timeouts: int = 0
    wait: TimeFigures = field(default_factory=TimeFigures)
    hold: TimeFigures = field(default_factory=TimeFigures)
    lost: float = 0.0
    waiting: tuple[str, ...] = ()
    """This process's threads waiting for it (names without the process)."""
    counting: float = 0.0
    """Seconds since its counters started."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> LockFigures:
        return cls(
            str(raw.get("name", "?")),
            int(raw.get("acquisitions", 0)),
            int(raw.get("contentions", 0)),
            int(raw.get("timeouts", 0)),
            _time_figures(raw.get("wait")),
            _time_figures(raw.get("hold")),
            float(raw.get("lost", 0.0)),
            tuple(str(w) for w in raw.get("waiting", ())),
            float(raw.get("counting", 0.0)),
        )


@dataclass(frozen=True)
class ProcessBeat:
    """Who a process on the namespace is and when it last beat (``key`` is ``HOST:PID``).

    ``Heartbeat`` adds what else the heartbeat holds; a viewer's own record of a process (the
    studio's ``ProcessInfo``) adds what it observed.
    """

    key: str
    host: str
    pid: int
    script: str | None
    started: float
    last_seen: float
    """When its last heartbeat was written: seconds since the epoch, by the process's own clock."""


@dataclass(frozen=True)
class Heartbeat(ProcessBeat):
    """A process on the namespace, as its heartbeat key says: who it is, its jobs and lockables."""

    jobs: tuple[dict[str, Any], ...] = ()
    locks: tuple[LockFigures, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, key: str, data: bytes) -> Heartbeat | None:
        try:
            raw = orjson.loads(data)
            return cls(
                key,
                str(raw.get("host", key.rsplit(":", 1)[0])),
                int(raw.get("pid", 0)),
                raw.get("script"),
                float(raw.get("started", 0.0)),
                float(raw.get("last_seen", 0.0)),
                tuple(j for j in raw.get("jobs", ()) if isinstance(j, dict)),
                tuple(LockFigures.parse(lk) for lk in raw.get("locks", ()) if isinstance(lk, dict)),
                raw,
            )
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
            return None
