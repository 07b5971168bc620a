"""Take the README's attach screenshot from the real app: `xvfb-run -a -s "-screen 0 1440x900x24" python packaging/attach_screenshot.py`.

It starts its own redis-server on a free port and two `state-studio run resources/demo/server.py
--headless --store ... --namespace demo` processes (what the README's "Attach the studio to a
fleet" tells a person to run), opens the main window as a first run does, attaches it, selects the
first process, and saves resources/screenshots/attach.png. Nothing is mocked.
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
sys.path.insert(0, str(ROOT))

from tests.headless_demo import HeadlessDemo  # noqa: E402  (after the path is set)
from tests.redis_server import RedisServer  # noqa: E402


async def _shoot(window: Any, url: str, demos: list[HeadlessDemo]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    await window.attach(url, "demo")
    await asyncio.sleep(3)
    window.processes_dock.select_process(demos[0].key)
    await asyncio.sleep(9)  # a few ticks of each process's timer
    window.grab().save(str(OUT / "attach.png"))


def main() -> int:
    data = Path(tempfile.mkdtemp(prefix="sss-attach-shot-"))
    os.environ["STATE_STUDIO_DEMO_PORT"] = "0"
    os.environ["STATE_STUDIO_DATA_DIR"] = str(data)
    os.environ["XDG_CONFIG_HOME"] = str(data / "config")
    import qasync
    from PySide6.QtCore import QSettings

    from desktop_app.ui.shell.app import make_application
    from desktop_app.ui.shell.main_window import MainWindow

    with RedisServer() as redis_server:
        demos = [HeadlessDemo(redis_server.url, "demo", data / name) for name in ("a", "b")]
        try:
            for d in demos:
                d.wait_listening()
            app = make_application()
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            settings = QSettings(str(data / "settings.ini"), QSettings.Format.IniFormat)
            window = MainWindow(settings)  # a fresh settings file: the first-run size and layout
            window.show()

            async def run() -> None:
                try:
                    await _shoot(window, redis_server.url, demos)
                finally:
                    window.close()

            with loop:
                loop.run_until_complete(run())
        finally:
            for d in demos:
                d.close()
    print(f"screenshot written to {OUT / 'attach.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
