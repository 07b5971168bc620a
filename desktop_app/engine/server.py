"""Server: the composition root (Pode's Start-PodeServer): state, lockables, timers, schedules, routes, scripts."""

from __future__ import annotations

import logging
import os
import runpy
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from desktop_app.engine import hotpath
from desktop_app.engine.errors import ScriptError
from desktop_app.engine.http.endpoint import Endpoint
from desktop_app.engine.http.listener import Http
from desktop_app.engine.http.route import Route
from desktop_app.engine.jobs.schedules import Schedule, Schedules
from desktop_app.engine.jobs.timers import Timer, Timers
from desktop_app.engine.locks import Lockable, Lockables, LockGuard
from desktop_app.engine.state import SharedState

log = logging.getLogger("desktop_app.engine.server")


class Server:
    """Owns the shared state, the lockables and the threads that use them.

    Example:
        >>> server = Server()
        >>> _ = server.state.set("count", 0)
        >>> def tick(e):
        ...     with e.lockable:
        ...         e.state.set("count", e.state.get("count") + 1)
        >>> _ = server.add_timer("tick", 1.0, tick)
        >>> with server:          # start() ... stop()
        ...     pass
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        threads: int = 2,
        *,
        store: str | None = None,
        namespace: str | None = None,
        lease_ms: int | None = None,
    ) -> None:
        """A server in this process; with ``store`` its state and lockables are shared through Redis.

        Args:
            root: the folder ``./`` paths are relative to (default: the current folder).
            threads: route worker threads.
            store: None keeps state and lockables in this process; ``"redis://HOST:PORT/DB"`` shares
                them with every process on the same URL and ``namespace`` (timers, schedules and
                routes stay per process, each running its own on the shared state).
            namespace: the Redis namespace (default "default"); only with ``store``.
            lease_ms: how long a Redis lock outlives a holder that died (default 10 000 ms).
        """
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.root = Path(root).resolve() if root is not None else Path.cwd()
        self.threads = threads
        if store is None:
            self.lockable = Lockable("global")
            self.state = SharedState(self.root, lockable=self.lockable, namespace=namespace, lease_ms=lease_ms)
            self.lockables = Lockables()
        else:
            from desktop_app.engine.redis.state import RedisSharedState

            state = SharedState(self.root, store=store, namespace=namespace, lease_ms=lease_ms)
            assert isinstance(state, RedisSharedState)
            self.state = state
            self.lockable = state.lockable
            # the same lockable objects as the state's, so re-entrancy and fencing see one owner
            self.lockables = Lockables(factory=lambda name: state.lock_space.lockable(name, lease_ms))
        self._presence: Any = None
        # The common `with server.lock():` reuses one guard. On an in-process lockable its enter/exit
        # are the hot path's own, so it costs what `with server.lockable:` costs; a Redis lockable
        # takes more than its local lock and goes through LockGuard (LockGuard keeps no per-use state).
        self._global_guard: AbstractContextManager[Lockable] = (
            hotpath.Guard(self.lockable)
            if type(self.lockable) is Lockable
            else LockGuard(self.lockable, None, None)
        )
        self.timers = Timers(self)
        self.schedules = Schedules(self)
        self.http = Http(self, threads)
        self.script: Path | None = None
        self._setup: Callable[[Server], Any] | None = None
        self._running = False
        self._lifecycle = threading.RLock()
        self.started_at: datetime | None = None
        self.stop_timeout = 5.0
        """Seconds ``stop()`` waits for running jobs by default; a script's setup may change it."""
        self.abandoned: list[str] = []
        """The jobs the last ``stop()`` left running (see ``stop``)."""

    # -- locks ----------------------------------------------------------------------------------

    def lock(
        self,
        target: str | Lockable | None = None,
        *,
        timeout: float | None = None,
        check_global: bool = False,
    ) -> AbstractContextManager[Lockable]:
        """A context manager holding ``target`` (None = global, a name, or a Lockable).

        Args:
            target: the lockable; an unknown name raises KeyError (Pode silently locks global instead).
            timeout: seconds to wait; None waits forever, 0 tries once.
            check_global: first wait until the global lockable is free, without holding it (Pode #781).

        Raises:
            KeyError: unknown lockable name.
            LockTimeout: not acquired within ``timeout``; names the lock, its holder and for how long.
        """
        if target is None:
            if timeout is None and not check_global:
                return self._global_guard
            lock = self.lockable
        elif isinstance(target, Lockable):
            lock = target
        elif isinstance(target, str):
            found = self.lockables.get(target)
            if found is None:
                if target.casefold() == "global":
                    found = self.lockable
                else:
                    raise KeyError(f"no lockable called '{target}' (create it with server.lockables.new)")
            lock = found
        else:
            raise TypeError(f"cannot lock a {type(target).__name__}; pass None, a name or a Lockable")
        return LockGuard(lock, timeout, self.lockable if check_global else None)

    @property
    def store(self) -> str | None:
        """The Redis URL the state is shared through (password masked), or None in memory."""
        return getattr(self.state, "store_url", None)

    @property
    def namespace(self) -> str | None:
        """The Redis namespace, or None in memory."""
        return getattr(self.state, "namespace", None)

    def all_lockables(self) -> list[Lockable]:
        """The global lockable followed by the named ones."""
        return [self.lockable, *self.lockables.list()]

    # -- jobs -----------------------------------------------------------------------------------

    def add_timer(
        self,
        name: str,
        interval: float,
        fn: Callable[..., Any],
        *,
        limit: int = 0,
        skip: int = 0,
        args: tuple[Any, ...] | list[Any] = (),
        on_start: bool = False,
    ) -> Timer:
        """Run ``fn(e, *args)`` every ``interval`` seconds (see Timers.add)."""
        return self.timers.add(name, interval, fn, limit=limit, skip=skip, args=args, on_start=on_start)

    def add_schedule(
        self,
        name: str,
        cron: str | list[str],
        fn: Callable[..., Any],
        *,
        limit: int = 0,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        on_start: bool = False,
        args: tuple[Any, ...] | list[Any] = (),
    ) -> Schedule:
        """Run ``fn(e, *args)`` whenever a cron expression matches (see Schedules.add)."""
        return self.schedules.add(
            name, cron, fn, limit=limit, start_time=start_time, end_time=end_time, on_start=on_start, args=args
        )

    def add_endpoint(self, address: str = "127.0.0.1", port: int = 8080) -> Endpoint:
        """Serve routes over HTTP on ``address:port`` (port 0 = any free port)."""
        return self.http.add_endpoint(address, port)

    def add_route(self, method: str, path: str, fn: Callable[..., Any]) -> Route:
        """Answer ``method path`` with ``fn(e)``."""
        return self.http.add_route(method, path, fn)

    @property
    def endpoints(self) -> list[Endpoint]:
        return self.http.endpoints

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start timers, schedules and endpoints; returns at once. Starting twice is a no-op.

        A port already in use is logged and kept on the endpoint (``endpoint.error``); the rest runs.
        """
        with self._lifecycle:
            if self._running:
                return
            self._running = True
            self.started_at = datetime.now()
            self.timers.start()
            self.schedules.start()
            self.http.start()
            if self.store is not None:
                from desktop_app.engine.redis.presence import Presence

                self._presence = Presence(self)
                self._presence.start()
            log.info("server started (%s)", self.script or self.root)

    def stop(self, timeout: float | None = None) -> list[str]:
        """Stop ticking, wait up to ``timeout`` s for running jobs; return the names of jobs still running.

        Threads cannot be killed: a job that does not return in time is abandoned, never waited on
        forever. It runs on a daemon thread, so it does not keep the process alive either: a script or
        ``state-studio run --headless`` exits once ``stop()`` has returned. The abandoned jobs are
        logged and kept in ``abandoned``: ``timer-<name>``, ``schedule-<name>``,
        ``<METHOD> <path> (route-N)`` (that request's client is answered 503).

        Args:
            timeout: seconds; None uses ``stop_timeout`` (5 s unless the script changed it).
        """
        with self._lifecycle:
            if not self._running:
                return []
            self._running = False
            if timeout is None:
                timeout = self.stop_timeout
            deadline = time.monotonic() + timeout
            stuck = self.http.stop(deadline) + self.timers.stop(deadline) + self.schedules.stop(deadline)
            self.abandoned = stuck
            if self._presence is not None:
                self._presence.stop()
                self._presence = None
            if stuck:
                log.warning(
                    "stopped after %.1f s; abandoned %d job(s) still running (threads cannot be killed; "
                    "they end when they return or when the process exits): %s",
                    timeout,
                    len(stuck),
                    ", ".join(stuck),
                )
            else:
                log.info("server stopped")
            return stuck

    def restart(self) -> None:
        """Pode semantics: stop, clear state, jobs, routes and lockables, re-run the script's setup, start.

        On a Redis store the shared state is not cleared: other processes are still using it.
        """
        with self._lifecycle:
            self.stop()
            if self.store is None:
                self.state.clear()
            self.timers.clear()
            self.schedules.clear()
            self.http.clear()
            self.lockables.clear()
            if self._setup is not None:
                self._run_setup(self._setup, self.script)
            self.start()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- scripts ----------------------------------------------------------------------------------

    @classmethod
    def from_script(
        cls,
        path: str | os.PathLike[str],
        *,
        threads: int = 2,
        store: str | None = None,
        namespace: str | None = None,
        lease_ms: int | None = None,
    ) -> Server:
        """Load a Python file defining ``setup(server)``, call it, and return the (not yet started) server.

        The script's folder is the root for ``./`` paths. ``store``, ``namespace`` and ``lease_ms``
        are passed to the Server (the script's ``server.state`` is then on that Redis namespace).

        Raises:
            ScriptError: the file is missing, has a syntax error, defines no ``setup``, or ``setup``
                raised; it names the file and line. Nothing is started.
        """
        script = Path(path).expanduser().resolve()
        if not script.is_file():
            raise ScriptError("no such server script", path=script)
        try:
            script_globals = runpy.run_path(str(script), run_name="__state_studio_script__")
        except SyntaxError as err:
            raise ScriptError(f"syntax error: {err.msg}", path=script, line=err.lineno) from err
        except Exception as err:
            raise ScriptError(
                f"{type(err).__name__}: {err}", path=script, line=_script_line(err, script)
            ) from err
        setup = script_globals.get("setup")
        if not callable(setup):
            raise ScriptError("the script defines no setup(server) function", path=script)
        server = cls(root=script.parent, threads=threads, store=store, namespace=namespace, lease_ms=lease_ms)
        server.script = script
        server._setup = setup
        server._run_setup(setup, script)
        return server

    def _run_setup(self, setup: Callable[[Server], Any], script: Path | None) -> None:
        try:
            setup(self)
        except ScriptError:
            raise
        except Exception as err:
            where = script or Path("<setup>")
            raise ScriptError(
                f"setup raised {type(err).__name__}: {err}", path=where, line=_script_line(err, script)
            ) from err

    def __repr__(self) -> str:
        return f"<Server {self.script or self.root} {'running' if self._running else 'stopped'}>"


# With the compiled hot paths, `server.lock()` without arguments returns the global guard without
# running bytecode; a call with arguments runs the method above.
_compiled_lock = hotpath.compiled_server_lock(Server.lock)
if _compiled_lock is not None:
    Server.lock = _compiled_lock  # type: ignore[method-assign]


def _script_line(err: BaseException, script: Path | None) -> int | None:
    """The deepest traceback line that is in the script itself."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if script is not None and Path(frame.filename).resolve() == script:
            line = frame.lineno
    return line
