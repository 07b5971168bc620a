"""Shutdown never hangs on a stuck job: real processes, real signals, jobs that never return.

Each server script below has a timer, a schedule and a route whose function blocks forever. The
process must still exit after the stop timeout (headless, GUI, a plain script), naming the
abandoned jobs; a second SIGTERM exits at once; the stuck route's client gets a 503.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "desktop_app"]
EXIT_BOUND = 30.0  # seconds: far above the 1 s stop timeout + grace, far below "hangs forever"

STUCK_JOBS = """
import sys
import threading

never = threading.Event()


def stuck(e):
    print(f"entered {e.sender.kind} {e.name}", file=sys.stderr, flush=True)
    never.wait()


def setup(server):
    server.stop_timeout = STOP_TIMEOUT
    server.add_endpoint("127.0.0.1", 0)
    server.add_timer("stuck", 0.05, stuck, limit=1)
    server.add_schedule("stuck", "0 0 1 1 *", stuck, on_start=True)
    server.add_route("GET", "/stuck", stuck)
"""


def _script(tmp_path: Path, stop_timeout: float) -> Path:
    script = tmp_path / "stuck_jobs.py"
    script.write_text(STUCK_JOBS.replace("STOP_TIMEOUT", repr(stop_timeout)))
    return script


class Watched:
    """A child process whose stderr is collected line by line; ``wait_for`` blocks until a line appears."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.lines.append("")  # EOF marker: the process closed stderr
            self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        """The first line containing ``needle``; fails if the process ends or ``timeout`` passes first."""
        with self._cond:
            found = self._cond.wait_for(
                lambda: any(needle in line for line in self.lines) or (self.lines and self.lines[-1] == ""),
                timeout,
            )
            hits = [line for line in self.lines if needle in line]
        assert found and hits, f"{needle!r} never appeared; stderr so far:\n{self.text}"
        return hits[0]

    def exit_code_within(self, seconds: float) -> int:
        try:
            code = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {seconds:.0f} s later; stderr:\n{self.text}")
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "STATE_STUDIO_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


@pytest.fixture
def watched() -> Iterator[list[Watched]]:
    procs: list[Watched] = []
    yield procs
    for p in procs:
        p.kill()


def _get(port: int, path: str, answers: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=EXIT_BOUND)
    try:
        conn.request("GET", path)
        answers.append(conn.getresponse().status)
    except (OSError, http.client.HTTPException) as err:  # recorded, so the assert shows what happened
        answers.append(-1)
        print(f"client error: {err!r}", file=sys.stderr)
    finally:
        conn.close()


def _start_all_stuck(p: Watched) -> tuple[threading.Thread, list[int]]:
    """Wait for the server to listen, call the stuck route, wait until all three jobs are stuck."""
    url = p.wait_for("listening on ").split()[-1]
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    answers: list[int] = []
    client = threading.Thread(target=_get, args=(port, "/stuck", answers), daemon=True)
    client.start()
    for name in ("entered Timer stuck", "entered Schedule stuck", "entered Route GET /stuck"):
        p.wait_for(name)
    return client, answers


def test_headless_exits_after_the_stop_timeout_naming_the_abandoned_jobs(
    tmp_path: Path, env: dict[str, str], watched: list[Watched]
) -> None:
    p = Watched([*CLI, "run", str(_script(tmp_path, 1.0)), "--headless"], env)
    watched.append(p)
    client, answers = _start_all_stuck(p)
    p.proc.send_signal(signal.SIGTERM)
    code = p.exit_code_within(EXIT_BOUND)
    client.join(5)
    abandoned = p.wait_for("abandoned 3 job(s)")
    assert "timer-stuck" in abandoned and "schedule-stuck" in abandoned and "GET /stuck (route-" in abandoned
    assert code == 1  # not a clean stop: jobs were abandoned
    assert answers == [503]  # the stuck route's client is told, not left with an empty reply
    assert "exiting now. Threads left" not in p.text  # exited by itself, not by the exit deadline
    assert "Traceback" not in p.text


def test_headless_second_sigterm_exits_at_once(
    tmp_path: Path, env: dict[str, str], watched: list[Watched]
) -> None:
    p = Watched([*CLI, "run", str(_script(tmp_path, 600.0)), "--headless"], env)
    watched.append(p)
    _start_all_stuck(p)
    p.proc.send_signal(signal.SIGTERM)
    p.wait_for("SIGTERM received, stopping")
    p.proc.send_signal(signal.SIGTERM)
    # A 600 s stop timeout: only the second signal can end it within the bound.
    assert p.exit_code_within(EXIT_BOUND) == 128 + signal.SIGTERM
    assert "SIGTERM received again: exiting now" in p.text


def test_a_plain_script_that_stops_its_server_exits(tmp_path: Path, env: dict[str, str]) -> None:
    script = tmp_path / "plain.py"
    script.write_text(
        "import threading\n"
        "from desktop_app.engine import Server\n"
        "never, entered = threading.Event(), threading.Event()\n"
        "def stuck(e):\n"
        "    entered.set()\n"
        "    never.wait()\n"
        "server = Server()\n"
        "server.add_timer('stuck', 0.05, stuck)\n"
        "server.start()\n"
        "assert entered.wait(30)\n"
        "print(server.stop(timeout=0.5))\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                       timeout=EXIT_BOUND)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['timer-stuck']"


def test_gui_exits_after_the_stop_timeout(tmp_path: Path, env: dict[str, str], watched: list[Watched]) -> None:
    p = Watched([*CLI, str(_script(tmp_path, 1.0))], env)
    watched.append(p)
    p.wait_for("running ")  # the window has loaded the script and started the server
    _start_all_stuck(p)
    p.proc.send_signal(signal.SIGTERM)
    code = p.exit_code_within(EXIT_BOUND)
    abandoned = p.wait_for("abandoned 3 job(s)")
    assert "timer-stuck" in abandoned and "schedule-stuck" in abandoned and "GET /stuck (route-" in abandoned
    assert "exiting now. Threads left" not in p.text  # exited by itself, not by the exit deadline
    assert code == 0


def test_gui_second_sigterm_exits_at_once(tmp_path: Path, env: dict[str, str], watched: list[Watched]) -> None:
    p = Watched([*CLI, str(_script(tmp_path, 600.0))], env)
    watched.append(p)
    p.wait_for("running ")
    _start_all_stuck(p)
    p.proc.send_signal(signal.SIGTERM)
    p.wait_for("SIGTERM received, closing")
    p.proc.send_signal(signal.SIGTERM)
    # A 600 s stop timeout: only the second signal can end it within the bound.
    assert p.exit_code_within(EXIT_BOUND) == 128 + signal.SIGTERM
    assert "SIGTERM received again: exiting now" in p.text
