"""`state-studio attach URL --namespace NS`: the real app in a real X window (Xvfb), attached to two headless demos.

Redis here asks for a password: the demos and the studio get it in their URLs, and it must appear
nowhere the studio shows or logs anything (window title, log). A screenshot shows the result.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from desktop_app.cli import main
from tests.e2e.test_app_xvfb import XVFB, _window_names
from tests.headless_demo import HeadlessDemo
from tests.redis_server import RedisServer
from tests.waiting import wait_until

PASSWORD = "s3cret-Pw-7"


def test_attach_refuses_what_is_not_a_redis_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attach", "http://127.0.0.1:6379/0"]) == 2
    assert "not a Redis URL" in capsys.readouterr().err
    assert main(["attach", "redis://:pw@127.0.0.1:6379/0", "--namespace", "a{b}"]) == 2
    err = capsys.readouterr().err
    assert "braces" in err and "pw@" not in err


@pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (.ci/run installs it)")
def test_the_real_app_attaches_from_the_command_line(
    display: str, own_redis: RedisServer, demos: list[HeadlessDemo], tmp_path: Path
) -> None:
    redis.Redis(port=own_redis.port).config_set("requirepass", PASSWORD)
    url = f"redis://:{PASSWORD}@127.0.0.1:{own_redis.port}/0"
    ns = f"xvfb-{uuid.uuid4().hex[:6]}"
    demos += [HeadlessDemo(url, ns, tmp_path / "a"), HeadlessDemo(url, ns, tmp_path / "b")]
    for d in demos:
        d.wait_listening()
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
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop_app", "attach", url, "--namespace", ns],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: "attached to " in log.read_text() or proc.poll() is not None, timeout=60), (
            log.read_text()
        )
        assert proc.poll() is None, log.read_text()
        shown = f"redis://127.0.0.1:{own_redis.port}/0 · namespace '{ns}'"
        assert f"attached to {shown}" in log.read_text()
        if shutil.which("xwininfo"):
            assert wait_until(
                lambda: f"attached to redis://127.0.0.1:{own_redis.port}/0" in _window_names(display),
                timeout=30,
            )
            assert PASSWORD not in _window_names(display)
        if shutil.which("import"):
            shot = tmp_path / "attach.png"
            subprocess.run(
                ["import", "-window", "root", str(shot)],
                env={**os.environ, "DISPLAY": display},
                check=True,
                timeout=30,
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
    assert PASSWORD not in text
    for d in demos:
        assert PASSWORD not in "".join(d.log)
