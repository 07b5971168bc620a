"""`state-studio --self-test` on the installed app: window offscreen, demo loaded, one tick reaches the tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _installed_command() -> list[str]:
    exe = Path(sys.executable).parent / "state-studio"
    assert exe.is_file(), f"the app is not installed in this environment ({exe} is missing)"
    return [str(exe)]


def test_self_test_passes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STATE_STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STATE_STUDIO_DEMO_PORT": "0",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    r = subprocess.run([*_installed_command(), "--self-test"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "self-test: ok" in r.stderr
    assert "Traceback" not in r.stderr


def test_self_test_fails_with_a_reason_when_the_demo_cannot_load(tmp_path: Path) -> None:
    # A data folder that is a file: the demo's setup cannot create its state folder.
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    env = {**os.environ, "STATE_STUDIO_DATA_DIR": str(blocker), "STATE_STUDIO_DEMO_PORT": "0",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = subprocess.run([*_installed_command(), "--self-test"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "self-test: FAILED" in r.stderr
