"""Builds the optional compiled hot paths (desktop_app/engine/hotpath/_hotpath.c) during ``pip install``.

Everything else about the package is in pyproject.toml. ``optional=True``: on a machine without a
C compiler (or on a free-threaded CPython) the build of the extension fails quietly, the install
succeeds, and the engine uses its pure-Python twin (desktop_app/engine/hotpath/pure.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "desktop_app.engine.hotpath._hotpath",
            ["desktop_app/engine/hotpath/_hotpath.c"],
            optional=True,
            extra_compile_args=["-O2"] if __import__("os").name == "posix" else [],
        )
    ]
)
