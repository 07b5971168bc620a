"""The engine never imports Qt or qasync: checked in a fresh interpreter, module by module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import desktop_app.engine

ENGINE_MODULES = sorted(
    m.name.removeprefix("desktop_app.engine.")
    for m in pkgutil.walk_packages(desktop_app.engine.__path__, "desktop_app.engine.")
)


def test_engine_modules_found() -> None:
    assert {"state", "locks", "persistence", "server", "jobs.timers", "jobs.schedules", "http.listener", "jobs.cron"} <= set(
        ENGINE_MODULES
    )


def test_no_engine_module_imports_qt() -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {ENGINE_MODULES!r}:\n"
        "    importlib.import_module('desktop_app.engine.' + m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('PySide6', 'shiboken6', 'qasync', 'PyQt5', 'PyQt6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"the engine imported Qt: {out.stdout.strip()}"
