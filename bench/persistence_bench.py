"""Save/restore speed of ``engine.persistence`` against bare orjson and stdlib json, measured in one run."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from desktop_app.engine import persistence

_SCOPES: tuple[list[str], ...] = ([], ["Users"], ["Users", "Cache"], ["Jobs"])
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


def build_state(entries: int, seed: int = 7) -> persistence.Entries:
    """A mixed, scoped state: small dicts, lists, strings, numbers, some nesting (~120 bytes an entry)."""
    rng = random.Random(seed)
    state: persistence.Entries = {}
    for i in range(entries):
        kind = i % 10
        value: Any
        if kind < 2:
            value = {
                "id": i,
                "name": f"user-{i}",
                "active": rng.random() < 0.5,
                "score": round(rng.random() * 100, 3),
            }
        elif kind < 4:
            value = [rng.randint(0, 10**6) for _ in range(rng.randint(1, 3))] + [None]
        elif kind < 7:
            value = " ".join(rng.choices(_WORDS, k=rng.randint(2, 5)))
        elif kind < 8:
            value = rng.randint(-(10**12), 10**12) if i % 2 else rng.random() * 1e6
        elif kind < 9:
            value = {"meta": {"count": i % 97}, "tags": rng.sample(_WORDS, 2)}
        else:
            value = rng.random() < 0.5
        state[f"entry-{i:06d}"] = (value, _SCOPES[i % len(_SCOPES)])
    return state


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _write_fsync(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _verdict(ratio: float, target: float, lower_is_better: bool = True) -> str:
    ok = ratio <= target if lower_is_better else ratio >= target
    return "PASS" if ok else "MISS"


def run(entries: int = 200_000, reps: int = 3, folder: str | None = None) -> list[str]:
    """Measure save/restore against baselines in this process and return the report lines.

    Args:
        entries: how many state entries to build (200k gives ~24 MB of indented JSON).
        reps: repetitions for each fast measurement (the median is reported); stdlib json runs once.
        folder: where to write the files (default: a temporary folder).

    Returns:
        Human-readable lines: sizes, absolute times, and each ratio with its target and PASS/MISS.
    """
    state = build_state(entries)
    plain = {name: {"Value": value, "Scope": scope} for name, (value, scope) in state.items()}
    lines = [
        f"persistence bench: {entries:,} entries, Python {platform.python_version()}, orjson {orjson.__version__}, "
        f"{os.cpu_count()} CPUs, median of {reps}",
    ]
    with tempfile.TemporaryDirectory(dir=folder, prefix="persistence-bench-") as tmp:
        ours_path = Path(tmp, "ours.json")
        base_path = Path(tmp, "base.json")
        v2_path = Path(tmp, "ours-v2.json")

        data = persistence.encode(state)
        lines.append(f"file size: pode {len(data) / 1e6:.1f} MB")
        base_bytes = orjson.dumps(plain, option=orjson.OPT_INDENT_2)
        if base_bytes + b"\n" != data:
            lines.append("WARNING: the pode file differs from bare orjson's output")

        # P1: save
        save = _median_ms(lambda: persistence.atomic_write(ours_path, persistence.encode(state)), reps)
        bare = _median_ms(
            lambda: _write_fsync(base_path, orjson.dumps(plain, option=orjson.OPT_INDENT_2)), reps
        )
        save_c = _median_ms(
            lambda: persistence.atomic_write(ours_path, persistence.encode(state, compress=True)), reps
        )
        bare_c = _median_ms(lambda: _write_fsync(base_path, orjson.dumps(plain)), reps)

        def stdlib_save() -> None:
            with open(base_path, "w", encoding="utf-8") as handle:
                json.dump(plain, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())

        stdlib = _median_ms(stdlib_save, 1)
        lines += [
            f"P1 save pode (indented): {save:.0f} ms vs bare orjson.dumps(indent)+write+fsync {bare:.0f} ms "
            f"-> {save / bare:.2f}x (target <= 1.3x) {_verdict(save / bare, 1.3)}",
            f"P1 save pode (compress): {save_c:.0f} ms vs bare orjson.dumps+write+fsync {bare_c:.0f} ms "
            f"-> {save_c / bare_c:.2f}x (reported)",
            f"P1 save pode vs stdlib json.dump(indent=2)+write+fsync {stdlib:.0f} ms "
            f"-> {stdlib / save:.1f}x faster (target >= 8x) {_verdict(stdlib / save, 8, lower_is_better=False)}",
        ]

        # P2: restore
        _write_fsync(ours_path, data)
        restore = _median_ms(lambda: persistence.read_file(ours_path), reps)
        loads = _median_ms(lambda: orjson.loads(ours_path.read_bytes()), reps)

        def loads_gc_paused() -> object:
            gc.disable()
            try:
                return orjson.loads(ours_path.read_bytes())
            finally:
                gc.enable()

        floor = _median_ms(loads_gc_paused, reps)
        lines += [
            f"P2 restore pode: read_file {restore:.0f} ms vs bare orjson.loads(read bytes) {loads:.0f} ms "
            f"-> {restore / loads:.2f}x (target <= 1.3x) {_verdict(restore / loads, 1.3)}",
            f"P2 (context) bare orjson.loads with the GC paused too, as read_file does: {floor:.0f} ms "
            f"-> read_file is {restore / floor:.2f}x of that",
        ]

        # pode-v2 (reported, no target)
        v2_reps = 1  # seconds each; reported only
        save_v2 = _median_ms(
            lambda: persistence.atomic_write(v2_path, persistence.encode(state, format="pode-v2")), v2_reps
        )
        v2_size = v2_path.stat().st_size
        restore_v2 = _median_ms(lambda: persistence.read_file(v2_path), v2_reps)
        lines += [
            f"pode-v2 file size: {v2_size / 1e6:.1f} MB",
            f"pode-v2 save: {save_v2:.0f} ms -> {save_v2 / bare:.2f}x of bare orjson save (reported)",
            f"pode-v2 restore: {restore_v2:.0f} ms -> {restore_v2 / loads:.2f}x of bare orjson.loads (reported)",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temporary folder)")
    args = parser.parse_args(argv)
    for line in run(args.entries, reps=args.reps, folder=args.dir):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
