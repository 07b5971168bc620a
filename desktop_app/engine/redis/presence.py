"""A running server's heartbeat in Redis: who it is and what its jobs did, under a key with a short TTL.

``sss:{NS}:proc:HOST:PID`` holds JSON ``{host, pid, script, started, last_seen, jobs: [{kind, name,
count, errors}]}``, rewritten every ``INTERVAL`` seconds with a TTL of ``TTL_MS``: a process that dies
disappears within a few seconds. The studio's attach view lists the processes of a namespace from it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from desktop_app.engine.errors import StateStoreError
from desktop_app.engine.redis.heartbeat_records import heartbeat_details

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.engine.redis.presence")

INTERVAL = 2.0
TTL_MS = 6_000


class Presence:
    """The heartbeat thread of one server on a Redis store; ``stop()`` ends it and deletes the key."""

    def __init__(self, server: Server) -> None:
        from desktop_app.engine.redis.state import RedisSharedState

        state = server.state
        assert isinstance(state, RedisSharedState)
        self._server = server
        self._conn = state.lock_space.conn
        self.key = f"{state.lock_space.prefix}proc:{socket.gethostname()}:{os.getpid()}"
        self._started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-heartbeat", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._conn.socket_timeout + 1)
        try:
            with self._conn.errors():
                self._conn.client.delete(self.key)
        except StateStoreError as err:
            log.debug("heartbeat key left to expire: %s", err)

    def record(self) -> dict[str, Any]:
        """What the heartbeat says now."""
        server = self._server
        jobs = [
            {"kind": kind, "name": job.name, "count": job.count, "errors": job.errors}
            for kind, registry in (("timer", server.timers.list()), ("schedule", server.schedules.list()))
            for job in registry
        ]
        jobs += [
            {"kind": "route", "name": r.name, "count": r.count, "errors": r.errors}
            for r in server.http.routes
        ]
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "script": str(server.script) if server.script is not None else None,
            "started": self._started,
            "started_iso": datetime.fromtimestamp(self._started).isoformat(timespec="seconds"),
            "last_seen": time.time(),
            "jobs": jobs,
            # the studio's attach view: every job in full and each lockable's counters here
            **heartbeat_details(server),
        }

    def beat(self) -> None:
        with self._conn.errors("writing the heartbeat"):
            self._conn.client.set(self.key, orjson.dumps(self.record()), px=TTL_MS)

    def _run(self) -> None:
        while True:
            try:
                self.beat()
                if self._failing:
                    log.info("heartbeat written again")
                self._failing = False
            except StateStoreError as err:
                if not self._failing:
                    log.warning("%s (retrying every %.0f s)", err, INTERVAL)
                self._failing = True
            except Exception:  # a heartbeat must never take the server down, nor stop quietly
                log.exception("heartbeat not written")
            if self._stop.wait(INTERVAL):
                return
