"""What a state file may hold is the same everywhere: one nesting limit, valid names, 64-bit integers.

Whatever restore accepts, save writes back in the same format and snapshot, diff, inspect and
convert handle; anything else is refused at the file boundary with a StateFileError naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from desktop_app.cli import main
from desktop_app.engine import SharedState, StateFileError
from desktop_app.engine.diff import diff_states
from desktop_app.engine.persistence import FORMATS, MAX_DEPTH, decode, encode, read_file

KINDS = ["list", "dict", "mixed"]


def nest(depth: int, kind: str, leaf: Any = 1) -> Any:
    """``depth`` containers inside each other around ``leaf`` (``[[1]]`` has depth 2)."""
    value = leaf
    for level in range(depth):
        as_list = kind == "list" or (kind == "mixed" and level % 2)
        value = [value] if as_list else {"k": value}
    return value


def v2_typed(value: Any) -> Any:
    """``value`` in pode-v2's typed form, built by hand (the encoder refuses what is too deep)."""
    if isinstance(value, list):
        return [v2_typed(item) for item in value]
    if isinstance(value, dict):
        return {"Type": "Hashtable", "Items": [{"Key": k, "Value": v2_typed(v)} for k, v in value.items()]}
    return {"Type": "Int32", "Value": value}


def v2_document(entries: dict[str, Any]) -> dict[str, Any]:
    items = []
    for name, value in entries.items():
        entry = {
            "Type": "ConcurrentDictionary",
            "Items": [{"Key": "Value", "Value": value}, {"Key": "Scope", "Value": []}],
        }
        items.append({"Key": name, "Value": entry})
    return {
        "__pode_state_metadata__": {"Version": 2, "Timestamp": "2026-01-01T00:00:00.000Z"},
        "__pode_state_data__": {"Type": "ConcurrentDictionary", "Items": items},
    }


def write_file(path: Path, fmt: str, entries: dict[str, Any]) -> Path:
    """A state file written without our encoder, so it may hold what the encoder refuses."""
    if fmt == "pode":
        document: Any = {name: {"Value": value, "Scope": []} for name, value in entries.items()}
    elif fmt == "pode-legacy":
        document = entries
    else:
        document = v2_document({name: v2_typed(value) for name, value in entries.items()})
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------------------------------------
# Nesting


@pytest.mark.parametrize("kind", KINDS)
def test_max_depth_round_trips_through_every_path(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value = nest(MAX_DEPTH, kind)
    other = nest(MAX_DEPTH, kind, leaf=2)
    state = SharedState()
    state.set("deep", value, scope="users")
    assert state.snapshot()["deep"]["Value"] == value
    files = {}
    for fmt in FORMATS:
        path = files[fmt] = state.save(tmp_path / f"{fmt}.json", format=fmt)
        back = SharedState()
        assert back.restore(path) == fmt
        assert back.get("deep") == value and back.get("deep", with_scope=True)["Scope"] == ["users"]
        assert back.snapshot()["deep"]["Value"] == value
        assert diff_states({"deep": value}, {"deep": back.get("deep")}) == []
        (change,) = diff_states({"deep": back.get("deep")}, {"deep": other})
        assert len(change.path) == MAX_DEPTH + 1 and (change.old, change.new) == (1, 2)
        back.save(path, format=fmt)  # what was restored saves again
        assert decode(path.read_bytes()) == read_file(path)

    assert main(["inspect", str(files["pode"]), "--depth", str(MAX_DEPTH + 5)]) == 0
    assert main(["inspect", str(files["pode-v2"]), "--depth", str(MAX_DEPTH + 5)]) == 0
    assert capsys.readouterr().out.count("\n") > 2 * MAX_DEPTH
    assert main(["diff", str(files["pode"]), str(files["pode-v2"])]) == 0
    for source, fmt in [("pode", "pode-v2"), ("pode-v2", "pode")]:
        out = tmp_path / f"{source}-to-{fmt}.json"
        assert main(["convert", str(files[source]), str(out), "--format", fmt]) == 0
        loaded = read_file(out)
        assert loaded is not None and loaded.format == fmt and loaded.entries["deep"][0] == value


@pytest.mark.parametrize("compress", [False, True])
def test_v2_files_deeper_than_one_orjson_call_are_valid_json(compress: bool) -> None:
    # 200 dict levels are 600+ JSON levels in pode-v2, beyond what orjson writes in one call.
    value = nest(MAX_DEPTH, "dict")
    data = encode({"deep": (value, [])}, format="pode-v2", compress=compress)
    assert json.loads(data)["__pode_state_data__"]["Items"][0]["Key"] == "deep"
    got = decode(data)
    assert got is not None and got.entries["deep"][0] == value


@pytest.mark.parametrize("fmt", ["pode", "pode-legacy", "pode-v2"])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_one_level_more_is_refused_at_restore_naming_the_file(
    fmt: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "deep.json", fmt, {"ok": 1, "deep": nest(MAX_DEPTH + 1, kind)})
    state = SharedState()
    state.set("keep", 1)
    with pytest.raises(StateFileError) as info:
        state.restore(path)
    err = info.value
    assert err.path == str(path) and f"{MAX_DEPTH} levels" in err.reason
    assert err.key_path is not None and err.key_path.startswith("deep")
    assert state.names() == ["keep"]
    for args in (["inspect", str(path)], ["diff", str(path), str(path)]):
        assert str(path) in cli_error(args, capsys)
    out = tmp_path / "out.json"
    cli_error(["convert", str(path), str(out), "--format", "pode"], capsys)
    assert not out.exists()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 2, 252, 253, 500, 1022])
