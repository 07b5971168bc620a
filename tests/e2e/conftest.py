"""Fixtures of the end-to-end tests: headless server processes, a private Xvfb, the window's qasync loop and dialogs."""

from tests.e2e.test_app_xvfb import display  # noqa: F401  (fixture)
from tests.headless_demo import demos  # noqa: F401  (fixture)
from tests.ui.shell.test_main_window import dialogs, loop  # noqa: F401  (fixtures)
