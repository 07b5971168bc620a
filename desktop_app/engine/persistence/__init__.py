"""Save and restore files in Pode's state formats: strict encoding, tolerant reading, atomic writes.

One module per seam: the formats (``pode_format``, ``pode_v2_format``), the checks they share, file
writing and reading, paths. It imports only the standard library, orjson and ``engine.errors``;
``fast_save`` (a whole-state save straight from the store's entries) also uses ``engine.hotpath``
and is imported from its own module, so the package itself stays below the hot path.
"""

from __future__ import annotations

# The names code outside the package uses, so it imports ``desktop_app.engine.persistence`` as
# before. The private ones are used by tests (``_open_regular``) and by the Redis store's hot
# path, which looks them up with getattr (``_PODE_OPTIONS``, ``_reject``, ``_pode_values_clean``).
from desktop_app.engine.persistence.encoder import encode
from desktop_app.engine.persistence.entry_checks import _reject as _reject
from desktop_app.engine.persistence.file_reader import decode, read_file
from desktop_app.engine.persistence.file_writer import atomic_write
from desktop_app.engine.persistence.limits import MAX_DEPTH
from desktop_app.engine.persistence.path_resolution import resolve_path
from desktop_app.engine.persistence.pode_format import _PODE_OPTIONS as _PODE_OPTIONS
from desktop_app.engine.persistence.pode_format import _pode_values_clean as _pode_values_clean
from desktop_app.engine.persistence.regular_files import _open_regular as _open_regular
from desktop_app.engine.persistence.state_file import FORMATS, Entries, StateFile

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "Entries",
    "StateFile",
    "atomic_write",
    "decode",
    "encode",
    "read_file",
    "resolve_path",
]
