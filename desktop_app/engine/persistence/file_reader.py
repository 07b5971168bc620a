"""``read_file`` and ``decode``: bytes sniffed for BOMs and encodings, parsed, and the format detected."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import orjson

from desktop_app.engine.errors import StateFileError
from desktop_app.engine.persistence.gc_pause import _gc_paused
from desktop_app.engine.persistence.limits import MAX_DEPTH
from desktop_app.engine.persistence.pode_format import _from_legacy
from desktop_app.engine.persistence.pode_v2_format import _METADATA_KEY, _from_v2
from desktop_app.engine.persistence.problems import _Inexact, _json_kind, _where
from desktop_app.engine.persistence.regular_files import _not_regular, _open_regular
from desktop_app.engine.persistence.state_file import StateFile


def read_file(path: str | os.PathLike[str]) -> StateFile | None:
    """Read and decode a state file.

    Args:
        path: the state file (already resolved, see ``resolve_path``).

    Returns:
        The file's entries and format, or None when there is nothing to restore: the file does
        not exist, is empty or only whitespace, or holds JSON ``null``.

    Raises:
        StateFileError: the path (or what a symlink leads to) is not a regular file (a folder,
            FIFO, socket or device node: refused before anything is read), cannot be read
            (permissions, a file used as a folder in the path, ...), or the content is not a
            state file (see ``decode``).

    Example:
        >>> read_file("/no/such/state.json") is None
        True
    """
    target = Path(os.fspath(path))
    try:
        # Look before opening: opening a FIFO blocks until a writer comes, and opening some
        # devices has effects of its own. stat follows symlinks, so a link to /dev/zero is caught.
        mode = os.stat(target).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, target)
        handle = _open_regular(target)
        with handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise StateFileError("permission denied; check the file's permissions", path=target) from exc
    except OSError as exc:
        raise StateFileError(f"cannot read the file: {exc.strerror or exc}", path=target) from exc
    return decode(data, path=target)


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _guess_encoding(data: bytes | bytearray | memoryview) -> tuple[str, int]:
    """Return (encoding, BOM length). Without a BOM, RFC 4627's NUL-byte pattern spots UTF-16/32."""
    head = bytes(data[:4])
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    # JSON text starts with an ASCII character, so NULs among the first bytes mean UTF-16/32.
    if len(head) >= 4 and head[:3] == b"\x00\x00\x00":
        return "utf-32-be", 0
    if len(head) >= 4 and head[1:4] == b"\x00\x00\x00":
        return "utf-32-le", 0
    if len(head) >= 2 and head[0] == 0:
        return "utf-16-be", 0
    if len(head) >= 2 and head[1] == 0:
        return "utf-16-le", 0
    return "utf-8", 0


def decode(data: bytes, *, path: str | os.PathLike[str] | None = None) -> StateFile | None:
    """Decode the bytes of a state file in any of Pode's formats.

    Detects a v2 envelope (``__pode_state_metadata__``), ``{name: {Value, Scope}}`` files and
    pre-scope ``{name: value}`` files (per entry: an object with a ``Scope`` member is
    ``{Value, Scope}``, anything else is a raw value with scope ``[]``). Reads UTF-8 with or
    without a BOM, UTF-16 and UTF-32 (as Windows PowerShell 5.1 writes). In v2 files, typed values
    come back as Python types (DateTime -> datetime, aware when the text has an offset or ``Z``;
    TimeSpan -> timedelta; Guid -> UUID; Decimal -> Decimal; HashSet -> set, or a list when its
    items are unhashable), arrays stay lists of any length, and Type tags match case-insensitively.
    Nothing in a file is ever executed.

    Args:
        data: the file's bytes.
        path: the file they came from; only used in error messages.

    Returns:
        The entries and the detected format, or None when there is nothing to restore (no bytes,
        only whitespace, or JSON ``null``). ``{}`` is a real, empty state.

    Raises:
        StateFileError: invalid JSON (``position`` gives line and column), invalid UTF-8 (byte
            offset), nesting deeper than the parser accepts, a top level that is not an object,
            an unsupported Version, or a v2 file whose shape or Type tags are wrong (``key_path``
            names the entry and value).

    Example:
        >>> decode(b'{"count": {"Value": 5, "Scope": []}}')
        StateFile(entries={'count': (5, [])}, format='pode')
    """
    where = _where(path)
    if not data:
        return None
    encoding, bom = _guess_encoding(data)
    source: bytes | memoryview | str
    if encoding == "utf-8":
        source = memoryview(data)[bom:] if bom else data
    else:
        try:
            source = bytes(data[bom:]).decode(encoding)
        except UnicodeDecodeError as exc:
            raise StateFileError(
                f"not valid {encoding.upper()} text", path=where, position=f"byte {exc.start + bom}"
            ) from exc
    with _gc_paused():
        try:
            document = orjson.loads(source)
        except orjson.JSONDecodeError as exc:
            if "infinity" in exc.msg:  # a number beyond a double's range: most likely a huge integer
                try:
                    exact = _exact_document(source, where)
                except StateFileError:
                    pass  # the original error says it best
                else:
                    return _checked_document(exact, where, exact=True)
            _raise_parse_error(exc, source, bom, where)
            return None  # whitespace only
        try:
            return _checked_document(document, where, exact=False, raw=data if encoding == "utf-8" else None)
        except _Inexact:
            return _checked_document(_exact_document(source, where), where, exact=True)


def _checked_document(document: Any, path: str | None, *, exact: bool, raw: Any = None) -> StateFile | None:
    try:
        return _from_document(document, path, exact, raw)
    except RecursionError:
        raise StateFileError("nested too deeply to read", path=path) from None


def _exact_document(source: bytes | memoryview | str, path: str | None) -> Any:
    """The document parsed with exact integers (slower than orjson; only for the rare file)."""
    text = source if isinstance(source, str) else bytes(source).decode("utf-8")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise StateFileError(
            f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold", path=path
        ) from None
    except ValueError as exc:  # a JSON error, or an integer longer than Python reads (4300 digits)
        raise StateFileError(f"a number cannot be read exactly: {exc}", path=path) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _raise_parse_error(
    exc: orjson.JSONDecodeError,
    source: bytes | memoryview | str,
    bom: int,
    path: str | None,
) -> None:
    """Raise the StateFileError for a parse failure, or return when the text is only whitespace."""
    if isinstance(source, str):
        if not source.strip(" \t\r\n"):
            return
    else:
        raw = bytes(source)
        if not raw.strip(b" \t\r\n"):
            return
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise StateFileError(
                "not valid UTF-8 text", path=path, position=f"byte {bad.start + bom}"
            ) from exc
    reason = f"not valid JSON: {exc.msg}"
    if "depth" in exc.msg or "recursion" in exc.msg.lower():
        reason = f"nested deeper than {MAX_DEPTH} levels, the most a state file may hold ({exc.msg})"
    raise StateFileError(reason, path=path, position=f"line {exc.lineno}, column {exc.colno}") from exc


def _from_document(document: Any, path: str | None, exact: bool, raw: Any) -> StateFile | None:
    if document is None:
        return None
    if type(document) is not dict:
        raise StateFileError(
            f"the top level must be a JSON object of state entries, got {_json_kind(document)}", path=path
        )
    if _METADATA_KEY in document:
        return _from_v2(document, path, exact)
    return _from_legacy(document, path, exact, raw)
