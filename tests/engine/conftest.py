"""Worker processes for the Redis store's cross-process tests, driven line by line (the Redis fixtures
themselves live in tests/redis_fixtures.py, shared with the UI tests)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """A ``tests.engine.redis_worker`` process: ``expect()`` waits (bounded) for its next line."""

    def __init__(self, url: str, ns: str, lease_ms: int, role: str, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.redis_worker", url, ns, str(lease_ms), role, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"worker {self.pid}: no '{prefix}' line within {timeout} s") from None
        if line is None or not line.startswith(prefix):
            err = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""
            raise AssertionError(f"worker {self.pid}: expected '{prefix}', got {line!r}\n{err}")
        return line

    def send(self, line: str = "go") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Worker processes started by the test; killed at the end whatever happened."""
    started: list[Worker] = []
    yield started
    for w in started:
        try:
            w.signal(signal.SIGCONT)
        except ProcessLookupError:
            pass
        w.close()
