"""Recent lists in QSettings: most recent first, once each, bounded, and a bare string read as one item."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from desktop_app.ui.shell.recent_list import recent, remember


def test_recent_first_once_and_bounded(tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert recent(settings, "k") == []
    for entry in ["a", "b", "c", "a"]:
        remember(settings, "k", entry, 3)
    assert recent(settings, "k") == ["a", "c", "b"]
    remember(settings, "k", "d", 3)
    assert recent(settings, "k") == ["d", "a", "c"]


def test_a_single_entry_survives_a_round_trip_through_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    settings = QSettings(path, QSettings.Format.IniFormat)
    remember(settings, "k", "only one", 5)
    settings.sync()
    assert recent(QSettings(path, QSettings.Format.IniFormat), "k") == ["only one"]


def test_a_bare_string_reads_as_a_list_of_one(tmp_path: Path) -> None:
    # What some backends give back for a one-item list, and what a hand-edited ini holds.
    (tmp_path / "s.ini").write_text("[General]\nk=only one\n")
    assert recent(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), "k") == ["only one"]
