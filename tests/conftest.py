"""Test set-up: a private home and offscreen Qt before anything loads, and a check that no test leaves
engine or Qt threads running."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

# Every folder the app (or Qt, or platformdirs) could write to points into one temp folder for the
# whole session, set before any test module imports the app: the real ~/.local/share and ~/.config
# stay untouched, and subprocesses (the CLI, the bundle, Xvfb runs) inherit the same environment.
# QSettings reads XDG_CONFIG_HOME once, on first use; setting it here is early enough.
TEST_HOME = Path(tempfile.mkdtemp(prefix="state-studio-tests-")).resolve()
atexit.register(shutil.rmtree, TEST_HOME, ignore_errors=True)
# Tools that find their set-up through HOME keep finding it (pip's package index, pyenv's Pythons).
for _name, _path in (
    ("PIP_CONFIG_FILE", Path.home() / ".config/pip/pip.conf"),
    ("PYENV_ROOT", Path.home() / ".pyenv"),
):
    if _name not in os.environ and _path.exists():
        os.environ[_name] = str(_path)
for _name, _sub in (
    ("HOME", "home"),
    ("XDG_DATA_HOME", "home/.local/share"),
    ("XDG_CONFIG_HOME", "home/.config"),
    ("XDG_CACHE_HOME", "home/.cache"),
    ("XDG_STATE_HOME", "home/.local/state"),
    ("STATE_STUDIO_DATA_DIR", "data"),
):
    (TEST_HOME / _sub).mkdir(parents=True, exist_ok=True)
    os.environ[_name] = str(TEST_HOME / _sub)

from tests.redis_fixtures import ns, own_redis, redis_server, redis_url  # noqa: E402, F401  (fixtures)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Threads the engine starts are named; any of these alive after a test is a leak.
_ENGINE_PREFIXES = ("timer", "schedule", "route-", "http", "bridge", "timers", "schedules")


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and t.name.startswith(_ENGINE_PREFIXES)]


@pytest.fixture(autouse=True)
def _no_dangling_threads(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    before = set(_engine_threads())
    yield
    if request.node.get_closest_marker("allow_threads"):
        return
    left = [t for t in _engine_threads() if t not in before]
    for t in left:  # threads told to stop may still be returning: join them, bounded
        t.join(timeout=2.0)
    alive = sorted(t.name for t in left if t.is_alive())
    if alive:
        pytest.fail(f"test left engine threads running: {alive}")
