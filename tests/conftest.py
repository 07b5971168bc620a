"""Test set-up: offscreen Qt before Qt loads, and a check that no test leaves engine or Qt threads running."""

from __future__ import annotations

import os
import threading

import pytest

from tests.redis_fixtures import ns, own_redis, redis_server, redis_url  # noqa: F401  (fixtures)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Threads the engine starts are named; any of these alive after a test is a leak.
_ENGINE_PREFIXES = ("timer", "schedule", "route-", "http", "bridge", "timers", "schedules")


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and t.name.startswith(_ENGINE_PREFIXES)]


@pytest.fixture(autouse=True)
def _no_dangling_threads(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    before = set(_engine_threads())
    yield
    if request.node.get_closest_marker("allow_threads"):
        return
    left = [t for t in _engine_threads() if t not in before]
    for t in left:  # threads told to stop may still be returning: join them, bounded
        t.join(timeout=2.0)
    alive = sorted(t.name for t in left if t.is_alive())
    if alive:
        pytest.fail(f"test left engine threads running: {alive}")
