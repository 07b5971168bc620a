"""The real app as a process in a real X window (Xvfb): it opens, shows the demo, and closes with exit 0."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until

XVFB = shutil.which("Xvfb")
pytestmark = pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (.ci/run installs it)")


@pytest.fixture
def display(tmp_path: Path):  # type: ignore[no-untyped-def]
    assert XVFB is not None
    # -displayfd lets Xvfb pick a free display number and tell us which.
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [XVFB, "-displayfd", str(write_fd), "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def _window_names(display: str) -> str:
    if shutil.which("xwininfo") is None:
        return ""
    out = subprocess.run(
        ["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=10
    )
    return out.stdout


def test_real_app_opens_and_exits_zero(display: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "STATE_STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STATE_STUDIO_DEMO_PORT": "0",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "desktop_app"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: "running " in log.read_text() or proc.poll() is not None, timeout=60), log.read_text()
        assert proc.poll() is None, log.read_text()
        if shutil.which("xwininfo"):
            assert wait_until(lambda: "Shared State Studio" in _window_names(display), timeout=30)
        if shutil.which("import"):
            shot = tmp_path / "shot.png"
            subprocess.run(
                ["import", "-window", "root", str(shot)], env={**os.environ, "DISPLAY": display}, check=True, timeout=30
            )
            assert shot.stat().st_size > 10_000  # a real picture, not an empty screen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "Event loop stopped before Future completed" not in text
