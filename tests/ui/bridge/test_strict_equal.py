"""strict_equal: the GUI's one "unchanged" test is strict about types (deep down) and dict key order."""

from __future__ import annotations

import copy
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.ui.bridge.entry_snapshot import Opaque, Pending, freeze, strict_equal

NAN = float("nan")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, True),
        (1, 1.0),
        (0, False),
        ({"x": 1}, {"x": True}),
        ([1.0], [1]),
        ((1, 2), [1, 2]),
        ({"t": (1, 2)}, {"t": [1, 2]}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({1: "a"}, {True: "a"}),
        (frozenset({1, 2}), frozenset({True, 2})),
        (frozenset({(1, 2)}), frozenset({(1.0, 2)})),
        (frozenset({1}), {1}),
        ([[[{"deep": 0}]]], [[[{"deep": 0.0}]]]),
        (0.0, -0.0),
        ({"z": [0.0]}, {"z": [-0.0]}),
        (Decimal("1.0"), Decimal("1.00")),
        (
            dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
        (Opaque("Thing", "<a>"), Opaque("Thing", "<b>")),
        (Pending("dict", 3), Pending("dict", 4)),
        ({"x": 1}, {"x": 1, "y": 2}),
        ([1, 2], [1, 2, 3]),
    ],
)
def test_values_python_calls_equal_or_not_are_different(a: Any, b: Any) -> None:
    assert not strict_equal(a, b)
    assert not strict_equal(b, a)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        1,
        1.5,
        NAN,
        -0.0,
        "text",
        b"bytes",
        {"a": [1, 2.0, (True, None)], "b": {"c": frozenset({1, "x", (2, 3.0)})}},
        [NAN, {"n": NAN}],
        Decimal("1.00"),
        dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC),
        Opaque("Thing", "<a>"),
        Pending("list", 2),
    ],
)
def test_a_copy_is_the_same(value: Any) -> None:
    assert strict_equal(value, copy.deepcopy(value))
    assert strict_equal(freeze(value), freeze(copy.deepcopy(value)))


def test_a_nan_equals_a_nan() -> None:
    assert strict_equal(float("nan"), float("nan"))  # two objects: a value read back is not a change
    assert strict_equal({"x": [float("nan")]}, {"x": [float("nan")]})


def test_a_broken_eq_counts_as_a_change() -> None:
    class Broken:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no")

        __hash__ = object.__hash__

    assert not strict_equal(Broken(), Broken())


def canon(v: Any) -> Any:
    """A typed, ordered picture of a value: == on it is what strict_equal promises."""
    t = type(v)
    if t is float:
        return ("float", "nan" if math.isnan(v) else repr(v))
    if t is dict:
        return ("dict", tuple((canon(k), canon(x)) for k, x in v.items()))
    if t is list or t is tuple:
        return (t.__name__, tuple(canon(x) for x in v))
    if t is frozenset:
        return ("frozenset", tuple(sorted((canon(x) for x in v), key=repr)))
    return (t.__name__, v)


# A small domain, so that pairs Python calls equal (0, False, 0.0, -0.0; reordered keys) are common.
_scalars = st.sampled_from([0, 1, False, True, 0.0, -0.0, 1.0, NAN, "a", None])
_keys = st.sampled_from(["a", "b", "c"])
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_keys, inner, max_size=3),
        st.frozensets(st.sampled_from([0, 1, False, True, 0.0, 1.0, "a"]), max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(_values, _values)
def test_strict_equal_is_equality_of_the_typed_ordered_picture(a: Any, b: Any) -> None:
    assert strict_equal(a, b) == (canon(a) == canon(b))
    assert strict_equal(a, copy.deepcopy(a))
