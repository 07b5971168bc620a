"""Endpoints (Pode's Add-PodeEndpoint): address and port to listen on, and the wording of bind errors."""

from __future__ import annotations

import errno
import ipaddress


def is_loopback(address: str) -> bool:
    """True for 127.x.x.x, ::1 and "localhost": addresses no other machine can reach."""
    if address.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _listen_error(address: str, port: int, err: OSError) -> str:
    where = _host_port(address, port)
    if err.errno == errno.EADDRINUSE:
        why = (
            "address already in use (another program listens there; pick another port, or 0 for any free one)"
        )
    elif err.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need privileges; pick a port above 1023)"
    elif err.errno == errno.EADDRNOTAVAIL:
        why = "address not available (no network interface of this machine has it)"
    else:
        why = (err.strerror or str(err)).lower()
    return f"cannot listen on {where}: {why}"


class Endpoint:
    """An address and port routes are served on (Pode's Add-PodeEndpoint).

    Attributes:
        address: the address to bind, as given.
        requested_port: the port asked for (0 = any free port, chosen again at each start).
        port: the port it listens on once started (the requested one before).
        started: True while it is listening.
        error: why it could not listen (e.g. "cannot listen on 127.0.0.1:8080: address already in
            use ..."), or None.
    """

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.requested_port = port
        self.port = port
        self.started = False
        self.error: str | None = None

    @property
    def url(self) -> str:
        """``http://address:port/`` (the bound port once started)."""
        return f"http://{_host_port(self.address, self.port)}/"

    def __repr__(self) -> str:
        status = "listening" if self.started else (f"failed: {self.error}" if self.error else "stopped")
        return f"<Endpoint {self.url} {status}>"
