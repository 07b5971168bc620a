"""Engine -> Qt: a "bridge" thread hands immutable snapshots to the GUI at <= 30 Hz; a "gui-edit" thread applies edits."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from desktop_app.ui.bridge.bridge_limits import clock as feed_clock
from desktop_app.ui.bridge.entry_snapshot import EntrySnapshot, LockStatus, Opaque, Pending, StateDelta
from desktop_app.ui.bridge.feed_reader import FeedReader, Frame, Status
from desktop_app.ui.bridge.process_load import gui_process_load
from desktop_app.ui.bridge.stream_reader import Connection, StreamFeedReader

if TYPE_CHECKING:
    from desktop_app.engine.server import Server

__all__ = [
    "Connection",
    "EditHandle",
    "EntrySnapshot",
    "LockStatus",
    "Opaque",
    "Pending",
    "StateBridge",
    "StateDelta",
]

log = logging.getLogger("desktop_app.ui.bridge.state_bridge")
T = TypeVar("T")

EDIT_LOCK_TRY = 0.02
"""Each try for the global lockable on the edit thread; short so that cancel() is honoured quickly."""
EDIT_WAIT_NOTICE = 0.1
"""After this long without the lock, ``on_waiting`` tells the GUI who holds it."""
JOIN_TIMEOUT = 5.0
APPLY_SHARE = 0.1
"""Share of the GUI thread's time that applying frames may take (a load's frames are not held to it)."""
APPLY_CONTENDED_SHARE = 0.008
"""The same while other Python threads keep the GIL busy: every call into the model takes it from them."""
MAX_FRAME_DELAY = 1.0


class EditHandle(Generic[T]):
    """An edit queued with ``StateBridge.run_edit``: await it (qasync), or use ``.future``; ``cancel()`` stops waiting."""

    def __init__(self, future: Future[T], bridge: StateBridge) -> None:
        self.future = future
        self._bridge = bridge

    def cancel(self) -> bool:
        """Give up while still waiting for the lock; False once the edit has started (it then completes)."""
        return self.future.cancel()

    def done(self) -> bool:
        return self.future.done()

    def when_done(self, fn: Callable[[Future[T]], None]) -> None:
        """Call ``fn(future)`` on the GUI thread once the edit finished, failed or was cancelled."""
        self.future.add_done_callback(lambda f: self._bridge.call_in_gui(lambda: fn(f)))

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self.future).__await__()


@dataclass
class _EditJob:
    fn: Callable[[Server], Any]
    server: Server
    future: Future[Any]
    on_waiting: Callable[[str], None] | None


class StateBridge(QObject):
    """The only way the GUI reads the engine. Signals are emitted on the GUI thread.

    ``entries_reset`` carries the first screen of a (re)load; the rest of a big state follows as
    ``entries_changed`` deltas with ``loading=True``, so a million entries never block the first paint.
    """

    entries_reset = Signal(object)
    """A full picture: ``tuple[EntrySnapshot, ...]`` (for a huge state, its first screen; the rest follows)."""
    entries_changed = Signal(object)
    """A ``StateDelta``: upserted snapshots, removed names, renames, the feed version."""
    lock_status = Signal(object)
    """``LockStatus`` of the global lockable (holder or None, waiting threads), about 5 Hz while held."""
    rate_changed = Signal(float)
    """Changes per second, about 1 Hz."""
    live_changed = Signal(bool)
    pending_changed = Signal(int)
    """Changes counted while paused (about 5 Hz while paused)."""
    load_progress = Signal(int, int)
    """(entries copied, total) while a state loads; equal numbers when done."""
    connection_changed = Signal(object)
    """A ``Connection``: the link to a Redis state was lost (with the reason) or is back. Never for
    a state in this process."""

    _frame_ready = Signal(object)
    _status_ready = Signal(object)
    _gui_call = Signal(object)
    _connection_ready = Signal(object)

    def __init__(self, server: Server | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = server
        self._live = True
        self._reader = self._make_reader(server)
        self._reader.post("server", server)
        self._thread: threading.Thread | None = None
        self._retired: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._edit_thread: threading.Thread | None = None
        self._edit_queue: queue.SimpleQueue[_EditJob | None] = queue.SimpleQueue()
        self._edit_stop = threading.Event()
        self._generation = self._reader.generation + 1
        self.last_lock_status: LockStatus | None = None
        self.edit_feedback: Any = None
        """The StateView's EditFeedback: edit commands made without one (e.g. ReplaceStateCommand) report there."""
        # Queued explicitly: the worker threads emit, the slots run here, on the GUI thread.
        self._frame_ready.connect(self._on_frame, Qt.ConnectionType.QueuedConnection)
        self._status_ready.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        self._gui_call.connect(self._on_gui_call, Qt.ConnectionType.QueuedConnection)
        self._connection_ready.connect(self._on_connection, Qt.ConnectionType.QueuedConnection)
        self.connection: Connection | None = None
        """The link to a Redis state as last reported (None: a state in this process)."""

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def server(self) -> Server | None:
        return self._server

    def set_server(self, server: Server | None) -> None:
        """Follow another server (a new script, a restart): the tree reloads from an ``entries_reset``.

        A server on Redis is followed by a ``StreamFeedReader`` (blocking feed reads, no lockable
        taken), one in this process by a ``FeedReader``; switching between them swaps the reader
        and its thread (the old thread ends by itself, never joined on the GUI thread).
        """
        self._server = server
        self._generation += 1
        if _on_redis(server) != isinstance(self._reader, StreamFeedReader):
            old = self._reader
            running = self.running
            if running:
                self._stop.set()  # the old thread's own stop event; start() makes a new one
                if self._thread is not None:
                    self._retired = [t for t in self._retired if t.is_alive()] + [self._thread]  # joined by stop()
                self._thread = None
            self._reader = self._make_reader(server)
            self._reader.generation = old.generation
            if not self._live:
                self._reader.post("live", False)
            self.connection = None
            if running:
                self.start()
        self._reader.post("server", server)
        self._wake.set()

    def _make_reader(self, server: Server | None) -> FeedReader:
        if _on_redis(server):
            return StreamFeedReader(self._frame_ready.emit, self._status_ready.emit, self._connection_ready.emit)
        return FeedReader(self._frame_ready.emit, self._status_ready.emit)

    @property
    def connected(self) -> bool:
        """False while a Redis state cannot be reached (edits are refused then); always True in memory."""
        return getattr(self._reader, "connected", True)

    def _on_connection(self, connection: Connection) -> None:
        if connection.url != str(getattr(self._server, "store", "") or ""):
            return  # about a store no longer shown
        self.connection = connection
        self.connection_changed.emit(connection)

    def show_lock_status(self, status: LockStatus) -> None:
        """Publish the global lockable's status read elsewhere (the fleet monitor, for a Redis state)."""
        self.last_lock_status = status
        self.lock_status.emit(status)

    def start(self) -> None:
        """Start the "bridge" thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the "bridge" and "gui-edit" threads; edits still waiting are cancelled. Idempotent."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        retired, self._retired = self._retired, []
        for t in [*retired, thread]:
            if t is not None:
                t.join(JOIN_TIMEOUT)
                if t.is_alive():
                    log.warning("the bridge thread did not stop within %.0f s", JOIN_TIMEOUT)
        self._edit_stop.set()
        edit, self._edit_thread = self._edit_thread, None
        if edit is not None:
            self._edit_queue.put(None)
            edit.join(JOIN_TIMEOUT)
            if edit.is_alive():
                log.warning("an edit is still running after %.0f s (it holds the global lock)", JOIN_TIMEOUT)
        self._drain_edits()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._reader.run(self._stop, self._wake)
        except Exception:  # a bug here must show in the log, not silently freeze the tree
            log.exception("the bridge thread failed")

    # -- live / paused ------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True: the tree follows the state. False (Paused): the tree is frozen and ``pending`` counts changes."""
        return self._live

    @live.setter
    def live(self, value: bool) -> None:
        self.set_live(value)

    def set_live(self, value: bool) -> None:
        value = bool(value)
        if value == self._live:
            return
        self._live = value
        self._reader.post("live", value)
        self._wake.set()
        self.live_changed.emit(value)
        if value:
            self.pending_changed.emit(0)

    @property
    def pending(self) -> int:
        """Changes counted while paused (0 when live)."""
        return 0 if self._live else self._reader.pending

    @property
    def wakeups(self) -> int:
        """How many times the bridge thread has woken up (one loop turn each); quiet means few."""
        return self._reader.wakeups

    @property
    def bridge_cpu_time(self) -> float:
        """CPU seconds the bridge thread has used (``time.thread_time`` measured inside it)."""
        return self._reader.cpu_time

    def set_watched(self, names: list[str] | tuple[str, ...]) -> None:
        """Entries on screen or expanded: the in-place rescan looks at these first."""
        self._reader.post("watch", tuple(names))

    def request_resync(self) -> None:
        """Re-read every entry (upserts and removals; the tree keeps its expansion)."""
        self._reader.post("resync")
        self._wake.set()

    # -- frames from the bridge thread ----------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        started, wall = time.thread_time(), time.perf_counter()
        try:
            if frame.generation == self._reader.generation:
                if frame.reset is not None:
                    self.entries_reset.emit(frame.reset)
                if frame.delta is not None and len(frame.delta):
                    self.entries_changed.emit(frame.delta)
                if frame.progress is not None:
                    self.load_progress.emit(*frame.progress)
        finally:
            # The next frame waits until applying this one is at most APPLY_SHARE of the GUI
            # thread's time: under a flood of changes frames get fewer and bigger (every change
            # still arrives), and the threads being watched keep the GIL.
            spent = time.thread_time() - started
            waited = time.perf_counter() - wall - spent  # for the GIL: other Python threads are busy
            contended = waited > max(0.004, spent) or gui_process_load.busy()
            share = APPLY_CONTENDED_SHARE if contended else APPLY_SHARE
            delay = min(MAX_FRAME_DELAY, spent / share - spent)
            loading = frame.progress is not None and frame.progress[0] < frame.progress[1]
            if isinstance(self._reader, StreamFeedReader):
                # Attached: the threads watched run in other processes, so applying a frame takes no
                # GIL from them, and the reader's small deltas (DIRTY_BATCH) keep the event loop free.
                delay = 0.0
            # The bridge thread waits out the delay itself: no timer wakes the GUI thread for it.
            self._reader.next_frame_at = feed_clock() + (0.0 if loading else delay)
            self._ack()

    def _ack(self) -> None:
        self._reader.acked = True
        self._wake.set()

    def _on_status(self, status: Status) -> None:
        if status.lock is not None:
            self.last_lock_status = status.lock
            self.lock_status.emit(status.lock)
        if status.rate is not None:
            self.rate_changed.emit(status.rate)
        if status.pending is not None and not self._live:
            self.pending_changed.emit(status.pending)

    def call_in_gui(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on the GUI thread soon (safe from any thread)."""
        self._gui_call.emit(fn)

    def _on_gui_call(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:
            log.exception("a GUI callback from a worker thread failed")

    # -- edits ----------------------------------------------------------------------------------------

    def run_edit(
        self, fn: Callable[[Server], T], *, on_waiting: Callable[[str], None] | None = None
    ) -> EditHandle[T]:
        """Run ``fn(server)`` on the "gui-edit" thread while it holds the global lockable.

        The lock is taken in short bounded tries so ``EditHandle.cancel()`` works while waiting; after
        100 ms without it, ``on_waiting("held by <thread>")`` is called on the GUI thread.
        """
        future: Future[T] = Future()
        handle = EditHandle(future, self)
        server = self._server
        if server is None:
            future.set_exception(RuntimeError("no server is attached: load a server script first"))
            return handle
        if not self.connected:
            # Refused at once, never queued: a person must not think an edit will land "later".
            from desktop_app.ui.bridge.edit_commands import EditError

            future.set_exception(
                EditError(f"not applied: the connection to {server.store} is lost (retrying…); nothing changed")
            )
            return handle
        self._ensure_edit_thread()
        self._edit_queue.put(_EditJob(fn, server, future, on_waiting))
        return handle

    def _ensure_edit_thread(self) -> None:
        if self._edit_thread is not None and self._edit_thread.is_alive():
            return
        self._edit_stop = threading.Event()
        self._edit_thread = threading.Thread(target=self._edit_loop, name="gui-edit", daemon=True)
        self._edit_thread.start()

    def _edit_loop(self) -> None:
        while True:
            job = self._edit_queue.get()
            if job is None or self._edit_stop.is_set():
                if job is not None:
                    job.future.cancel()
                return
            try:
                self._run_job(job)
            except Exception:
                log.exception("the edit thread failed")

    def _run_job(self, job: _EditJob) -> None:
        lockable = job.server.lockable
        started = time.monotonic()
        told: str | None = None
        while not job.future.cancelled():
            if self._edit_stop.is_set():
                job.future.cancel()
                return
            try:
                got = lockable.acquire(True, EDIT_LOCK_TRY)
            except Exception as err:  # a Redis lockable when Redis is away: the edit fails, it never hangs
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(err)
                return
            if got:
                try:
                    if not job.future.set_running_or_notify_cancel():
                        return  # cancelled between the acquire and here
                    try:
                        result = job.fn(job.server)
                    except BaseException as err:
                        job.future.set_exception(err)
                    else:
                        job.future.set_result(result)
                finally:
                    lockable.release()
                return
            if job.on_waiting is not None and time.monotonic() - started >= EDIT_WAIT_NOTICE:
                holder = lockable.holder
                who = f"held by {holder.thread}" if holder is not None else "held by another thread"
                if who != told:
                    told = who
                    self.call_in_gui(lambda cb=job.on_waiting, text=who: cb(text))

    def _drain_edits(self) -> None:
        while True:
            try:
                job = self._edit_queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.future.cancel()


def _on_redis(server: Server | None) -> bool:
    return server is not None and getattr(server, "store", None) is not None
