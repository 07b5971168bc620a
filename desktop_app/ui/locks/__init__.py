"""The Locks dock: contention table, per-thread timeline, slow waits, deadlock view.

Imports engine lock types and pure helpers (locks, deadlock), ``ui.common``; no other feature folder.
"""
