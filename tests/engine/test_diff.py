"""diff_values / diff_states / format_path / apply_changes: dicts, lists, type changes, nesting, a round-trip property."""

from __future__ import annotations

import copy
import itertools
from collections import namedtuple
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.engine.diff import Change, apply_changes, diff_states, diff_values, format_path


def _strict_eq(a: Any, b: Any) -> bool:
    """Equality that also compares types all the way down (Python's == says 1 == 1.0 == True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_eq(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_strict_eq(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _changes(a: Any, b: Any) -> list[tuple[str, str, Any, Any]]:
    return [(c.kind, c.text_path, c.old, c.new) for c in diff_values(a, b)]


# -- format_path --------------------------------------------------------------------------------


def test_format_path_bare_head_quoted_keys_and_indexes() -> None:
    assert format_path(()) == ""
    assert format_path(("hash",)) == "hash"
    assert format_path(("hash", "values", 3)) == 'hash["values"][3]'
    assert format_path(("a", 'say "hi"', "back\\slash")) == 'a["say \\"hi\\""]["back\\\\slash"]'
    assert format_path(("a", "é")) == 'a["é"]'
    assert Change("added", ("x", 0)).text_path == "x[0]"


# -- dicts --------------------------------------------------------------------------------------


def test_equal_and_identical_values_have_no_changes() -> None:
    value = {"a": [1, {"b": None}], "c": "x"}
    assert _changes(value, value) == []
    assert _changes(value, copy.deepcopy(value)) == []
    assert diff_states({}, {}) == []


def test_dict_added_removed_changed_in_order() -> None:
    a = {"keep": 1, "gone": 2, "edit": "x"}
    b = {"keep": 1, "edit": "y", "new": [1]}
    assert _changes(a, b) == [
        ("removed", "gone", 2, None),
        ("changed", "edit", "x", "y"),
        ("added", "new", None, [1]),
    ]


def test_nested_paths_are_full() -> None:
    a = {"hash": {"values": [1, 2], "meta": {"n": 1}}}
    b = {"hash": {"values": [1, 5], "meta": {"n": 1, "m": 2}}}
    assert _changes(a, b) == [
        ("changed", 'hash["values"][1]', 2, 5),
        ("added", 'hash["meta"]["m"]', None, 2),
    ]


# -- lists --------------------------------------------------------------------------------------


def test_list_growing_reports_added_indexes() -> None:
    assert _changes({"l": [1]}, {"l": [1, 2, 3]}) == [("added", "l[1]", None, 2), ("added", "l[2]", None, 3)]


def test_list_shrinking_reports_removed_indexes() -> None:
    assert _changes({"l": [1, 2, 3]}, {"l": [1]}) == [
        ("removed", "l[1]", 2, None),
        ("removed", "l[2]", 3, None),
    ]


def test_list_to_empty_and_back() -> None:
    a = {"l": [{"x": 1}, [2]]}
    assert _strict_eq(apply_changes(a, list(diff_values(a, {"l": []}))), {"l": []})
    assert _strict_eq(apply_changes({"l": []}, list(diff_values({"l": []}, a))), a)


def test_tuples_are_walked_and_rebuilt() -> None:
    a = {"t": (1, 2)}
    b = {"t": (1, 3, 4)}
    changes = list(diff_values(a, b))
    assert [(c.kind, c.text_path) for c in changes] == [("changed", "t[1]"), ("added", "t[2]")]
    out = apply_changes(a, changes)
    assert _strict_eq(out, b) and a == {"t": (1, 2)}
    Point = namedtuple("Point", "x y")
    p, q = {"p": Point(1, 2)}, {"p": Point(1, 9)}
    assert apply_changes(p, list(diff_values(p, q))) == {"p": Point(1, 9)}


# -- types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [(1, 1.0), (1, True), (0, False), (1.0, True), ([1], (1,)), ({}, []), ("1", 1), (None, 0), (None, False)],
)
def test_type_changes_are_changes(old: Any, new: Any) -> None:
    changes = list(diff_values({"v": old}, {"v": new}))
    assert len(changes) == 1
    c = changes[0]
    assert (c.kind, c.path) == ("changed", ("v",))
    assert type(c.old) is type(old) and type(c.new) is type(new)
    assert _strict_eq(apply_changes({"v": old}, changes), {"v": new})


def test_nested_type_change_hidden_from_python_equality() -> None:
    a = {"x": {"n": [1, 2]}}
    b = {"x": {"n": [1, 2.0]}}
    assert a == b  # Python cannot see it...
    assert _changes(a, b) == [("changed", 'x["n"][1]', 2, 2.0)]  # ...the diff does


def test_nan_read_back_is_not_a_change() -> None:
    assert _changes({"f": float("nan")}, {"f": float("nan")}) == []


def test_scalar_root_change() -> None:
    assert apply_changes(1, list(diff_values(1, "one"))) == "one"


# -- apply_changes ------------------------------------------------------------------------------


def test_apply_changes_never_touches_its_input() -> None:
    a = {"l": [1, 2, 3], "d": {"k": 1}}
    before = copy.deepcopy(a)
    b = {"l": [1], "d": {"k": 2, "j": 3}}
    assert _strict_eq(apply_changes(a, list(diff_values(a, b))), b)
    assert _strict_eq(a, before)


def test_apply_changes_mixed_shrink_and_nested_change() -> None:
    a = {"l": [{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}]}
    b = {"l": [{"x": 1}, {"x": 20}]}
    assert _strict_eq(apply_changes(a, list(diff_values(a, b))), b)


def test_apply_unknown_path_raises() -> None:
    with pytest.raises(KeyError):
        apply_changes({"a": {}}, [Change("changed", ("a", "missing", "deeper"), 1, 2)])


# -- diff_states --------------------------------------------------------------------------------


def test_diff_states_reports_progress_and_same_result() -> None:
    a = {f"k{i}": {"v": i, "l": [i]} for i in range(2000)}
    b = copy.deepcopy(a)
    del b["k5"]
    b["k7"]["v"] = "seven"
    b["new"] = 1
    calls: list[tuple[int, int]] = []
    with_progress = diff_states(a, b, progress=lambda done, total: calls.append((done, total)))
    assert with_progress == diff_states(a, b)
    assert [(c.kind, c.text_path) for c in with_progress] == [
        ("removed", "k5"),
        ("changed", 'k7["v"]'),
        ("added", "new"),
    ]
    assert calls[-1] == (2001, 2001) and len(calls) > 2  # 2000 in a, 1 only in b
    assert all(d1 <= d2 for (d1, _), (d2, _) in itertools.pairwise(calls))


def test_diff_states_progress_may_abandon() -> None:
    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        diff_states({f"k{i}": i for i in range(1000)}, {}, progress=stop)


# -- NaN: a value equals itself ------------------------------------------------------------------


def test_decimal_nans_read_back_are_not_changes_and_never_raise() -> None:
    for text in ["NaN", "sNaN", "-NaN", "sNaN12", "-sNaN"]:
        # separate objects, as two reads of one file give (deepcopy would share a Decimal)
        assert _changes({"d": [Decimal(text)]}, {"d": [Decimal(text)]}) == [], text
        assert diff_states({"d": Decimal(text)}, {"d": Decimal(text)}) == [], text


def test_decimal_nans_of_another_kind_sign_or_payload_are_changes() -> None:
    pairs = [("NaN", "sNaN"), ("NaN", "-NaN"), ("NaN1", "NaN2"), ("NaN", "0"), ("sNaN", "1"), ("1", "sNaN")]
    for old, new in pairs:
        changes = _changes({"d": Decimal(old)}, {"d": Decimal(new)})
        # compared as text: a tuple holding a NaN is not == to itself
        assert [tuple(map(str, c)) for c in changes] == [("changed", "d", old, new)], (old, new)
    assert _changes(Decimal("1.0"), Decimal("1.00")) == []  # equal numbers, as before


@pytest.mark.parametrize("kind", [set, frozenset])
def test_sets_holding_nans_equal_themselves(kind: type) -> None:
    def members(*items: Any) -> Any:
        return kind(items)

    nan = float("nan")
    assert _changes({"s": members(float("nan"), 1)}, {"s": members(float("nan"), 1)}) == []
    assert _changes({"s": members(Decimal("NaN"), "x")}, {"s": members(Decimal("NaN"), "x")}) == []
    for old, new in [
        (members(nan, 1), members(float("nan"), 2)),
        (members(float("nan")), members(float("nan"), float("nan"))),
        (members(Decimal("NaN")), members(float("nan"))),
        (members(Decimal("NaN")), members(Decimal("-NaN"))),
    ]:
        assert [c[0] for c in _changes({"s": old}, {"s": new})] == ["changed"], (old, new)


# -- property -----------------------------------------------------------------------------------

# A small alphabet of keys and scalars makes a and b overlap, so the diff descends instead of
# replacing whole values.
_keys = st.sampled_from(["a", "b", "c", "d", "é", 'q"'])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=2),
    st.floats(min_value=-2, max_value=2, allow_nan=False),
    st.sampled_from(["", "x", "y"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_keys, inner, max_size=4),
        st.tuples(inner, inner),
    ),
    max_leaves=20,
)
_states = st.dictionaries(_keys, _json, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_states, _states)
def test_apply_of_diff_gives_b(a: dict[str, Any], b: dict[str, Any]) -> None:
    a_before = copy.deepcopy(a)
    changes = list(diff_values(a, b))
    assert _strict_eq(apply_changes(a, changes), b)
    assert _strict_eq(a, a_before)
    assert (changes == []) == _strict_eq(a, b)
    assert diff_states(a, b) == changes == diff_states(a, b, progress=lambda d, t: None)
