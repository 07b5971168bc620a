"""The processes ``bench.crash_stress`` kills: savers forked from a small server, one per trial.

Each trial needs a fresh process that is saving when it dies. Starting a Python interpreter per
trial costs 100-300 ms on a busy two-core machine, so a fork server (started once per worker,
importing everything once) forks one saver per trial instead: the saver is a new process, prints
its ready line, and saves in a loop until the server kills it with SIGKILL on the parent's word.
No process is ever killed twice or reused after a kill.

Protocol on the server's stdin/stdout, one line each:
    parent -> server  ``save PATH ENTRIES WRITER``   server forks a saver
    saver  -> parent  ``READY GENERATION``           about to save, starting after GENERATION
    parent -> server  ``kill``                       server sends SIGKILL and reaps the saver
    server -> parent  ``DEAD signal 9`` (or ``DEAD exit N`` if it died by itself)
    parent -> server  ``quit``
"""

from __future__ import annotations

import os
import random
import signal
import sys
import traceback

from desktop_app.engine.persistence import Entries, atomic_write, encode, read_file

READY = "READY"
SERVING = "SERVING"
GENERATION = "__generation__"

# Run as `python -S -c BOOT root site-packages`: -S skips site (and the editable install's import
# hook), and the stub package skips desktop_app.engine's __init__, which imports the whole engine.
# Both only save start-up time; the code under test is the real persistence module.
BOOT = """
import sys, types
root, site = sys.argv[1], sys.argv[2]
sys.path[:0] = [root, site]
engine = types.ModuleType("desktop_app.engine")
engine.__path__ = [root + "/desktop_app/engine"]
sys.modules["desktop_app.engine"] = engine
from bench.crash_child import serve
serve()
"""


def make_state(generation: int, entries: int) -> Entries:
    """The state written for ``generation``: every entry carries the generation, and sizes vary."""
    rng = random.Random(generation)
    state: Entries = {GENERATION: (generation, ["meta"])}
    for i in range(entries):
        value = {
            "gen": generation,
            "i": i,
            "blob": "x" * rng.randint(0, 100),
            "nums": [generation] * rng.randint(0, 4),
        }
        state[f"entry-{i:05d}"] = (value, ["Users"] if i % 2 else [])
    return state


def write_in_place(path: str, data: bytes) -> None:
    """The unsafe way (truncate, then write): only for showing that the check catches torn files."""
    with open(path, "wb") as handle:
        handle.write(data)


def save_forever(path: str, entries: int, writer: str = "atomic") -> None:
    """Save one generation after another, starting after the generation on disk."""
    write = atomic_write if writer == "atomic" else write_in_place
    try:
        loaded = read_file(path)
    except Exception:  # only the in-place writer leaves broken files; start over then
        loaded = None
    generation = loaded.entries[GENERATION][0] if loaded is not None and GENERATION in loaded.entries else 0
    sys.stdout.write(f"{READY} {generation}\n")
    sys.stdout.flush()
    while True:
        generation += 1
        write(path, encode(make_state(generation, entries)))


def _answer(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve() -> None:
    """The fork server's loop (see the module docstring for the protocol)."""
    _answer(SERVING)
    while True:
        command = sys.stdin.readline().split()
        if not command or command[0] == "quit":
            return
        if command[0] != "save":
            _answer(f"ERROR unknown command {command[0]!r}")
            continue
        pid = os.fork()
        if pid == 0:  # the saver: never returns into this loop
            try:
                save_forever(command[1], int(command[2]), command[3])
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        sys.stdin.readline()  # "kill", or end of input if the parent went away: kill either way
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            _answer(f"DEAD signal {os.WTERMSIG(status)}")
        else:
            _answer(f"DEAD exit {os.WEXITSTATUS(status)}")
