"""The Redis store's value encoding: the fast path agrees with persistence.encode (no Redis needed)."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.engine import redis_store
from desktop_app.engine.redis_store import _encode_checked, encode_value

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def test_the_fast_path_is_in_use() -> None:
    assert redis_store._CLEAN is not None and redis_store._PODE_OPTIONS is not None


@given(json_values)
def test_fast_path_and_file_encoder_agree(value: Any) -> None:
    try:
        expected = _encode_checked("entry", value)
    except ValueError:
        with pytest.raises(ValueError, match="'entry'"):
            encode_value("entry", value)
        return
    assert encode_value("entry", value) == expected
    assert orjson.loads(expected) == value or _has_nan(value)


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list):
        return any(map(_has_nan, value))
    if isinstance(value, dict):
        return any(map(_has_nan, value.values()))
    return False


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        [1.5, float("-inf")],
        {"u": uuid.uuid4()},
        Decimal("1.5"),
        {1, 2},
        b"x",
        2**64,
    ],
)
def test_what_a_file_refuses_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="'e'"):
        encode_value("e", value)


def test_nesting_deeper_than_a_file_holds_is_refused() -> None:
    value: Any = []
    for _ in range(300):
        value = [value]
    with pytest.raises(ValueError, match="nested"):
        encode_value("e", value)
