"""Interleaved A/B rounds and the report line every engine benchmark prints: median ratio and its range.

A shared 2-core machine drifts by tens of percent within a minute, so a benchmark measures its
baseline and ours alternately, round after round (the order flips each round), takes one ratio per
round, and reports the median with the lowest and highest round.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call, after a collection so garbage from earlier rounds does not land here."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    ours: Callable[[], float],
    base: Callable[[], float],
    rounds: int,
    *,
    ratio: Callable[[float, float], float],
) -> list[float]:
    """Run ``ours`` and ``base`` alternately (flipping the order each round); one ``ratio(ours, base)`` per round."""
    out = []
    for i in range(rounds):
        if i % 2:
            b = base()
            o = ours()
        else:
            o = ours()
            b = base()
        out.append(ratio(o, b))
    return out


def faster(ours: float, base: float) -> float:
    """For times: how many times faster ours is (> 1 is better)."""
    return base / ours


def times_of(ours: float, base: float) -> float:
    """For times: ours as a multiple of the baseline (< 1 is better; the "x of" figures)."""
    return ours / base


@dataclass(frozen=True)
class Figure:
    """One benchmark line: a ratio per round against a target."""

    label: str
    ratios: list[float]
    target: float | None = None
    lower_is_better: bool = False
    unit: str = "x"

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.median <= self.target if self.lower_is_better else self.median >= self.target

    def line(self) -> str:
        lo, hi = min(self.ratios), max(self.ratios)
        spread = f"({lo:.2f}-{hi:.2f}, {len(self.ratios)} rounds)" if len(self.ratios) > 1 else "(1 round)"
        if self.target is None:
            verdict = "reported"
        else:
            sign = "<=" if self.lower_is_better else ">="
            verdict = f"target {sign} {self.target:g}{self.unit}  {'PASS' if self.ok else 'MISS'}"
        return f"{self.label:<68} {self.median:7.2f}{self.unit} {spread:<24} {verdict}"