def test_files_that_restored_but_could_not_be_saved_are_refused(depth: int) -> None:
    data = b'{"deep": {"Value": ' + b"[" * depth + b"1" + b"]" * depth + b', "Scope": []}}'
    with pytest.raises(StateFileError, match=f"{MAX_DEPTH} levels"):
        decode(data)


def test_a_deeper_value_can_be_set_but_not_saved(tmp_path: Path) -> None:
    # The state holds any value by reference (set does not walk values: it is the hot path);
    # the file boundary refuses, naming the key path, and writes nothing.
    state = SharedState()
    state.set("deep", {"a": nest(MAX_DEPTH, "list")})
    assert state.snapshot()["deep"]["Value"] == {"a": nest(MAX_DEPTH, "list")}
    for fmt in FORMATS:
        with pytest.raises(StateFileError) as info:
            state.save(tmp_path / "s.json", format=fmt)
        assert f"{MAX_DEPTH} levels" in info.value.reason
        assert info.value.key_path is not None and info.value.key_path.startswith("deep.a[0]")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_depth_below_the_limit_still_names_depth(fmt: str) -> None:
    with pytest.raises(StateFileError, match=r"depth=3\b"):
        encode({"d": (nest(4, "mixed"), [])}, format=fmt, depth=3)
    with pytest.raises(StateFileError, match=f"{MAX_DEPTH} levels"):
        encode({"d": (nest(MAX_DEPTH + 1, "mixed"), [])}, format=fmt, depth=MAX_DEPTH + 50)


# ------------------------------------------------------------------------------------------------
# Entry names

NAME_FORMATS = ["pode", "pode-legacy", "pode-v2"]


