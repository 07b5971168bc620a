"""Fixtures of the bridge tests: worker processes on a Redis namespace (tests/engine/conftest.py)."""

from tests.engine.conftest import workers  # noqa: F401  (fixture)
