"""Tests for engine.persistence: Pode's file formats, strict encoding, tolerant decoding, atomic writes."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import json
import os
import re
import stat
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence import (
    FORMATS,
    MAX_DEPTH,
    StateFile,
    atomic_write,
    decode,
    encode,
    read_file,
    resolve_path,
)

PROPERTY = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
UTC = dt.UTC


def plain(value: Any) -> Any:
    """What a value looks like after a round trip: tuples become lists, frozensets sets."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, frozenset):
        return {plain(v) for v in value}
    return value


def same(a: Any, b: Any) -> bool:
    """Equality that also requires equal types all the way down (1 == 1.0 == True is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime):
        return a == b and (a.tzinfo is None) == (b.tzinfo is None)
    return bool(a == b)


def same_entries(got: dict[str, tuple[Any, list[str]]], expected: dict[str, tuple[Any, Any]]) -> bool:
    if list(got) != list(expected):
        return False
    return all(
        same(got[name][0], plain(value)) and got[name][1] == list(scope)
        for name, (value, scope) in expected.items()
    )


def error_of(entries: dict[str, tuple[Any, Any]], **kwargs: Any) -> StateFileError:
    with pytest.raises(StateFileError) as info:
        encode(entries, **kwargs)
    return info.value


# ------------------------------------------------------------------------------------------------
# resolve_path


@pytest.mark.parametrize(
    ("given_path", "expected"),
    [
        ("./state.json", "/srv/app/state.json"),
        ("../state.json", "/srv/app/../state.json"),
        (".", "/srv/app"),
        ("..", "/srv/app/.."),
        (".\\data\\state.json", "/srv/app/data/state.json"),
        ("..\\state.json", "/srv/app/../state.json"),
        ("state.json", "state.json"),
        ("data/state.json", "data/state.json"),
        ("/abs/state.json", "/abs/state.json"),
        (".hidden.json", ".hidden.json"),
        ("...json", "...json"),
    ],
)
def test_resolve_path_joins_only_dot_paths_onto_root(given_path: str, expected: str) -> None:
    assert resolve_path(given_path, "/srv/app") == Path(expected)


def test_resolve_path_uses_cwd_without_root_and_expands_home() -> None:
    assert resolve_path("./s.json", None) == Path.cwd() / "s.json"
    assert resolve_path("./s.json", Path("/r")) == Path("/r/s.json")
    # pathlib drops a leading "./", so a Path is always taken as written
    assert resolve_path(Path("./s.json"), "/r") == Path("s.json")
    assert resolve_path("~/s.json", "/r") == Path.home() / "s.json"


# ------------------------------------------------------------------------------------------------
# encode, format "pode"


def test_pode_is_exactly_orjsons_indented_document_with_a_newline() -> None:
    entries = {"hash": ({"values": [1, 2]}, ["Users"]), "count": (5, []), "t": ((1, "a"), ("x", "y"))}
    doc = {"hash": {"Value": {"values": [1, 2]}, "Scope": ["Users"]}, "count": {"Value": 5, "Scope": []}}
    doc["t"] = {"Value": [1, "a"], "Scope": ["x", "y"]}
    assert encode(entries) == orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    assert encode(entries, compress=True) == orjson.dumps(doc) + b"\n"


@pytest.mark.parametrize("compress", [False, True])
def test_pode_output_is_identical_across_chunk_boundaries(compress: bool) -> None:
    entries = {
        f"n{i}": ({"i": i, "l": [i, None, "s"]} if i % 2 else i * 0.5, ["S"] if i % 3 else [])
        for i in range(5000)
    }
    doc = {name: {"Value": value, "Scope": scope} for name, (value, scope) in entries.items()}
    option = 0 if compress else orjson.OPT_INDENT_2
    assert encode(entries, compress=compress) == orjson.dumps(doc, option=option) + b"\n"


def test_empty_state_encodes_as_an_empty_object() -> None:
    assert orjson.loads(encode({})) == {}
    assert orjson.loads(encode({}, compress=True)) == {}
    decoded = decode(encode({}))
    assert decoded == StateFile({}, "pode")


def test_pode_accepts_64_bit_ints_and_finite_floats() -> None:
    entries: dict[str, tuple[Any, list[str]]] = {
        "a": ([-(2**63), 2**64 - 1, 0.1, -0.0, 1e308, True, None, ""], [])
    }
    got = decode(encode(entries))
    assert got is not None and same_entries(got.entries, entries)


def test_scope_is_normalised_from_tuple_str_and_none() -> None:
    entries = cast(Any, {"a": (1, ("x", "y")), "b": (2, "one"), "c": (3, None)})
    got = decode(encode(entries))
    assert got is not None
    assert got.entries == {"a": (1, ["x", "y"]), "b": (2, ["one"]), "c": (3, [])}


@pytest.mark.parametrize("fmt", FORMATS)
def test_scope_with_non_strings_is_refused(fmt: str) -> None:
    err = error_of(cast(Any, {"a": (1, ["x", 2])}), format=fmt)
    assert err.key_path == "a" and "Scope" in str(err)


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


class Mode(enum.StrEnum):
    FAST = "fast"


@dataclasses.dataclass
class Point:
    x: int


class MyStr(str):
    pass


class MyInt(int):
    pass


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    "bad",
    [
        uuid.UUID(int=1),
        dt.datetime(2024, 1, 1),
        dt.date(2024, 1, 1),
        dt.time(10, 0),
        dt.timedelta(seconds=1),
        Decimal("1.5"),
        {1, 2},
        frozenset({1}),
        b"bytes",
        bytearray(b"x"),
        Color.RED,
        Level.LOW,
        Mode.FAST,
        Point(1),
        object(),
        MyStr("s"),
        MyInt(3),
        Pair(1, 2),
        collections.OrderedDict(a=1),
        orjson.Fragment(b"1"),
        float("nan"),
        float("inf"),
        -float("inf"),
        2**64,
        -(2**63) - 1,
        1j,
        ...,
    ],
    ids=repr,
)
def test_pode_refuses_what_is_not_json_data_and_names_the_key_path(bad: Any) -> None:
    err = error_of({"hash": ({"values": [0, 1, 2, bad]}, ["Users"])})
    assert err.key_path == "hash.values[3]"
    assert "hash.values[3]" in str(err)


def test_pode_key_paths_quote_odd_keys_and_name_the_entry_first() -> None:
    assert error_of({"hash": ({"odd key": uuid.uuid4()}, [])}).key_path == 'hash["odd key"]'
    assert error_of({"my state": ([{"a": {"b-c": [Decimal(1)]}}], [])}).key_path == 'my state[0].a["b-c"][0]'
    assert error_of({"top": (uuid.uuid4(), [])}).key_path == "top"


@pytest.mark.parametrize("key", [1, None, (1, 2), MyStr("k"), Mode.FAST])
def test_pode_refuses_non_str_dict_keys(key: Any) -> None:
    err = error_of({"hash": ({"ok": {key: 1}}, [])})
    assert err.key_path == "hash.ok"
    assert "key" in err.reason


def test_pode_refuses_non_str_names() -> None:
    err = error_of(cast(Any, {1: (1, [])}))
    assert "name" in err.reason


def test_nan_is_found_even_when_strings_contain_null() -> None:
    entries: dict[str, tuple[Any, list[str]]] = {
        "a": (["null", "null,", "null]", None, 1.5], []),
        "b": ({"null": float("nan")}, []),
    }
    assert error_of(entries).key_path == "b.null"


def test_strings_containing_null_next_to_floats_are_fine() -> None:
    entries = {
        "null": ({"x": "null, null] null}", "f": 2.5, "n": None}, ["null"]),
        "nullable": ([None, 0.5], []),
    }
    got = decode(encode(entries))
    assert got is not None and same_entries(got.entries, entries)


@pytest.mark.parametrize("fmt", FORMATS)
def test_self_referencing_containers_are_refused_not_a_recursion_error(fmt: str) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    err = error_of({"a": ({"x": loop}, [])}, format=fmt)
    assert err.key_path == "a.x[1]" and "itself" in err.reason
    d: dict[str, Any] = {}
    d["me"] = d
    assert "itself" in error_of({"d": (d, [])}, format=fmt).reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_are_refused_with_their_key_path(fmt: str) -> None:
    assert error_of({"a": ({"x": ["ok", "\ud800"]}, [])}, format=fmt).key_path == "a.x[1]"
    assert "name" in error_of({"\udc00": (1, [])}, format=fmt).reason


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_pode_holds_max_depth_levels_and_refuses_more_with_a_state_file_error() -> None:
    got = decode(encode({"deep": (nested(MAX_DEPTH), [])}))
    assert got is not None and got.entries["deep"][0] == nested(MAX_DEPTH)
    err = error_of({"deep": (nested(MAX_DEPTH + 1), [])})
    assert f"{MAX_DEPTH} levels" in err.reason
    assert err.key_path is not None and err.key_path.startswith("deep[0]")
    assert f"{MAX_DEPTH} levels" in error_of({"deep": (nested(2000), [])}).reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_depth_counts_containers_in_the_users_data(fmt: str) -> None:
    encode({"s": (5, [])}, depth=0, format=fmt)
    encode({"l": ([1], []), "d": ({"a": [1]}, [])}, depth=2, format=fmt)
    assert error_of({"l": ([1], [])}, depth=0, format=fmt).key_path == "l"
    err = error_of({"ok": ([1], []), "d": ({"a": [1], "b": [[2]]}, [])}, depth=2, format=fmt)
    assert err.key_path == "d.b[0]" and "depth=2" in err.reason


def test_depth_counts_sets_like_lists_in_v2() -> None:
    encode({"s": ({"a": {1}}, [])}, depth=2, format="pode-v2")
    assert error_of({"s": ({"a": {1}}, [])}, depth=1, format="pode-v2").key_path == "s.a"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_depth_or_format_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError):
        encode({}, depth=bad)


@pytest.mark.parametrize("fmt", ["json", "pode-legacy", "", "POde"])
def test_unknown_format_is_a_value_error(fmt: str) -> None:
    with pytest.raises(ValueError, match="format"):
        encode({"a": (1, [])}, format=fmt)


def test_a_refused_value_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write(target, encode({"a": (1, [])}))
    before = target.read_bytes()
    with pytest.raises(StateFileError):
        atomic_write(target, encode({"a": (uuid.uuid4(), [])}))
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.json"]


# ------------------------------------------------------------------------------------------------
# encode, format "pode-v2"


def v2_document(data: bytes) -> dict[str, Any]:
    document = orjson.loads(data)
    assert list(document) == ["__pode_state_metadata__", "__pode_state_data__"]
    return cast(dict[str, Any], document)


def v2_value(entries: dict[str, tuple[Any, Any]], name: str = "x") -> Any:
    """The encoded Value of one entry."""
    document = v2_document(encode(entries, format="pode-v2"))
    for item in document["__pode_state_data__"]["Items"]:
        if item["Key"] == name:
            fields = {f["Key"]: f["Value"] for f in item["Value"]["Items"]}
            return fields["Value"]
    raise AssertionError(name)


def test_v2_worked_example_matches_the_spec() -> None:
    data = encode({"hash": ({"values": [1, 2]}, ["Users"]), "count": (5, [])}, format="pode-v2")
    document = v2_document(data)
    metadata = document["__pode_state_metadata__"]
    assert metadata["Version"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", metadata["Timestamp"])
    assert document["__pode_state_data__"] == {
        "Type": "ConcurrentDictionary",
        "Items": [
            {
                "Key": "hash",
                "Value": {
                    "Type": "ConcurrentDictionary",
                    "Items": [
                        {
                            "Key": "Value",
                            "Value": {
                                "Type": "Hashtable",
                                "Items": [
                                    {
                                        "Key": "values",
                                        "Value": [
                                            {"Type": "Int32", "Value": 1},
                                            {"Type": "Int32", "Value": 2},
                                        ],
                                    }
                                ],
                            },
                        },
                        {"Key": "Scope", "Value": [{"Type": "String", "Value": "Users"}]},
                    ],
                },
            },
            {
                "Key": "count",
                "Value": {
                    "Type": "ConcurrentDictionary",
                    "Items": [
                        {"Key": "Value", "Value": {"Type": "Int32", "Value": 5}},
                        {"Key": "Scope", "Value": []},
                    ],
                },
            },
        ],
    }
    assert data.startswith(b"{\n  ") and data.endswith(b"}\n")
    assert b"\n" not in encode({"a": (1, [])}, format="pode-v2", compress=True).rstrip(b"\n")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (None, None),
        (True, {"Type": "Boolean", "Value": True}),
        (0, {"Type": "Int32", "Value": 0}),
        (2**31 - 1, {"Type": "Int32", "Value": 2**31 - 1}),
        (-(2**31), {"Type": "Int32", "Value": -(2**31)}),
        (2**31, {"Type": "Int64", "Value": 2**31}),
        (-(2**31) - 1, {"Type": "Int64", "Value": -(2**31) - 1}),
        (2**63 - 1, {"Type": "Int64", "Value": 2**63 - 1}),
        (2**63, {"Type": "UInt64", "Value": 2**63}),
        (2**64 - 1, {"Type": "UInt64", "Value": 2**64 - 1}),
        (1.5, {"Type": "Double", "Value": 1.5}),
        (float("nan"), {"Type": "Double", "Value": "NaN"}),
        (float("-inf"), {"Type": "Double", "Value": "-Infinity"}),
        ("hi", {"Type": "String", "Value": "hi"}),
        ({"a": 1}, {"Type": "Hashtable", "Items": [{"Key": "a", "Value": {"Type": "Int32", "Value": 1}}]}),
        ([5], [{"Type": "Int32", "Value": 5}]),
        ((5,), [{"Type": "Int32", "Value": 5}]),
        ([[1], []], [[{"Type": "Int32", "Value": 1}], []]),
        ({"a"}, {"Type": "HashSet", "Items": [{"Type": "String", "Value": "a"}]}),
        (frozenset({2}), {"Type": "HashSet", "Items": [{"Type": "Int32", "Value": 2}]}),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, 600000),
            {"Type": "DateTime", "Value": "2024-01-02T03:04:05.600000"},
        ),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            {"Type": "DateTime", "Value": "2024-01-02T03:04:05+01:00"},
        ),
        (dt.timedelta(seconds=1, microseconds=5), {"Type": "TimeSpan", "Value": 10_000_050}),
        (dt.timedelta(days=-1), {"Type": "TimeSpan", "Value": -864_000_000_000}),
        (uuid.UUID(int=255), {"Type": "Guid", "Value": "00000000-0000-0000-0000-0000000000ff"}),
        (Decimal("1.10"), {"Type": "Decimal", "Value": "1.10"}),
        (Decimal("-1E+30"), {"Type": "Decimal", "Value": "-1E+30"}),
    ],
    ids=repr,
)
def test_v2_encodes_each_type_as_pode_does(value: Any, encoded: Any) -> None:
    assert v2_value({"x": (value, [])}) == encoded


@pytest.mark.parametrize(
    "bad",
    [
        2**64,
        -(2**63) - 1,
        dt.date(2024, 1, 1),
        dt.time(1, 2),
        dt.timedelta(days=20_000_000),
        Decimal("NaN"),
        b"x",
        Color.RED,
        Level.LOW,
        Point(1),
        object(),
        MyStr("s"),
        collections.OrderedDict(),
        1j,
    ],
    ids=repr,
)
def test_v2_refuses_other_types_with_the_key_path(bad: Any) -> None:
    err = error_of({"hash": ({"values": [0, 1, {"odd key": bad}]}, [])}, format="pode-v2")
    assert err.key_path == 'hash.values[2]["odd key"]'


def test_v2_refuses_non_str_dict_keys_and_unhashable_nothing_else() -> None:
    assert error_of({"h": ({"a": {3: 1}}, [])}, format="pode-v2").key_path == "h.a"


def test_v2_nesting_beyond_what_a_file_can_hold_is_a_state_file_error() -> None:
    encode({"deep": (nested(MAX_DEPTH), [])}, format="pode-v2")
    assert f"{MAX_DEPTH} levels" in error_of({"deep": (nested(300), [])}, format="pode-v2").reason
    deep_dicts: Any = 1
    for _ in range(MAX_DEPTH):
        deep_dicts = {"k": deep_dicts}
    encode({"deep": (deep_dicts, [])}, format="pode-v2")
    err = error_of({"deep": ({"k": deep_dicts}, [])}, format="pode-v2")
    assert f"{MAX_DEPTH} levels" in err.reason and err.key_path == "deep" + ".k" * MAX_DEPTH


# ------------------------------------------------------------------------------------------------
# decode: sample files in Pode's exact shapes

WORKED_EXAMPLE = b"""{
  "__pode_state_metadata__": { "Version": 2, "Timestamp": "2026-08-19T21:53:07.123Z" },
  "__pode_state_data__": {
    "Type": "ConcurrentDictionary",
    "Items": [
      { "Key": "hash",
        "Value": { "Type": "ConcurrentDictionary", "Items": [
          { "Key": "Value", "Value": { "Type": "Hashtable", "Items": [
              { "Key": "values", "Value": [ {"Type":"Int32","Value":1}, {"Type":"Int32","Value":2} ] } ] } },
          { "Key": "Scope", "Value": [ {"Type":"String","Value":"Users"} ] } ] } },
      { "Key": "count",
        "Value": { "Type": "ConcurrentDictionary", "Items": [
          { "Key": "Value", "Value": { "Type": "Int32", "Value": 5 } },
          { "Key": "Scope", "Value": [] } ] } }
    ]
  }
}
"""

# The same state as PowerShell 7 would order it: Hashtable key order is arbitrary.
WORKED_EXAMPLE_REORDERED = b"""{"__pode_state_data__":{"Items":[{"Value":{"Items":[{"Value":[],"Key":"Scope"},
{"Value":{"Value":5,"Type":"Int32"},"Key":"Value"}],"Type":"ConcurrentDictionary"},"Key":"count"},
{"Value":{"Items":[{"Value":[{"Value":"Users","Type":"String"}],"Key":"Scope"},{"Value":{"Items":[{"Value":
[{"Value":1,"Type":"Int32"},{"Value":2,"Type":"Int32"}],"Key":"values"}],"Type":"Hashtable"},"Key":"Value"}],
"Type":"ConcurrentDictionary"},"Key":"hash"}],"Type":"ConcurrentDictionary"},
"__pode_state_metadata__":{"Timestamp":"2026-08-19T21:53:07.123Z","Version":2}}"""

# Pode 1.x .. 2.13: {name: {Value, Scope}}, as PowerShell 7's ConvertTo-Json writes a Hashtable.
V1_FILE = b"""{
  "hash": {
    "Scope": [
      "Users"
    ],
    "Value": {
      "values": [
        1,
        2
      ]
    }
  },
  "count": {
    "Scope": [],
    "Value": 5
  }
}
"""

# Before scopes existed (Pode < 1.7): {name: value}.
PRE_SCOPE_FILE = b'{"Name": "Morty", "hash": {"Value": "Morty"}, "list": [1, [2]], "none": null}'

# Windows PowerShell 5.1: Out-File writes UTF-16LE with a BOM and CRLF, ConvertTo-Json its own spacing.
PS51_TEXT = (
    "{\r\n"
    '    "hash":  {\r\n'
    '                 "Scope":  [\r\n'
    '                               "Users"\r\n'
    "                           ],\r\n"
    '                 "Value":  {\r\n'
    '                               "values":  [\r\n'
    "                                              1,\r\n"
    "                                              2\r\n"
    "                                          ]\r\n"
    "                           }\r\n"
    "             },\r\n"
    '    "count":  {\r\n'
    '                  "Scope":  [\r\n'
    "\r\n"
    "                            ],\r\n"
    '                  "Value":  5\r\n'
    "              },\r\n"
    '    "quote":  {\r\n'
    '                  "Scope":  "Users",\r\n'
    '                  "Value":  "it\\u0027s \\u00e9t\\u00e9 \u00e9t\u00e9 \U0001f600"\r\n'
    "              }\r\n"
    "}\r\n"
)

EXPECTED = {"hash": ({"values": [1, 2]}, ["Users"]), "count": (5, [])}


@pytest.mark.parametrize("data", [WORKED_EXAMPLE, WORKED_EXAMPLE_REORDERED], ids=["spec", "reordered"])
def test_decodes_the_spec_worked_example(data: bytes) -> None:
    got = decode(data)
    assert got is not None and got.format == "pode-v2"
    assert dict(got.entries) == EXPECTED


def test_decodes_a_v1_value_scope_file() -> None:
    assert decode(V1_FILE) == StateFile(EXPECTED, "pode")


def test_decodes_a_pre_scope_file_as_raw_values_with_empty_scope() -> None:
    got = decode(PRE_SCOPE_FILE)
    assert got == StateFile(
        {"Name": ("Morty", []), "hash": ({"Value": "Morty"}, []), "list": ([1, [2]], []), "none": (None, [])},
        "pode-legacy",
    )


def test_a_mixed_legacy_file_is_pode_and_each_key_is_judged_alone() -> None:
    got = decode(b'{"a": {"Value": 1, "Scope": ["S"]}, "b": {"Value": 2}, "c": {"Scope": []}}')
    assert got == StateFile({"a": (1, ["S"]), "b": ({"Value": 2}, []), "c": (None, [])}, "pode")


def test_decodes_a_windows_powershell_utf16le_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff\xfe" + PS51_TEXT.encode("utf-16-le"))
    got = read_file(path)
    assert got is not None and got.format == "pode"
    assert got.entries["hash"] == ({"values": [1, 2]}, ["Users"])
    assert got.entries["count"] == (5, [])
    assert got.entries["quote"] == ("it's été été \U0001f600", ["Users"])


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (b"", "utf-8"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"", "utf-16-le"),
        (b"", "utf-16-be"),
        (b"", "utf-32-le"),
        (b"", "utf-32-be"),
    ],
)
def test_every_bom_and_unicode_encoding_is_read(bom: bytes, codec: str) -> None:
    text = '{"caf\u00e9": {"Value": "\U0001f600 \u00fc", "Scope": ["\u00e9"]}}'
    assert decode(bom + text.encode(codec)) == StateFile(
        {"caf\u00e9": ("\U0001f600 \u00fc", ["\u00e9"])}, "pode"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" \n\t\r ",
        b"null",
        b"  null \n",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf  \n",
        b"\xff\xfe",
        b"\xff\xfe" + " \r\n".encode("utf-16-le"),
        b"\xfe\xff" + "null".encode("utf-16-be"),
    ],
)
def test_nothing_to_restore_is_none(data: bytes) -> None:
    assert decode(data) is None


def test_missing_and_empty_files_are_none(tmp_path: Path) -> None:
    assert read_file(tmp_path / "nope.json") is None
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert read_file(empty) is None


def test_an_empty_object_is_a_real_empty_state() -> None:
    assert decode(b"{}") == StateFile({}, "pode")
    assert decode(b" { } \n") == StateFile({}, "pode")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [(["a", "b"], ["a", "b"]), ("one", ["one"]), (None, []), ([], [])],
)
def test_legacy_scope_forms(scope: Any, expected: list[str]) -> None:
    got = decode(orjson.dumps({"n": {"Value": 1, "Scope": scope}}))
    assert got == StateFile({"n": (1, expected)}, "pode")


@pytest.mark.parametrize("scope", [1, True, {"a": 1}, [1], ["a", None], [["a"]]])
def test_legacy_scope_of_another_shape_is_an_error(scope: Any) -> None:
    with pytest.raises(StateFileError) as info:
        decode(orjson.dumps({"ok": {"Value": 1, "Scope": []}, "n": {"Value": 1, "Scope": scope}}))
    assert info.value.key_path == "n" and "Scope" in info.value.reason


# ------------------------------------------------------------------------------------------------
# decode: the v2 type table


def v2_file(value: Any, scope: Any = None, *, version: Any = 2, key: str = "x") -> bytes:
    scope = [] if scope is None else scope
    entry = {
        "Type": "ConcurrentDictionary",
        "Items": [{"Key": "Value", "Value": value}, {"Key": "Scope", "Value": scope}],
    }
    return orjson.dumps(
        {
            "__pode_state_metadata__": {"Version": version, "Timestamp": "2026-08-19T21:53:07.123Z"},
            "__pode_state_data__": {"Type": "ConcurrentDictionary", "Items": [{"Key": key, "Value": entry}]},
        }
    )


def decoded_value(value: Any) -> Any:
    got = decode(v2_file(value))
    assert got is not None and got.format == "pode-v2"
    return got.entries["x"][0]


def t(tag: str, value: Any) -> dict[str, Any]:
    return {"Type": tag, "Value": value}


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (None, None),
        (t("Int32", 5), 5),
        (t("Int64", 2**40), 2**40),
        (t("Int16", -3), -3),
        (t("UInt16", 3), 3),
        (t("UInt32", 3), 3),
        (t("UInt64", 2**64 - 1), 2**64 - 1),
        (t("Byte", 255), 255),
        (t("SByte", -128), -128),
        (t("Double", 1.5), 1.5),
        (t("Double", 2), 2.0),
        (t("Single", 0.25), 0.25),
        (t("Float", 1), 1.0),
        (t("Decimal", "1.10"), Decimal("1.10")),
        (t("Decimal", 12), Decimal(12)),
        (t("Decimal", 0.1), Decimal("0.1")),
        (t("Boolean", False), False),
        (t("String", ""), ""),
        (t("Char", "c"), "c"),
        (
            t("DateTime", "2026-08-19T21:53:07.1234567Z"),
            dt.datetime(2026, 8, 19, 21, 53, 7, 123456, tzinfo=UTC),
        ),
        (
            t("DateTime", "2026-08-19T21:53:07.0000000+02:00"),
            dt.datetime(2026, 8, 19, 21, 53, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
        (t("DateTime", "2026-08-19T21:53:07"), dt.datetime(2026, 8, 19, 21, 53, 7)),
        (t("TimeSpan", 10_000_000), dt.timedelta(seconds=1)),
        (t("TimeSpan", 15), dt.timedelta(microseconds=2)),
        (t("TimeSpan", -864_000_000_000), dt.timedelta(days=-1)),
        (
            t("Guid", "0f8fad5b-d9cb-469f-a165-70867728950e"),
            uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"),
        ),
        ({"Type": "Hashtable", "Items": [{"Key": "a", "Value": t("Int32", 1)}]}, {"a": 1}),
        ({"Type": "SyncHashtable", "Items": []}, {}),
        (
            {"Type": "OrderedHashtable", "Items": [{"Key": "b", "Value": None}, {"Key": "a", "Value": None}]},
            {"b": None, "a": None},
        ),
        ({"Type": "OrderedDictionary", "Items": []}, {}),
        ({"Type": "Dictionary", "Items": []}, {}),
        ({"Type": "ConcurrentDictionary", "Items": []}, {}),
        (
            {"Type": "PodeConcurrentOrderedDictionary", "Items": [{"Key": "k", "Value": t("String", "v")}]},
            {"k": "v"},
        ),
        (
            {"Type": "PSCustomObject", "Items": [{"Key": "Name", "Value": t("String", "Morty")}]},
            {"Name": "Morty"},
        ),
        ({"Type": "List", "Items": [t("Int32", 1)]}, [1]),
        ({"Type": "PodeConcurrentList", "Items": []}, []),
        ({"Type": "ConcurrentBag", "Items": [t("String", "a")]}, ["a"]),
        ({"Type": "HashSet", "Items": [t("Int32", 1), t("Int32", 2)]}, {1, 2}),
        ({"Type": "SortedSet", "Items": [t("String", "a")]}, {"a"}),
        ({"Type": "PodeConcurrentSet", "Items": []}, set()),
        ({"Type": "HashSet", "Items": [{"Type": "Hashtable", "Items": []}]}, [{}]),
        ([t("Int32", 5)], [5]),
        ([[t("Int32", 1), t("Int32", 2)], [t("Int32", 3)], []], [[1, 2], [3], []]),
        ([[]], [[]]),
        ("raw", "raw"),
        (7, 7),
    ],
    ids=repr,
)
def test_v2_type_table(encoded: Any, expected: Any) -> None:
    assert same(decoded_value(encoded), expected)


def test_v2_member_names_are_case_sensitive() -> None:
    with pytest.raises(StateFileError, match="Type"):
        decoded_value({"type": "Int32", "Value": 3})


@pytest.mark.parametrize("tag", ["int32", "INT32", "hashTABLE", "datetime"])
def test_v2_type_tags_match_case_insensitively(tag: str) -> None:
    value = (
        {"Type": tag, "Items": []}
        if "table" in tag.lower()
        else t(tag, 1 if "int" in tag.lower() else "2024-01-01")
    )
    decoded_value(value)


def test_v2_offsets_finer_than_a_minute_are_written_in_utc() -> None:
    odd = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(seconds=30, microseconds=1)))
    assert v2_value({"x": (odd, [])}) == {"Type": "DateTime", "Value": "2024-01-01T11:59:29.999999+00:00"}
    assert decoded_value(v2_value({"x": (odd, [])})) == odd


def test_v2_aware_datetimes_come_back_aware_and_naive_ones_naive() -> None:
    aware = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    naive = dt.datetime(2024, 5, 1, 12, 0, 0, 1)
    got = decode(encode({"a": (aware, []), "n": (naive, [])}, format="pode-v2"))
    assert got is not None
    assert got.entries["a"][0] == aware and got.entries["a"][0].utcoffset() == dt.timedelta(hours=-5)
    assert got.entries["n"][0] == naive and got.entries["n"][0].tzinfo is None


def test_v2_scope_forms() -> None:
    got = decode(v2_file(None, [t("String", "a"), t("String", "b")]))
    assert got is not None and got.entries["x"] == (None, ["a", "b"])
    got = decode(v2_file(None, t("String", "Users")))  # Pode's collapsed single scope, saved again
    assert got is not None and got.entries["x"] == (None, ["Users"])
    got = decode(v2_file(None, None))
    assert got is not None and got.entries["x"] == (None, [])


def test_v2_names_keep_their_case_and_order() -> None:
    data = encode({"Name": (1, []), "other": (2, []), "B": (3, [])}, format="pode-v2")
    got = decode(data)
    assert got is not None and list(got.entries.items()) == [
        ("Name", (1, [])),
        ("other", (2, [])),
        ("B", (3, [])),
    ]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([t("Int32", 1), t("DayOfWeek", 1)], "'DayOfWeek'"),
        (t("Nope", 1), "'Nope'"),
        (t("Int32", "5"), "Int32"),
        (t("Int32", 1.5), "Int32"),
        (t("Int32", True), "Int32"),
        (t("Boolean", 1), "Boolean"),
        (t("String", 5), "String"),
        (t("Guid", "not-a-guid"), "Guid"),
        (t("DateTime", "yesterday"), "DateTime"),
        (t("DateTime", 5), "DateTime"),
        (t("TimeSpan", 1.5), "TimeSpan"),
        (t("TimeSpan", "00:00:01"), "TimeSpan"),
        (t("Decimal", "one"), "Decimal"),
        (t("Double", "1.5"), "Double"),
        ({"Type": "Int32"}, "Value"),
        ({"Type": 5, "Value": 1}, "Type"),
        ({"Value": 1}, "Type"),
        ({"Type": "Hashtable"}, "Items"),
        ({"Type": "Hashtable", "Items": {}}, "Items"),
        ({"Type": "List", "Items": "abc"}, "Items"),
        ({"Type": "Hashtable", "Items": [1]}, "Key"),
        ({"Type": "Hashtable", "Items": [{"Key": "a"}]}, "Value"),
        ({"Type": "Hashtable", "Items": [{"Key": 1, "Value": None}]}, "key"),
    ],
    ids=repr,
)
def test_v2_bad_values_are_state_file_errors_naming_the_key_path(value: Any, fragment: str) -> None:
    wrapped = {"Type": "Hashtable", "Items": [{"Key": "values", "Value": [None, value]}]}
    with pytest.raises(StateFileError) as info:
        decode(v2_file(wrapped, key="hash"))
    assert fragment in info.value.reason
    assert info.value.key_path is not None and info.value.key_path.startswith("hash.values[1]")


def test_v2_unknown_tag_error_names_tag_and_path() -> None:
    data = v2_file({"Type": "Hashtable", "Items": [{"Key": "day", "Value": t("DayOfWeek", 1)}]}, key="hash")
    with pytest.raises(StateFileError) as info:
        decode(data, path="/tmp/s.json")
    assert info.value.key_path == "hash.day"
    assert "DayOfWeek" in str(info.value) and "/tmp/s.json" in str(info.value)


@pytest.mark.parametrize("version", [3, 1, 0, "2", None, True, 2.5, [2]])
def test_v2_other_versions_are_unsupported(version: Any) -> None:
    with pytest.raises(StateFileError, match="unsupported state file version"):
        decode(v2_file(None, version=version))


def test_v2_version_3_message() -> None:
    with pytest.raises(StateFileError, match="unsupported state file version 3"):
        decode(v2_file(None, version=3))


def test_v2_missing_version_is_unsupported() -> None:
    data = b'{"__pode_state_metadata__": {}, "__pode_state_data__": {"Type": "ConcurrentDictionary", "Items": []}}'
    with pytest.raises(StateFileError, match="unsupported state file version"):
        decode(data)


def test_v2_empty_state() -> None:
    assert decode(encode({}, format="pode-v2")) == StateFile({}, "pode-v2")


@pytest.mark.parametrize(
    "document",
    [
        {"__pode_state_metadata__": {"Version": 2}},
        {"__pode_state_metadata__": 2, "__pode_state_data__": {}},
        {"__pode_state_metadata__": {"Version": 2}, "__pode_state_data__": None},
        {"__pode_state_metadata__": {"Version": 2}, "__pode_state_data__": []},
        {"__pode_state_metadata__": {"Version": 2}, "__pode_state_data__": {"Type": "ConcurrentDictionary"}},
        {"__pode_state_metadata__": {"Version": 2}, "__pode_state_data__": {"Type": "List", "Items": []}},
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {"Type": "ConcurrentDictionary", "Items": 1},
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {"Type": "Hashtable", "Items": [1]},
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {"Type": "Hashtable", "Items": [{"Key": "a"}]},
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {"Type": "Hashtable", "Items": [{"Key": 1, "Value": None}]},
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {"Type": "Hashtable", "Items": [{"Key": "a", "Value": 5}]},
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {
                "Type": "Hashtable",
                "Items": [{"Key": "a", "Value": {"Type": "Hashtable", "Items": []}}],
            },
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {
                "Type": "Hashtable",
                "Items": [
                    {"Key": "a", "Value": {"Type": "Hashtable", "Items": [{"Key": "Scope", "Value": []}]}}
                ],
            },
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {
                "Type": "Hashtable",
                "Items": [
                    {
                        "Key": "a",
                        "Value": {"Type": "Hashtable", "Items": [{"Key": "Value", "Value": None}, 3]},
                    }
                ],
            },
        },
        {
            "__pode_state_metadata__": {"Version": 2},
            "__pode_state_data__": {
                "Type": "Hashtable",
                "Items": [
                    {
                        "Key": "a",
                        "Value": {
                            "Type": "Hashtable",
                            "Items": [
                                {"Key": "Value", "Value": None},
                                {"Key": "Scope", "Value": [t("Int32", 1)]},
                            ],
                        },
                    }
                ],
            },
        },
    ],
    ids=lambda d: orjson.dumps(d).decode()[:90],
)
def test_v2_wrong_shapes_are_state_file_errors(document: Any) -> None:
    with pytest.raises(StateFileError):
        decode(orjson.dumps(document))


def test_v2_legacy_entries_saved_by_pode_as_hashtables_are_read() -> None:
    # Entries that came from a legacy restore are plain Hashtables in Pode's v2 writer.
    document = orjson.loads(v2_file(None))
    document["__pode_state_data__"]["Items"][0]["Value"]["Type"] = "Hashtable"
    got = decode(orjson.dumps(document))
    assert got is not None and got.entries == {"x": (None, [])}


# ------------------------------------------------------------------------------------------------
# decode: malformed input (R3)


def test_corrupt_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{\n  "a": {"Value": 1,\n  "Scope": ]\n}')
    with pytest.raises(StateFileError) as info:
        read_file(path)
    assert info.value.position == "line 3, column 12"
    assert str(path) in str(info.value) and "line 3, column 12" in str(info.value)
    assert info.value.path == str(path)


def test_corrupt_utf16_json_positions_count_characters() -> None:
    with pytest.raises(StateFileError) as info:
        decode(b"\xff\xfe" + '{\r\n "a": x}'.encode("utf-16-le"))
    assert info.value.position == "line 2, column 7"


@pytest.mark.parametrize(
    ("data", "position"),
    [
        (b'{"a": "\xff"}', "byte 7"),
        (b'\xef\xbb\xbf{"a": "\xc3"}', "byte 10"),
        (b'{"a": "\xed\xa0\x80"}', "byte 7"),  # an encoded surrogate
        (b"\xff\xfe{\x00\x00\xd8", "byte 4"),  # UTF-16 with a lone surrogate
        (b"\xff\xfe{\x00\x00", "byte 4"),  # odd length
    ],
)
def test_invalid_unicode_names_the_byte_offset(data: bytes, position: str) -> None:
    with pytest.raises(StateFileError) as info:
        decode(data, path="s.json")
    assert info.value.position == position


@pytest.mark.parametrize("data", [b"[]", b"[1]", b'"text"', b"5", b"true", b"1.5"])
def test_a_top_level_that_is_not_an_object_is_an_error(data: bytes) -> None:
    with pytest.raises(StateFileError, match="top level"):
        decode(data)


@pytest.mark.parametrize("kind", ["legacy-array", "legacy-object", "v2-array", "v2-value"])
def test_deep_nesting_is_a_state_file_error(kind: str) -> None:
    deep_array = b"[" * 5000 + b"]" * 5000
    data = {
        "legacy-array": deep_array,
        "legacy-object": b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        "v2-array": v2_file(None).replace(b'"Value":null', b'"Value":' + deep_array),
        "v2-value": v2_file(None).replace(b'"Value":null', b'"Value":' + b"[" * 600 + b"]" * 600),
    }[kind]
    with pytest.raises(StateFileError, match=r"nested|depth"):
        decode(data)


def test_legacy_nesting_within_the_parsers_limit_but_beyond_max_depth_is_refused() -> None:
    # orjson reads 1024 levels, but nothing could save (or snapshot, or diff) such a value
    data = b'{"a": {"Value": ' + b"[" * 1000 + b"]" * 1000 + b', "Scope": []}}'
    with pytest.raises(StateFileError, match=f"{MAX_DEPTH} levels"):
        decode(data)


def test_truncated_files_never_raise_anything_but_state_file_error() -> None:
    entries = {
        "hash": ({"values": [1, 2.5, None, "t\u00e9xt"], "x": {"y": True}}, ["Users"]),
        "count": (5, []),
    }
    files = [
        encode(entries),
        encode(entries, compress=True),
        encode({**entries, "when": (dt.datetime(2024, 1, 1, tzinfo=UTC), [])}, format="pode-v2"),
        b"\xff\xfe" + encode(entries).decode().encode("utf-16-le"),
    ]
    for data in files:
        for cut in range(len(data)):
            try:
                result = decode(data[:cut])
            except StateFileError:
                continue
            if result is None:  # nothing but a BOM
                assert cut == 0 or data[:cut] == b"\xff\xfe", cut
            else:  # only the trailing newline was cut
                assert result == decode(data) and cut >= len(data) - 2, cut


def test_a_directory_is_not_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="folder") as info:
        read_file(tmp_path)
    assert info.value.path == str(tmp_path)


def test_a_file_used_as_a_folder_is_a_state_file_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("{}")
    with pytest.raises(StateFileError):
        read_file(tmp_path / "file" / "state.json")


json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
any_json = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=25,
)
typed_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
)
TAGS = [
    "Int32",
    "Double",
    "Decimal",
    "Boolean",
    "String",
    "DateTime",
    "TimeSpan",
    "Guid",
    "Hashtable",
    "List",
    "HashSet",
    "Nope",
]
typed = st.recursive(
    typed_leaf,
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.fixed_dictionaries({"Type": st.sampled_from(TAGS), "Value": kids})
        | st.fixed_dictionaries({"Type": st.sampled_from(TAGS), "Items": st.lists(kids, max_size=3)})
        | st.fixed_dictionaries(
            {
                "Type": st.sampled_from(TAGS),
                "Items": st.lists(st.fixed_dictionaries({"Key": kids, "Value": kids}), max_size=3),
            }
        )
    ),
    max_leaves=20,
)


def decode_only_state_file_errors(data: bytes) -> None:
    try:
        result = decode(data)
    except StateFileError:
        return
    assert result is None or isinstance(result, StateFile)


@PROPERTY
@given(st.binary(max_size=200))
def test_garbage_bytes_only_raise_state_file_error(data: bytes) -> None:
    decode_only_state_file_errors(data)
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        decode_only_state_file_errors(bom + data)


@PROPERTY
@given(any_json)
def test_garbage_json_only_raises_state_file_error(value: Any) -> None:
    data = json.dumps(value).encode()  # json, not orjson: also writes NaN and Infinity, which are invalid
    decode_only_state_file_errors(data)
    decode_only_state_file_errors(json.dumps({"x": value}).encode())


@PROPERTY
@given(typed, typed, st.sampled_from([2, 3, None]))
def test_garbage_v2_only_raises_state_file_error(value: Any, scope: Any, version: Any) -> None:
    decode_only_state_file_errors(v2_file(value, scope, version=version))
    decode_only_state_file_errors(
        orjson.dumps({"__pode_state_metadata__": {"Version": 2}, "__pode_state_data__": value})
    )


# ------------------------------------------------------------------------------------------------
# round trips (hypothesis)

names = st.text(min_size=1, max_size=12)
scopes = st.lists(st.text(max_size=8), max_size=3)


def state_entries(values: st.SearchStrategy[Any], max_size: int) -> st.SearchStrategy[dict[str, Any]]:
    """Entries as a SharedState holds them: names non-empty and no two equal but for case."""
    return st.dictionaries(names, st.tuples(values, scopes), max_size=max_size).filter(
        lambda entries: len({name.casefold() for name in entries}) == len(entries)
    )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


def containers(kids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(kids, max_size=5)
        | st.tuples(kids)
        | st.tuples(kids, kids)
        | st.dictionaries(st.text(max_size=10), kids, max_size=5)
    )


json_values = st.recursive(json_scalars, containers, max_leaves=30)
aware = st.datetimes(
    timezones=st.builds(
        dt.timezone, st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23))
    )
)
hashables = (
    st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(max_size=6)
    | st.uuids()
    | st.datetimes()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
v2_scalars = (
    json_scalars
    | st.floats(allow_nan=False)
    | st.datetimes()
    | aware
    | st.timedeltas(min_value=-dt.timedelta(days=10_000_000), max_value=dt.timedelta(days=10_000_000))
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sets(hashables, max_size=4)
    | st.frozensets(hashables, max_size=4)
)
v2_values = st.recursive(v2_scalars, containers, max_leaves=20)


@PROPERTY
@given(state_entries(json_values, max_size=8), st.booleans())
def test_pode_round_trip(entries: dict[str, tuple[Any, list[str]]], compress: bool) -> None:
    got = decode(encode(entries, compress=compress))
    assert got is not None and got.format == "pode"
    assert same_entries(got.entries, entries)


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(state_entries(v2_values, max_size=6), st.booleans())
def test_v2_round_trip(entries: dict[str, tuple[Any, list[str]]], compress: bool) -> None:
    got = decode(encode(entries, format="pode-v2", compress=compress))
    assert got is not None and got.format == "pode-v2"
    assert same_entries(got.entries, entries)


@PROPERTY
@given(state_entries(json_values, max_size=5))
def test_pode_round_trip_through_a_file(tmp_path_factory: pytest.TempPathFactory, entries: Any) -> None:
    path = tmp_path_factory.mktemp("rt") / "state.json"
    atomic_write(path, encode(entries))
    got = read_file(path)
    assert got is not None and same_entries(got.entries, entries)


# ------------------------------------------------------------------------------------------------
# atomic_write


def temp_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, b"one")
    assert path.read_bytes() == b"one"
    atomic_write(str(path), cast(bytes, bytearray(b"two")))  # any bytes-like object works
    assert path.read_bytes() == b"two"
    atomic_write(path, cast(bytes, memoryview(b"three")))
    assert path.read_bytes() == b"three"
    atomic_write(path, b"")
    assert path.read_bytes() == b""
    assert os.listdir(tmp_path) == ["state.json"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o444, 0o604])
def test_atomic_write_keeps_an_existing_files_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    path.chmod(mode)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_0666_minus_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o666 & ~umask


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(StateFileError, match="does not exist") as info:
        atomic_write(missing / "state.json", b"{}")
    assert str(missing) in str(info.value)
    assert not missing.exists()


def test_a_folder_as_target_fails_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(StateFileError, match="folder"):
        atomic_write(target, b"{}")
    assert (target / "inside").read_text() == "keep"
    assert temp_files(tmp_path) == []


def test_a_failed_write_removes_the_temp_file_and_keeps_the_target(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(path, cast(Any, "text is not bytes"))
    assert path.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_atomic_write_follows_a_symlink_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "state.json").write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real / "state.json")
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert (real / "state.json").read_bytes() == b"new"
    assert temp_files(tmp_path) == [] and temp_files(real) == []
