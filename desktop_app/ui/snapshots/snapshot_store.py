"""Snapshots of the shared state kept as pode-v2 files in a folder: take, list, load, delete, export, prune."""

from __future__ import annotations

import builtins
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from desktop_app.engine import persistence
from desktop_app.engine.errors import StateFileError
from desktop_app.engine.paths import data_dir

Entries = dict[str, tuple[Any, list[str]]]

SIDECAR_SUFFIX = ".meta.json"
SNAPSHOT_FORMAT = "pode-v2"
EXPORT_FORMATS = ("pode", "pode-v2")
# 20261128-041512-123-before-deploy.json: local time to the millisecond, then the label's slug.
_NAME = re.compile(r"^(?P<time>\d{8}-\d{6}-\d{3})(?:-(?P<n>\d+))?(?:-(?P<slug>[a-z0-9-]*))?\.json$")
_TIME_FORMAT = "%Y%m%d-%H%M%S"


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot on disk. ``time`` is naive local time; ``size`` is the file's size in bytes."""

    time: datetime
    label: str
    entries: int
    size: int
    path: Path
    auto: bool = False
    version: int | None = None

    @property
    def title(self) -> str:
        """How a person refers to it: the label, or the time when there is none."""
        return self.label or f"{self.time:%Y-%m-%d %H:%M:%S}"


def slug(label: str, limit: int = 40) -> str:
    """``"Before deploy #2"`` -> ``"before-deploy-2"`` (file-name safe; the label itself is kept in the sidecar)."""
    return re.sub(r"[^a-z0-9]+", "-", label.casefold()).strip("-")[:limit].strip("-")


def entries_of(state: Any) -> Entries:
    """The live state as ``{name: (value, scope)}`` deep copies, from ``state.snapshot()`` (takes the global lockable)."""
    return {name: (e["Value"], list(e["Scope"])) for name, e in state.snapshot().items()}


