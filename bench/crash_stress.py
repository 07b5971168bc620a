"""SIGKILL processes that keep saving state; the file must always hold one whole generation.

Each trial gets a fresh process (forked by ``bench.crash_child``'s fork server, so it starts in
milliseconds) that loops ``atomic_write(path, encode(state))`` over a changing 2,000-entry state.
The trial waits for its ready line, kills it with SIGKILL after a random delay, and reads the file
back: it must parse and equal exactly one generation the process wrote (never empty, never torn,
never older than before). ``tests/engine/test_persistence_crash.py`` runs 200 trials of this;
``python -m bench.crash_stress [--trials N]`` runs 1,000. ``--writer in-place`` runs the same
trials against a plain truncate-and-write, to show that the check does catch torn files.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.crash_child import BOOT, GENERATION, READY, SERVING, make_state
from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence import atomic_write, encode, read_file

ROOT = Path(__file__).resolve().parent.parent
# Where orjson lives, so the child (started with -S, without site) can import it.
_SITE_PACKAGES = str(Path(orjson.__file__).resolve().parent.parent)


def check_file(path: Path, entries: int) -> tuple[int | None, str | None]:
    """Return (generation, None) if ``path`` holds exactly one complete generation, else (None, why).

    Why starts with "torn" (unreadable, or a mix of generations), "empty" or "no marker".
    """
    try:
        loaded = read_file(path)
    except StateFileError as exc:
        return None, f"torn: {exc}"
    if loaded is None:
        return None, "empty or missing"
    marker = loaded.entries.get(GENERATION)
    if marker is None or type(marker[0]) is not int:
        return None, f"no marker: {len(loaded.entries)} entries"
    generation = marker[0]
    if loaded.entries != make_state(generation, entries):
        return None, f"torn: generation {generation} is incomplete or mixed ({len(loaded.entries)} entries)"
    return generation, None


@dataclass
class Report:
    """What a run found."""

    trials: int = 0
    failures: list[str] = field(default_factory=list)
    mid_write: int = 0  # kills that left a temp file behind, i.e. landed inside atomic_write
    generations: int = 0  # generations the children completed, all trials together
    max_delay: float = 0.0
    seconds: float = 0.0

    @property
    def torn(self) -> int:
        return sum(1 for failure in self.failures if failure.startswith("torn"))

    @property
    def empty(self) -> int:
        return sum(1 for failure in self.failures if failure.startswith("empty"))

    def summary(self) -> str:
        return (
            f"trials: {self.trials}, failures: {len(self.failures)}, {self.torn} torn, {self.empty} empty; "
            f"{self.mid_write} kills landed mid-write, {self.generations} generations written, "
            f"kills within {self.max_delay * 1000:.0f} ms of ready, {self.seconds:.1f} s"
        )


class _Server:
    """A fork server (``bench.crash_child``) and line-by-line reading of its output with timeouts."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", BOOT, str(ROOT), _SITE_PACKAGES],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._buffer = b""
        line = self.read_line()
        if line != SERVING:
            raise RuntimeError(f"the fork server did not start: {line!r} {self.close()}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def read_line(self) -> str:
        """The next line, or "" on timeout or end of output. Waits on the pipe, never on a clock."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return ""
            chunk = os.read(fd, 4096)
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def close(self) -> str:
        """Stop the server; return what it wrote to stderr (tracebacks of savers, if any)."""
        try:
            self.send("quit")
        except OSError:
            pass
        try:
            _, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err.decode(errors="replace")[-2000:]


def _trial(
    server: _Server, path: Path, before: int, entries: int, delay: float, writer: str
) -> tuple[str | None, int, bool]:
    """One saver, one SIGKILL; ``before`` is the generation on disk.

    Returns:
        (failure or None, generation now on disk, whether the kill left a temp file).

    Raises:
        RuntimeError: the fork server or the saver did not answer as expected.
    """
    server.send(f"save {path} {entries} {writer}")
    line = server.read_line()
    if not line.startswith(READY):
        raise RuntimeError(f"the saver did not get ready: {line!r}")
    # The random delay is what the trial is about (where the kill lands), not a wait for a condition.
    time.sleep(delay)
    server.send("kill")
    died = server.read_line()
    if died != "DEAD signal 9":
        raise RuntimeError(f"the saver did not die by SIGKILL: {died!r}")
    temps = list(path.parent.glob(f".{path.name}.*.tmp"))
    for temp in temps:  # a kill may leave one; only the target has to be intact
        temp.unlink()
    after, problem = check_file(path, entries)
    if problem is not None:
        return problem, before, bool(temps)
    assert after is not None
    if after < before:
        return f"went back from generation {before} to {after}", before, bool(temps)
    return None, after, bool(temps)


def generation_seconds(folder: str | os.PathLike[str], entries: int) -> float:
    """How long one generation (build, encode, atomic write) takes here, now."""
    path = Path(folder, "timing.json")
    times = []
    for generation in range(5):
        start = time.perf_counter()
        atomic_write(path, encode(make_state(generation, entries)))
        times.append(time.perf_counter() - start)
    path.unlink()
    return statistics.median(times)


def run_trials(
    trials: int,
    folder: str | os.PathLike[str],
    *,
    entries: int = 2000,
    workers: int = 2,
    max_delay: float | None = None,
    seed: int | None = None,
    timeout: float = 60.0,
    writer: str = "atomic",
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Run ``trials`` kill trials, ``workers`` at a time, each worker on its own state file.

    Args:
        trials: how many saving processes to start and kill, one kill each.
        folder: where the state files go.
        entries: entries per generation (a generation's file is about 130 bytes per entry).
        workers: trials running at the same time.
        max_delay: kills land uniformly between 0 and this many seconds after the child is ready;
            None picks three generations' time, measured here first, so kills spread over whole
            save cycles whatever the machine's speed.
        seed: seed for the kill delays (None: random).
        timeout: how long the fork server or a saver may take to answer.
        writer: "atomic" (``atomic_write``) or "in-place" (truncate and write: the negative control).
        progress: called with the number of finished trials.

    Returns:
        The report; ``failures`` is empty when every kill left an intact file.
    """
    if max_delay is None:
        max_delay = min(max(3 * generation_seconds(folder, entries), 0.02), 0.5)
    rng = random.Random(seed)
    delays = [rng.uniform(0, max_delay) for _ in range(trials)]
    report = Report(max_delay=max_delay)
    lock = threading.Lock()
    finished = 0
    started = time.perf_counter()

    def work(worker: int) -> None:
        nonlocal finished
        path = Path(folder, f"state-{worker}.json")
        atomic_write(path, encode(make_state(0, entries)))
        generation = 0
        server: _Server | None = None
        while True:
            with lock:
                if report.trials >= trials:
                    break
                delay = delays[report.trials]
                report.trials += 1
            try:
                if server is None:
                    server = _Server(timeout)
                failure, reached, mid_write = _trial(server, path, generation, entries, delay, writer)
            except Exception as exc:  # report it, and carry on with a fresh server
                failure, reached, mid_write = f"trial crashed: {exc}", generation, False
                if server is not None:
                    failure += f" {server.close()}"
                    server = None
            if failure is not None:  # a broken file would fail every later trial: start afresh
                atomic_write(path, encode(make_state(reached, entries)))
            with lock:
                report.generations += reached - generation
                report.mid_write += mid_write
                if failure is not None:
                    report.failures.append(failure)
                finished += 1
                done = finished
            generation = reached
            if progress is not None:
                progress(done)
        if server is not None:
            errors = server.close()
            if errors:
                with lock:
                    report.failures.append(f"the fork server reported: {errors}")

    threads = [
        threading.Thread(target=work, args=(w,), name=f"crash-{w + 1}") for w in range(max(1, workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--max-delay", type=float, default=None, help="seconds (default: 3 generations' time)"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--writer", choices=("atomic", "in-place"), default="atomic")
    parser.add_argument("--dir", default=None, help="folder for the state files (default: a temporary one)")
    args = parser.parse_args(argv)

    def progress(done: int) -> None:
        if done % 100 == 0:
            print(f"  {done} trials", flush=True)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="crash-stress-") as folder:
        report = run_trials(
            args.trials,
            folder,
            entries=args.entries,
            workers=args.workers,
            max_delay=args.max_delay,
            seed=args.seed,
            writer=args.writer,
            progress=progress,
        )
    for failure in report.failures[:10]:
        print(f"FAIL {failure[:300]}")
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
