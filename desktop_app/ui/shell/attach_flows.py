"""Attaching the window to a shared state on Redis and detaching from it (a mixin of MainWindow).

Attached, the window shows a namespace other processes run on: the tree follows its change feed
(edits go to Redis, under the fleet's global lockable), the Processes dock lists the processes by
their heartbeats, the Locks dock shows every process's lockables, and the Jobs dock the jobs of the
process selected in the Processes dock (read-only). The in-process server is stopped meanwhile and
started again by *Detach*. All Redis I/O runs off the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from desktop_app.engine import StateStoreError
from desktop_app.engine.redis.fleet import Fleet
from desktop_app.ui.bridge.remote_jobs import ProcessJobs
from desktop_app.ui.bridge.stream_reader import Connection
from desktop_app.ui.common.plural import count
from desktop_app.ui.shell.attach_dialog import MAX_RECENT, AttachDialog, AttachRequest, recent_entry
from desktop_app.ui.shell.connection_banner import grey_out
from desktop_app.ui.shell.dock_layout import size_processes_dock
from desktop_app.ui.shell.recent_list import recent, remember

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

log = logging.getLogger("desktop_app.ui")

EMPTY_NAMESPACE_HINT = (
    "Nobody has written to namespace '{ns}' on {url} yet.\n\n"
    "Entries appear here as soon as a process writes one: start one with\n"
    "state-studio run SCRIPT --headless --store {url} --namespace {ns}"
)
NO_PROCESS_SELECTED = "Select a process in the Processes dock to see its jobs (read-only)."


def open_attached(url: str, namespace: str) -> Server:
    """A server on ``url``/``namespace`` for the window (not started: it runs no jobs), once Redis answered.

    Raises:
        StateStoreError: Redis cannot be reached (within a few seconds).
        ValueError: a malformed URL or namespace.
    """
    # Imported here, off the GUI thread: the window paints before the server's modules load.
    from desktop_app.engine.server import Server

    server = Server(store=url, namespace=namespace)
    state: Any = server.state
    Fleet(state.lock_space.conn, namespace).ping()
    return server


def check_connection(url: str, namespace: str) -> str:
    """What the dialog's Test button says about a URL and namespace (raises with the reason on failure)."""
    info = Fleet.open(url, namespace).ping()
    entries = (
        f"{count(info['entries'], 'entry')} (version {info['version']:,})"
        if info["entries"] or info["version"]
        else "no entries yet (nobody has written to it)"
    )
    return (
        f"Redis {info['redis_version']} answers. Namespace '{namespace}': {entries}; "
        f"{count(info['processes'], 'process')} beating."
    )


