"""The project around the app: tests run in a private home, the Makefile and pyproject point at real things."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_HOME

ROOT = Path(__file__).resolve().parents[1]


def _under_test_home(path: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(TEST_HOME)


def test_data_dir_and_settings_are_in_the_test_home() -> None:
    from PySide6.QtCore import QSettings

    from desktop_app.engine.paths import data_dir
    from desktop_app.ui.app import APP_NAME, ORG_NAME

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
