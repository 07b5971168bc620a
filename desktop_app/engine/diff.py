"""Structural diff of two states: added, removed and changed key paths, in Python path form."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

_MISSING: Any = object()

# Types compared by value; everything else that is not a dict, list or tuple is compared with ==
# after a type check. Listing them lets the walk skip a recursive call for most leaves.
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes})

Path = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference. ``kind`` is "added", "removed" or "changed"; ``path`` is a tuple of keys/indexes."""

    kind: str
    path: Path
    old: Any = None
    new: Any = None

    @property
    def text_path(self) -> str:
        return format_path(self.path)


def format_path(path: Path) -> str:
    """``("hash", "values", 3)`` -> ``hash["values"][3]`` (the top-level name bare, like a variable).

    String keys are quoted as JSON strings, so a key holding ``"`` or ``\\`` stays unambiguous.
    """
    if not path:
        return ""
    head, *rest = path
    out = [str(head)]
    for part in rest:
        if isinstance(part, str):
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
        elif isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def quote_name(name: Any) -> str:
    """A name or key in a message, quoted as ``format_path`` quotes keys: ``orders`` -> ``"orders"``.

    One style for people to read: the key "db" in a sentence looks as it does in ``config["db"]``.
    """
    return json.dumps(str(name), ensure_ascii=False)


