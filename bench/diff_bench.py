"""Snapshot diff of two 200k-entry nested states: diff_states against plain deep equality, in the same run."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from typing import Any

from desktop_app.engine.diff import diff_states

ENTRIES = 200_000
CHANGED_SHARE = 0.03
REPEATS = 5


def _entry(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"user-{i}",
        "active": i % 3 == 0,
        "tags": ["a", "b", f"t{i % 17}"],
        "stats": {"count": i, "ratio": i / 7, "hist": [i % 5, i % 7, i % 11]},
    }


def make_states(
    entries: int = ENTRIES, share: float = CHANGED_SHARE, seed: int = 7
) -> tuple[dict, dict, int]:
    """Two independent object graphs, equal except for ``share`` of the entries; returns (a, b, touched)."""
    a = {f"key-{i}": _entry(i) for i in range(entries)}
    b = {f"key-{i}": _entry(i) for i in range(entries)}
    rng = random.Random(seed)
    touched = rng.sample(range(entries), int(entries * share))
    for n, i in enumerate(touched):
        key = f"key-{i}"
        match n % 6:
            case 0:
                b[key]["stats"]["count"] += 1
            case 1:
                b[key]["tags"].append("new")
            case 2:
                b[key]["stats"]["ratio"] = int(b[key]["stats"]["ratio"])  # float -> int: a type change
            case 3:
                del b[key]
            case 4:
                b[f"added-{i}"] = _entry(-i)
            case _:
                b[key]["stats"]["hist"].pop()
    return a, b, len(touched)


def _strict_equal(a: Any, b: Any) -> bool:
    """A plain recursive comparison in Python that sees type changes but only answers yes/no."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and _strict_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _best(fn: Callable[[], object]) -> tuple[float, object]:
    """The fastest of REPEATS runs, with the garbage collector off while timing (as timeit does).

    The minimum is the figure least disturbed by other processes on a shared machine.
    """
    times = []
    result: object = None
    for _ in range(REPEATS):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times), result


def run() -> list[str]:
    """Time the three comparisons on the same pair of states; return the report lines."""
    a, b, touched = make_states()
    # `a == b` short-circuits at the first difference; time it on equal graphs so it walks everything.
    same = {f"key-{i}": _entry(i) for i in range(ENTRIES)}
    t_eq, equal = _best(lambda: a == same)
    t_py, _ = _best(lambda: _strict_equal(a, same))
    t_diff, changes = _best(lambda: diff_states(a, b))
    t_diff_same, none = _best(lambda: diff_states(a, same))
    assert equal is True and none == []
    assert isinstance(changes, list)
    n = len(changes)
    return [
        f"diff_bench: {ENTRIES:,} entries, {touched:,} touched ({CHANGED_SHARE:.0%}), {n:,} changes; best of {REPEATS}",
        f"  a == b (C deep equality, yes/no)          {t_eq * 1000:8.1f} ms",
        f"  recursive strict equality (Python, yes/no) {t_py * 1000:8.1f} ms",
        f"  diff_states, equal states                 {t_diff_same * 1000:8.1f} ms",
        f"  diff_states, {touched:,} touched            {t_diff * 1000:8.1f} ms",
        f"  ratio diff_states / (a == b)              {t_diff / t_eq:8.1f} x",
        f"  ratio diff_states / Python strict equality {t_diff / t_py:8.2f} x",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
