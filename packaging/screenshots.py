"""Take the README's screenshots from the real app: `xvfb-run -a -s "-screen 0 1440x900x24" python packaging/screenshots.py`.

It opens the main window on a real (virtual) X display, runs the demos, and saves
resources/screenshots/{main,locks,jobs,diff}.png. Nothing here is mocked: the window, the server
and its timers are the ones a user gets.
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


def _expand(window: object, *paths: tuple[object, ...]) -> None:
    view = window.view  # type: ignore[attr-defined]
    for path in paths:
        node = view.model.node_for_path(path)
        if node is not None:
            view.tree.expand(view.view_index(node))


async def _shoot_dock(dock: Any, size: tuple[int, int], wait: float, name: str) -> None:
    """Float a dock at ``size``, let it sample for ``wait`` seconds, save it as ``name``, dock it back."""
    dock.raise_()
    dock.setFloating(True)
    dock.resize(*size)
    dock.show()
    await _pause(wait)
    dock.grab().save(str(OUT / name))
    dock.setFloating(False)


async def _shoot(window: object) -> None:
    from desktop_app.engine.paths import resources_dir

    w = window  # a MainWindow
    OUT.mkdir(parents=True, exist_ok=True)
    demo = resources_dir() / "demo"

    # 1. the main window: the seed's demo with a few rows expanded
    await w.load_script(demo / "server.py")  # type: ignore[attr-defined]
    w.server.state.set("settings", {"interval": 2, "owner": "ops", "tags": ["demo", "pode"]}, scope="config")  # type: ignore[attr-defined]
    w.server.state.set("visits", 42)  # type: ignore[attr-defined]
    await _pause(7)
    _expand(w, ("hash",), ("hash", "values"), ("settings",))
    w.log_dock.raise_()  # type: ignore[attr-defined]
    await _pause(1.5)
    w.grab().save(str(OUT / "main.png"))

    # 3. a snapshot diff: snapshot, let the timer change things, diff against live
    dock = w.snapshots_dock  # type: ignore[attr-defined]
    dock.raise_()
    dock.take_snapshot("before")
    await _pause(5)
    w.server.state.set("visits", 43)  # type: ignore[attr-defined]
    w.server.state.remove("settings")  # type: ignore[attr-defined]
    w.server.state.set("session", {"user": "morty", "active": True})  # type: ignore[attr-defined]
    await _pause(1)
    infos = dock.store.list()
    if infos:
        dock.diff_with_live(infos[0])
    await _pause(3)
    await _shoot_dock(dock, (900, 560), 1, "diff.png")

    # 4. the locks dock during the contention demo
    await w.load_script(demo / "contention.py")  # type: ignore[attr-defined]
    await _shoot_dock(w.locks_dock, (1300, 720), 8, "locks.png")  # type: ignore[attr-defined]

    # 5. the jobs dock with the contention demo's timers
    await _shoot_dock(w.jobs_dock, (1000, 420), 2, "jobs.png")  # type: ignore[attr-defined]


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
    window = MainWindow(settings)
    window.resize(1400, 860)
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
