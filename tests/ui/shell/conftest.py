"""Fixtures of the window's tests: the qasync loop and the recorded message boxes (from test_main_window)."""

from tests.ui.shell.test_main_window import dialogs, loop  # noqa: F401  (fixtures)
