"""Whole-state "pode" saves (fast_save): the same bytes as persistence.encode, the same refusals, GC restored."""

from __future__ import annotations

import gc
import math
import random
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.engine import SharedState, StateFileError, persistence
from desktop_app.engine.persistence import MAX_DEPTH, fast_save
from tests.engine.twins import twin_param


def _mixed(n: int, seed: int = 3) -> dict[str, tuple[Any, list[str]]]:
    rng = random.Random(seed)
    out: dict[str, tuple[Any, list[str]]] = {}
    for i in range(n):
        kind = i % 6
        value: Any = (
            {"id": i, "name": f"user-{i}", "score": rng.random(), "tags": ["a", "b"], "none": None}
            if kind == 0
            else [rng.randint(-(2**63), 2**64 - 1) for _ in range(3)]
            if kind == 1
            else f'text "{i}" with null, and ü'
            if kind == 2
            else (1.5, True, None)
            if kind == 3
            else {"deep": {"er": [[[i]]]}}
            if kind == 4
            else -i * 0.25
        )
        out[f"entry-{i:05d}"] = (value, [["Users"], [], ["A", "B"]][i % 3])
    return out


@twin_param
@pytest.mark.parametrize("compress", [False, True])
def test_chunks_are_byte_for_byte_what_persistence_writes(twin: ModuleType, compress: bool) -> None:
    data = _mixed(fast_save.CHUNK * 2 + 17)
    entries = [twin.Entry(name, value, scope, 1, 0.0, 0) for name, (value, scope) in data.items()]
    parts = fast_save.encode_chunks(entries, compress, fill=twin.fill_chunk)
    assert parts is not None and len(parts) > 3
    assert b"".join(parts) == persistence.encode(data, compress=compress)


@twin_param
def test_an_empty_state_is_an_empty_object(twin: ModuleType) -> None:
    assert fast_save.encode_chunks([], False, fill=twin.fill_chunk) == [b"{}\n"]


@twin_param
def test_an_int_beyond_64_bits_or_a_lone_surrogate_is_a_doubt(twin: ModuleType) -> None:
    for bad in (2**64, -(2**63) - 1, "\ud800"):
        entries = [twin.Entry("a", 1, [], 1, 0.0, 0), twin.Entry("b", [bad], [], 1, 0.0, 0)]
        assert fast_save.encode_chunks(entries, False, fill=twin.fill_chunk) is None


# JSON data as a "pode" file holds it, with the characters that make chunk joining interesting:
# quotes, backslashes, newlines and braces inside strings, empty containers, nesting.
_text = st.text(alphabet=st.sampled_from(list('ab"\\\n\t{}[],: \x00\x1fé€😀')), max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4) | st.tuples(inner, inner)
    ),
    max_leaves=12,
)


@twin_param
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# names as a state holds them: non-empty (the alphabet has no letter that casefolds, so no two clash)
@given(
    st.dictionaries(_text.filter(bool), st.tuples(_values, st.lists(_text, max_size=3)), max_size=12),
    st.booleans(),
)
def test_chunks_are_the_bytes_persistence_writes_for_any_json_data(
    twin: ModuleType, data: dict[str, tuple[Any, list[str]]], compress: bool
) -> None:
    entries = [twin.Entry(name, value, scope, 1, 0.0, 0) for name, (value, scope) in data.items()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fast_save, "CHUNK", 3)  # several chunks even for small states
        parts = fast_save.encode_chunks(entries, compress, fill=twin.fill_chunk)
    assert parts is not None
    assert b"".join(parts) == persistence.encode(data, compress=compress)


def _state(tmp_path: Path, n: int = 10) -> SharedState:
    state = SharedState(tmp_path)
    for name, (value, scope) in _mixed(n).items():
        state.set(name, value, scope)
    return state


