"""Immutable data the bridge hands to the GUI thread: entry snapshots, deltas, lock status, frozen value copies."""

from __future__ import annotations

import datetime as _dt
import decimal
import fractions
import math
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from desktop_app.engine.locks import Holder

# Values of these types cannot change in place, so the GUI may share them with the engine.
IMMUTABLE_TYPES: frozenset[type] = frozenset(
    {
        int,
        float,
        str,
        bool,
        type(None),
        bytes,
        complex,
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
        _dt.datetime,
        _dt.date,
        _dt.time,
        _dt.timedelta,
    }
)

CONTAINER_TYPES: tuple[type, ...] = (dict, list, tuple, set, frozenset)


class TooBig(Exception):
    """Freezing a value went over its element budget (the caller copies it another way)."""


@dataclass(frozen=True, slots=True)
class Opaque:
    """Stands in for an object the GUI cannot copy safely (a user class, a lock, a file): type and repr only."""

    type_name: str
    text: str


@dataclass(frozen=True, slots=True)
class Pending:
    """A container whose copy waits for the global lockable (shown as such; replaced by a later delta)."""

    type_name: str
    length: int


class EntrySnapshot(NamedTuple):
    """One entry as the GUI sees it. ``value`` is a private copy (scalars shared: they cannot change).

    A NamedTuple rather than a frozen dataclass: a 1,000,000-entry state makes a million of these,
    and a NamedTuple is built about four times faster.
    """

    name: str
    value: Any
    scope: tuple[str, ...]
    version: int
    time: float
    thread: str

    @property
    def key(self) -> str:
        return fold(self.name)

    def same_as(self, other: EntrySnapshot) -> bool:
        """Nothing to show between the two: same version, name, scope, time, thread, and strictly equal values."""
        return (
            self.version == other.version
            and self.name == other.name
            and self.scope == other.scope
            and self.time == other.time
            and self.thread == other.thread
            and strict_equal(self.value, other.value)
        )


@dataclass(frozen=True, slots=True)
class StateDelta:
    """What changed since the last delta: upserted entries, removed names, top-level renames (old, new)."""

    upserted: tuple[EntrySnapshot, ...]
    removed: tuple[str, ...]
    version: int
    renamed: tuple[tuple[str, str], ...] = ()
    loading: bool = False

    def __len__(self) -> int:
        return len(self.upserted) + len(self.removed) + len(self.renamed)


@dataclass(frozen=True, slots=True)
class LockStatus:
    """The global lockable as the bridge last saw it (read lock-free): holder or None, and who waits."""

    holder: Holder | None
    waiting: tuple[str, ...]
    held_for: float
    bridge_blocked: bool = False

    @property
    def text(self) -> str:
        if self.holder is None:
            return "global lock free"
        extra = f", {len(self.waiting)} waiting" if self.waiting else ""
        return f"global lock held by {self.holder.thread} for {self.held_for:.1f} s{extra}"


def fold(name: str) -> str:
    """The case-insensitive key of a name, sharing the name's string when it is already folded."""
    key = name.casefold()
    return name if key == name else key


def is_container(value: Any) -> bool:
    return isinstance(value, CONTAINER_TYPES)


def freeze(value: Any, budget: list[int] | None = None) -> Any:
    """A private deep copy for the GUI: dict/list/tuple/set copies, immutable scalars shared, others Opaque.

    Each level is first copied with one C-level call (``dict.copy()``, ``list.copy()``), which the GIL
    makes atomic, so a value mutated concurrently never raises "changed size during iteration".
    ``budget`` (a one-item list: elements left) raises TooBig when exhausted, to bound a lock hold.
    """
    t = type(value)
    if t in IMMUTABLE_TYPES:
        return value
    if isinstance(value, dict):
        items = value.copy() if t is dict else dict(value)
        if budget is not None:
            budget[0] -= len(items) + 1
            if budget[0] < 0:
                raise TooBig
        return {k: (v if type(v) in IMMUTABLE_TYPES else freeze(v, budget)) for k, v in items.items()}
    if isinstance(value, list | tuple):
        seq = value.copy() if t is list else list(value)
        if budget is not None:
            budget[0] -= len(seq) + 1
            if budget[0] < 0:
                raise TooBig
        out = [v if type(v) in IMMUTABLE_TYPES else freeze(v, budget) for v in seq]
        return out if isinstance(value, list) else tuple(out)
    if isinstance(value, set | frozenset):
        members = frozenset(value)
        if budget is not None:
            budget[0] -= len(members) + 1
            if budget[0] < 0:
                raise TooBig
        return frozenset(v if type(v) in IMMUTABLE_TYPES else freeze(v, budget) for v in members)
    if t is Opaque or t is Pending:
        return value
    return Opaque(t.__name__, _bounded_repr(value))


def _bounded_repr(value: Any, limit: int = 500) -> str:
    try:
        text = repr(value)
    except Exception as err:  # a broken __repr__ must not break the viewer
        text = f"<{type(value).__name__}: repr failed: {err}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None), bytes})
"""Types whose ``==`` is already strict (same type assumed): equal values show alike."""
_MISSING: Any = object()


def strict_equal(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are the same data and would show alike: the one "unchanged" test of the GUI.

    Stricter than ``==`` all the way down: ``1``, ``1.0`` and ``True`` differ (also as dict values, list
    items, set members and dict keys), a tuple is not a list, dicts must have their keys in the same order,
    and ``0.0`` is not ``-0.0``. A NaN equals a NaN (a value read back unchanged is not a change; as a set
    member only itself). Other scalars (Decimal, datetime, Opaque, ...) must be equal and have the same
    repr (``Decimal("1.0")`` is not ``Decimal("1.00")``).

    Example:
        >>> {"x": 1} == {"x": True}, strict_equal({"x": 1}, {"x": True})
        (True, False)
    """
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    if t in _PLAIN:
        return bool(a == b)
    if t is float:
        if a == b:
            return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
        return a != a and b != b
    if t is dict:
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            if (ka is not kb and not strict_equal(ka, kb)) or (va is not vb and not strict_equal(va, vb)):
                return False
        return True
    if t is list or t is tuple:
        if len(a) != len(b):
            return False
        # Two copies of one value mostly share their scalar objects (freeze shares them): an ``is`` each.
        for x, y in zip(a, b, strict=True):
            if x is not y and not strict_equal(x, y):
                return False
        return True
    if t is frozenset or t is set:
        if len(a) != len(b):
            return False
        # Python's lookup pairs each member with its ==-equal one (1 with True); strict_equal then judges it.
        members = {m: m for m in b}
        for x in a:
            y = members.get(x, _MISSING)
            if y is _MISSING or (x is not y and not strict_equal(x, y)):
                return False
        return True
    try:
        return bool(a == b) and repr(a) == repr(b)
    except Exception:  # a broken __eq__ or __repr__: treat as changed, so the new copy is shown
        return False


def placeholder(value: Any) -> Pending:
    """What the GUI shows for a container whose copy waits for the lock (type and length are lock-free)."""
    try:
        length = len(value)
    except Exception:
        length = 0
    return Pending(type(value).__name__, length)
