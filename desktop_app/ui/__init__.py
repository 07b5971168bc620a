"""Qt widgets and models over the shared-state engine, one folder per feature.

``shell`` composes the window; ``tree``, ``locks``, ``jobs``, ``snapshots`` are independent features;
``common`` holds what they share; ``bridge`` is the one way engine data reaches them.
Contracts in pyproject.toml (import-linter) enforce the arrows.
"""
