"""Crash safety (R2): a saving process killed with SIGKILL at random moments never leaves a torn file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import crash_stress
from bench.crash_child import make_state
from desktop_app.engine.persistence import atomic_write, encode

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select() on pipes are POSIX")

ENTRIES = 2000


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_one_whole_generation(tmp_path: Path) -> None:
    report = crash_stress.run_trials(200, tmp_path, entries=ENTRIES, workers=2, seed=20261128)
    assert report.trials == 200
    assert report.failures == [], report.summary()
    # The children really were saving when they died, and some kills landed inside a write
    # (they left a temp file behind): without both the test would prove nothing.
    assert report.generations > 0, report.summary()
    assert report.mid_write > 0, report.summary()


def test_the_check_accepts_a_whole_generation(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, encode(make_state(7, ENTRIES)))
    assert crash_stress.check_file(path, ENTRIES) == (7, None)


def test_the_check_rejects_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    data = encode(make_state(7, ENTRIES))
    path.write_bytes(data[: len(data) // 2])
    generation, problem = crash_stress.check_file(path, ENTRIES)
    assert generation is None and problem is not None and problem.startswith("torn")


def test_the_check_rejects_a_mix_of_generations(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    mixed = make_state(7, ENTRIES)
    mixed.update(list(make_state(8, ENTRIES).items())[ENTRIES // 2 :])
    mixed["__generation__"] = (7, ["meta"])
    atomic_write(path, encode(mixed))
    generation, problem = crash_stress.check_file(path, ENTRIES)
    assert generation is None and problem is not None and problem.startswith("torn")


def test_the_check_rejects_a_missing_marker_and_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, encode({"x": (1, [])}))
    assert crash_stress.check_file(path, ENTRIES)[1] == "no marker: 1 entries"
    path.write_bytes(b"")
    assert crash_stress.check_file(path, ENTRIES)[1] == "empty or missing"
