"""A failing job does not flood the log: one full traceback, then one summary line per interval."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from desktop_app.engine.jobs.failure_log import FailureLog
from desktop_app.engine.server import Server
from tests.waiting import wait_until

SUMMARY = re.compile(r"^\[Timer\] tick failed (?:1 more time|([\d,]+) more times) in the last \d+ s; last: (.+)$")


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _error(message: str) -> ValueError:
    try:
        raise ValueError(message)
    except ValueError as err:
        return err


def _summarised(records: list[logging.LogRecord]) -> list[int]:
    """The failure counts of the summary lines, in order."""
    counts = []
    for r in records:
        m = SUMMARY.match(r.getMessage())
        if m:
            counts.append(int(m.group(1).replace(",", "")) if m.group(1) else 1)
    return counts


@pytest.fixture
def flog(caplog: pytest.LogCaptureFixture) -> tuple[FailureLog, FakeClock]:
    caplog.set_level(logging.ERROR, logger="test.failures")
    clock = FakeClock()
    return FailureLog("[Timer] tick", logging.getLogger("test.failures"), interval=60, clock=clock), clock


def test_first_failure_in_full_then_one_summary_per_interval(
    flog: tuple[FailureLog, FakeClock], caplog: pytest.LogCaptureFixture
) -> None:
    log, clock = flog
    for i in range(1999):  # every 10 ms for ~20 s, then once more a minute after the first
        log.failed(_error(f"bad {i}"), f"ValueError: bad {i}")
        clock.t += 0.01
    clock.t = 1060.0
    log.failed(_error("bad last"), "ValueError: bad last")
    full = [r for r in caplog.records if r.exc_info]
    assert len(full) == 1 and full[0].getMessage() == "[Timer] tick raised ValueError: bad 0"
    assert [r.getMessage() for r in caplog.records[1:]] == [
        "[Timer] tick failed 1,999 more times in the last 60 s; last: ValueError: bad last"
    ]


def test_pending_failures_are_summarised_on_flush_and_after_a_quiet_success(
    flog: tuple[FailureLog, FakeClock], caplog: pytest.LogCaptureFixture
) -> None:
    log, clock = flog
    for i in range(3):
        log.failed(_error(f"bad {i}"), f"ValueError: bad {i}")
    log.succeeded()  # within the interval: nothing yet
    assert len(caplog.records) == 1
    clock.t += 61
    log.succeeded()  # past it: the two counted failures are reported, and the job is quiet again
    assert caplog.records[-1].getMessage() == (
        "[Timer] tick failed 2 more times in the last 61 s; last: ValueError: bad 2"
    )
    log.failed(_error("again"), "ValueError: again")  # a new run of failures starts in full
    assert caplog.records[-1].exc_info and len(caplog.records) == 3
    log.failed(_error("once more"), "ValueError: once more")
    log.flush()  # the job stops or completes: nothing counted is left unsaid
    assert caplog.records[-1].getMessage().startswith("[Timer] tick failed 1 more time in the last 0 s")
    log.flush()
    assert len(caplog.records) == 4


def test_rare_failures_are_each_logged_in_full(
    flog: tuple[FailureLog, FakeClock], caplog: pytest.LogCaptureFixture
) -> None:
    log, clock = flog
    for i in range(3):
        log.failed(_error(f"bad {i}"), f"ValueError: bad {i}")
        clock.t += 120
    assert [bool(r.exc_info) for r in caplog.records] == [True, True, True]


def test_a_timer_failing_on_every_run_logs_one_traceback_and_summaries(caplog: pytest.LogCaptureFixture) -> None:
    server = Server()
    clock = FakeClock()
    runs = 300

    def tick(e: Any) -> None:
        clock.t += 1.0  # each run "takes" a second of the job's log clock: 300 runs span 5 minutes
        raise ValueError(f"bad {e.sender.count}")

    t = server.add_timer("tick", 0.001, tick, limit=runs)
    t.failure_log.clock = clock
    assert t.failure_log.interval == 60.0  # the default; the fake clock makes it pass
    with caplog.at_level(logging.ERROR, logger="desktop_app.engine.jobs.job"), server:
        assert wait_until(lambda: t.completed and t.running == 0, timeout=60)
    records = [r for r in caplog.records if r.name == "desktop_app.engine.jobs.job"]
    full = [r for r in records if r.exc_info]
    assert len(full) == 1 and "ValueError: bad 1" in full[0].getMessage()
    counts = _summarised(records)
    assert len(records) == 1 + len(counts)  # nothing else was logged
    assert 4 <= len(counts) <= 6  # one line a minute over five minutes, plus the one at completion
    assert 1 + sum(counts) == t.errors == runs  # every failure is accounted for
    assert SUMMARY.match(records[-1].getMessage()).group(2) == f"ValueError: bad {runs}"  # type: ignore[union-attr]
    assert t.last_traceback is not None and f"bad {runs}" in t.last_traceback  # the dock keeps the last
