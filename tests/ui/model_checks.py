"""Qt's model checker on several models at once, and a worker thread to mutate state while it watches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtTest import QAbstractItemModelTester


def attach_checkers(qtmodeltester: Any, *models: QAbstractItemModel) -> list[QAbstractItemModelTester]:
    """Qt's ``QAbstractItemModelTester`` on every model, for as long as the returned list lives.

    The first model goes through pytest-qt's ``qtmodeltester``. The fixture keeps one checker only (a
    second ``check()`` replaces the first, which then stops checking), so the others get their own, in
    the same Warning mode: any complaint is a Qt warning, which fails the test (``qt_log_level_fail``).
    """
    first, *rest = models
    qtmodeltester.check(first)
    mode = QAbstractItemModelTester.FailureReportingMode.Warning
    return [QAbstractItemModelTester(m, mode) for m in rest]


def run_worker(qtbot: Any, fn: Callable[[], None], name: str = "mutator", timeout: int = 10_000) -> None:
    """Run ``fn`` on a plain thread while the Qt event loop keeps turning (live updates arrive meanwhile)."""
    failure: list[BaseException] = []

    def body() -> None:
        try:
            fn()
        except BaseException as err:  # re-raised on the test's thread
            failure.append(err)

    thread = threading.Thread(target=body, name=name)
    thread.start()
    try:
        qtbot.waitUntil(lambda: not thread.is_alive(), timeout=timeout)
    finally:
        thread.join(5)
    if failure:
        raise failure[0]
