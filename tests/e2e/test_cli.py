"""The command line: run --headless (signals), inspect, diff, convert — good and bad input, no tracebacks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli import main

CLI = [sys.executable, "-m", "desktop_app"]
DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "server.py"


def _pode_file(path: Path, data: dict[str, object]) -> Path:
    path.write_text(json.dumps({k: {"Value": v, "Scope": []} for k, v in data.items()}), encoding="utf-8")
    return path


def test_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.json"
    f.write_text(
        json.dumps(
            {"hash": {"Value": {"values": [1, 2, 3]}, "Scope": ["users"]}, "n": {"Value": 5, "Scope": []}}
        )
    )
    assert main(["inspect", str(f)]) == 0
    out = capsys.readouterr().out
    assert "format:  pode" in out and "entries: 2" in out and "users" in out
    assert "hash: dict (1)" in out and "values: list (3)" in out and "n: int" in out


def test_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _pode_file(tmp_path / "a.json", {"hash": {"values": [1, 2]}, "gone": 1, "same": "x"})
    b = _pode_file(tmp_path / "b.json", {"hash": {"values": [1, 3, 4]}, "new": True, "same": "x"})
    assert main(["diff", str(a), str(a)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert '~ hash["values"][1]: 2 -> 3' in out
    assert any(line.startswith('+ hash["values"][2]') for line in out)
    assert "- gone" in out and any(line.startswith("+ new") for line in out)


def test_convert_round_trip(tmp_path: Path) -> None:
    a = _pode_file(tmp_path / "a.json", {"hash": {"values": [7]}})
    v2 = tmp_path / "v2.json"
    assert main(["convert", str(a), str(v2), "--format", "pode-v2"]) == 0
    assert "__pode_state_metadata__" in json.loads(v2.read_text())
    back = tmp_path / "back.json"
    assert main(["convert", str(v2), str(back), "--format", "pode"]) == 0
    assert main(["diff", str(a), str(back)]) == 0


@pytest.mark.parametrize("command", [["inspect"], ["diff", "{ok}"], ["convert", "{out}", "--format", "pode"]])
def test_bad_files_give_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": {"Value": [1, 2', encoding="utf-8")
    ok = _pode_file(tmp_path / "ok.json", {"a": 1})
    args = [c.format(ok=ok, out=tmp_path / "o.json") for c in command]
    args.insert(1, str(bad))
    r = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "bad.json" in r.stderr
    assert not (tmp_path / "o.json").exists()


def test_missing_file_and_bad_usage(tmp_path: Path) -> None:
    r = subprocess.run(
        [*CLI, "inspect", str(tmp_path / "nope.json")], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*CLI, "convert", "a", "b"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--format" in r.stderr


def test_run_headless_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "srv.py"
    script.write_text(
        "def setup(server):\n"
        "    server.add_endpoint('127.0.0.1', 0)\n"
        "    server.add_timer('t', 0.05, lambda e: e.state.set('n', (e.state.get('n') or 0) + 1))\n"
        "    server.add_route('GET', '/', lambda e: {'n': e.state.get('n')})\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*CLI, "run", str(script), "--headless"], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stderr is not None
        url = None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "listening on " in line:
                url = line.split()[-1]
                break
        assert url and url.startswith("http://127.0.0.1:")
        import urllib.request

        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in rest and "SIGTERM received" in rest
        assert "".join([*seen, rest]).count("listening on") == 1  # once, not a log line plus a print
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_headless_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("def setup(server):\n    raise RuntimeError('nope')\n")
    r = subprocess.run([*CLI, "run", str(script), "--headless"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "broken.py:2" in r.stderr and "nope" in r.stderr
    assert "Traceback" not in r.stderr


def test_every_positional_argument_has_help() -> None:
    from desktop_app.cli import _gui_parser, _sub_parser

    def positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    found += positionals(sub)
            elif not action.option_strings:
                found.append(action)
        return found

    actions = positionals(_gui_parser()) + positionals(_sub_parser())
    assert len(actions) >= 7  # script; run script; inspect file; diff a b; convert input output
    assert [a.dest for a in actions if not a.help] == []


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env)


def test_misspelt_subcommand_suggests_the_right_one(tmp_path: Path) -> None:
    f = _pode_file(tmp_path / "f.json", {"a": 1})
    r = _cli("inpect", str(f))
    assert r.returncode == 2
    assert "did you mean 'inspect'?" in r.stderr and "unrecognized arguments" not in r.stderr
    assert r.stderr.count("\n") == 1
    r = _cli("dif")
    assert r.returncode == 2 and "did you mean 'diff'?" in r.stderr


@pytest.mark.parametrize("command", [["run", "{dir}", "--headless"], ["run", "{dir}"], ["{dir}"]])
def test_a_folder_as_script_says_it_is_a_folder(tmp_path: Path, command: list[str]) -> None:
    args = [c.format(dir=tmp_path) for c in command]
    r = _cli(*args)
    assert r.returncode == 2 and "is a folder" in r.stderr and "no such" not in r.stderr
    assert "server.py" not in r.stderr
    (tmp_path / "server.py").write_text("def setup(server):\n    pass\n")
    r = _cli(*args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert f"is a folder; did you mean {tmp_path / 'server.py'}?" in r.stderr


def test_gui_without_a_display_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for args in ([], ["run", str(DEMO)]):
        r = _cli(*args, env=env)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
        assert (
            "no display" in r.stderr and "--headless" in r.stderr and "xvfb-run -a state-studio" in r.stderr
        )
    env["QT_QPA_PLATFORM"] = "xcb"
    r = _cli(env=env)
    assert r.returncode == 2 and "no display" in r.stderr


def test_run_headless_reports_a_busy_port_once(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        script = tmp_path / "srv.py"
        script.write_text(f"def setup(server):\n    server.add_endpoint('127.0.0.1', {port})\n")
        proc = subprocess.Popen(
            [*CLI, "run", str(script), "--headless"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:  # the server keeps running without its endpoint
                seen.append(line)
                if "server started" in line:
                    break
            proc.send_signal(signal.SIGTERM)
            seen.append(proc.stderr.read())
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = "".join(seen)
    assert text.count(f"cannot listen on 127.0.0.1:{port}") == 1, text


def _v2_file(path: Path, entries: dict[str, object]) -> Path:
    from desktop_app.engine import persistence

    path.write_bytes(persistence.encode({k: (v, []) for k, v in entries.items()}, format="pode-v2"))
    return path


def test_diff_prints_values_as_json(tmp_path: Path) -> None:
    a = _pode_file(
        tmp_path / "a.json", {"s": "hello", "h": {"values": [1]}, "f": False, "n": None, "gone": 1}
    )
    b = _pode_file(
        tmp_path / "b.json", {"s": "bye", "h": {"values": [1, 2]}, "f": True, "n": 0, "x": {"k": [None]}}
    )
    r = _cli("diff", str(a), str(b))
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert '~ s: "hello" -> "bye"' in lines
    assert "~ f: false -> true" in lines and "~ n: null -> 0" in lines
    assert '+ h["values"][1]: 2' in lines and '+ x: {"k": [null]}' in lines and "- gone" in lines
    assert "'" not in r.stdout and "None" not in r.stdout and "True" not in r.stdout


def test_diff_json_output(tmp_path: Path) -> None:
    a = _pode_file(tmp_path / "a.json", {"s": "hello", "gone": [1], "same": 1})
    b = _pode_file(tmp_path / "b.json", {"s": "bye", "new": {"k": True}, "same": 1})
    r = _cli("diff", str(a), str(b), "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["same"] is False and doc["a"] == str(a) and doc["b"] == str(b)
    assert doc["changes"] == [
        {"kind": "changed", "path": ["s"], "text_path": "s", "old": "hello", "new": "bye"},
        {"kind": "removed", "path": ["gone"], "text_path": "gone", "old": [1]},
        {"kind": "added", "path": ["new"], "text_path": "new", "new": {"k": True}},
    ]
    r = _cli("diff", str(a), str(a), "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {
        "a": str(a),
        "b": str(a),
        "same": True,
        "changes": [],
    }
    r = _cli("diff", str(a), str(tmp_path / "nope.json"), "--json")
    assert r.returncode == 2 and r.stdout == "" and "no such file" in r.stderr


def test_diff_help_documents_exit_codes() -> None:
    r = _cli("diff", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "0 " in text and "1 " in text and "2 " in text and "exit status" in text.lower()
    assert "--json" in text


def test_diff_of_v2_values_is_readable(tmp_path: Path) -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    a = _v2_file(tmp_path / "a.json", {"t": when, "id": uuid.UUID(int=1), "p": Decimal("1.10"), "tags": {"x"},
                                        "d": dt.timedelta(hours=1), "nan": 1.0, "i": 1})  # fmt: skip
    b = _v2_file(tmp_path / "b.json", {"t": when + dt.timedelta(days=1), "id": uuid.UUID(int=2), "p": Decimal("1.20"),
                                        "tags": {"x", "y"}, "d": dt.timedelta(hours=2), "nan": float("nan"),
                                        "i": Decimal("1")})  # fmt: skip
    r = _cli("diff", str(a), str(b))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    assert '~ t: "2024-05-01T12:30:00+00:00" -> "2024-05-02T12:30:00+00:00"' in lines
    assert '~ id: "00000000-0000-0000-0000-000000000001" -> "00000000-0000-0000-0000-000000000002"' in lines
    assert "~ p: 1.10 -> 1.20" in lines and '~ tags: ["x"] -> ["x", "y"]' in lines
    assert '~ d: "1:00:00" -> "2:00:00"' in lines and "~ nan: 1.0 -> NaN" in lines
    assert "~ i: 1 (int) -> 1 (Decimal)" in lines  # same text, different types: say which
    r = _cli("diff", str(a), str(b), "--json")
    assert r.returncode == 1, r.stderr
    changes = {c["text_path"]: c for c in json.loads(r.stdout)["changes"]}
    assert changes["t"]["new"] == "2024-05-02T12:30:00+00:00" and changes["p"]["new"] == "1.20"
    assert changes["tags"]["new"] == ["x", "y"] and changes["nan"]["new"] == "NaN"
    assert changes["i"]["old_type"] == "int" and changes["i"]["new_type"] == "Decimal"


def _many_entries(path: Path, entries: int = 500, items: int = 50) -> Path:
    return _pode_file(path, {f"e{i:04}": {"items": list(range(items)), "n": i} for i in range(entries)})


def test_inspect_is_a_bounded_summary(tmp_path: Path) -> None:
    f = _many_entries(tmp_path / "big.json")
    r = _cli("inspect", str(f))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) < 200  # all 500 entries x 50 items was 27,000 lines
    assert "entries: 500" in lines and "types:   dict 500" in lines
    assert any(line.startswith("sizes:   ") and "largest: e0100 159 B, e0101 159 B" in line for line in lines)
    assert "e0000: dict (2), 157 B" in lines and "    [9]: 9" in lines and "    … 40 more" in lines
    assert "e0009: dict (2), 157 B" in lines and not any(line.startswith("e0010") for line in lines)
    assert "… 490 more entries" in lines
    everything = _cli("inspect", str(f), "--all").stdout.splitlines()
    assert "e0499: dict (2), 159 B" in everything and "    [49]: 49" in everything
    assert not any("more" in line for line in everything)


def test_inspect_depth(tmp_path: Path) -> None:
    f = _pode_file(tmp_path / "s.json", {"h": {"a": {"b": {"c": 1}}}, "n": 5})
    lines = _cli("inspect", str(f), "--depth", "0").stdout.splitlines()
    assert "h: dict (1), 19 B" in lines and not any(line.startswith("  a") for line in lines)
    assert "n: int, 1 B = 5" in lines
    lines = _cli("inspect", str(f), "--depth", "3").stdout.splitlines()
    assert "    b: dict (1)" in lines and "      c: 1" in lines
    r = _cli("inspect", str(f), "--depth", "-1")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "state-studio: --depth must be 0 or more (got -1)\n"


def test_inspect_json(tmp_path: Path) -> None:
    f = _many_entries(tmp_path / "big.json", entries=25, items=3)
    r = _cli("inspect", str(f), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "pode" and doc["entries"] == 25 and doc["types"] == {"dict": 25}
    assert doc["file_bytes"] == f.stat().st_size and doc["more"] == 15 and len(doc["shown"]) == 10
    assert doc["shown"][0] == {
        "name": "e0000", "scope": [], "type": "dict", "length": 2, "bytes": 23, "value": {"items": [0, 1, 2], "n": 0}
    }  # fmt: skip
    doc = json.loads(_cli("inspect", str(f), "--json", "--all").stdout)
    assert len(doc["shown"]) == 25 and doc["more"] == 0
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    doc = json.loads(_cli("inspect", str(empty), "--json").stdout)
    assert doc["entries"] == 0 and doc["shown"] == [] and doc["more"] == 0


def test_inspect_v2_values_are_readable(tmp_path: Path) -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    f = _v2_file(tmp_path / "v2.json", {"h": {"t": when, "id": uuid.UUID(int=1), "p": Decimal("1.10"),
                                             "s": {"b", "a"}, "d": dt.timedelta(minutes=90), "x": float("inf")}})  # fmt: skip
    r = _cli("inspect", str(f))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    assert "format:  pode-v2" in lines
    assert (
        '  t: "2024-05-01T12:30:00+00:00"' in lines
        and '  id: "00000000-0000-0000-0000-000000000001"' in lines
    )
    assert "  p: 1.10" in lines and "  s: set (2)" in lines and '    [0]: "a"' in lines
    assert '  d: "1:30:00"' in lines and "  x: Infinity" in lines
    value = json.loads(_cli("inspect", str(f), "--json").stdout)["shown"][0]["value"]
    assert value == {"t": "2024-05-01T12:30:00+00:00", "id": "00000000-0000-0000-0000-000000000001", "p": "1.10",
                     "s": ["a", "b"], "d": "1:30:00", "x": "Infinity"}  # fmt: skip


def test_inspect_all_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    f = _many_entries(tmp_path / "big.json", entries=2000)
    proc = subprocess.Popen(
        [*CLI, "inspect", str(f), "--all"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`: far more than a pipe's buffer is still to be written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141  # 128 + SIGPIPE, as if SIGPIPE had ended it
    assert err == ""


def test_a_missing_script_is_named_before_the_display_is_checked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for args in ([str(tmp_path / "nope.py")], ["run", str(tmp_path / "nope.py")]):
        r = _cli(*args, env=env)
        assert (
            r.returncode == 2 and r.stderr == f"state-studio: {tmp_path / 'nope.py'}: no such server script\n"
        )


def test_inspect_an_empty_state(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    r = _cli("inspect", str(empty))
    assert r.returncode == 0 and r.stdout.splitlines() == [
        f"file:    {empty}, 2 B",
        "format:  pode",
        "entries: 0",
    ]