def refused_everywhere(path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> StateFileError:
    """Restore, inspect, diff and convert all refuse ``path`` naming it; the state is untouched."""
    state = SharedState()
    state.set("keep", 1)
    with pytest.raises(StateFileError) as info:
        state.restore(path)
    assert info.value.path == str(path)
    with pytest.raises(StateFileError):
        state.restore(path, merge=True)
    assert state.names() == ["keep"]
    for args in (["inspect", str(path)], ["diff", str(path), str(path)]):
        assert str(path) in cli_error(args, capsys)
    out = tmp_path / "converted.json"
    for fmt in FORMATS:
        assert str(path) in cli_error(["convert", str(path), str(out), "--format", fmt], capsys)
        assert not out.exists()
    return info.value


@pytest.mark.parametrize("fmt", NAME_FORMATS)
def test_an_empty_name_is_refused_everywhere(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "s.json", fmt, {"ok": 1, "": 2})
    err = refused_everywhere(path, capsys, tmp_path)
    assert "empty name" in err.reason


@pytest.mark.parametrize("fmt", NAME_FORMATS)
@pytest.mark.parametrize(("first", "second"), [("Count", "count"), ("straße", "STRASSE"), ("ǅ", "ǆ")])
def test_names_differing_only_in_case_are_refused_naming_both(
    fmt: str, first: str, second: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "s.json", fmt, {"ok": 1, first: 1, "other": 2, second: 3})
    err = refused_everywhere(path, capsys, tmp_path)
    assert json.dumps(first, ensure_ascii=False) in err.reason
    assert json.dumps(second, ensure_ascii=False) in err.reason
    assert "case" in err.reason


def test_a_v2_name_given_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = v2_document({"twice": {"Type": "Int32", "Value": 1}, "ok": None})
    items = document["__pode_state_data__"]["Items"]
    items.append({**items[0], "Key": "twice"})
    path = tmp_path / "s.json"
    path.write_text(json.dumps(document))
    err = refused_everywhere(path, capsys, tmp_path)
    assert '"twice"' in err.reason and "twice" in err.reason.replace('"twice"', "")


def test_names_that_differ_beyond_case_still_restore(tmp_path: Path) -> None:
    names = ["count", "count ", "Count2", "c0unt", "ÇOUNT", "file", " "]
    for fmt in NAME_FORMATS:
        path = write_file(tmp_path / f"{fmt}.json", fmt, {name: 1 for name in names})
        state = SharedState()
        state.restore(path)
        assert sorted(state.names()) == sorted(names)


@pytest.mark.parametrize("fmt", FORMATS)
def test_encode_refuses_names_a_restore_would_refuse(fmt: str) -> None:
    with pytest.raises(StateFileError, match="empty name"):
        encode({"ok": (1, []), "": (2, [])}, format=fmt)
    with pytest.raises(StateFileError, match="case") as info:
        encode({"Count": (1, []), "count": (2, [])}, format=fmt)
    assert '"Count"' in info.value.reason and '"count"' in info.value.reason


# ------------------------------------------------------------------------------------------------
# Integers beyond 64 bits

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


def raw_pode(path: Path, value_json: str, fmt: str = "pode") -> Path:
    """A file whose value is given as JSON text (json.dumps would not keep a big int's spelling)."""
    value = '{"a": [1, @]}'.replace("@", value_json)
    if fmt == "pode":
        text = '{"ok": {"Value": 1, "Scope": []}, "n": {"Value": @, "Scope": []}}'.replace("@", value)
    else:
        text = '{"ok": 1, "n": @}'.replace("@", value)
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["pode", "pode-legacy"])
@pytest.mark.parametrize(
    "text",
    [str(UINT64_MAX + 1), str(INT64_MIN - 1), "1" + "0" * 30, "-1" + "0" * 30, "1" + "0" * 400],
    ids=["2**64", "-2**63-1", "1e30", "-1e30", "400 digits"],
)
def test_a_pode_int_beyond_64_bits_is_refused_naming_its_key_path(
    fmt: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = raw_pode(tmp_path / "big.json", text, fmt)
    err = refused_everywhere(path, capsys, tmp_path)
    assert err.key_path == "n.a[1]" and f"int {text} does not fit in 64 bits" in err.reason


@pytest.mark.parametrize("fmt", ["pode", "pode-legacy"])
def test_an_int_too_long_for_pythons_digit_limit_is_one_clear_error(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = raw_pode(tmp_path / "big.json", "1" + "0" * 5000, fmt)
    refused_everywhere(path, capsys, tmp_path)


@pytest.mark.parametrize("fmt", ["pode", "pode-legacy"])
def test_pode_ints_at_the_64_bit_bounds_and_big_floats_are_kept(fmt: str, tmp_path: Path) -> None:
    for text, expected in [
        (str(UINT64_MAX), UINT64_MAX),
        (str(INT64_MIN), INT64_MIN),
        ("1e20", 1e20),
        ("18446744073709551616.0", 2.0**64),
        ("-1.8446744073709552e19", -(2.0**64)),
        ('"123456789012345678901234567890"', "123456789012345678901234567890"),
    ]:
        path = raw_pode(tmp_path / "ok.json", text, fmt)
        state = SharedState()
        state.restore(path)
        got = state.get("n")["a"][1]
        assert got == expected and type(got) is type(expected), text
        state.save(tmp_path / "again.json")  # and it saves back


def v2_raw(path: Path, value_json: str) -> Path:
    document = json.dumps(v2_document({"ok": None, "n": "@VALUE@"}))
    path.write_text(document.replace('"@VALUE@"', value_json))
    return path


@pytest.mark.parametrize(
    "value_json",
    [
        '{"Type": "Int64", "Value": 18446744073709551616}',
        '{"Type": "UInt64", "Value": -9223372036854775809}',
        '[1, {"Type": "Int32", "Value": 100000000000000000000000000000}]',
        "[1, 18446744073709551616]",  # a raw number, as Pode's decoder also reads them
        '{"Type": "TimeSpan", "Value": 9223372036854775808}',  # beyond what a TimeSpan (and we) can write
    ],
)
def test_a_v2_int_beyond_64_bits_is_refused(
    value_json: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused_everywhere(v2_raw(tmp_path / "big.json", value_json), capsys, tmp_path)
    assert err.key_path is not None and err.key_path.startswith("n")
    assert "64 bits" in err.reason or "TimeSpan" in err.reason


def test_a_v2_decimal_written_as_a_big_json_number_is_read_exactly(tmp_path: Path) -> None:
    from decimal import Decimal

    # Pode writes a [decimal] as a JSON number: its biggest is 29 digits, beyond a double's precision.
    path = v2_raw(tmp_path / "dec.json", '[{"Type": "Decimal", "Value": 79228162514264337593543950335}]')
    state = SharedState()
    state.restore(path)
    assert state.get("n") == [Decimal("79228162514264337593543950335")]
    state.save(tmp_path / "again.json", format="pode-v2")
    again = SharedState()
    again.restore(tmp_path / "again.json")
    assert again.get("n") == [Decimal("79228162514264337593543950335")]


def test_v2_big_doubles_stay_doubles(tmp_path: Path) -> None:
    path = v2_raw(tmp_path / "d.json", '[{"Type": "Double", "Value": 18446744073709551616}, 1e300]')
    state = SharedState()
    state.restore(path)
    assert state.get("n") == [2.0**64, 1e300]


# ------------------------------------------------------------------------------------------------
# Values the pode-v2 writer cannot write back


@pytest.mark.parametrize("text", ["NaN", "sNaN", "-nan", "sNaN12", "Infinity", "-Infinity", "inf"])
def test_a_v2_decimal_nan_or_infinity_is_refused(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # .NET's Decimal has neither: Pode cannot read such a file and our writer refuses to write one.
    path = v2_raw(tmp_path / "dec.json", json.dumps([{"Type": "Decimal", "Value": text}]))
    err = refused_everywhere(path, capsys, tmp_path)
    assert err.key_path == "n[0]" and "Decimal" in err.reason


def test_finite_v2_decimals_still_restore(tmp_path: Path) -> None:
    from decimal import Decimal

    texts = ["-0", "1E+5", "0.10", "-12.5e-3", "79228162514264337593543950335"]
    path = v2_raw(tmp_path / "dec.json", json.dumps([{"Type": "Decimal", "Value": t} for t in texts]))
    state = SharedState()
    state.restore(path)
    assert [str(d) for d in state.get("n")] == [str(Decimal(t)) for t in texts]


def test_a_long_key_path_is_shortened_in_the_message_but_kept_whole(tmp_path: Path) -> None:
    path = write_file(tmp_path / "deep.json", "pode", {"deep": nest(MAX_DEPTH + 1, "list")})
    with pytest.raises(StateFileError) as info:
        read_file(path)
    err = info.value
    assert err.key_path == "deep" + "[0]" * MAX_DEPTH
    message = str(err)
    assert len(message) < 400 and message.startswith(f"{path}, at deep[0][0]") and err.reason in message
    assert "…" in message and "[0][0]: nested deeper" in message


@pytest.mark.parametrize(
    "value_json",
    [
        '{"Type": "Guid", "Value": 18446744073709551616}',
        '{"Type": "Boolean", "Value": -18446744073709551616}',
        '{"Type": "Double", "Value": 1' + "0" * 400 + "}",
        '{"Type": 18446744073709551616, "Value": 1}',
        '{"Type": "Hashtable", "Items": [{"Key": 18446744073709551616, "Value": 1}]}',
    ],
)
def test_big_ints_in_other_places_of_a_v2_file_are_one_clear_error(
    value_json: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused_everywhere(v2_raw(tmp_path / "big.json", value_json), capsys, tmp_path)
    assert err.key_path is not None and err.key_path.startswith("n")


def test_a_big_int_version_is_an_unsupported_version(tmp_path: Path) -> None:
    text = (
        v2_raw(tmp_path / "v.json", "1")
        .read_text()
        .replace('"Version": 2', '"Version": 18446744073709551618')
    )
    with pytest.raises(StateFileError, match="unsupported state file version 18446744073709551618"):
        decode(text.encode())


def test_a_lone_surrogate_deep_in_a_v2_value_names_its_key_path() -> None:
    value = nest(MAX_DEPTH - 1, "dict", leaf={"bad": "\ud800"})
    with pytest.raises(StateFileError, match="surrogate") as info:
        encode({"deep": (value, [])}, format="pode-v2")
    assert info.value.key_path == "deep" + ".k" * (MAX_DEPTH - 1) + ".bad"
