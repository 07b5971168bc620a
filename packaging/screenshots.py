"""Take the README's screenshots from the real app: `xvfb-run -a -s "-screen 0 1440x900x24" python packaging/screenshots.py`.

It opens the main window on a real (virtual) X display as a first run does (fresh settings, so the
first-run size and dock layout), runs the demos, and saves resources/screenshots/{main,locks,jobs,diff}.png.
Nothing here is mocked or added: the window, the server, its timers and the state are the ones a
user gets from `make run`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "screenshots"


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def _shoot(window: object) -> None:
    """What a new user sees: the first run's window, docks where they start, nothing added or resized."""
    from desktop_app.engine.paths import resources_dir

    w: Any = window  # a MainWindow
    OUT.mkdir(parents=True, exist_ok=True)
    demo = resources_dir() / "demo"

    # 1. the main window on the demo, as `make run` opens it: hash -> values growing, Jobs in front
    await w.load_script(demo / "server.py")
    await _pause(9)
    w.grab().save(str(OUT / "main.png"))

    # 2. the Jobs dock along the bottom: the demo's timer and its two routes
    w.jobs_dock.grab().save(str(OUT / "jobs.png"))

    # 3. a snapshot diff: Ctrl+T's snapshot (the dock comes forward), a few ticks, Diff with live
    dock = w.snapshots_dock
    dock.take_snapshot("before")
    await _pause(7)
    infos = dock.store.list()
    if infos:
        dock.select(infos[0])
        dock.diff_with_live(infos[0])
    await _pause(2)
    dock.diff_view.expand_button.click()  # the dock's own "Expand all"
    await _pause(0.5)
    dock.grab().save(str(OUT / "diff.png"))

    # 4. the Locks dock during the contention demo, where File -> Open demo puts it
    await w.open_demo(demo / "contention.py", "locks_dock")
    await _pause(9)
    w.locks_dock.grab().save(str(OUT / "locks.png"))


def main() -> int:
    os.environ.setdefault("STATE_STUDIO_DEMO_PORT", "0")
    data = tempfile.mkdtemp(prefix="sss-shots-")
    os.environ["STATE_STUDIO_DATA_DIR"] = data
    os.environ["XDG_CONFIG_HOME"] = str(Path(data) / "config")
    import qasync
    from PySide6.QtCore import QSettings

    from desktop_app.ui.shell.app import make_application
    from desktop_app.ui.shell.main_window import MainWindow

    app = make_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = QSettings(str(Path(data) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)  # a fresh settings file: the first-run size and layout
    window.show()

    async def run() -> None:
        try:
            await _shoot(window)
        finally:
            window.close()

    with loop:
        loop.run_until_complete(run())
    print(f"screenshots written to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