class SnapshotStore:
    """A folder of snapshots. Survives restarts: ``list()`` reads the folder every time.

    Each snapshot is a pode-v2 state file (any Pode 2.14 can restore it) plus a small JSON sidecar
    ``<file>.meta.json`` with the label, entry count and time, so listing never parses state files.
    Every write is atomic. Methods do file I/O and ``take`` takes the global lockable: call them off
    the GUI thread. Safe to use from several threads at once.

    Example:
        >>> store = SnapshotStore(tmp_path)  # doctest: +SKIP
        >>> info = store.take(server.state, "before deploy")  # doctest: +SKIP
        >>> server.state.load_entries(store.load(info))  # doctest: +SKIP
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = Path(folder) if folder is not None else None
        self._lock = threading.Lock()  # picks unique file names; never held while reading the state

    @property
    def folder(self) -> Path:
        """The snapshots folder; the default (``data_dir() / "snapshots"``) is resolved on first use,
        so creating a store does no file I/O (the GUI thread may create one)."""
        if self._folder is None:
            self._folder = data_dir() / "snapshots"
        return self._folder

    # -- writing ------------------------------------------------------------------------------------

    def take(self, state: Any, label: str = "", *, auto: bool = False) -> SnapshotInfo:
        """Snapshot ``state`` (a SharedState) into a new file.

        Args:
            label: free text shown in the list; its slug goes into the file name.
            auto: marks automatic snapshots, which ``prune(keep, auto_only=True)`` trims.

        Raises:
            StateFileError: a value pode-v2 cannot hold (naming its key path), or the file could not be written.
        """
        version = getattr(state, "version", None)
        entries = entries_of(state)
        return self.take_entries(entries, label, auto=auto, version=version)

    def take_entries(
        self, entries: Entries, label: str = "", *, auto: bool = False, version: int | None = None
    ) -> SnapshotInfo:
        """Write ``{name: (value, scope)}`` as a snapshot (what ``take`` does after reading the state)."""
        label = label.strip()
        when = datetime.now()
        # Compact JSON: pode-v2's typed envelope is ~3.5x bigger (and slower to write) indented.
        data = persistence.encode(entries, format=SNAPSHOT_FORMAT, compress=True)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._free_name(when, slug(label))
            persistence.atomic_write(path, data)
            meta = {
                "label": label,
                "entries": len(entries),
                "time": when.isoformat(timespec="milliseconds"),
                "auto": auto,
                "version": version,
                "format": SNAPSHOT_FORMAT,
            }
            persistence.atomic_write(_sidecar(path), orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")
        return SnapshotInfo(when, label, len(entries), len(data), path, auto, version)

    def _free_name(self, when: datetime, label_slug: str) -> Path:
        stamp = f"{when:{_TIME_FORMAT}}-{when.microsecond // 1000:03d}"
        tail = f"-{label_slug}" if label_slug else ""
        path = self.folder / f"{stamp}{tail}.json"
        n = 2
        while path.exists():  # two snapshots in the same millisecond
            path = self.folder / f"{stamp}-{n}{tail}.json"
            n += 1
        return path

    # -- reading ------------------------------------------------------------------------------------

    def list(self) -> builtins.list[SnapshotInfo]:
        """Every snapshot in the folder, newest first. Files that are not snapshots are ignored."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            name = path.name
            if name.endswith(SIDECAR_SUFFIX) or not _NAME.match(name):
                continue
            info = self._info(path)
            if info is not None:
                found.append(info)
        found.sort(key=lambda i: (i.time, i.path.name), reverse=True)
        return found

    def _info(self, path: Path) -> SnapshotInfo | None:
        match = _NAME.match(path.name)
        if match is None:
            return None
        try:
            size = path.stat().st_size
        except OSError:  # deleted meanwhile
            return None
        when = datetime.strptime(match["time"][:-4], _TIME_FORMAT).replace(
            microsecond=int(match["time"][-3:]) * 1000
        )
        label = (match["slug"] or "").replace("-", " ")
        meta: dict[str, Any] = {}
        try:
            loaded = orjson.loads(_sidecar(path).read_bytes())
            if isinstance(loaded, dict):
                meta = loaded
        except (OSError, orjson.JSONDecodeError):
            pass  # no sidecar (a file copied in by hand): fall back to the name and the file itself
        entries = meta.get("entries")
        if not isinstance(entries, int):
            try:
                loaded_file = persistence.read_file(path)
            except StateFileError:
                return None
            entries = len(loaded_file.entries) if loaded_file is not None else 0
        if isinstance(meta.get("label"), str):
            label = meta["label"]
        version = meta.get("version")
        return SnapshotInfo(
            when,
            label,
            entries,
            size,
            path,
            bool(meta.get("auto", False)),
            version if isinstance(version, int) else None,
        )

    def load(self, info: SnapshotInfo) -> Entries:
        """The snapshot's entries ``{name: (value, scope)}``.

        Raises:
            StateFileError: the file is gone or cannot be read as a state file.
        """
        if not info.path.exists():
            raise StateFileError("the snapshot file no longer exists", path=info.path)
        loaded = persistence.read_file(info.path)
        if loaded is None:
            return {}
        return {name: (value, list(scope)) for name, (value, scope) in loaded.entries.items()}

    # -- managing -----------------------------------------------------------------------------------

    def delete(self, info: SnapshotInfo) -> None:
        """Remove the snapshot and its sidecar (a missing file is not an error)."""
        info.path.unlink(missing_ok=True)
        _sidecar(info.path).unlink(missing_ok=True)

    def export(self, info: SnapshotInfo, path: str | os.PathLike[str], format: str = "pode") -> Path:
        """Write the snapshot to ``path`` as a state file any Pode (``"pode"``) or Pode 2.14 (``"pode-v2"``) reads.

        Raises:
            ValueError: an unknown format.
            StateFileError: a value the "pode" format cannot hold (datetime, set, ...: export as
                "pode-v2" instead), or the file could not be written. Nothing is written then.
        """
        if format not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}")
        target = Path(path)
        entries = self.load(info)
        data = persistence.encode(entries, format=format, path=target)
        persistence.atomic_write(target, data)
        return target

    def prune(self, keep: int, *, auto_only: bool = False) -> builtins.list[SnapshotInfo]:
        """Delete all but the newest ``keep`` snapshots (only automatic ones with ``auto_only``); returns those deleted."""
        if keep < 0:
            raise ValueError(f"keep must be 0 or more, got {keep}")
        candidates = [i for i in self.list() if i.auto or not auto_only]
        doomed = candidates[keep:]
        for info in doomed:
            self.delete(info)
        return doomed


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name[: -len(".json")] + SIDECAR_SUFFIX)
