"""Work budgets: GUI work paced to a share of a core, and to a smaller share while the process is busy."""

from __future__ import annotations

import threading
import time
from typing import Any

from desktop_app.ui.bridge.process_load import ProcessLoad
from desktop_app.ui.common.pace import WorkBudget


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_budget_spaces_work_by_its_cost() -> None:
    budget = WorkBudget(share=0.25, contended_share=0.01)
    with budget.measure():
        _burn(0.004)
    assert budget.cpu > 0.0
    assert budget.gap() >= budget.cpu / 0.25 * 0.99
    assert not budget.ready() and budget.wait_left() > 0.0, "just ran: the next run waits"


def test_the_process_counts_as_busy_while_other_threads_burn_cpu(qtbot: Any) -> None:
    load = ProcessLoad()
    time.sleep(0.3)
    assert not load.busy(), "a quiet process"
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [_burn(0.001) for _ in iter(stop.is_set, True)], name="burner")
    worker.start()
    try:
        qtbot.waitUntil(load.busy, timeout=5000)
    finally:
        stop.set()
        worker.join()
