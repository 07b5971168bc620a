"""R5: 5,000 requests from 16 keep-alive clients while a 5 ms timer mutates the state: no lost update."""

from __future__ import annotations

import http.client
import json
import queue
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desktop_app.engine.server import Server

REQUESTS = 5_000
CLIENTS = 16
# 2 GET / : 2 POST /inc : 1 GET /fail
PLAN = [("GET", "/"), ("POST", "/inc"), ("GET", "/"), ("POST", "/inc"), ("GET", "/fail")]


def _demo_like_server() -> Server:
    server = Server(threads=4)
    server.add_endpoint("127.0.0.1", 0)
    server.state.set("hash", {"tick": 0, "values": [0] * 50})
    server.state.set("counter", 0)

    def tick(e: Any) -> None:
        # Every value equals "tick" whenever the lockable is free: a reader that sees otherwise
        # read a half-made change.
        with e.lockable:
            h = e.state.get("hash")
            h["tick"] += 1
            for i in range(len(h["values"])):
                h["values"][i] = h["tick"]

    def read(e: Any) -> Any:
        with e.lockable:
            return e.json(e.state.get("hash"))

    def inc(e: Any) -> dict[str, int]:
        with e.lockable:
            value = e.state.get("counter") + 1
            e.state.set("counter", value)
        return {"counter": value}

    def fail(e: Any) -> None:
        raise RuntimeError("deliberate")

    server.add_timer("mutate", 0.005, tick)
    server.add_route("GET", "/", read)
    server.add_route("POST", "/inc", inc)
    server.add_route("GET", "/fail", fail)
    return server


def _client(port: int, work: queue.SimpleQueue[tuple[str, str]]) -> list[tuple[str, str, int, bytes]]:
    done: list[tuple[str, str, int, bytes]] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while True:
            try:
                method, path = work.get_nowait()
            except queue.Empty:
                return done
            # No retry: a dropped keep-alive connection would be a failure, and POST is not idempotent.
            conn.request(method, path, body=b"" if method == "POST" else None)
            resp = conn.getresponse()
            done.append((method, path, resp.status, resp.read()))
    finally:
        conn.close()


@pytest.mark.slow
def test_concurrent_clients_against_a_mutating_timer() -> None:
    server = _demo_like_server()
    work: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for i in range(REQUESTS):
        work.put(PLAN[i % len(PLAN)])
    with server:
        port = server.endpoints[0].port
        with ThreadPoolExecutor(CLIENTS, thread_name_prefix="client") as clients:
            futures = [clients.submit(_client, port, work) for _ in range(CLIENTS)]
            results = [r for f in futures for r in f.result(timeout=120)]
        timer = server.timers.get("mutate")
        assert timer is not None
        final_counter = server.state.get("counter")
        final_tick = server.state.get("hash")["tick"]

    assert len(results) == REQUESTS
    statuses = Counter((method, path, status) for method, path, status, _ in results)
    expected_fail = REQUESTS // len(PLAN)
    assert statuses[("GET", "/fail", 500)] == expected_fail
    unexpected = {k: n for k, n in statuses.items() if k[2] != 200 and k[1] != "/fail"}
    assert not unexpected, unexpected

    counters: list[int] = []
    ticks: list[int] = []
    for _, path, _, body in results:
        value = json.loads(body)
        if path == "/":
            assert set(value) == {"tick", "values"} and len(value["values"]) == 50
            assert all(v == value["tick"] for v in value["values"]), "torn read"
            ticks.append(value["tick"])
        elif path == "/inc":
            counters.append(value["counter"])
        else:
            assert value == {"error": "RuntimeError: deliberate", "route": "GET /fail"}

    # no lost update: every POST got its own number and the final counter is their count
    posts = sum(1 for method, *_ in results if method == "POST")
    assert final_counter == posts == len(counters)
    assert sorted(counters) == list(range(1, posts + 1))
    # the timer really ran alongside
    assert timer.errors == 0 and timer.count > 0 and final_tick > 0 and max(ticks) > 0

    routes = {r.name: r for r in server.http.routes}
    assert routes["GET /"].count == len(ticks) and routes["GET /"].errors == 0
    assert routes["POST /inc"].count == posts and routes["POST /inc"].errors == 0
    assert routes["GET /fail"].count == routes["GET /fail"].errors == expected_fail
