"""The seed's full example end to end, headless: ticks, GET /, DELETE /, the state file on disk."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from desktop_app.engine import persistence
from desktop_app.engine.paths import demo_script
from desktop_app.engine.server import Server
from tests.waiting import wait_until


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STATE_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STATE_STUDIO_DEMO_PORT", "0")
    return tmp_path


def _request(method: str, url: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read()


def test_demo_end_to_end(demo_env: Path) -> None:
    server = Server.from_script(demo_script())
    timer = server.timers.get("forever")
    assert timer is not None and timer.interval == 2
    with server:
        ep = server.endpoints[0]
        assert ep.error is None and ep.port != 0
        # count moves when a run starts, so "count >= 2 and nothing running" means two ticks are done
        assert wait_until(lambda: timer.count >= 2 and timer.running == 0, timeout=10)
        # Hold the ticks while the routes are checked: a tick waiting for the lock behind the DELETE
        # would otherwise start a new hash before the test looks (pause lets a started run finish).
        server.timers.pause("forever")
        assert wait_until(lambda: timer.pending == 0 and timer.running == 0, timeout=10)
        status, body = _request("GET", ep.url)
        assert status == 200
        value = json.loads(body)
        assert set(value) == {"values"}
        assert len(value["values"]) >= 2 and all(isinstance(v, int) and 0 <= v <= 9 for v in value["values"])
        # the file on disk parses and matches what the server holds
        state_file = demo_env / "demo" / "state.json"
        with server.lock():
            loaded = persistence.read_file(state_file)
            assert loaded is not None and loaded.format == "pode"
            assert loaded.entries["hash"][0] == server.state.get("hash")
        status, _ = _request("DELETE", ep.url)
        assert status == 204
        assert not server.state.test("hash")
        # after a DELETE the next tick starts a new hash (the seed's version fails on every tick)
        count = timer.count
        server.timers.resume("forever")
        assert wait_until(lambda: timer.count > count and timer.running == 0, timeout=10)
        assert timer.errors == 0
        values = server.state.get("hash")["values"]
        assert 1 <= len(values) <= timer.count - count  # one value per tick since the DELETE


def test_demo_restores_its_state_file(demo_env: Path) -> None:
    state_file = demo_env / "demo" / "state.json"
    state_file.parent.mkdir(parents=True)
    state_file.write_text(json.dumps({"hash": {"Value": {"values": [4, 5]}, "Scope": []}}))
    server = Server.from_script(demo_script())
    assert server.state.get("hash") == {"values": [4, 5]}
