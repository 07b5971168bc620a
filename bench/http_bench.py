"""HTTP benchmark (R5): the demo's GET / through the engine's routes against a bare aiohttp app, same run.

Run: ``python -m bench.http_bench``. Both servers live in this process; the clients (aiohttp, 8 concurrent
keep-alive connections) run in a separate process so they do not share the servers' GIL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import platform
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import orjson
from aiohttp import ClientSession, TCPConnector, web

from desktop_app.engine.server import Server

REQUESTS = 4_000
CLIENTS = 8
WARMUP = 300
ROUNDS = 3
TARGET = 0.5


def _values() -> dict[str, list[float]]:
    rng = random.Random(7)
    return {"values": [round(rng.uniform(0, 1000), 3) for _ in range(50)]}


# -- the two servers ---------------------------------------------------------------------------


def _studio() -> Server:
    """The demo's GET / on the engine: the hash read and serialised under the global lockable."""
    server = Server(threads=2)
    server.add_endpoint("127.0.0.1", 0)
    server.state.set("hash", _values())

    def get_hash(e: Any) -> Any:
        with e.lockable:
            return e.json(e.state.get("hash"))

    server.add_route("GET", "/", get_hash)
    return server


class _Bare:
    """A plain aiohttp Application answering the same JSON on the event loop, on its own thread."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="bare-http")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        payload = _values()

        async def get_hash(request: web.Request) -> web.Response:
            return web.Response(body=orjson.dumps(payload), content_type="application/json")

        app = web.Application()
        app.router.add_get("/", get_hash)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> _Bare:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the bare aiohttp server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


# -- the client (in its own process) ----------------------------------------------------------------


class _Sample:
    """One measured run: wall time, per-request latencies, failures, and CPU seconds on each side."""

    def __init__(self, elapsed: float, latencies: list[float], failures: int, client_cpu: float) -> None:
        self.elapsed = elapsed
        self.latencies = latencies
        self.failures = failures
        self.client_cpu = client_cpu
        self.server_cpu = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _drive_async(url: str, total: int, concurrency: int) -> _Sample:
    latencies: list[float] = []
    failures = 0
    left = total

    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal left, failures
            while left > 0:
                left -= 1
                t0 = time.perf_counter()
                async with session.get(url) as resp:
                    body = await resp.read()
                    if resp.status != 200 or not body.startswith(b'{"values":['):
                        failures += 1
                latencies.append(time.perf_counter() - t0)

        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return _Sample(elapsed, latencies, failures, cpu)


def _drive(url: str, total: int, concurrency: int) -> _Sample:
    return asyncio.run(_drive_async(url, total, concurrency))


def _measure(client: ProcessPoolExecutor, url: str, requests: int, clients: int) -> _Sample:
    # This process holds both servers and is otherwise idle: its CPU time is the server's cost.
    cpu0 = time.process_time()
    sample = client.submit(_drive, url, requests, clients).result()
    sample.server_cpu = time.process_time() - cpu0
    return sample


def _summary(label: str, samples: list[_Sample]) -> tuple[float, float, str]:
    rps = statistics.median(s.rps for s in samples)
    p50 = statistics.median(s.percentile(0.50) for s in samples)
    p99 = statistics.median(s.percentile(0.99) for s in samples)
    n = sum(len(s.latencies) for s in samples)
    server_us = 1e6 * sum(s.server_cpu for s in samples) / n
    client_pct = 100 * sum(s.client_cpu for s in samples) / sum(s.elapsed for s in samples)
    failures = sum(s.failures for s in samples)
    line = (
        f"{label:<40} {rps:7.0f} req/s  p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms  "
        f"server CPU {server_us:5.0f} us/req  client CPU {client_pct:3.0f}%"
        + (f"  {failures} FAILED" if failures else "")
    )
    return rps, p99, line


def run(requests: int = REQUESTS, clients: int = CLIENTS, rounds: int = ROUNDS) -> list[str]:
    """Measure both servers, alternating, with the same client process; return the report lines."""
    out = [
        f"R5 HTTP GET / ({rounds} x {requests} requests per server, {clients} concurrent keep-alive "
        f"clients; Python {platform.python_version()}, {multiprocessing.cpu_count()} CPUs; medians)"
    ]
    ctx = multiprocessing.get_context("spawn")
    bare_samples: list[_Sample] = []
    ours_samples: list[_Sample] = []
    with ProcessPoolExecutor(1, mp_context=ctx) as client:
        studio = _studio()
        with _Bare() as bare, studio:
            bare_url = f"http://127.0.0.1:{bare.port}/"
            studio_url = studio.endpoints[0].url
            for url in (bare_url, studio_url):  # warm the connections, the pool and the client
                _measure(client, url, WARMUP, clients)
            for _ in range(rounds):  # alternate, so drift on a busy machine hits both alike
                bare_samples.append(_measure(client, bare_url, requests, clients))
                ours_samples.append(_measure(client, studio_url, requests, clients))
        route = studio.http.get_route("GET", "/")
        assert route is not None
    bare_rps, bare_p99, line = _summary("bare aiohttp (handler on the loop)", bare_samples)
    out.append(line)
    ours_rps, ours_p99, line = _summary("engine routes (route pool, e.lockable)", ours_samples)
    out.append(line)
    ratio = ours_rps / bare_rps
    out.append(
        f"{'R5 throughput, engine routes vs bare aiohttp':<62} {ratio:8.2f}x   target >= {TARGET}x   "
        f"{'PASS' if ratio >= TARGET else 'MISS'}"
    )
    out.append(
        f"{'R5 p99 latency, engine routes / bare aiohttp':<62} {ours_p99 / bare_p99:8.2f}x   "
        f"(route.p99 in the jobs panel: {route.p99 * 1000:.2f} ms; route errors {route.errors})"
    )
    bare_cpu = sum(s.server_cpu for s in bare_samples) / sum(len(s.latencies) for s in bare_samples)
    ours_cpu = sum(s.server_cpu for s in ours_samples) / sum(len(s.latencies) for s in ours_samples)
    out.append(
        f"{'R5 server CPU per request, bare / engine routes':<62} {bare_cpu / ours_cpu:8.2f}x   "
        "(the throughput ratio if the server were CPU-bound)"
    )
    if min(s.client_cpu / s.elapsed for s in bare_samples) > 0.9:
        out.append(
            "note: the client process used a whole core during the bare runs, so the bare figure is "
            "client-bound; compare 'server CPU us/req' for the servers' own cost"
        )
    return out


if __name__ == "__main__":
    for text in run():
        print(text)
    sys.stdout.flush()
