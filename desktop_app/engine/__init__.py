"""The shared-state engine: pure Python, usable headless and from any thread; it never imports Qt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_app.engine.errors import LockLost, ScriptError, StateFileError, StateStoreError
from desktop_app.engine.locks import Lockable, LockTimeout
from desktop_app.engine.state import SharedState

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

__all__ = [
    "LockLost",
    "LockTimeout",
    "Lockable",
    "ScriptError",
    "Server",
    "SharedState",
    "StateFileError",
    "StateStoreError",
]


def __getattr__(name: str) -> Any:
    # Server pulls in aiohttp and the job modules; import it only when asked for.
    if name == "Server":
        from desktop_app.engine.server import Server

        return Server
    if name == "cron":
        import importlib

        return importlib.import_module("desktop_app.engine.cron")
    raise AttributeError(name)
