"""Pausing the cyclic garbage collector while millions of containers are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of containers.

    Every few hundred new containers would otherwise trigger a collection, and the older
    generations get traversed again and again; that makes parsing a 24 MB file several times
    slower. Only the caller that actually paused it turns it back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