@pytest.mark.parametrize("compress", [False, True])
def test_a_whole_state_save_writes_what_the_filtered_path_writes(tmp_path: Path, compress: bool) -> None:
    state = _state(tmp_path, fast_save.CHUNK + 5)
    whole = state.save(tmp_path / "whole.json", compress=compress)
    # A filter that keeps everything takes the old path.
    filtered = state.save(tmp_path / "filtered.json", compress=compress, exclude=["no-such-entry"])
    assert whole.read_bytes() == filtered.read_bytes()
    restored = SharedState()
    restored.restore(whole)
    assert restored.snapshot() == orjson.loads(orjson.dumps(state.snapshot()))  # tuples come back as lists


@pytest.mark.parametrize(
    ("value", "key_path", "reason"),
    [
        ({"values": [1, 2, uuid.UUID(int=5)]}, "hash.values[2]", "UUID"),
        ({"values": [1.0, math.nan]}, "hash.values[1]", "nan"),
        ({"when": {1: "int key"}}, "hash.when", "dict key"),
        ([2**70], "hash[0]", "64 bits"),
        (["\udcff"], "hash[0]", "surrogate"),
    ],
)
def test_a_refused_value_names_its_key_path_and_writes_nothing(
    tmp_path: Path, value: Any, key_path: str, reason: str
) -> None:
    state = _state(tmp_path, fast_save.CHUNK * 2)  # the bad entry lands in the last chunk
    target = tmp_path / "state.json"
    target.write_bytes(b'{"old": {"Value": 1, "Scope": []}}\n')
    state.set("hash", value)
    with pytest.raises(StateFileError) as info:
        state.save(target)
    assert info.value.key_path == key_path and reason.lower() in str(info.value).lower()
    assert target.read_bytes() == b'{"old": {"Value": 1, "Scope": []}}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no stray temp file
    assert gc.isenabled()


def test_a_value_max_depth_deep_is_saved_and_one_level_more_is_refused(tmp_path: Path) -> None:
    deepest: Any = 1
    for _ in range(MAX_DEPTH):
        deepest = [deepest]
    state = SharedState(tmp_path)
    state.set("deep", deepest)
    state.save(tmp_path / "deep.json")
    restored = SharedState()
    restored.restore(tmp_path / "deep.json")
    assert restored.get("deep") == deepest
    state.set("deeper", {"x": deepest})
    with pytest.raises(StateFileError, match=f"deeper than {MAX_DEPTH}") as info:
        state.save(tmp_path / "deeper.json")
    assert info.value.key_path is not None and info.value.key_path.startswith("deeper.x")
    assert not (tmp_path / "deeper.json").exists()


def test_a_self_referencing_value_is_refused(tmp_path: Path) -> None:
    state = SharedState(tmp_path)
    loop: list[Any] = [1]
    loop.append(loop)
    state.set("loop", {"l": loop})
    with pytest.raises(StateFileError, match="contains itself") as info:
        state.save(tmp_path / "s.json")
    assert info.value.key_path == "loop.l[1]"


def test_the_gc_stays_off_when_the_caller_turned_it_off(tmp_path: Path) -> None:
    state = _state(tmp_path)
    gc.disable()
    try:
        state.save(tmp_path / "s.json")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_atomic_write_takes_many_chunks(tmp_path: Path) -> None:
    parts = [bytes([65 + i % 26]) * (i % 7) for i in range(3000)]  # more than IOV_MAX, some empty
    persistence.atomic_write(tmp_path / "chunks.json", [*parts[:10], memoryview(b"xyz")[1:], *parts[10:]])
    assert (tmp_path / "chunks.json").read_bytes() == b"".join(parts[:10]) + b"yz" + b"".join(parts[10:])


def test_filtered_depth_limited_and_v2_saves_keep_their_path(tmp_path: Path) -> None:
    assert fast_save.applies("pode", None, None, None, None)
    assert not fast_save.applies("pode-v2", None, None, None, None)
    assert not fast_save.applies("pode", "Users", None, None, None)
    assert not fast_save.applies("pode", None, ["a"], None, None)
    assert not fast_save.applies("pode", None, None, ["a"], None)
    assert not fast_save.applies("pode", None, None, None, 3)
    state = _state(tmp_path)
    state.save(tmp_path / "users.json", scope="Users")
    loaded = persistence.read_file(tmp_path / "users.json")
    assert loaded is not None and all(scope == ["Users"] for _, scope in loaded.entries.values())
