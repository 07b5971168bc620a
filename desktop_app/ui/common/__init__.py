"""Small pieces every feature folder may use: value text, counted nouns, worker lanes, the pace of live views.

Imports Qt, engine types and ``ui.bridge``'s immutable snapshots; never a feature folder.
"""
