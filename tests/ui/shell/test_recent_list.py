"""Recent lists in QSettings: most recent first, once each, bounded, and a one-item list read back whole."""

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
    # An ini file stores a one-item list as a bare string: it must come back as a list of one.
    assert recent(QSettings(path, QSettings.Format.IniFormat), "k") == ["only one"]
