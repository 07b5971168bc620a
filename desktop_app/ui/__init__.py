"""Qt widgets and models over the shared-state engine (reads the engine only through the bridge)."""
