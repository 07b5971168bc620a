"""The HTTP listener: aiohttp on one engine-owned thread, requests dispatched to the route pool."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from desktop_app.engine.http.endpoint import Endpoint, _host_port, _listen_error, is_loopback
from desktop_app.engine.http.handoff import Handoff
from desktop_app.engine.http.messages import (
    _JSON,
    MAX_BODY,
    BadRequest,
    Request,
    Response,
    error_response,
    to_response,
)
from desktop_app.engine.http.route import Route
from desktop_app.engine.jobs.daemon_pool import DaemonPool
from desktop_app.engine.jobs.job import JobEvent, JobHost

log = logging.getLogger("desktop_app.engine.http")

READY_TIMEOUT = 5.0
"""How long ``start()`` waits for the endpoints to be bound (or to fail)."""
_CANCEL_GRACE = 0.25  # per connection, after the deadline: aiohttp then cancels what is left
_JOIN_GRACE = 2.0  # the "http" thread needs a moment past the deadline to cancel and close its loop

class _Run:
    """Everything one start() creates and the matching stop() tears down."""

    def __init__(self, threads: int) -> None:
        # Daemon threads route-1..route-<threads>: a handler that never returns cannot keep the process alive.
        self.pool = DaemonPool("route", threads)
        # Requests reach the pool through a Handoff: one wake-up per burst instead of one per request.
        self.handoff = Handoff(self.pool, threads)
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.idle: asyncio.Event | None = None
        self.ready = threading.Event()
        self.runners: list[tuple[Endpoint, web.ServerRunner]] = []
        self.inflight = 0
        # Handlers running now, by worker thread ident -> its name; guarded by ``busy_cond``.
        self.busy: dict[int, str] = {}
        self.busy_cond = threading.Condition(threading.Lock())
        self.deadline = 0.0
        self.stop_requested = False
        # Handler calls being awaited; past the stop deadline they are cancelled and answered 503.
        self.waiting: set[asyncio.Future[Response]] = set()
        self.abandoned = False


class Http:
    """The server's endpoints and routes.

    aiohttp runs on one asyncio thread named ``http``; it reads each request fully, then hands it to
    the route pool (``threads`` workers named ``route-1``..``route-<threads>``), so handlers block,
    take locks and contend like any other job while the event loop keeps accepting.

    Example:
        >>> http = Http(server, threads=2)                      # doctest: +SKIP
        >>> ep = http.add_endpoint("127.0.0.1", 0)              # doctest: +SKIP
        >>> _ = http.add_route("GET", "/", lambda e: {"ok": True})  # doctest: +SKIP
        >>> http.start(); print(ep.url); http.stop(time.monotonic() + 5)  # doctest: +SKIP
    """

    def __init__(self, server: JobHost, threads: int) -> None:
        self._server = server
        self.threads = threads
        self.endpoints: list[Endpoint] = []
        # path -> {METHOD: Route}; replaced whole on every change (copy on write) so the "http" thread
        # reads it without a lock.
        self._routes: dict[str, dict[str, Route]] = {}
        self._lock = threading.RLock()
        self._running = False
        self._run: _Run | None = None
        self.ready = threading.Event()
        """Set once every endpoint is listening or has failed (start() waits for it, at most
        READY_TIMEOUT); cleared by stop()."""

    # -- registry -------------------------------------------------------------------------------

    def add_endpoint(self, address: str = "127.0.0.1", port: int = 8080) -> Endpoint:
        """Serve the routes on ``address:port``; several endpoints are allowed.

        Anything but a loopback address (127.x, ::1, localhost) is reachable from other machines and
        logs a WARNING when bound. Added while running, it is bound at once.

        Args:
            address: the address to bind, e.g. "127.0.0.1", "::1" or "0.0.0.0" (all interfaces).
            port: 1-65535, or 0 for any free port (read ``endpoint.port`` once started).

        Returns:
            The Endpoint; after start, ``port`` / ``url`` say where it listens, or ``error`` why not.

        Raises:
            ValueError: an empty address or a port outside 0-65535.
        """
        if not isinstance(address, str) or not address.strip():
            raise ValueError("[Endpoint] an endpoint needs an address, e.g. '127.0.0.1'")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"[Endpoint] {address}: port must be an int from 0 to 65535, got {port!r}")
        endpoint = Endpoint(address.strip(), port)
        with self._lock:
            self.endpoints.append(endpoint)
            if self._running:
                if self._run is None:
                    self._run = self._launch([endpoint])
                else:
                    self._bind_now(self._run, endpoint)
        return endpoint

    def add_route(self, method: str, path: str, fn: Callable[..., Any]) -> Route:
        """Answer ``method path`` with ``fn(e)`` on the route pool.

        ``e.request`` is a Request; ``fn`` returns ``e.json(value, status)``, ``e.text(str, status)``,
        a dict/list (JSON), a str (text/plain), bytes (octet-stream) or None (204). A handler that
        raises answers 500 with ``{"error": "<Type>: <message>", "route": "<METHOD> <path>"}``.

        Args:
            method: GET, POST, PUT, PATCH, DELETE, ... (any case). HEAD is answered by the GET route
                unless a HEAD route is added.
            path: matched exactly, starting with "/"; a trailing slash is significant.
            fn: the handler.

        Returns:
            The Route, with its request count, errors and latency figures.

        Raises:
            ValueError: "[Route] GET /: Route already defined", an empty method, a path without a
                leading "/", or fn not callable.
        """
        verb = method.strip().upper() if isinstance(method, str) else ""
        if not verb or not verb.isascii() or not verb.replace("-", "").isalpha():
            raise ValueError(f"[Route] {method!r} {path}: Method must be an HTTP method such as GET or POST")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"[Route] {verb} {path}: Path must start with '/'")
        if not callable(fn):
            raise ValueError(f"[Route] {verb} {path}: fn must be callable")
        route = Route(verb, path, fn)
        with self._lock:
            methods = self._routes.get(path, {})
            if verb in methods:
                raise ValueError(f"[Route] {verb} {path}: Route already defined")
            self._routes = {**self._routes, path: {**methods, verb: route}}
        return route

    def get_route(self, method: str, path: str) -> Route | None:
        """The route for ``method path``, or None."""
        return self._routes.get(path, {}).get(method.upper())

    @property
    def routes(self) -> list[Route]:
        """Every route, in the order they were added per path."""
        return [route for methods in self._routes.values() for route in methods.values()]

    def remove_route(self, method: str, path: str) -> None:
        """Forget ``method path`` (no-op when unknown); it answers 404/405 from then on."""
        with self._lock:
            methods = dict(self._routes.get(path, {}))
            if methods.pop(method.upper(), None) is None:
                return
            routes = dict(self._routes)
            if methods:
                routes[path] = methods
            else:
                del routes[path]
            self._routes = routes

    def clear(self) -> None:
        """Drop every endpoint and route (restart calls it while stopped)."""
        with self._lock:
            self.endpoints = []
            self._routes = {}

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Bind the endpoints and serve; returns once each is listening or has failed (at most ~5 s).

        Nothing is started without an endpoint. A port already in use is logged and kept on the
        endpoint (``endpoint.error``); start() still returns normally. Starting twice is a no-op.
        """
        with self._lock:
            if self._running:
                return
            self._running = True
            if not self.endpoints:
                self.ready.set()  # nothing to bind
                return
            self._run = self._launch(list(self.endpoints))

    def stop(self, deadline: float) -> list[str]:
        """Stop listening, let running requests finish until ``deadline``, then stop the threads.

        Args:
            deadline: a ``time.monotonic()`` value.

        Returns:
            ``"<METHOD> <path> (route-N)"`` for each handler still running at the deadline (its client
            was answered 503), plus "http" if the asyncio thread did not end. Threads cannot be
            killed; these are daemons and end when their handler returns or the process exits.
            stop() itself never waits much past the deadline.
        """
        with self._lock:
            if not self._running:
                return []
            self._running = False
            self.ready.clear()
            run, self._run = self._run, None
        if run is None:
            return []
        run.deadline = deadline
        run.stop_requested = True  # seen by a thread still binding, before it has a loop to signal
        loop, stopping, thread = run.loop, run.stopping, run.thread
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop already ended (it failed while starting)
                pass
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()) + _JOIN_GRACE)
        run.handoff.close()  # cancel the requests no worker has started, as cancel_futures does
        run.pool.shutdown(wait=False, cancel_futures=True)
        run.pool.join(deadline)
        with run.busy_cond:
            stuck = sorted(set(run.busy.values()))
        if thread is not None and thread.is_alive():
            stuck.append("http")
        for route in self.routes:
            route.failure_log.flush()
        return stuck

    def _bind_now(self, run: _Run, endpoint: Endpoint) -> None:
        if run.loop is None or run.loop.is_closed():
            where = _host_port(endpoint.address, endpoint.requested_port)
            endpoint.error = f"cannot listen on {where}: the HTTP thread is not running (restart the server)"
            log.error("%s", endpoint.error)
            return
        bind = asyncio.run_coroutine_threadsafe(self._bind(run, endpoint), run.loop)
        try:
            bind.result(READY_TIMEOUT)
        except TimeoutError:
            log.error("endpoint %s: still not bound after %.0fs", endpoint.url, READY_TIMEOUT)

    def _launch(self, endpoints: list[Endpoint]) -> _Run:
        run = _Run(self.threads)
        run.thread = threading.Thread(
            target=self._thread_main, args=(run, endpoints), name="http", daemon=True
        )
        run.thread.start()
        if not run.ready.wait(READY_TIMEOUT):
            log.error("endpoints not bound after %.0fs; they keep trying in the background", READY_TIMEOUT)
        return run

    def _mark_ready(self, run: _Run) -> None:
        run.ready.set()
        if self._run is run or self._run is None:  # a late, stale thread must not mark a newer run
            self.ready.set()

    def _thread_main(self, run: _Run, endpoints: list[Endpoint]) -> None:
        try:
            asyncio.run(self._serve(run, endpoints))
        except Exception:
            log.exception("the HTTP server thread failed")
        finally:
            run.ready.set()

    async def _serve(self, run: _Run, endpoints: list[Endpoint]) -> None:
        stopping = run.stopping = asyncio.Event()
        run.idle = asyncio.Event()
        run.idle.set()
        run.loop = asyncio.get_running_loop()  # last: stop() signals ``stopping`` once it sees the loop
        try:
            for endpoint in endpoints:
                await self._bind(run, endpoint)
            self._mark_ready(run)
            if not run.stop_requested:
                await stopping.wait()
        finally:
            await self._shutdown(run)

    async def _bind(self, run: _Run, endpoint: Endpoint) -> None:
        endpoint.error = None
        endpoint.started = False
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] = functools.partial(
            self._handle, run
        )
        # access_log=None: each request is logged here, with its status and timing.
        runner = web.ServerRunner(web.Server(handler, access_log=None), shutdown_timeout=_CANCEL_GRACE)
        try:
            await runner.setup()
            await web.TCPSite(runner, endpoint.address, endpoint.requested_port).start()
        except Exception as err:
            if isinstance(err, OSError):
                endpoint.error = _listen_error(endpoint.address, endpoint.requested_port, err)
            else:
                where = _host_port(endpoint.address, endpoint.requested_port)
                endpoint.error = f"cannot listen on {where}: {type(err).__name__}: {err}"
            log.error("%s", endpoint.error)
            await runner.cleanup()
            return
        run.runners.append((endpoint, runner))
        ports = [addr[1] for addr in runner.addresses if isinstance(addr, tuple) and len(addr) >= 2]
        endpoint.port = ports[0] if ports else endpoint.requested_port
        endpoint.started = True
        if is_loopback(endpoint.address):
            log.info("listening on %s", endpoint.url)
        else:
            log.warning(
                "listening on %s: %s is not a loopback address, so other machines can reach these routes",
                endpoint.url,
                endpoint.address,
            )

    async def _shutdown(self, run: _Run) -> None:
        # 1. stop accepting; 2. ask keep-alive connections to close after their current request;
        # 3. let in-flight requests finish until the deadline; 4. aiohttp cancels what is left.
        for endpoint, runner in run.runners:
            for site in list(runner.sites):
                await site.stop()
            if runner.server is not None:
                runner.server.pre_shutdown()
            endpoint.started = False
        if run.idle is not None and run.inflight:
            try:
                await asyncio.wait_for(run.idle.wait(), max(0.0, run.deadline - time.monotonic()))
            except TimeoutError:
                # Their clients get a 503 now rather than a connection closed without an answer.
                log.warning("%d request(s) still running at the stop deadline: answering 503", run.inflight)
                run.abandoned = True
                for pending in list(run.waiting):
                    pending.cancel()
                try:
                    await asyncio.wait_for(run.idle.wait(), _CANCEL_GRACE)
                except TimeoutError:
                    pass
        for _, runner in run.runners:
            await runner.cleanup()
        run.runners.clear()

    # -- answering --------------------------------------------------------------------------------

    async def _handle(self, run: _Run, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        run.inflight += 1
        if run.idle is not None:
            run.idle.clear()
        try:
            answer, route = await self._answer(run, request)
        finally:
            run.inflight -= 1
            if not run.inflight and run.idle is not None:
                run.idle.set()
        elapsed = time.perf_counter() - started
        if route is not None:
            route.count += 1
            route.last_status = answer.status
            route._latencies.append(elapsed)
        log.debug("%s %s -> %d (%.1f ms)", request.method, request.path, answer.status, elapsed * 1000)
        headers = {**answer.headers}
        if answer.content_type is not None and answer.status != 204:
            headers["Content-Type"] = answer.content_type
        response = web.Response(status=answer.status, body=answer.body or None, headers=headers)
        if answer.status == 413:
            response.force_close()  # the rest of the body was never read
        return response

    async def _answer(self, run: _Run, request: web.BaseRequest) -> tuple[Response, Route | None]:
        method = request.method.upper()
        methods = self._routes.get(request.path)
        if methods is None:
            return error_response(404, "not found", path=request.path), None
        route = methods.get(method)
        if route is None and method == "HEAD":
            route = methods.get("GET")
        if route is None:
            allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
            allow = ", ".join(sorted(allowed))
            body = orjson.dumps(
                {"error": f"method {method} not allowed", "path": request.path, "allow": allow}
            )
            return Response(405, body, _JSON, {"Allow": allow}), None
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _too_large(route), route
        body = b""
        if request.body_exists:
            if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
                # The low-level server has no router to do this for us; without it curl waits 1 s.
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            chunks: list[bytes] = []
            size = 0
            try:
                while chunk := await request.content.readany():
                    size += len(chunk)
                    if size > MAX_BODY:
                        return _too_large(route), route
                    chunks.append(chunk)
            except Exception as err:  # the client went away or sent a broken body
                return error_response(400, f"cannot read the request body: {err}", route=route.name), route
            body = b"".join(chunks)
        peer = Request(
            method, request.path, dict(request.query.items()), request.headers, body, request.remote
        )
        try:
            pending = run.handoff.submit(self._call, run, route, peer)
        except RuntimeError:  # the handoff is closed or the pool shut down: the server is stopping
            return error_response(503, "the server is stopping", route=route.name), route
        run.waiting.add(pending)
        try:
            return await pending, route
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if run.abandoned and (task is None or not task.cancelling()):
                # _shutdown gave up on this handler (or on its place in the queue): say so.
                return error_response(
                    503, "the server is stopping and the handler did not finish in time", route=route.name
                ), route
            raise
        finally:
            run.waiting.discard(pending)

    def _call(self, run: _Run, route: Route, request: Request) -> Response:
        """On a route worker: run the handler, turn what it returns into a Response."""
        me = threading.get_ident()
        with run.busy_cond:
            run.busy[me] = f"{route.name} ({threading.current_thread().name})"
        try:
            e = JobEvent(self._server, route.name, route, request=request)
            route.last_run = e.timestamp
            ok, value = route.guarded_call(_run_handler, e, (route.fn,))
            if ok:
                assert isinstance(value, Response)
                return value
            return error_response(500, f"{type(value).__name__}: {value}", route=route.name)
        finally:
            with run.busy_cond:
                del run.busy[me]
                run.busy_cond.notify_all()


def _run_handler(e: JobEvent, fn: Callable[..., Any]) -> Response:
    # Serialise here, on the worker and inside guarded_call: a value that cannot be sent is the
    # handler's error (logged, counted, 500), and a live reference from the state is serialised
    # as soon as the handler returns, not later on the event loop.
    try:
        value = fn(e)
    except BadRequest as err:
        return error_response(err.status, str(err), route=e.name)
    return to_response(value)


def _too_large(route: Route) -> Response:
    return error_response(413, f"request body larger than {MAX_BODY // (1024 * 1024)} MB", route=route.name)
