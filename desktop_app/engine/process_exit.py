"""Ending the process that hosts a server even when something in it never returns.

Job threads are daemons (see DaemonPool), so a stuck job does not keep the interpreter alive. Other
threads can: a user's script may start its own, and ``concurrent.futures`` joins every pool thread
at exit. The app therefore arms ``exit_deadline`` when it starts shutting down: if the process is
still alive when it fires, it logs what is left and ends with ``os._exit``. A second SIGTERM or
Ctrl+C calls ``exit_now`` directly.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("desktop_app.engine.process_exit")

EXIT_GRACE = 5.0
"""Seconds the interpreter gets to exit on its own after the server has stopped."""


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # a closed stream: nothing more to write anyway
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def exit_now(code: int) -> None:
    """Flush the log and end the process at once: no atexit hooks, no joining of threads."""
    _flush()
    os._exit(code)


def lingering_threads() -> list[str]:
    """Names of the threads other than this one that are still alive (daemons marked)."""
    me = threading.current_thread()
    return [
        f"{t.name}{' (daemon)' if t.daemon else ''}" for t in threading.enumerate() if t is not me and t.is_alive()
    ]


def exit_deadline(seconds: float, code: int, why: str) -> threading.Thread:
    """End the process with ``code`` if it is still alive ``seconds`` from now.

    Args:
        seconds: how long a normal exit may take.
        code: the exit status if the deadline is reached.
        why: what started the shutdown, for the log line ("SIGTERM", "the window closed").

    Returns:
        The daemon thread that waits (it never keeps the process alive itself).
    """

    def watch() -> None:
        threading.Event().wait(seconds)
        log.error(
            "still running %.0f s after %s; exiting now. Threads left: %s",
            seconds,
            why,
            ", ".join(lingering_threads()) or "none",
        )
        exit_now(code)

    thread = threading.Thread(target=watch, name="exit-deadline", daemon=True)
    thread.start()
    return thread