class AttachFlows:
    """The attach / detach flows: a mixin of MainWindow, which provides what is declared here."""

    server: Server | None
    settings: Any
    bridge: Any
    view: Any
    fleet: Any
    banner: Any
    undo_stack: Any
    locks_dock: Any
    jobs_dock: Any
    processes_dock: Any
    status_bar: Any
    notify: Callable[[str, str, str], None]
    off_thread: Callable[..., Awaitable[Any]]
    load_script: Callable[[Any], Awaitable[bool]]
    _attach: Callable[[Any], None]
    _update_title: Callable[[], None]
    _show_server_state: Callable[[], None]
    statusBar: Callable[[], Any]

    attached: AttachRequest | None = None
    after_attach: Callable[[], None] | None = None
    """Called once attached (the app settles the garbage collector there; tests leave it None)."""
    _local_server: Server | None = None
    _jobs_shown: ProcessJobs | None = None

    # -- attach -----------------------------------------------------------------------------------

    def recent_connections(self) -> list[str]:
        return recent(self.settings, "recent_connections")

    def _remember_connection(self, request: AttachRequest) -> None:
        remember(self.settings, "recent_connections", recent_entry(request), MAX_RECENT)

    def attach_dialog(self, *, url: str = "", namespace: str = "") -> AttachDialog:
        """File -> Attach to shared state…: the dialog (shown non-modally); accepting it attaches."""
        last = self.attached
        dialog = AttachDialog(
            self.recent_connections(),
            check_connection,
            self,  # type: ignore[arg-type]
            url=url or (last.url if last is not None else ""),
            namespace=namespace or (last.namespace if last is not None else ""),
        )
        dialog.accepted.connect(
            lambda: self.spawn(self.attach(dialog.request().url, dialog.request().namespace))
        )  # type: ignore[attr-defined]
        dialog.open()
        return dialog

    async def attach(self, url: str, namespace: str) -> bool:
        """Show the state on ``url``/``namespace``; on failure the window stays as it was and says why."""
        request = AttachRequest(url, namespace)
        self.statusBar().showMessage(f"Attaching to {request.shown}…")
        try:
            server = await self.off_thread(open_attached, url, namespace)
        except (StateStoreError, ValueError) as err:
            log.error("cannot attach to %s: %s", request.shown, err)
            self.statusBar().clearMessage()
            self.notify(
                "critical",
                "Cannot attach",
                f"{request.shown}\n\n{err}\n\nThe window keeps showing what it showed.",
            )
            return False
        previous = self.server
        if self.attached is None and previous is not None:
            # Stopped, not dropped: Detach starts it again with its state as it was.
            self._local_server = previous
            await self.off_thread(previous.stop)
        self.attached = request
        self.server = server
        self.undo_stack.clear()
        self._remember_connection(request)
        self._attach(server)
        self._show_jobs_of(None)
        self.fleet.attach(server)
        self.processes_dock.set_attached(request.shown)
        if not self.processes_dock.isVisible():
            self.processes_dock.show()
            QTimer.singleShot(0, lambda: size_processes_dock(self))  # type: ignore[arg-type]
        self.processes_dock.raise_()
        self._set_stale(False)
        self._hint_if_empty()
        if self.after_attach is not None:
            self.after_attach()
        log.info("attached to %s", request.shown)
        self.statusBar().showMessage(f"Attached to {request.shown}", 5000)
        return True

    async def detach(self) -> bool:
        """Back to the in-process engine: the server the window ran before attaching, started again."""
        if self.attached is None:
            return False
        shown = self.attached.shown
        self._leave_attached()
        local, self._local_server = self._local_server, None
        if local is None:
            ok = await self.load_script(getattr(self, "script", None))
        else:
            self.server = local
            self.undo_stack.clear()
            await self.off_thread(local.start)
            self._attach(local)
            ok = True
        log.info("detached from %s", shown)
        self.statusBar().showMessage(f"Detached from {shown}", 5000)
        return ok

    def _leave_attached(self) -> None:
        """Forget the attachment (fleet, processes, banner); the caller shows another server."""
        self.attached = None
        self.fleet.detach()
        self.processes_dock.set_attached(None)
        self._show_jobs_of(None)
        self._set_stale(False)
        self.view.tree.set_placeholder("")

    # -- while attached ---------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if self.attached is None:
            return
        if connection.ok:
            self.banner.show_back()
            self._set_stale(False)
            self.statusBar().showMessage(
                f"Connection back: {connection.url}; the tree is resynchronised", 8000
            )
        else:
            self.banner.show_lost(connection.url, connection.text, connection.retry_in, connection.attempts)
            self._set_stale(True)
        self._update_title()

    def _set_stale(self, stale: bool) -> None:
        grey_out(self.view.tree, stale)
        if not stale:
            self.banner.show_back()

    def _on_fleet_updated(self) -> None:
        if self.attached is None:
            return
        self.bridge.show_lock_status(self.fleet.global_status())
        shown = self._jobs_shown
        if shown is not None:
            info = self.fleet.process(shown.key)
            if info is not None:
                shown.update(info.jobs)

    def _on_process_selected(self, key: str | None) -> None:
        if self.attached is not None:
            self._show_jobs_of(key)

    def _show_jobs_of(self, key: str | None) -> None:
        """The Jobs dock shows the selected process's jobs (read-only), or a hint while none is selected."""
        info = self.fleet.process(key) if key is not None else None
        if info is None:
            self._jobs_shown = None
            self.jobs_dock.set_server(None)
            self.jobs_dock.setWindowTitle("Jobs")
            if self.attached is not None:
                self.jobs_dock.status.setText(NO_PROCESS_SELECTED)
            return
        self._jobs_shown = ProcessJobs(info.key, info.jobs)
        self.jobs_dock.set_server(self._jobs_shown)
        self.jobs_dock.setWindowTitle(f"Jobs — {info.key}")

    def _hint_if_empty(self, *_: Any) -> None:
        """An empty namespace is not an error: the tree says so and how entries get there."""
        request = self.attached
        if request is None:
            return
        empty = self.view.model.rowCount() == 0
        url, _, _ = request.shown.partition(" · ")
        self.view.tree.set_placeholder(
            EMPTY_NAMESPACE_HINT.format(ns=request.namespace, url=url) if empty else ""
        )
