"""``make test-repeat``: run the timing-sensitive tests N times in a row while another process keeps a core busy.

A test that passes once on an idle machine can still fail on a loaded 2-core one; this is the check
that it does not. Each run is a fresh pytest process; a busy-loop subprocess spins the whole time
and is killed at the end. Prints the failures of each run (with the failing test ids) and the
total; exits 1 if any run failed.

    python -m tests.repeat                  # 20 runs of the default set
    python -m tests.repeat -n 5 tests/e2e   # 5 runs of one folder
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_TARGETS = [
    "tests/e2e",
    "tests/engine/test_timers.py",
    "tests/engine/test_schedules.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "engine").glob("test_routes*.py")),
    "tests/ui/bridge",
]


def failures(report: Path) -> tuple[int, list[str]]:
    """Tests run and the ids of those that failed or errored, from a JUnit XML report."""
    if not report.is_file():
        return 0, ["<no report: pytest died (a hang hit pytest-timeout, or a crash)>"]
    root = ET.parse(report).getroot()
    total = 0
    failed = []
    for case in root.iter("testcase"):
        total += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            why = (problem.get("message") or "").strip().splitlines()
            failed.append(f"{case.get('classname')}::{case.get('name')}: {why[0][:160] if why else ''}")
    return total, failed


def busy_loop() -> subprocess.Popen[bytes]:
    """A process that keeps one core at 100 % until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("--no-load", action="store_true", help="do not start the busy-loop process")
    parser.add_argument("targets", nargs="*", help=f"test paths (default: {' '.join(DEFAULT_TARGETS)})")
    args = parser.parse_args(argv)
    targets = args.targets or DEFAULT_TARGETS
    load = None if args.no_load else busy_loop()
    results: list[tuple[int, list[str]]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="test-repeat-") as tmp:
            for i in range(1, args.runs + 1):
                report = Path(tmp) / f"run-{i}.xml"
                started = time.monotonic()
                subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *targets],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
                total, failed = failures(report)
                results.append((total, failed))
                print(
                    f"run {i:>2}/{args.runs}: {len(failed)} failed of {total} ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
                for test_id in failed:
                    print(f"    {test_id}", flush=True)
    finally:
        if load is not None:
            load.kill()
            load.wait()
    failed_runs = sum(1 for _, failed in results if failed)
    failed_tests = sum(len(failed) for _, failed in results)
    print(
        f"total: {failed_tests} failure(s) in {failed_runs} of {len(results)} runs "
        f"({'with' if load is not None else 'without'} a busy core)"
    )
    return 1 if failed_tests else 0


if __name__ == "__main__":
    sys.exit(main())
