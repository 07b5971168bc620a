"""Save/restore speed (P1/P2) against bare orjson and stdlib json, in interleaved rounds of one run.

P1 measures ``SharedState.save`` (the public API) on a 200k-entry state; run on its own with
``python -m bench.persistence_bench``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.rounds import Figure, interleave, timed, times_of
from desktop_app.engine import SharedState, hotpath, persistence

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


def _write_fsync(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def run(entries: int = 200_000, rounds: int = 7, folder: str | None = None) -> list[str]:
    """Measure save/restore against baselines in this process, in interleaved rounds; return the report lines.

    Args:
        entries: how many state entries to build (200k gives ~24 MB of indented JSON).
        rounds: interleaved rounds for each ratio (median and range are reported); stdlib json and
            pode-v2 run once.
        folder: where to write the files (default: a temporary folder).

    Returns:
        Human-readable lines: sizes, and each ratio with its range, target and PASS/MISS.
    """
    data = build_state(entries)
    plain = {name: {"Value": value, "Scope": scope} for name, (value, scope) in data.items()}
    state = SharedState()
    state.load_entries(data)
    lines = [
        f"persistence: {entries:,} entries, orjson {orjson.__version__}, {hotpath.IMPLEMENTATION} hot paths",
    ]
    with tempfile.TemporaryDirectory(dir=folder, prefix="persistence-bench-") as tmp:
        ours_path = Path(tmp, "ours.json")
        base_path = Path(tmp, "base.json")
        v2_path = Path(tmp, "ours-v2.json")

        state.save(ours_path)
        written = ours_path.read_bytes()
        lines.append(f"file size: pode {len(written) / 1e6:.1f} MB")
        if orjson.dumps(plain, option=orjson.OPT_INDENT_2) + b"\n" != written:
            lines.append("WARNING: the pode file differs from bare orjson's output")

        # P1: SharedState.save (the public API: a whole-state save) against orjson + write + fsync.
        def bare(option: int = orjson.OPT_INDENT_2) -> float:
            return timed(lambda: _write_fsync(base_path, orjson.dumps(plain, option=option)))

        p1 = interleave(lambda: timed(lambda: state.save(ours_path)), bare, rounds, ratio=times_of)
        p1c = interleave(
            lambda: timed(lambda: state.save(ours_path, compress=True)),
            lambda: bare(0),
            rounds,
            ratio=times_of,
        )
        # The filtered path (selection + persistence.encode + atomic_write), for context.
        p1f = interleave(
            lambda: timed(lambda: state.save(ours_path, exclude=["no-such-entry"])),
            bare,
            max(3, rounds // 2),
            ratio=times_of,
        )

        def stdlib_save() -> None:
            with open(base_path, "w", encoding="utf-8") as handle:
                json.dump(plain, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())

        stdlib = timed(stdlib_save)
        ours_once = timed(lambda: state.save(ours_path))
        lines += [
            Figure(
                f"P1 state.save, {entries // 1000}k entries, vs orjson.dumps(indent)+write+fsync",
                p1,
                1.3,
                True,
                " x of",
            ).line(),
            Figure(
                "P1 state.save(compress=True) vs orjson.dumps+write+fsync", p1c, None, True, " x of"
            ).line(),
            Figure(
                "P1 filtered save (selection, envelope, encode) vs the same baseline",
                p1f,
                None,
                True,
                " x of",
            ).line(),
            Figure("P1 state.save vs stdlib json.dump(indent=2)+write+fsync", [stdlib / ours_once], 8).line(),
        ]

        # P2: restore. Without P1's live 200k-entry state: a bigger long-lived heap makes the GC's full
        # collections rarer during the baseline's (GC-enabled) orjson.loads, which would flatter it.
        save_v2 = timed(lambda: state.save(v2_path, format="pode-v2"))
        state.clear()
        gc.collect()
        _write_fsync(ours_path, written)

        def loads_gc_paused() -> object:
            gc.disable()
            try:
                return orjson.loads(ours_path.read_bytes())
            finally:
                gc.enable()

        p2 = interleave(
            lambda: timed(lambda: persistence.read_file(ours_path)),
            lambda: timed(lambda: orjson.loads(ours_path.read_bytes())),
            rounds,
            ratio=times_of,
        )
        p2f = interleave(
            lambda: timed(lambda: persistence.read_file(ours_path)),
            lambda: timed(loads_gc_paused),
            max(3, rounds // 2),
            ratio=times_of,
        )
        lines += [
            Figure("P2 restore pode: read_file vs orjson.loads(read bytes)", p2, 1.3, True, " x of").line(),
            Figure(
                "P2 (context) read_file vs orjson.loads with the GC paused too", p2f, None, True, " x of"
            ).line(),
        ]

        # pode-v2 (reported, no target; seconds each, so once)
        base_once = bare()
        restore_v2 = timed(lambda: persistence.read_file(v2_path))
        loads_once = timed(lambda: orjson.loads(ours_path.read_bytes()))
        lines += [
            f"pode-v2 file size: {v2_path.stat().st_size / 1e6:.1f} MB",
            Figure("pode-v2 save vs bare orjson save", [save_v2 / base_once], None, True, " x of").line(),
            Figure(
                "pode-v2 restore vs bare orjson.loads", [restore_v2 / loads_once], None, True, " x of"
            ).line(),
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temporary folder)")
    args = parser.parse_args(argv)
    for line in run(args.entries, rounds=args.rounds, folder=args.dir):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
