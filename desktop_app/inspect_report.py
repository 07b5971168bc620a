"""``state-studio inspect``: a bounded summary of a state file, as text lines or as one JSON document.

By default the report stays a screenful whatever the file holds: totals (entries, types, scopes,
sizes, the largest entries), then the first ``SHOWN_ENTRIES`` entries as a tree ``depth`` levels
deep with ``SHOWN_ITEMS`` items per container, and a count of what was left out. ``every=True``
lists every entry and every item. Both reports are generators, so even a full listing is written
as it is made and never held as a whole.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from desktop_app.engine.persistence import Entries
from desktop_app.value_json import dumps, json_size, plain, preview, to_json

SHOWN_ENTRIES = 10
SHOWN_ITEMS = 10
LARGEST = 3
SHOWN_SCOPES = 10

_CONTAINERS = (dict, list, tuple, set, frozenset)


@dataclass(frozen=True)
class Summary:
    """Totals over every entry of a state file."""

    entries: int
    types: Counter[str]
    scopes: Counter[str]
    unscoped: int
    value_bytes: int
    largest: list[tuple[int, str]]  # (bytes, name), biggest first


def _type_name(value: Any) -> str:
    return "set" if type(value) is frozenset else type(value).__name__


def _kind(value: Any) -> str:
    """``int``, ``dict (3)``, ``list (1,024)``."""
    if isinstance(value, _CONTAINERS):
        return f"{_type_name(value)} ({len(value):,})"
    return _type_name(value)


def human_bytes(n: int) -> str:
    """``999 B``, ``1.2 kB``, ``30.5 MB`` (powers of 1000, like the file managers)."""
    if n < 1000:
        return f"{n} B"
    size = float(n)
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 999.95 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _label(key: Any) -> str:
    """A name or key as it reads in the tree: bare when that is unambiguous, else a JSON string."""
    if type(key) is str and key.isidentifier():
        return key
    text = key if isinstance(key, str) else str(plain(key))
    if text and text.isprintable() and text.strip() == text and not text.startswith(('"', "[")):
        return text
    return json.dumps(text, ensure_ascii=False)


def summarize(entries: Entries) -> Summary:
    """One pass over the entries; holds only counters and the few largest, never a copy of the data."""
    classes: Counter[type] = Counter()
    scopes: Counter[str] = Counter()
    unscoped = 0
    total = 0
    largest: list[tuple[int, int, str]] = []  # a min-heap of (bytes, -position, name)
    for position, (name, (value, scope)) in enumerate(entries.items()):
        classes[type(value)] += 1
        if scope:
            scopes.update(scope)
        else:
            unscoped += 1
        size = json_size(value)
        total += size
        item = (size, -position, name)  # equal sizes: the earlier entry wins
        if len(largest) < LARGEST:
            heapq.heappush(largest, item)
        elif item > largest[0]:
            heapq.heapreplace(largest, item)
    top = [(size, name) for size, _, name in sorted(largest, reverse=True)]
    types: Counter[str] = Counter()
    for cls, count in classes.items():
        types["set" if cls is frozenset else cls.__name__] += count
    return Summary(len(entries), types, scopes, unscoped, total, top)


def _counts(counter: Counter[str], limit: int | None = None) -> str:
    items = counter.most_common()
    shown = items if limit is None else items[:limit]
    text = ", ".join(f"{name} {count:,}" for name, count in shown)
    if len(items) > len(shown):
        text += f", … {len(items) - len(shown):,} more"
    return text


def text_report(
    path: str, file_bytes: int | None, format: str, entries: Entries, *, depth: int, every: bool
) -> Iterator[str]:
    """The human report, line by line (no trailing newlines)."""
    s = summarize(entries)
    # file_bytes None: a Redis namespace (path then names the store URL and the namespace)
    yield f"file:    {path}, {human_bytes(file_bytes)}" if file_bytes is not None else f"store:   {path}"
    yield f"format:  {format}"
    yield f"entries: {s.entries:,}"
    if s.entries:
        yield f"types:   {_counts(s.types)}"
        scopes = _counts(s.scopes, SHOWN_SCOPES) if s.scopes else "(none)"
        if s.scopes and s.unscoped:
            scopes += f"; {s.unscoped:,} entries have none"
        yield f"scopes:  {scopes}"
        largest = ", ".join(f"{_label(name)} {human_bytes(size)}" for size, name in s.largest)
        yield f"sizes:   {human_bytes(s.value_bytes)} of values as compact JSON; largest: {largest}"
        yield ""
    limit = None if every else SHOWN_ENTRIES
    cut = [False]  # set when the tree leaves something out, for the closing hint
    for position, (name, (value, scope)) in enumerate(entries.items()):
        if limit is not None and position >= limit:
            yield f"… {s.entries - limit:,} more entries"
            cut[0] = True
            break
        tag = f" [{', '.join(scope)}]" if scope else ""
        line = f"{_label(name)}: {_kind(value)}, {human_bytes(json_size(value))}{tag}"
        if isinstance(value, _CONTAINERS):
            yield line
            yield from _tree(value, depth, "  ", None if every else SHOWN_ITEMS, cut)
        else:
            yield f"{line} = {preview(value)}"
    if cut[0]:
        yield "(--all shows every entry and item, --depth N goes deeper, --json writes JSON)"


def _tree(value: Any, depth: int, indent: str, limit: int | None, cut: list[bool]) -> Iterator[str]:
    if depth <= 0:
        if len(value):
            cut[0] = True
        return
    if isinstance(value, dict):
        items: Any = value.items()
    else:
        ordered = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        items = enumerate(ordered)
    is_dict = isinstance(value, dict)
    for i, (key, v) in enumerate(items):
        if limit is not None and i >= limit:
            yield f"{indent}… {len(value) - limit:,} more"
            cut[0] = True
            return
        label = _label(key) if is_dict else f"[{key}]"
        if type(v) in _CONTAINERS:
            yield f"{indent}{label}: {_kind(v)}"
            yield from _tree(v, depth - 1, indent + "  ", limit, cut)
        else:
            yield f"{indent}{label}: {preview(v)}"


def json_report(path: str, file_bytes: int | None, format: str, entries: Entries, *, every: bool) -> Iterator[str]:
    """One JSON document in pieces: the totals, then ``shown`` (whole values) one entry per line."""
    s = summarize(entries)
    head = {
        "file": path,
        "file_bytes": file_bytes,
        "format": format,
        "entries": s.entries,
        "types": dict(s.types.most_common()),
        "scopes": dict(s.scopes.most_common()),
        "unscoped": s.unscoped,
        "value_bytes": s.value_bytes,
        "largest": [{"name": name, "bytes": size} for size, name in s.largest],
    }
    text = dumps(head)
    yield text[:-1] + ',"shown":['
    limit = s.entries if every else min(SHOWN_ENTRIES, s.entries)
    for position, (name, (value, scope)) in enumerate(entries.items()):
        if position >= limit:
            break
        entry = {
            "name": name,
            "scope": scope,
            "type": _type_name(value),
            "length": len(value) if isinstance(value, _CONTAINERS) else None,
            "bytes": json_size(value),
        }
        yield ("," if position else "") + "\n" + dumps(entry)[:-1] + ',"value":' + to_json(value) + "}"
    yield f'\n],"more":{s.entries - limit}}}\n' if limit else f'],"more":{s.entries}}}\n'
