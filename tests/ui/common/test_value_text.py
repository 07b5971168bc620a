"""Values read as JSON in the GUI (as the state files write them), and non-JSON values one readable way everywhere."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from desktop_app.engine.diff import Change
from desktop_app.ui.bridge.entry_snapshot import freeze
from desktop_app.ui.common.value_text import full_text, preview
from desktop_app.ui.snapshots.diff_view import value_text, value_tooltip

WHEN = dt.datetime(2024, 5, 1, 12, 30)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_json_data_reads_as_json() -> None:
    assert (
        preview({"host": "db", "debug": True, "retries": None})
        == '{"host": "db", "debug": true, "retries": null}'
    )
    assert preview("hello") == '"hello"'
    assert preview('say "hi"\nbye') == '"say \\"hi\\"\\nbye"'
    assert preview([1, 1.0, 1.5e-07, False]) == "[1, 1.0, 1.5e-07, false]"
    assert preview([float("nan"), float("inf"), -float("inf")]) == "[NaN, Infinity, -Infinity]"


def test_non_json_values_have_one_readable_form() -> None:
    assert preview(WHEN) == "2024-05-01T12:30:00"
    assert preview(dt.date(2024, 5, 1)) == "2024-05-01"
    assert preview(ID) == "12345678-1234-5678-1234-567812345678"
    assert preview(decimal.Decimal("1.10")) == "1.10"
    assert preview((1, "a")) == '(1, "a")' and preview((1,)) == "(1)"
    assert preview({3, 1, 2}) == "{1, 2, 3}" and preview(frozenset({"b", "a"})) == '{"a", "b"}'
    assert (
        preview({"at": WHEN, "ids": (ID,)})
        == '{"at": 2024-05-01T12:30:00, "ids": (12345678-1234-5678-1234-567812345678)}'
    )


def test_several_lines_for_tooltips_keep_short_parts_on_one_line() -> None:
    value = {"name": "x" * 70, "tags": {"b", "a"}, "pos": (1, 2), "ok": True}
    assert full_text(value).splitlines() == [
        "{",
        f'  "name": "{"x" * 70}",',
        '  "tags": {"a", "b"},',
        '  "pos": (1, 2),',
        '  "ok": true',
        "}",
    ]
    assert full_text(list(range(500)), lines=5).endswith("\n…")


def test_the_diff_shows_values_as_the_tree_does() -> None:
    change = Change("changed", ("cfg", "greeting"), "hello", "bye")
    assert value_text(change) == '"hello" → "bye"'
    assert (
        value_text(Change("changed", ("cfg",), {"debug": True}, {"debug": None}))
        == '{"debug": true} → {"debug": null}'
    )
    for value in (WHEN, ID, decimal.Decimal("2.50"), {1, 2}, (1, "a")):
        tree_text = preview(freeze(value))  # what the tree's Value column shows for it
        assert value_text(Change("added", ("x",), None, value)) == tree_text
        assert value_tooltip(Change("added", ("x",), None, value)) == f"added:\n{full_text(freeze(value))}"
    assert "new (datetime)" in value_tooltip(Change("changed", ("x",), None, WHEN))
