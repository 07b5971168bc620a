"""What wakes the idle studio: timer fires per timer, paints per widget, queued calls, thread CPU, per second.

Run: ``python -m bench.idle_wakeups`` (``--settle S``, ``--seconds S``, ``--profile N`` to add the GUI
thread's top N Python functions by own time). Runs the real app on the demo (one change every 2 s) in
this process, under the display ``QT_QPA_PLATFORM``/``DISPLAY`` give (``xvfb-run -a -s "-screen 0
1440x900x24"`` for a real window), with a fresh data folder, and after ``--settle`` seconds counts for
``--seconds``:

- Timer events per QTimer, named by where it was created (file:line of our code); Qt's own timers by
  their receiver's class.
- Paint events per widget class (an ``UpdateRequest`` per top-level: each is one backing-store flush).
- Queued signal deliveries (``MetaCall``) per receiver class: the bridge's frames and statuses.
- CPU per thread (``/proc/self/task``) and the bridge thread's loop turns (``StateBridge.wakeups``).

It is a diagnosis, not a figure with a target (I1 in ``bench/studio_cost.py`` is that): the event filter
it installs costs some CPU of its own.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tag_timers() -> dict[int, str]:
    """Replace QtCore.QTimer with a subclass that remembers where each timer was made (before our imports)."""
    from PySide6 import QtCore

    sites: dict[int, str] = {}
    base = QtCore.QTimer

    class TaggedTimer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            for frame in reversed(traceback.extract_stack(limit=8)[:-1]):
                if (
                    "desktop_app" in frame.filename and "common/pace.py" not in frame.filename
                ) or "qasync" in frame.filename:
                    where = frame.filename.split("desktop_app/")[-1].split("site-packages/")[-1]
                    sites[id(self)] = f"{where}:{frame.lineno}"
                    break
            else:
                sites[id(self)] = "elsewhere"

    QtCore.QTimer = TaggedTimer  # type: ignore[misc]
    return sites


def _thread_cpu() -> dict[str, float]:
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue
        name = names.get(int(task.name), comm)
        out[f"{name} [{task.name}]"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument(
        "--entries",
        type=int,
        default=0,
        help="also attribute the GUI thread's CPU to the N costliest Python entry points",
    )
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="idle-wakeups-"))
    os.environ["STATE_STUDIO_DATA_DIR"] = str(data / "data")
    os.environ["XDG_CONFIG_HOME"] = str(data / "config")
    os.environ["STATE_STUDIO_DEMO_PORT"] = "0"
    sites = _tag_timers()

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.ui.shell import app as app_module

    app = app_module.make_application()
    assert isinstance(app, QApplication)
    counting = {"on": False}
    timers: Counter[str] = Counter()
    paints: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    other: Counter[str] = Counter()
    interesting = {QEvent.Type.Timer, QEvent.Type.Paint, QEvent.Type.MetaCall, QEvent.Type.UpdateRequest}

    class Count(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if counting["on"]:
                kind = event.type()
                if kind == QEvent.Type.Timer:
                    site = sites.get(id(watched))
                    timers[site or f"Qt: {type(watched).__name__} {watched.objectName()}".strip()] += 1
                elif kind == QEvent.Type.Paint:
                    paints[f"{type(watched).__name__} {watched.objectName()}".strip()] += 1
                elif kind == QEvent.Type.MetaCall:
                    calls[type(watched).__name__] += 1
                elif kind == QEvent.Type.UpdateRequest:
                    paints[f"UpdateRequest {type(watched).__name__}"] += 1
                elif kind not in interesting:
                    other[f"{kind.name} {type(watched).__name__} {watched.objectName()}".strip()] += 1
            return False

    counter = Count()
    app.installEventFilter(counter)
    profile = cProfile.Profile() if args.profile else None
    entry_cpu: Counter[str] = Counter()
    entry_calls: Counter[str] = Counter()
    depth = {"n": 0, "at": 0.0}

    def entry_hook(frame: object, event: str, _arg: object) -> None:
        # The GUI thread's Python runs only when Qt calls in (a slot, an override, a timer): time each
        # outermost call, so the CPU splits by what Qt called. C calls made from Python nest inside.
        if event == "call":
            if depth["n"] == 0:
                depth["at"] = time.thread_time()
            depth["n"] += 1
        elif event == "return":
            depth["n"] -= 1
            if depth["n"] == 0:
                code = frame.f_code  # type: ignore[attr-defined]
                where = f"{code.co_filename.split('/')[-1]}:{code.co_firstlineno}({code.co_qualname})"
                entry_cpu[where] += time.thread_time() - depth["at"]
                entry_calls[where] += 1
            elif depth["n"] < 0:
                depth["n"] = 0

    marks: dict[str, object] = {}

    def window() -> object:
        from desktop_app.ui.shell.main_window import MainWindow

        return next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))

    def start() -> None:
        win = window()
        marks["cpu"] = _thread_cpu()
        marks["wakeups"] = win.bridge.wakeups  # type: ignore[attr-defined]
        counting["on"] = True
        if args.entries:
            sys.setprofile(entry_hook)
        if profile is not None:
            profile.enable()

    def stop() -> None:
        if profile is not None:
            profile.disable()
        counting["on"] = False
        sys.setprofile(None)
        win = window()
        secs = args.seconds
        cpu0, cpu1 = marks["cpu"], _thread_cpu()
        assert isinstance(cpu0, dict)
        print(
            f"idle wake-ups per second over {secs:g} s after {args.settle:g} s "
            f"(QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', '')}, DISPLAY={os.environ.get('DISPLAY', '')})"
        )
        total = sum(cpu1.values()) - sum(cpu0.get(k, 0.0) for k in cpu1)
        print(f"process CPU {100 * total / secs:.2f} % of a core; per thread:")
        for name in sorted(cpu1, key=lambda k: cpu0.get(k, 0.0) - cpu1[k]):
            used = cpu1[name] - cpu0.get(name, 0.0)
            if used > 0:
                print(f"   {100 * used / secs:6.2f} %  {name}")
        wakeups = win.bridge.wakeups - marks["wakeups"]  # type: ignore[attr-defined, operator]
        print(f"bridge thread loop turns: {wakeups / secs:.2f}/s")
        for title, counts in (
            ("timer events", timers),
            ("paints", paints),
            ("queued calls", calls),
            ("other events", other),
        ):
            print(f"{title}: {sum(counts.values()) / secs:.2f}/s")
            for what, n in counts.most_common(15):
                print(f"   {n / secs:7.2f}/s  {what}")
        if args.entries:
            spent = sum(entry_cpu.values())
            print(
                f"GUI thread Python entry points (profiled, so slower than real): {100 * spent / secs:.2f} % in all"
            )
            for where, cpu in entry_cpu.most_common(args.entries):
                print(f"   {1000 * cpu / secs:6.2f} ms/s  {entry_calls[where] / secs:6.2f}/s  {where}")
        if profile is not None:
            stats = pstats.Stats(profile)
            stats.sort_stats(os.environ.get("SORT", "tottime")).print_stats(args.profile)
        win.close()  # type: ignore[attr-defined]

    QTimer.singleShot(int(args.settle * 1000), start)
    QTimer.singleShot(int((args.settle + args.seconds) * 1000), stop)
    code = app_module.run_gui(None)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
