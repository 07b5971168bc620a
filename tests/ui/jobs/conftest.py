"""The Jobs dock, shown at a size where every column fits, for the dock's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from desktop_app.ui.jobs.jobs_dock import JobsDock


@pytest.fixture
def dock(qtbot: Any) -> Iterator[JobsDock]:
    d = JobsDock()
    qtbot.addWidget(d)
    d.resize(1100, 500)
    d.show()
    yield d
    d.set_server(None)
