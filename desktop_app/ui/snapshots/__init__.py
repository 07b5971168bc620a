"""Snapshots: the on-disk snapshot store, the Snapshots dock and the structural diff view.

``snapshots_dock`` (the dock and its actions), ``snapshots_panel`` (its widgets), ``snapshot_list_model``,
``snapshot_store`` (files), ``diff_view`` + ``diff_runner`` (computing and showing a diff off the GUI
thread), ``restore_command`` (an undoable restore without a bridge).
Imports ``ui.bridge`` (undoable restore), ``ui.common`` and engine persistence/diff helpers; no other feature.
"""
