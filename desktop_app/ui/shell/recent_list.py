"""A most-recent-first list of strings kept in QSettings (recent files, recent connections)."""

from __future__ import annotations

from PySide6.QtCore import QSettings


def recent(settings: QSettings, key: str) -> list[str]:
    """The list under ``key``; QSettings gives back a bare string for a one-item list, and None for none."""
    value = settings.value(key, [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def remember(settings: QSettings, key: str, entry: str, limit: int) -> None:
    """Put ``entry`` first under ``key`` (once), keeping at most ``limit`` entries."""
    items = [e for e in recent(settings, key) if e != entry]
    settings.setValue(key, [entry, *items][:limit])
