"""Fixtures the ui tests share: an empty server (a folder's conftest or a test module may override it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop_app.engine.server import Server


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()
