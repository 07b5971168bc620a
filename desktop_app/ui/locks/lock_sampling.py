"""What one Locks-dock sample says: the summary line, the studio's own uses, and whether it is news."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QLabel

from desktop_app.engine.locks import Lockable, LockStats
from desktop_app.ui.common.plural import count
from desktop_app.ui.locks.timeline_data import format_duration

Samples = Sequence[tuple[Lockable, LockStats]]


def summary_text(samples: Samples, *, fleet: bool) -> str:
    """``N lockables · H held · W threads waiting · T thread time lost`` (and the processes of a fleet)."""
    held = sum(1 for _, st in samples if st.holder is not None)
    waiting = sum(len(st.waiting) for _, st in samples)
    lost = sum(st.thread_time_lost for _, st in samples)
    text = (
        f"{len(samples)} lockable{'s' if len(samples) != 1 else ''} · {held} held · "
        f"{waiting} thread{'s' if waiting != 1 else ''} waiting · {format_duration(lost)} thread time lost"
    )
    if fleet:
        processes = {pf.process for lk, _ in samples for pf in getattr(lk, "per_process", ())}
        text += f" · in {len(processes)} process{'es' if len(processes) != 1 else ''}"
    return text


def observer_tip(samples: Samples) -> str:
    """The summary's tooltip: the table counts the users' uses; the studio's own are listed here."""
    observed = [st for _, st in samples if st.observer_acquisitions or st.observer_busy]
    tip = "Figures are your threads' uses of each lockable."
    if observed:
        tip += "\nThe studio's own reads, counted apart (not in the table):" + "".join(
            f"\n  {st.name}: held {count(st.observer_acquisitions, 'time')} to copy changed values "
            f"({format_duration(st.observer_hold)} in all); found it busy {count(st.observer_busy, 'time')} "
            "and did not wait"
            for st in observed
        )
    return tip


def sample_signature(samples: Samples, *, fleet: bool) -> tuple[Any, ...]:
    """What a sample must differ in to be worth showing: uses, waits, timeouts, resets, holders.

    A held or awaited lock always counts as new (its hold grows, and a deadlock changes no counter).
    A fleet's lockables have no reset (their ``since`` moves with every read), but a process that
    stops or comes back is news.
    """
    sig: list[Any] = []
    for lk, st in samples:
        if st.holder is not None or st.waiting:
            return (object(),)
        if fleet:
            alive = tuple((pf.process, pf.alive) for pf in getattr(lk, "per_process", ()))
            sig.append((id(lk), st.acquisitions, st.contentions, st.timeouts, alive))
        else:
            sig.append((id(lk), st.acquisitions, st.contentions, st.timeouts, st.since))
    return tuple(sig)


def set_text(label: QLabel, text: str) -> None:
    """Set only a new text: an equal one still re-lays out and repaints the label."""
    if label.text() != text:
        label.setText(text)
