"""The ``state-studio`` command: the GUI by default; ``run --headless``, ``inspect``, ``diff``, ``convert``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop_app import __version__

SUBCOMMANDS = ("run", "inspect", "diff", "convert")


class _Fail(Exception):
    """One clear line for the user and a non-zero exit."""


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="state-studio",
        description="Shared State Studio: watch and edit a live shared state. "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (state-studio SUBCOMMAND --help).",
    )
    p.add_argument("script", nargs="?", help="server script defining setup(server) (default: the built-in demo)")
    p.add_argument("--version", action="version", version=f"state-studio {__version__}")
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
    run.add_argument("script", help="server script defining setup(server)")
    run.add_argument("--headless", action="store_true", help="without a window, until Ctrl+C or SIGTERM")
    run.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    run.add_argument("--store", metavar="URL", help="share state and lockables through Redis (redis://HOST:PORT/DB)")
    run.add_argument("--namespace", metavar="NS", help="the Redis namespace (default 'default'); with --store")
    ins = sub.add_parser("inspect", help="describe a state file (or a Redis namespace): entries, scopes, sizes, a tree")
    ins.add_argument("file", help="a state file, or a Redis URL (redis://HOST:PORT/DB) with --namespace")
    ins.add_argument("--depth", type=int, default=2, help="tree depth to show (default 2)")
    ins.add_argument("--namespace", metavar="NS", help="the Redis namespace when FILE is a URL (default 'default')")
    d = sub.add_parser("diff", help="added / removed / changed key paths between two state files")
    d.add_argument("a")
    d.add_argument("b")
    c = sub.add_parser(
        "convert",
        help="rewrite a state file in another format, or save a Redis namespace to a file / restore one from it",
    )
    c.add_argument("input", help="a state file, or a Redis URL (its --namespace is saved)")
    c.add_argument("output", help="a state file, or a Redis URL (its --namespace is replaced, or merged)")
    c.add_argument("--format", choices=["pode", "pode-v2"], help="the output file's format (required for a file)")
    c.add_argument("--compress", action="store_true")
    c.add_argument("--namespace", metavar="NS", help="the Redis namespace of the URL side (default 'default')")
    c.add_argument("--merge", action="store_true", help="into Redis: upsert the file's entries, keep the others")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            ns = _sub_parser().parse_args(args)
            handler = {"run": _run, "inspect": _inspect, "diff": _diff, "convert": _convert}[ns.command]
            return handler(ns)
        ns = _gui_parser().parse_args(args)
        from desktop_app.ui.app import run_gui

        return run_gui(script=ns.script, self_test=ns.self_test)
    except _Fail as err:
        print(f"state-studio: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# -- run --------------------------------------------------------------------------------------------


def _run(ns: argparse.Namespace) -> int:
    from desktop_app.engine import ScriptError
    from desktop_app.engine.server import Server

    logging.basicConfig(
        level=logging.DEBUG if ns.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if ns.namespace is not None and ns.store is None:
        raise _Fail("--namespace needs --store redis://HOST:PORT/DB")
    if not ns.headless:
        if ns.store is not None:
            raise _Fail("--store runs a script --headless (the studio cannot open a Redis store yet)")
        from desktop_app.ui.app import run_gui

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

    def on_signal(signum: int, _frame: Any) -> None:
        logging.getLogger("state-studio").info("%s received, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    for ep in server.endpoints:
        if ep.error:
            logging.getLogger("state-studio").error("%s", ep.error)
        else:
            print(f"listening on {ep.url}", file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        stuck = server.stop()
    return 1 if stuck else 0


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
    from desktop_app.engine.redis_conn import is_store_url

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


def _size(value: Any) -> int:
    import orjson

    try:
        return len(orjson.dumps(value, default=str))
    except TypeError:
        return len(repr(value))


def _preview(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _tree(value: Any, depth: int, indent: str, out: list[str]) -> None:
    if depth <= 0:
        return
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        items = [(f"{k}", v) for k, v in value.items()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    else:
        return
    for i, (label, v) in enumerate(items):
        if i >= 10:
            out.append(f"{indent}… {len(items) - 10} more")
            break
        if isinstance(v, dict | list | tuple | set | frozenset):
            out.append(f"{indent}{label}: {type(v).__name__} ({len(v)})")
            _tree(v, depth - 1, indent + "  ", out)
        else:
            out.append(f"{indent}{label}: {_preview(v)}")


def _inspect(ns: argparse.Namespace) -> int:
    if _is_url(ns.file):
        loaded = _load_redis(ns.file, ns.namespace)
        state = _redis_state(ns.file, ns.namespace)
        head = [f"store:   {state.store_url}", f"namespace: {state.namespace}", "format:  redis"]
    else:
        loaded = _load(ns.file)
        head = [f"file:    {ns.file}", f"format:  {loaded.format}"]
    entries = loaded.entries
    lines = [*head, f"entries: {len(entries)}"]
    scopes = sorted({s for _, sc in entries.values() for s in sc})
    lines.append(f"scopes:  {', '.join(scopes) if scopes else '(none)'}")
    lines.append("")
    for name, (value, scope) in entries.items():
        kind = type(value).__name__
        count = f" ({len(value)})" if isinstance(value, dict | list | tuple | set | frozenset) else ""
        tag = f" [{', '.join(scope)}]" if scope else ""
        lines.append(f"{name}: {kind}{count}, {_size(value)} bytes{tag}")
        if count:
            _tree(value, ns.depth, "  ", lines)
        else:
            lines.append(f"  = {_preview(value)}")
    print("\n".join(lines))
    return 0


def _diff(ns: argparse.Namespace) -> int:
    from desktop_app.engine.diff import diff_states

    a = {k: v for k, (v, _) in _load(ns.a).entries.items()}
    b = {k: v for k, (v, _) in _load(ns.b).entries.items()}
    changes = diff_states(a, b)
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for c in changes:
        if c.kind == "changed":
            print(f"~ {c.text_path}: {_preview(c.old, 40)} -> {_preview(c.new, 40)}")
        elif c.kind == "added":
            print(f"+ {c.text_path}: {_preview(c.new, 60)}")
        else:
            print(f"{marks[c.kind]} {c.text_path}")
    return 1 if changes else 0


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
