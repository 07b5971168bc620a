"""The seed's full example (Pode's SharedState page), ported to Shared State Studio.

A timer adds a random number 0-9 to ``hash["values"]`` every 2 seconds and saves the state;
``GET /`` returns the hash as JSON; ``DELETE /`` removes it. The state is restored on start.

Run with ``--store redis://...`` (``state-studio run ... --headless --store URL --namespace NS``),
several copies share one ``hash`` in Redis: a copy joins the hash it finds instead of resetting it,
and none restores or saves the file (Redis holds the state; turn on its persistence to keep it).
"""

import logging
import os
import random
import socket

from desktop_app.engine.paths import data_dir

log = logging.getLogger("demo")


def _port() -> int:
    wanted = int(os.environ.get("STATE_STUDIO_DEMO_PORT", "8080"))
    if wanted == 0:
        return 0
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            log.warning("port %d is in use; the demo binds a free port instead", wanted)
            return 0
    return wanted


def setup(server):
    # The seed binds every address; we keep to loopback unless asked (see the README).
    server.add_endpoint("127.0.0.1", _port())

    if server.store is None:
        # Kept in the user's data folder, never inside the installed package.
        state_file = data_dir() / "demo" / "state.json"
        state_file.parent.mkdir(parents=True, exist_ok=True)

        # create the shared variable
        server.state.set("hash", {"values": []})

        # attempt to re-initialise the state (does nothing if the file doesn't exist)
        server.state.restore(state_file)
    else:
        # On Redis the state outlives this process and other processes share it: join their hash
        # rather than reset it, and leave keeping it to Redis (no file per process).
        state_file = None
        with server.lockable:
            if not server.state.test("hash"):
                server.state.set("hash", {"values": []})

    # timer to add a random number to the shared state
    def forever(e):
        # ensure we're thread safe
        with e.lockable:
            # get the hash from the state; after a DELETE, start a new one
            # (the seed's version fails on every tick from then on)
            hash_ = e.state.get("hash")
            if hash_ is None:
                hash_ = e.state.set("hash", {"values": []})

            # add a random number, and tell viewers the value changed in place
            hash_["values"].append(random.randint(0, 9))
            e.state.touch("hash")

            # save the state to file
            if state_file is not None:
                e.state.save(state_file)

    server.add_timer("forever", 2, forever)

    # route to return the value of the hash from shared state
    def get_hash(e):
        # again, ensure we're thread safe
        with e.lockable:
            return e.json(e.state.get("hash"))

    server.add_route("GET", "/", get_hash)

    # route to remove the hash from shared state
    def delete_hash(e):
        with e.lockable:
            e.state.remove("hash")

    server.add_route("DELETE", "/", delete_hash)
