"""Server: scripts (ScriptError), lifecycle (start/stop/restart, context manager), root-relative paths."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from desktop_app.engine import ScriptError
from desktop_app.engine.server import Server


def _script(tmp_path: Path, body: str, name: str = "srv.py") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def test_from_script_runs_setup_with_root_at_script_folder(tmp_path: Path) -> None:
    p = _script(
        tmp_path,
        "def setup(server):\n"
        "    server.state.set('x', 1)\n"
        "    server.state.save('./out.json')\n",
    )
    server = Server.from_script(p)
    assert server.state.get("x") == 1
    assert server.root == tmp_path.resolve() and server.script == p.resolve()
    assert (tmp_path / "out.json").is_file()
    assert not server.running  # from_script does not start


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("def setup(server):\n    x = (\n", 2, "syntax error"),
        ("x = 1\n", None, "no setup"),
        ("def setup(server):\n    pass\n\nraise RuntimeError('top level')\n", 4, "top level"),
        ("def setup(server):\n    server.state.set('a', 1)\n    1 / 0\n", 3, "ZeroDivisionError"),
        ("def setup(server):\n    server.add_timer('t', 0, lambda e: None)\n", 2, "Interval"),
    ],
)
def test_script_errors_name_file_and_line(tmp_path: Path, body: str, line: int | None, words: str) -> None:
    p = _script(tmp_path, body)
    with pytest.raises(ScriptError) as info:
        Server.from_script(p)
    err = info.value
    assert err.path == str(p.resolve()) and err.line == line
    assert words in str(err) and str(p.name) in str(err)


def test_missing_script(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="no such server script"):
        Server.from_script(tmp_path / "nope.py")


def test_restart_clears_and_reruns_setup(tmp_path: Path) -> None:
    p = _script(
        tmp_path,
        "def setup(server):\n"
        "    server.state.set('count', 0)\n"
        "    server.lockables.new('custom')\n"
        "    server.add_timer('t', 60, lambda e: None)\n",
    )
    server = Server.from_script(p)
    with server:
        server.state.set("count", 5)
        server.state.set("extra", 1)
        server.lockables.new("other")
        server.restart()
        assert server.running
        assert server.state.names() == ["count"] and server.state.get("count") == 0
        assert [lk.name for lk in server.lockables] == ["custom"]
        assert [t.name for t in server.timers.list()] == ["t"]
    assert not server.running


def test_context_manager_starts_and_stops() -> None:
    ran = threading.Event()
    server = Server()
    server.add_timer("t", 0.01, lambda e: ran.set())
    with server as s:
        assert s is server and server.running
        assert ran.wait(5)
    assert not server.running
    assert server.stop() == []  # stopping twice is harmless


def test_threads_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Server(threads=0)


def test_state_paths_resolve_against_root(tmp_path: Path) -> None:
    server = Server(root=tmp_path)
    server.state.set("a", [1])
    server.state.save("./s.json")
    other = Server(root=tmp_path)
    assert other.state.restore("./s.json") == "pode"
    assert other.state.get("A") == [1]


def test_job_event_fields() -> None:
    server = Server()
    got: dict[str, Any] = {}
    t = server.add_timer("ev", 60, lambda e: got.update(e=e))
    server.timers.invoke("ev")
    e = got["e"]
    assert e.server is server and e.state is server.state and e.lockable is server.lockable
    assert e.name == "ev" and e.sender is t and e.timestamp is not None
