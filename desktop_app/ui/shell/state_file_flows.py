"""Opening and saving state files from the window: Replace or Merge, Save / Save As, recent files."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from desktop_app.engine import StateFileError, StateStoreError, persistence
from desktop_app.engine.paths import data_dir, resources_dir
from desktop_app.ui.bridge.edit_commands import ReplaceStateCommand
from desktop_app.ui.common.plural import count
from desktop_app.ui.common.replace_or_merge import ask_replace_or_merge
from desktop_app.ui.shell.recent_list import recent, remember
from desktop_app.ui.shell.save_dialog import FILE_FILTER, SaveOptionsDialog
from desktop_app.ui.shell.window_menus import make_action

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.ui")

def state_file_folder(state_file: Path | None, script: Path | None, resources: Path, data: Path) -> Path:
    """Where Open and Save As start: where the state file is, or is most likely to be.

    The current state file's folder; else a user's script's folder (its ``./state.json`` lives
    there); else, for the bundled demos (whose folder holds no state), the data folder where the
    demo saves ``state.json``.
    """
    if state_file is not None:
        return state_file.parent
    if script is not None and not script.resolve().is_relative_to(resources.resolve()):
        return script.parent
    demo = data / "demo"
    return demo if demo.is_dir() else data


MAX_RECENT = 10
BIG_FILE = 10 * 1024 * 1024
Entries = dict[str, tuple[Any, list[str]]]


class StateFileFlows:
    """The main window's state-file flows: a mixin of MainWindow, which provides what is declared here."""

    server: Server | None
    script: Path | None
    bridge: Any
    view: Any
    undo_stack: Any
    settings: Any
    recent_menu: Any
    state_file: Path | None
    state_format: str
    notify: Callable[[str, str, str], None]
    spawn: Callable[[Awaitable[Any]], Any]
    off_thread: Callable[..., Awaitable[Any]]
    _with_progress: Callable[..., Awaitable[Any]]
    _update_title: Callable[[], None]
    statusBar: Callable[[], Any]

    # -- state files ------------------------------------------------------------------------------

    def dialog_folder(self) -> Path:
        """The folder Open and Save As start in (see ``state_file_folder``)."""
        return state_file_folder(self.state_file, self.script, resources_dir(), data_dir())

    async def open_state_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open state file", str(self.dialog_folder()), FILE_FILTER)
        if path:
            await self.open_state_file(path)

    def ask_merge(self, path: Path) -> bool | None:
        """True = merge, False = replace, None = cancelled (Enter merges)."""
        return ask_replace_or_merge(self, "Open state file", f"Load {path.name} into the live state?", "the file")

    async def open_state_file(self, path: str | os.PathLike[str], merge: bool | None = None) -> bool:
        """Read a state file off the GUI thread and apply it as one undoable step."""
        file = Path(path)
        if self.server is None:
            return False
        if merge is None:
            merge = self.ask_merge(file)
            if merge is None:
                return False
        big = file.is_file() and file.stat().st_size > BIG_FILE
        try:
            loaded = await self._with_progress(f"Reading {file.name}…", persistence.read_file, file, big=big)
        except StateFileError as err:
            self._file_error("Cannot open state file", file, err)
            return False
        if loaded is None:
            self.notify("information", "Open state file", f"{file}\n\nThe file is missing or empty: nothing changed.")
            return False
        server = self.server
        try:
            before = await self.off_thread(_entries_of, server)
        except StateStoreError as err:  # attached, and Redis is away: nothing is loaded
            self._file_error("Cannot open state file", file, err)
            return False
        cmd = ReplaceStateCommand(
            self.bridge,
            before,
            dict(loaded.entries),
            merge,
            f"{'Merge' if merge else 'Open'} {file.name}",
        )
        self.undo_stack.push(cmd)
        self.state_file, self.state_format = file.resolve(), (
            loaded.format if loaded.format in persistence.FORMATS else "pode"
        )
        self._add_recent(self.state_file)
        self._update_title()
        self.statusBar().showMessage(f"Loaded {file} ({loaded.format}, {count(len(loaded.entries), 'entry')})", 5000)
        return True

    async def save_state(self) -> bool:
        if self.state_file is None:
            return await self.save_state_as()
        return await self._save(self.state_file, {"format": self.state_format})

    async def save_state_as(self) -> bool:
        """One dialog: the path (Browse… to pick it), the format and the entries; then the save."""
        suggested = self.state_file or self.dialog_folder() / "state.json"
        dialog = SaveOptionsDialog(suggested, self.state_format, self)
        if dialog.exec() != SaveOptionsDialog.DialogCode.Accepted:
            return False
        opts = dialog.options()
        if await self._save(opts.path, opts.save_kwargs()):
            self.state_file, self.state_format = opts.path.resolve(), opts.format
            self._add_recent(self.state_file)
            self._update_title()
            return True
        return False

    async def _save(self, path: Path, kwargs: dict[str, Any]) -> bool:
        if self.server is None:
            return False
        state = self.server.state
        # on Redis len() is a round trip: the tree's count says as much without one
        n = self.view.model.entry_count() if getattr(state, "store_url", None) else len(state)
        big = n > 50_000 or (path.is_file() and path.stat().st_size > BIG_FILE)
        try:
            await self._with_progress(f"Saving {path.name}…", lambda: state.save(path, **kwargs), big=big)
        except (StateFileError, StateStoreError, ValueError) as err:
            self._file_error("Cannot save state", path, err)
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _file_error(self, title: str, path: Path, err: Exception) -> None:
        log.error("%s: %s", title, err)
        self.notify("critical", title, f"{path}\n\n{err}\n\nThe live state and the file on disk are unchanged."
        )

    # -- recent files -----------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        return recent(self.settings, "recent_files")

    def _add_recent(self, path: Path) -> None:
        remember(self.settings, "recent_files", str(path), MAX_RECENT)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            self.recent_menu.addAction(make_action(self, p, lambda p=p: self.spawn(self.open_state_file(p))))
        self.recent_menu.setEnabled(bool(files))


def _entries_of(server: Server) -> Entries:
    """The whole live state as ``{name: (value, scope)}`` deep copies (taken under the global lockable)."""
    return {name: (e["Value"], list(e["Scope"])) for name, e in server.state.snapshot().items()}
