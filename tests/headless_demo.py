"""``state-studio run SCRIPT --headless --store URL --namespace NS`` as a real subprocess, for the attach tests and bench.

Each process gets its own data folder and a free HTTP port; ``wait_listening`` waits (bounded) for
the line the server logs once its endpoint is up, so tests wait on a condition, never on a clock.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.engine.paths import demo_script

ROOT = Path(__file__).resolve().parents[1]


class HeadlessDemo:
    """One headless server process on a Redis namespace (the demo unless ``script`` says otherwise)."""

    def __init__(self, url: str, namespace: str, data_dir: Path, script: Path | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            STATE_STUDIO_DEMO_PORT="0",
            STATE_STUDIO_DATA_DIR=str(data_dir),
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        cmd = [sys.executable, "-m", "desktop_app", "run", str(script or demo_script()), "--headless"]
        self.proc = subprocess.Popen(
            [*cmd, "--store", url, "--namespace", namespace],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self.key = f"{socket.gethostname()}:{self.pid}"
        """``HOST:PID``: how the fleet names this process."""
        self.log: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name=f"demo-{self.pid}-stderr", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_listening(self, timeout: float = 60.0) -> str:
        """The HTTP URL once the server is up (it has started its timer and heartbeat by then)."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"demo {self.pid} did not start within {timeout} s:\n{''.join(self.log)}"
                ) from None
            if line is None:
                raise AssertionError(f"demo {self.pid} exited ({self.proc.poll()}):\n{''.join(self.log)}")
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                return found.group(1)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            try:
                self.proc.stderr.close()
            except OSError:
                pass


@pytest.fixture
def demos() -> Iterator[list[HeadlessDemo]]:
    """Headless processes the test starts; stopped at the end whatever happened."""
    started: list[HeadlessDemo] = []
    yield started
    for d in started:
        d.close()
