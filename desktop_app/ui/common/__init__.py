"""Small pieces every feature folder may use: how values read as text, counted nouns, worker lanes off the GUI thread.

Imports Qt, engine types and ``ui.bridge``'s immutable snapshots; never a feature folder.
"""
