"""The hot-path twins side by side (the pure one, and the compiled one when it is built), for parametrizing."""

from __future__ import annotations

import pytest

from desktop_app.engine.hotpath import _twins

TWINS = _twins()
twin_param = pytest.mark.parametrize("twin", TWINS, ids=[t.__name__.rsplit(".", 1)[-1] for t in TWINS])