def _scalar_differs(a: Any, b: Any) -> bool:
    """Same type assumed. NaN equals NaN here: a value read back unchanged is not a change."""
    if a == b:
        return False
    return not (isinstance(a, float) and a != a and b != b)


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` for two values of the same type, except that a value always equals itself.

    A Decimal NaN equals a NaN of the same kind (quiet or signalling), sign and payload, and
    comparing one never raises (``==`` on a signalling NaN raises InvalidOperation). Sets are
    equal when their NaN members match the same way: two reads of one file give distinct NaN
    objects, which a set's own ``==`` never finds in each other.
    """
    if isinstance(a, Decimal):
        if a.is_nan() or b.is_nan():
            return bool(a.compare_total(b) == 0)  # a total order over representations: never signals
        return bool(a == b)
    if isinstance(a, set | frozenset):
        return _sets_equal(a, b)
    return bool(a == b)


def _is_nan(value: Any) -> bool:
    if type(value) is float:
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


def _nan_key(value: Any) -> tuple[str, str]:
    if type(value) is float:
        return ("float", "-nan" if math.copysign(1.0, value) < 0 else "nan")
    return ("Decimal", str(value))  # "NaN", "-NaN", "NaN12"


def _sets_equal(a: Any, b: Any) -> bool:
    if len(a) != len(b):
        return False
    if a == b:
        return True
    nans_a = [x for x in a if _is_nan(x)]
    nans_b = [x for x in b if _is_nan(x)]
    if not nans_a or len(nans_a) != len(nans_b):
        return False
    rest_a = {x for x in a if not _is_nan(x)}
    return rest_a == {x for x in b if not _is_nan(x)} and sorted(map(_nan_key, nans_a)) == sorted(
        map(_nan_key, nans_b)
    )


def _diff_into(a: Any, b: Any, path: Path, out: list[Change]) -> None:
    # Plain functions appending to one list (not nested generators), with the common cases (same
    # type, a scalar, a dict, a list) tested inline before any call: a 200k-entry state is walked
    # several times faster than with `yield from` chains and ABC isinstance checks.
    if a is b:
        return
    ta = type(a)
    if ta is type(b):
        if ta in _SCALARS:
            if _scalar_differs(a, b):
                out.append(Change("changed", path, a, b))
            return
        if ta is dict:
            _diff_dict(a, b, path, out)
            return
        if ta is list or ta is tuple:
            _diff_seq(a, b, path, out)
            return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        _diff_dict(a, b, path, out)
        return
    if ta is type(b) and isinstance(a, list | tuple):
        _diff_seq(a, b, path, out)
        return
    # A type change (1 -> 1.0, 1 -> True, list -> tuple, dict -> list) or two unequal other values.
    if ta is not type(b) or not _equal(a, b):
        out.append(Change("changed", path, a, b))


def _diff_dict(a: Mapping[Any, Any], b: Mapping[Any, Any], path: Path, out: list[Change]) -> None:
    get = b.get
    scalars = _SCALARS
    removed = 0
    for k, va in a.items():
        vb = get(k, _MISSING)
        if va is vb:
            continue
        if vb is _MISSING:
            out.append(Change("removed", (*path, k), va))
            removed += 1
            continue
        tv = type(va)
        if tv is type(vb):
            if tv in scalars:
                if va != vb and _scalar_differs(va, vb):
                    out.append(Change("changed", (*path, k), va, vb))
                continue
            if tv is dict:
                _diff_dict(va, vb, (*path, k), out)
                continue
            if tv is list:
                _diff_seq(va, vb, (*path, k), out)
                continue
        _diff_into(va, vb, (*path, k), out)
    # Every key of a that is not removed is in b: equal sizes then mean the same keys.
    if len(b) != len(a) - removed:
        for k, vb in b.items():
            if k not in a:
                out.append(Change("added", (*path, k), None, vb))


def _diff_seq(a: Any, b: Any, path: Path, out: list[Change]) -> None:
    scalars = _SCALARS
    for i, (va, vb) in enumerate(zip(a, b)):  # noqa: B905 - lengths differ on purpose
        if va is vb:
            continue
        tv = type(va)
        if tv is type(vb) and tv in scalars:
            if va != vb and _scalar_differs(va, vb):
                out.append(Change("changed", (*path, i), va, vb))
            continue
        _diff_into(va, vb, (*path, i), out)
    common = min(len(a), len(b))
    for i in range(common, len(a)):
        out.append(Change("removed", (*path, i), a[i]))
    for i in range(common, len(b)):
        out.append(Change("added", (*path, i), None, b[i]))


def diff_values(a: Any, b: Any, path: Path = ()) -> Iterator[Change]:
    """Yield the changes that turn ``a`` into ``b``, descending into dicts, lists and tuples.

    Lists are compared by position: an item inserted at the front shows as every later item changed
    plus one added at the end (cheap and predictable; not a minimal edit script). Types count:
    ``1``, ``1.0`` and ``True`` are all different values here, although Python calls them equal.

    Example:
        >>> [c.text_path for c in diff_values({"a": [1, 2]}, {"a": [1, 3, 4]}, ("x",))]
        ['x["a"][1]', 'x["a"][2]']
    """
    out: list[Change] = []
    _diff_into(a, b, path, out)
    yield from out


def diff_states(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    progress: Callable[[int, int], object] | None = None,
) -> list[Change]:
    """Diff two ``{name: value}`` maps (entry values, not ``{Value, Scope}`` envelopes).

    Args:
        progress: called as ``progress(done, total)`` every few hundred entries (for a progress bar),
            and once at the end. It may raise to abandon the diff.

    Returns:
        The changes in entry order: a's entries first (removed or changed), then those only in b.
    """
    if progress is None:
        out: list[Change] = []
        _diff_into(a, b, (), out)
        return out
    total = len(a) + sum(1 for k in b if k not in a)
    out = []
    done = 0
    for k, va in a.items():
        vb = b.get(k, _MISSING)
        if vb is _MISSING:
            out.append(Change("removed", (k,), va))
        else:
            _diff_into(va, vb, (k,), out)
        done += 1
        if not done % 512:
            progress(done, total)
    for k, vb in b.items():
        if k not in a:
            out.append(Change("added", (k,), None, vb))
            done += 1
            if not done % 512:
                progress(done, total)
    progress(total, total)
    return out


@dataclass
class _Node:
    change: Change | None = None
    children: dict[Any, _Node] = field(default_factory=dict)


def apply_changes(a: Any, changes: list[Change]) -> Any:
    """Apply ``changes`` (from :func:`diff_values` on ``a``) to a deep copy of ``a`` and return it.

    ``a`` itself is never modified. Tuples inside ``a`` are rebuilt rather than mutated.

    Raises:
        KeyError, IndexError: a change names a path that ``a`` does not have.
    """
    root = _Node()
    for c in changes:
        node = root
        for part in c.path:
            node = node.children.setdefault(part, _Node())
        node.change = c
    return _apply(copy.deepcopy(a), root)


def _apply(value: Any, node: _Node) -> Any:
    if node.change is not None and node.change.kind == "changed":
        return copy.deepcopy(node.change.new)
    if not node.children:
        return value
    if isinstance(value, Mapping):
        target: MutableMapping[Any, Any] = value if isinstance(value, MutableMapping) else dict(value)
        for key, child in node.children.items():
            c = child.change
            if c is not None and c.kind == "removed":
                del target[key]
            elif c is not None and c.kind == "added":
                target[key] = copy.deepcopy(c.new)
            else:
                target[key] = _apply(target[key], child)
        return target
    if isinstance(value, list | tuple):
        items = list(value)
        removed: list[int] = []
        added: list[tuple[int, Any]] = []
        for index, child in node.children.items():
            c = child.change
            if c is not None and c.kind == "removed":
                removed.append(index)
            elif c is not None and c.kind == "added":
                added.append((index, c.new))
            else:
                items[index] = _apply(items[index], child)
        # Highest index first so the lower ones stay valid; then additions lowest first.
        for index in sorted(removed, reverse=True):
            del items[index]
        for index, new in sorted(added, key=lambda pair: pair[0]):
            items.insert(index, copy.deepcopy(new))
        if isinstance(value, list):
            value[:] = items
            return value
        make = getattr(type(value), "_make", None)  # a namedtuple
        return make(items) if make is not None else type(value)(items)
    raise TypeError(f"cannot apply changes below a {type(value).__name__} at {sorted(node.children)!r}")
