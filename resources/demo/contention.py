"""A contention demo: five worker timers compete for the global lockable and the "orders" and "cache" lockables.

Open the Locks dock: within a couple of seconds the table fills, the timeline shows waits (hatched)
behind long holds, and the slow-waits list collects waits over 20 ms with both threads' stacks.
Nothing here listens on the network.
"""

import random
import time


def setup(server):
    # two named lockables beside the global one (Pode's New-PodeLockable)
    server.lockables.new("orders")
    server.lockables.new("cache")

    server.state.set("orders", {"placed": 0, "shipped": 0, "backlog": 0})
    server.state.set("cache", {"hits": 0, "misses": 0, "refreshes": 0})
    server.state.set("ticks", 0)

    def work(low_ms, high_ms):
        # stands in for real work done while holding a lock; sleeping lets the other threads run
        time.sleep(random.uniform(low_ms, high_ms) / 1000)

    # many short holds on "orders": mostly uncontended, sometimes stuck behind the shipper
    def place_order(e):
        with e.server.lock("orders", timeout=2):
            orders = e.state.get("orders")
            orders["placed"] += 1
            orders["backlog"] += 1
            work(1, 8)
            e.state.touch("orders")

    # long holds on "orders": the placer waits behind these
    def ship_orders(e):
        with e.server.lock("orders", timeout=2):
            orders = e.state.get("orders")
            shipped = min(orders["backlog"], random.randint(1, 5))
            work(40, 150)
            orders["shipped"] += shipped
            orders["backlog"] -= shipped
            e.state.touch("orders")

    # frequent quick reads of the cache
    def read_cache(e):
        with e.server.lock("cache", timeout=2):
            cache = e.state.get("cache")
            if random.random() < 0.8:
                cache["hits"] += 1
            else:
                cache["misses"] += 1
            work(1, 5)
            e.state.touch("cache")

    # a slow refresh that takes the cache and then the global lockable (nested, always in that order)
    def refresh_cache(e):
        with e.server.lock("cache", timeout=2):
            work(20, 80)
            with e.lockable:
                e.state.get("cache")["refreshes"] += 1
                work(10, 60)
                e.state.touch("cache")

    # the global lockable, as the seed's timer uses it, with the occasional long hold
    def tick(e):
        with e.lockable:
            e.state.set("ticks", e.state.get("ticks", 0) + 1)
            work(5, 120 if random.random() < 0.3 else 20)

    server.add_timer("place-order", 0.03, place_order, on_start=True)
    server.add_timer("ship-orders", 0.25, ship_orders, on_start=True)
    server.add_timer("read-cache", 0.04, read_cache, on_start=True)
    server.add_timer("refresh-cache", 0.6, refresh_cache, on_start=True)
    server.add_timer("tick", 0.15, tick, on_start=True)
