"""Snapshots: the on-disk snapshot store, the Snapshots dock and the structural diff view.

Imports ``ui.bridge`` (undoable restore), ``ui.common`` and engine persistence/diff helpers; no other feature.
"""
