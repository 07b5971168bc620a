"""A separate process for the cross-process Redis tests: ``python -m tests.engine.redis_worker URL NS LEASE_MS ROLE ...``.

It prints one line per step (``ready``, ``held``, results as ``key=value``) and reads commands from stdin,
so the test drives it by conditions, never by sleeping.
"""

from __future__ import annotations

import sys

from desktop_app.engine import LockLost
from desktop_app.engine.server import Server


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str]) -> int:
    url, ns, lease, role, *rest = argv
    server = Server(store=url, namespace=ns, lease_ms=int(lease))
    state = server.state
    if role == "incr":  # N read-modify-write increments of "n" under the named lockable "counter"
        n = int(rest[0])
        counter = server.lockables.new("counter")
        say("ready")
        sys.stdin.readline()  # all workers start together
        for _ in range(n):
            with server.lock(counter):
                state.set("n", state.get("n", 0) + 1)
        say("done")
    elif role == "append":  # the seed's pattern: get, change in place, touch, under the global lockable
        n = int(rest[0])
        say("ready")
        sys.stdin.readline()
        for i in range(n):
            with server.lockable:
                h = state.get("hash")
                h["values"].append(i)
                state.touch("hash")
        say("done")
    elif role == "set":  # set NAME to a JSON value, then print what another process set
        import json

        state.set(rest[0], json.loads(rest[1]))
        say("ready")
        name = sys.stdin.readline().strip()
        say(f"got={json.dumps(state.get(name))}")
    elif role == "hold":  # take lockable NAME, say held, keep it until told (or killed)
        lock = server.lockables.new(rest[0])
        with lock:
            say("held")
            sys.stdin.readline()
        say("released")
    elif role == "hold-leases":  # hold NAME across several leases, then write under it (fenced)
        import time

        lock = server.lockables.new(rest[0])
        leases = float(rest[1])
        with lock:
            say("held")
            end = time.monotonic() + leases * int(lease) / 1000
            while time.monotonic() < end:
                time.sleep(0.05)  # a holder busy with its own work; the keeper renews meanwhile
            state.set("holder-done", True)
        say("released")
    elif role == "fenced":  # hold NAME; after a line on stdin write "x" under it (LockLost if stale)
        lock = server.lockables.new(rest[0])
        try:
            with lock:
                say("held")
                sys.stdin.readline()
                state.set("x", "child")
                say("written")
        except LockLost as err:
            say(f"lost={err.lock}")
    else:
        say(f"unknown role {role}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
