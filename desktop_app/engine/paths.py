"""Where the app keeps its files: the user's data folder (demo state, snapshots) and the bundled resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "shared-state-studio"
DATA_ENV = "STATE_STUDIO_DATA_DIR"


def data_dir() -> Path:
    """The user's data folder (``~/.local/share/shared-state-studio`` on Linux); ``$STATE_STUDIO_DATA_DIR`` overrides it."""
    override = os.environ.get(DATA_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, inside the bundle when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def demo_script() -> Path:
    """The built-in demo: the seed's full example."""
    return resources_dir() / "demo" / "server.py"
