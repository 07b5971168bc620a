"""Engine -> Qt: the bridge thread, the change-feed reader, immutable entry snapshots, undoable edits.

The only ui package that reads the engine's live objects (SharedState, Server) or writes to them.
Imports the engine and Qt; never imports another ui package.
"""
