"""The ``state-studio`` command: the GUI by default; ``run --headless``, ``attach``, ``inspect``, ``diff``, ``convert``."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_app import __version__
from desktop_app.value_json import dumps, plain, preview, to_json

if TYPE_CHECKING:
    from desktop_app.engine.diff import Change

SUBCOMMANDS = ("run", "attach", "inspect", "diff", "convert")
DIFF_EXIT_STATUS = """exit status:
  0  the files hold the same entries and values (scopes are not compared)
  1  they differ
  2  error: a file is missing or is not a state file, or bad arguments"""


class _Fail(Exception):
    """One clear line for the user and a non-zero exit."""


def _version() -> str:
    # Which hot paths run: the compiled module, or its pure-Python twin (not built, or forced with
    # STATE_STUDIO_PURE=1). The engine's hot-path package imports no Qt, so this stays quick.
    from desktop_app.engine import hotpath

    return f"state-studio {__version__} ({hotpath.IMPLEMENTATION} hot paths)"


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="state-studio",
        description="Shared State Studio: watch and edit a live shared state. "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (state-studio SUBCOMMAND --help).",
    )
    p.add_argument(
        "script",
        nargs="?",
        metavar="SCRIPT",
        help="server script (a .py file defining setup(server)); default: the built-in demo",
    )
    p.add_argument("--version", action="version", version=_version())
    p.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, run the demo until one timer tick reaches the tree, exit 0",
    )
    return p


def _sub_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="state-studio")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a server script")
    run.add_argument("script", metavar="SCRIPT", help="server script: a .py file defining setup(server)")
    run.add_argument("--headless", action="store_true", help="without a window, until Ctrl+C or SIGTERM")
    run.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    run.add_argument("--store", metavar="URL", help="share state and lockables through Redis (redis://HOST:PORT/DB)")
    run.add_argument("--namespace", metavar="NS", help="the Redis namespace (default 'default'); with --store")
    att = sub.add_parser(
        "attach",
        help="open the studio on a state that headless processes share through Redis",
        description="Open the window on a Redis namespace: the live tree (edits go to Redis), the "
        "processes by their heartbeats, every process's lock holders and waiters. File -> Detach "
        "returns to the built-in demo.",
    )
    att.add_argument("url", metavar="URL", help="the Redis the processes use: redis://HOST:PORT/DB")
    att.add_argument(
        "--namespace", metavar="NS", default="default", help="the processes' --namespace (default 'default')"
    )
    ins = sub.add_parser(
        "inspect",
        help="describe a state file: format, entries, types, scopes, sizes, the first entries as a tree",
        description="Describe a state file: totals, then the first entries as a short tree. The output "
        "stays short however big the file is; --all lists everything.",
    )
    ins.add_argument(
        "file",
        metavar="FILE",
        help="state file to describe (pode, pode-v2 or pre-scope format), or a Redis URL with --namespace",
    )
    ins.add_argument("--namespace", metavar="NS", help="the Redis namespace when FILE is a URL (default 'default')")
    ins.add_argument(
        "--all", action="store_true", help="every entry and every item, not the first 10 of each"
    )
    ins.add_argument(
        "--depth",
        type=int,
        default=2,
        metavar="N",
        help="levels of each entry's tree to show (default 2; 0: none)",
    )
    ins.add_argument(
        "--json",
        action="store_true",
        help="one JSON document: the totals and the shown entries' whole values",
    )
    d = sub.add_parser(
        "diff",
        help="added / removed / changed key paths between two state files",
        description="Added (+), removed (-) and changed (~) key paths between two state files, "
        "values shown as JSON.",
        epilog=DIFF_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("a", metavar="A", help="the older state file")
    d.add_argument("b", metavar="B", help="the newer state file (changes read as A -> B)")
    d.add_argument("--json", action="store_true", help="one JSON document: {a, b, same, changes: [...]}")
    c = sub.add_parser(
        "convert",
        help="rewrite a state file in another format, or save a Redis namespace to a file / restore one from it",
    )
    c.add_argument("input", metavar="IN", help="state file to read (any format inspect reads), or a Redis URL")
    c.add_argument("output", metavar="OUT", help="file to write (replaced atomically), or a Redis URL")
    c.add_argument("--format", choices=["pode", "pode-v2"], help="the output file's format (required for a file)")
    c.add_argument("--compress", action="store_true", help="no indentation (smaller file)")
    c.add_argument("--namespace", metavar="NS", help="the Redis namespace of the URL side (default 'default')")
    c.add_argument("--merge", action="store_true", help="into Redis: upsert the file's entries, keep the others")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            ns = _sub_parser().parse_args(args)
            handler = {"run": _run, "attach": _attach, "inspect": _inspect, "diff": _diff, "convert": _convert}[
                ns.command
            ]
            return handler(ns)
        if args:
            _refuse_misspelt_subcommand(args[0])
        ns = _gui_parser().parse_args(args)
        if ns.script is not None:
            _check_script(ns.script)
        if not ns.self_test:  # the self-test runs offscreen
            _require_display()
        from desktop_app.ui.shell.app import run_gui

        return run_gui(script=ns.script, self_test=ns.self_test)
    except _Fail as err:
        print(f"state-studio: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`inspect --all | head`): stop quietly, as a program killed by SIGPIPE
        # would. Pointing stdout at /dev/null keeps the flush at exit from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a program


def _refuse_misspelt_subcommand(word: str) -> None:
    """``state-studio inpect f.json`` would otherwise open the GUI parser and fail on ``f.json``."""
    if word.startswith("-") or "." in word or os.sep in word or Path(word).exists():
        return  # an option or a script's path
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    if close:
        raise _Fail(f"unknown command {word!r}; did you mean {close[0]!r}? (state-studio --help lists them)")


def _check_script(script: str) -> None:
    path = Path(script).expanduser()
    if not path.exists():
        raise _Fail(f"{script}: no such server script")
    if path.is_dir():
        inside = path / "server.py"
        hint = (
            f"did you mean {inside}?" if inside.is_file() else "give the .py file that defines setup(server)"
        )
        raise _Fail(f"{script}: is a folder; {hint}")


def _require_display() -> None:
    """Qt aborts the process (with lines about libxcb-cursor0) when xcb has no display: say so first."""
    if not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb") and options ("xcb:foo=bar").
    platforms = [p.split(":")[0] for p in os.environ.get("QT_QPA_PLATFORM", "").split(";") if p]
    if all(p == "xcb" or p.startswith("wayland") for p in platforms):
        raise _Fail(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): run without a window with "
            "`state-studio run SCRIPT --headless`, or in a virtual display with `xvfb-run -a state-studio`"
        )


# -- run --------------------------------------------------------------------------------------------


def _run(ns: argparse.Namespace) -> int:
    from desktop_app.engine import ScriptError
    from desktop_app.engine.process_exit import EXIT_GRACE, exit_deadline, exit_now
    from desktop_app.engine.server import Server

    logging.basicConfig(
        level=logging.DEBUG if ns.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if ns.namespace is not None and ns.store is None:
        raise _Fail("--namespace needs --store redis://HOST:PORT/DB")
    _check_script(ns.script)
    if not ns.headless:
        if ns.store is not None:
            raise _Fail(
                "--store runs a script --headless; to watch it in the studio: state-studio attach URL --namespace NS"
            )
        _require_display()
        from desktop_app.ui.shell.app import run_gui

        return run_gui(script=ns.script)
    try:
        server = Server.from_script(ns.script, store=ns.store, namespace=ns.namespace)
    except ScriptError as err:
        raise _Fail(str(err)) from None
    except ValueError as err:  # a malformed store URL or namespace
        raise _Fail(str(err)) from None
    if server.store is not None:
        print(f"state on {server.store} namespace '{server.namespace}'", file=sys.stderr, flush=True)
    done = threading.Event()
    log = logging.getLogger("state-studio")

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if done.is_set():  # the second one: the user does not want to wait for stuck jobs
            log.warning("%s received again: exiting now without waiting for running jobs", name)
            exit_now(128 + signum)
        done.set()  # first: the next signal may interrupt this handler
        log.info(
            "%s received, stopping (up to %.0f s for running jobs; send it again to exit at once)",
            name,
            server.stop_timeout,
        )
        # Whatever hangs from here on (a thread the script started, a stuck exit), the process ends.
        exit_deadline(server.stop_timeout + EXIT_GRACE, 1, name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()  # logs "listening on URL" (or why it cannot) for each endpoint
    try:
        while not done.wait(0.5):
            pass
    finally:
        stuck = server.stop()
    # Abandoned jobs run on daemon threads: returning lets the interpreter exit without them.
    return 1 if stuck else 0


# -- attach -----------------------------------------------------------------------------------------


def _attach(ns: argparse.Namespace) -> int:
    from desktop_app.engine.redis.conn import is_store_url, shown_url
    from desktop_app.engine.redis.store import namespace_prefix

    if not is_store_url(ns.url):
        raise _Fail(f"{shown_url(ns.url)}: not a Redis URL (redis://HOST:PORT/DB, rediss://, unix://)")
    try:
        namespace_prefix(ns.namespace)
    except ValueError as err:
        raise _Fail(str(err)) from None
    _require_display()
    from desktop_app.ui.shell.app import run_gui

    return run_gui(attach=(ns.url, ns.namespace))


# -- files ------------------------------------------------------------------------------------------


def _load(path: str) -> Any:
    from desktop_app.engine import StateFileError, persistence

    p = Path(path)
    if not p.exists():
        raise _Fail(f"{path}: no such file")
    try:
        loaded = persistence.read_file(p)
    except StateFileError as err:
        raise _Fail(str(err)) from None
    if loaded is None:
        return persistence.StateFile({}, "empty")
    return loaded


def _is_url(source: str) -> bool:
    from desktop_app.engine.redis.conn import is_store_url

    return is_store_url(source)


def _redis_state(url: str, namespace: str | None) -> Any:
    from desktop_app.engine import SharedState

    try:
        return SharedState(store=url, namespace=namespace)
    except ValueError as err:
        raise _Fail(str(err)) from None


def _load_redis(url: str, namespace: str | None) -> Any:
    """A Redis namespace read like a state file (one consistent read)."""
    from desktop_app.engine import StateStoreError, persistence

    try:
        snap = _redis_state(url, namespace).snapshot()
    except StateStoreError as err:
        raise _Fail(str(err)) from None
    return persistence.StateFile({k: (v["Value"], v["Scope"]) for k, v in snap.items()}, "redis")


def _inspect(ns: argparse.Namespace) -> int:
    from desktop_app import inspect_report

    if ns.depth < 0:
        raise _Fail(f"--depth must be 0 or more (got {ns.depth})")
    if _is_url(ns.file):
        loaded = _load_redis(ns.file, ns.namespace)
        state = _redis_state(ns.file, ns.namespace)
        source, size = f"{state.store_url}\nnamespace: {state.namespace}", None
    else:
        loaded = _load(ns.file)
        source, size = ns.file, Path(ns.file).stat().st_size  # type: int | None
    if ns.json:
        lines = inspect_report.json_report(source, size, loaded.format, loaded.entries, every=ns.all)
        sys.stdout.writelines(lines)
    else:
        lines = inspect_report.text_report(source, size, loaded.format, loaded.entries, depth=ns.depth, every=ns.all)
        sys.stdout.writelines(line + "\n" for line in lines)
    return 0


def _diff(ns: argparse.Namespace) -> int:
    from desktop_app.engine.diff import diff_states

    a = {k: v for k, (v, _) in _load(ns.a).entries.items()}
    b = {k: v for k, (v, _) in _load(ns.b).entries.items()}
    changes = diff_states(a, b)
    if ns.json:
        _diff_json(ns.a, ns.b, changes)
    else:
        for c in changes:
            sys.stdout.write(_diff_line(c) + "\n")
    return 1 if changes else 0


def _diff_line(c: Change) -> str:
    if c.kind == "removed":
        return f"- {c.text_path}"
    if c.kind == "added":
        return f"+ {c.text_path}: {preview(c.new, 60)}"
    old, new = preview(c.old, 40), preview(c.new, 40)
    if old == new:  # 1 and Decimal("1"), a datetime and its ISO string: the types are the change
        old, new = f"{old} ({type(c.old).__name__})", f"{new} ({type(c.new).__name__})"
    return f"~ {c.text_path}: {old} -> {new}"


def _diff_json(a: str, b: str, changes: list[Change]) -> None:
    # Written change by change, so a diff of a big state never holds its whole JSON text.
    head = dumps({"a": a, "b": b, "same": not changes})
    sys.stdout.write(head[:-1] + ',"changes":[')
    for i, c in enumerate(changes):
        record: dict[str, Any] = {"kind": c.kind, "path": plain(list(c.path)), "text_path": c.text_path}
        if c.kind == "changed" and type(c.old) is not type(c.new):
            record["old_type"], record["new_type"] = type(c.old).__name__, type(c.new).__name__
        values = "" if c.kind == "added" else ',"old":' + to_json(c.old)
        values += "" if c.kind == "removed" else ',"new":' + to_json(c.new)
        sys.stdout.write(("," if i else "") + "\n" + dumps(record)[:-1] + values + "}")
    sys.stdout.write("\n]}\n" if changes else "]}\n")


def _convert(ns: argparse.Namespace) -> int:
    from desktop_app.engine import StateFileError, StateStoreError, persistence

    into_redis = _is_url(ns.output)
    if into_redis and _is_url(ns.input):
        raise _Fail("convert needs a file on one side (a Redis namespace to a file, or a file into one)")
    if not into_redis and ns.format is None:
        raise _Fail("--format (pode or pode-v2) is required when writing a file")
    loaded = _load_redis(ns.input, ns.namespace) if _is_url(ns.input) else _load(ns.input)
    if into_redis:
        state = _redis_state(ns.output, ns.namespace)
        try:
            state.load_entries(loaded.entries, merge=ns.merge)
        except (StateStoreError, ValueError) as err:
            raise _Fail(str(err)) from None
        how = "merged into" if ns.merge else "replaced"
        print(
            f"{how} {state.store_url} namespace '{state.namespace}' ({len(loaded.entries)} entries)", file=sys.stderr
        )
        return 0
    try:
        data = persistence.encode(loaded.entries, format=ns.format, compress=ns.compress, path=ns.output)
        persistence.atomic_write(ns.output, data)
    except StateFileError as err:
        raise _Fail(str(err)) from None
    print(f"wrote {ns.output} ({ns.format}, {len(loaded.entries)} entries)", file=sys.stderr)
    return 0
