"""The command line on a Redis store: two demo processes sharing one hash, inspect URL, convert both ways."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from desktop_app.cli import main
from desktop_app.engine import SharedState, persistence
from desktop_app.engine.paths import demo_script
from tests.engine.conftest import ROOT
from tests.waiting import wait_until


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_two_headless_demo_processes_share_one_hash(redis_url: str, ns: str, tmp_path: Path) -> None:
    env = dict(
        os.environ, STATE_STUDIO_DEMO_PORT="0", STATE_STUDIO_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT)
    )
    cmd = [sys.executable, "-m", "desktop_app", "run", str(demo_script()), "--headless"]
    procs = [
        subprocess.Popen(
            [*cmd, "--store", redis_url, "--namespace", ns],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = []
        for p in procs:
            assert p.stderr is not None
            for line in p.stderr:
                found = re.search(r"listening on (http://\S+)", line)
                if found:
                    urls.append(found.group(1))
                    break
        assert len(urls) == 2
        state = SharedState(store=redis_url, namespace=ns)
        # both timers append to the one hash in Redis, and both routes serve it
        assert wait_until(lambda: len(state.get("hash", {"values": []})["values"]) >= 3, timeout=60)
        assert wait_until(lambda: _get(urls[0]) == _get(urls[1]) == state.get("hash"), timeout=30)
        heartbeats = state.lock_space.conn.client.keys(f"sss:{{{ns}}}:proc:*")  # type: ignore[attr-defined]
        assert len(heartbeats) == 2
        assert not (tmp_path / "demo" / "state.json").exists()  # on Redis the demo keeps no file
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in procs]
        for p in procs:
            if p.stderr is not None:
                p.stderr.close()
    assert codes == [0, 0]


def test_inspect_a_namespace(redis_url: str, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    state = SharedState(store=redis_url, namespace=ns)
    state.set("hash", {"values": [1, 2, 3]}, scope="users")
    assert main(["inspect", redis_url, "--namespace", ns]) == 0
    out = capsys.readouterr().out
    assert f"namespace: {ns}" in out and "entries: 1" in out and "users" in out
    assert "hash: dict (1)" in out and "values: list (3)" in out


def test_convert_saves_a_namespace_to_a_file_and_restores_it(
    redis_url: str, ns: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = SharedState(store=redis_url, namespace=ns)
    state.set("hash", {"values": [1]}, scope="users")
    out = tmp_path / "saved.json"
    assert main(["convert", redis_url, str(out), "--namespace", ns, "--format", "pode-v2"]) == 0
    loaded = persistence.read_file(out)
    assert loaded is not None and loaded.format == "pode-v2"
    assert loaded.entries == {"hash": ({"values": [1]}, ["users"])}
    # a file into a namespace: replaced, then merged
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"n": {"Value": 2, "Scope": []}}))
    assert main(["convert", str(out), redis_url, "--namespace", ns + "-copy"]) == 0
    copy = SharedState(store=redis_url, namespace=ns + "-copy")
    assert copy.snapshot() == state.snapshot()
    assert main(["convert", str(patch), redis_url, "--namespace", ns + "-copy", "--merge"]) == 0
    assert copy.names() == ["hash", "n"]
    assert main(["convert", str(patch), redis_url, "--namespace", ns + "-copy"]) == 0
    assert copy.names() == ["n"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "x.py", "--headless", "--namespace", "shop"], "--namespace needs --store"),
        (["convert", "a.json", "b.json"], "--format"),
        (["convert", "redis://127.0.0.1:1/0", "redis://127.0.0.1:2/0"], "a file on one side"),
        (["inspect", "redis://:pw@127.0.0.1:{port}/0"], "cannot reach Redis"),
    ],
)
def test_bad_store_arguments_give_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.redis_server import free_port

    argv = [a.replace("{port}", str(free_port())) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and ":pw@" not in err
