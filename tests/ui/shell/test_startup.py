"""Start-up: the window paints before the server's heavy imports (aiohttp, cron) and before the demo starts."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_main_window_imports_no_http_server_or_cron() -> None:
    # In a fresh interpreter: this test process has imported everything already.
    code = (
        "import sys; import desktop_app.ui.shell.main_window, desktop_app.ui.shell.app; "
        "print(sorted(m for m in ('aiohttp', 'croniter', 'desktop_app.engine.server', "
        "'desktop_app.engine.routes') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", "imported before the first paint: " + out.stdout
