"""Redis unreachable, silent or killed mid-run: StateStoreError naming the URL, never a hang, then recovery."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from desktop_app.engine import LockLost, SharedState, StateStoreError
from desktop_app.engine.server import Server
from tests.redis_server import RedisServer, free_port
from tests.waiting import wait_until


def _raises_store_error(fn: Callable[[], Any], bound: float = 20.0) -> StateStoreError:
    """Run ``fn`` in a thread; it must raise StateStoreError (a hang fails the test after ``bound`` s)."""
    box: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            box.append(None)
        except BaseException as err:
            box.append(err)

    t = threading.Thread(target=run, name="store-call", daemon=True)
    t.start()
    t.join(bound)
    assert not t.is_alive(), f"{fn} hung for {bound} s instead of raising StateStoreError"
    err = box[0]
    assert isinstance(err, StateStoreError), f"expected StateStoreError, got {err!r}"
    return err


def test_an_unreachable_url_raises_state_store_error_naming_it_without_the_password() -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    state = SharedState(store=url, namespace="shop")
    for call in (
        lambda: state.get("x"),
        lambda: state.set("x", 1),
        lambda: state.lockable.acquire(),
        state.names,
    ):
        err = _raises_store_error(call)
        assert isinstance(err, ConnectionError)
        assert "127.0.0.1" in str(err) and "s3cret" not in str(err) and "***" in err.url
    assert "s3cret" not in repr(state)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP listener that accepts connections and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, name="silent-listener", daemon=True)
    t.start()
    yield listener.getsockname()[1]
    stop.set()
    t.join()
    for s in accepted:
        s.close()
    listener.close()


def test_a_server_that_accepts_but_never_answers_raises_rather_than_hangs(silent_server: int) -> None:
    state = SharedState(store=f"redis://127.0.0.1:{silent_server}/0", namespace="shop")
    errors: list[StateStoreError] = []
    calls = [lambda: state.get("x"), lambda: state.set("x", 1), lambda: state.lockable.acquire(timeout=60)]
    threads = [threading.Thread(target=lambda c=c: errors.append(_raises_store_error(c))) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3
    assert all("no answer within" in str(e) for e in errors)
    assert not state.lockable.held_by_me()


def test_redis_killed_mid_run_then_back_on_the_same_port(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = Server(store=own_redis.url, namespace="outage", lease_ms=600)
    state = server.state
    done = threading.Event()

    def tick(e: Any) -> None:
        with e.lockable:
            e.state.set("n", e.state.get("n", 0) + 1)
        done.set()

    timer = server.add_timer("tick", 0.05, tick)
    held, release = threading.Event(), threading.Event()
    lost: list[BaseException] = []

    def hold_through_outage() -> None:
        orders = server.lockables.new("orders")
        try:
            with orders:
                held.set()
                release.wait(30)
        except BaseException as err:
            lost.append(err)

    holder = threading.Thread(target=hold_through_outage, name="outage-holder")
    with server:
        assert wait_until(lambda: timer.count >= 3 and state.get("n", 0) >= 2, timeout=20)
        holder.start()
        assert held.wait(10)
        own_redis.kill()
        err = _raises_store_error(lambda: state.get("n"))
        assert own_redis.url in str(err)
        assert wait_until(lambda: timer.errors >= 2, timeout=20)  # jobs fail, the engine goes on
        # the holder's renewals fail, and every failure is logged
        assert wait_until(lambda: "renewing the lease of lock 'orders'" in caplog.text, timeout=20)
        own_redis.start()  # empty: no persistence in tests
        assert wait_until(lambda: _works(lambda: state.set("back", True)), timeout=20)
        errors = timer.errors
        count = timer.count
        assert wait_until(lambda: timer.count >= count + 3, timeout=20)
        assert timer.errors - errors <= 1  # a tick in flight during the restart may still fail
        assert state.get("n", 0) >= 1 and state.get("back") is True
        release.set()
        holder.join(10)
    # Redis came back without the holder's key: its lock counts as lost, and it says so
    assert len(lost) == 1 and isinstance(lost[0], LockLost)


def _works(fn: Callable[[], Any]) -> bool:
    try:
        fn()
        return True
    except StateStoreError:
        return False
