"""The state tree: nodes, model, live sync, text, filter/sort, view, delegate, edit actions and dialogs.

Imports ``ui.bridge`` (snapshots, edit commands), ``ui.common`` and engine types/helpers; no other feature.
"""
