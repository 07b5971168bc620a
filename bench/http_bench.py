"""HTTP benchmark (R5): the demo's GET / through the engine's routes against a bare aiohttp app, same run.

Run: ``python -m bench.http_bench`` (``make bench`` runs it too). Both servers live in this process;
the load comes from ``wrk -t2 -c32`` (Debian: ``apt-get install wrk``), which drives HTTP far harder
than a Python client: an aiohttp client saturated first and pulled every server's ratio toward 1.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
from typing import Any

import orjson
from aiohttp import web

from bench.rounds import Figure
from desktop_app.engine.server import Server


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


# -- the load: wrk, in its own process -------------------------------------------------------------

WRK = "wrk"
WRK_ARGS = ("-t2", "-c32")


def _wrk(url: str, seconds: float) -> tuple[float, float, int]:
    """(requests/s, server CPU microseconds per request, non-2xx answers) for one wrk run against ``url``.

    Both servers live in this process, which is otherwise idle while wrk runs: its CPU time is the
    server's cost.
    """
    cpu0 = time.process_time()
    out = subprocess.run(
        [WRK, *WRK_ARGS, f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = time.process_time() - cpu0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, 1e6 * cpu / max(1, total), int(bad.group(1)) if bad else 0


def run_wrk(rounds: int = 7, seconds: float = 3.0) -> list[str]:
    """R5: the demo's GET / against a bare aiohttp handler, driven by wrk in interleaved rounds.

    Returns the report lines; when wrk is not installed, one line saying how to install it.
    """
    if shutil.which(WRK) is None:
        return [
            "R5 skipped: wrk is not installed (Debian/Ubuntu: apt-get install wrk); nothing was installed"
        ]
    studio = _studio()
    rps_ratio: list[float] = []
    cpu_ratio: list[float] = []
    rps: dict[str, list[float]] = {"bare": [], "ours": []}
    failures = 0
    with _Bare() as bare, studio:
        urls = {"bare": f"http://127.0.0.1:{bare.port}/", "ours": studio.endpoints[0].url}
        for url in urls.values():  # warm up connections, pools and caches
            _wrk(url, 1)
        for i in range(rounds):
            order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
            got = {name: _wrk(urls[name], seconds) for name in order}
            failures += got["bare"][2] + got["ours"][2]
            rps["bare"].append(got["bare"][0])
            rps["ours"].append(got["ours"][0])
            rps_ratio.append(got["ours"][0] / got["bare"][0])
            cpu_ratio.append(got["bare"][1] / got["ours"][1])
        route = studio.http.get_route("GET", "/")
        assert route is not None
    lines = [
        f"R5 HTTP GET / (wrk {' '.join(WRK_ARGS)}, {seconds:g} s per server per round): bare aiohttp "
        f"{statistics.median(rps['bare']):.0f} req/s, engine routes {statistics.median(rps['ours']):.0f} req/s (medians)",
        Figure("R5 throughput, engine routes (demo GET /) vs bare aiohttp", rps_ratio, 0.7).line(),
        Figure("R5 server CPU per request, bare aiohttp / engine routes", cpu_ratio).line()
        + "  (the ratio if both were CPU-bound; steadier on a busy machine)",
    ]
    if failures or route.errors:
        lines.append(f"R5 WARNING: {failures} non-2xx answers, {route.errors} route errors")
    return lines


if __name__ == "__main__":
    for text in run_wrk():
        print(text, flush=True)
