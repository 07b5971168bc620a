"""The project around the app: tests run in a private home, the Makefile and pyproject point at real things."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_HOME

ROOT = Path(__file__).resolve().parents[1]


def _under_test_home(path: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(TEST_HOME)


def test_data_dir_and_settings_are_in_the_test_home() -> None:
    from PySide6.QtCore import QSettings

    from desktop_app.engine.paths import data_dir
    from desktop_app.ui.shell.app import APP_NAME, ORG_NAME

    assert _under_test_home(data_dir())
    assert _under_test_home(Path.home())
    # where the app's QSettings() writes once make_application() has named the app
    settings = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORG_NAME, APP_NAME)
    assert _under_test_home(settings.fileName()), settings.fileName()
    # without STATE_STUDIO_DATA_DIR the data folder comes from platformdirs: also in the test home
    env = {k: v for k, v in os.environ.items() if k != "STATE_STUDIO_DATA_DIR"}
    r = subprocess.run(
        [sys.executable, "-c", "from desktop_app.engine.paths import data_dir; print(data_dir())"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    assert _under_test_home(r.stdout.strip()), r.stdout


def _bundle_test_would_build(tmp_path: Path, exe_mtime: float) -> bool:
    """Ask make (dry run: it builds and starts nothing) whether bundle-test rebuilds a bundle this old."""
    exe = tmp_path / "state-studio"
    stamp = tmp_path / "installed"  # an up-to-date venv, whatever the checkout's own .venv says
    for path, mtime in ((exe, exe_mtime), (stamp, time.time() + 3_600)):
        path.write_text("")
        os.utime(path, (mtime, mtime))
    r = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "bundle-test", f"BUNDLE_EXE={exe}", f"STAMP={stamp}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"{exe} --version" in r.stdout
    return "pyinstaller" in r.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_bundle_test_rebuilds_a_bundle_older_than_the_sources(tmp_path: Path) -> None:
    assert _bundle_test_would_build(tmp_path, exe_mtime=1.0)  # built in 1970: older than every source
    assert not _bundle_test_would_build(tmp_path, exe_mtime=time.time() + 86_400)


def test_files_named_in_pyproject_exist() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    named = set(re.findall(r"[\w./-]+\.md\b", text))
    assert "README.md" in named
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []
