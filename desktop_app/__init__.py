"""Shared State Studio: a live, editable view of a thread-safe shared-state engine."""

__version__ = "0.1.0"
