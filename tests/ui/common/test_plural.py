"""Counted nouns read as people say them ("1 entry", never "1 entries")."""

from __future__ import annotations

import pytest

from desktop_app.ui.common.plural import count, plural


@pytest.mark.parametrize(
    ("n", "noun", "text"),
    [
        (0, "entry", "0 entries"),
        (1, "entry", "1 entry"),
        (2, "entry", "2 entries"),
        (1, "snapshot", "1 snapshot"),
        (1500, "change", "1,500 changes"),
    ],
)
def test_count(n: int, noun: str, text: str) -> None:
    assert count(n, noun) == text


def test_plural() -> None:
    assert plural("entry", 1) == "entry" and plural("entry", 3) == "entries" and plural("lock", 2) == "locks"
