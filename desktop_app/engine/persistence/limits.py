"""The nesting limit (``MAX_DEPTH``) and the number ranges and JSON types a state file may hold."""

from __future__ import annotations

MAX_DEPTH = 200
"""The deepest a value in a state file may nest: containers inside containers, counted in the
user's data (a scalar is 0, ``[1]`` is 1, ``{"a": [1]}`` is 2; a set counts like a list).

The one limit for every path: restore refuses deeper files (StateFileError naming the file and
the key path), save and convert refuse deeper values, and everything restore accepts is saved
again in either format, copied by ``snapshot()``, compared by ``diff``, shown by ``inspect`` and
the tree. Why 200: a "pode" file spends two JSON levels on the document and the entry, and
orjson writes at most 254, so "pode" cannot hold more than 252; and the recursive readers of a
value (copy.deepcopy, the diff, the tree's copies and filter) spend two to three Python frames a
level, so 200 leaves them at least ~400 of Python's default 1000 for their callers.
"""

# orjson refuses to write deeper than this (measured: 254 levels serialise, 255 do not) and to
# read deeper than 1024. pode-v2 spends up to three JSON levels on each level of user data, so
# its deep subtrees are serialised by separate orjson calls and spliced in (see ``_v2_value``).
_ORJSON_MAX_WRITE_NESTING = 254

_NONE_TYPE = type(None)
_JSON_SCALARS: frozenset[type] = frozenset({str, int, float, bool, _NONE_TYPE})
_JSON_CONTAINERS: frozenset[type] = frozenset({dict, list, tuple})
_JSON_TYPES: frozenset[type] = _JSON_SCALARS | _JSON_CONTAINERS
_STR_ONLY: frozenset[type] = frozenset({str})
_SCOPE_TYPES: frozenset[type] = frozenset({list, tuple})

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# orjson reads an integer beyond 64 bits as the nearest float, silently; such a float's magnitude
# is at least 2**63. Files holding one (rare) are read a second time by the json module, whose
# integers are exact, and only then is anything decided (a float literal such as 1e20 stays one).
_MAYBE_BIG_INT = float(2**63)
_IS_FLOAT = frozenset({float}).__contains__

_JSON_NESTS: frozenset[type] = frozenset({dict, list})


def _too_deep(limit: int) -> str:
    if limit < MAX_DEPTH:
        return f"nested deeper than depth={limit} (containers inside containers)"
    return f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold (containers inside containers)"
