"""The Jobs dock: timers, schedules and routes with their table models and edit dialog.

Imports ``ui.common`` and engine types; no other feature folder.
"""
