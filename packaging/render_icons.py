"""Render the app icon's hicolor PNGs from the SVG with Qt's QSvgRenderer (offscreen, no display needed).

    .venv/bin/python packaging/render_icons.py          # writes resources/icons/hicolor/<N>x<N>/apps/<id>.png
    .venv/bin/python packaging/render_icons.py --check  # exit 1 if a PNG is missing or has the wrong size
    .venv/bin/python packaging/render_icons.py --out DIR  # write DIR/hicolor/... instead

Each size is drawn straight from the vector (not downscaled from 256 px), so small sizes stay crisp.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP_ID = "io.github.sharedstatestudio.StateStudio"
SIZES = (16, 24, 32, 48, 64, 128, 256)
ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / f"{APP_ID}.svg"


def png_path(size: int, icons: Path = ICONS) -> Path:
    return icons / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def render(svg: Path = SVG, icons: Path = ICONS, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # QImage text/fonts need an app
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg}: not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out = png_path(size, icons)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):  # format from the .png suffix
            raise SystemExit(f"render_icons: could not write {out}")
        written.append(out)
    return written


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no Qt needed)."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def check(icons: Path = ICONS) -> list[str]:
    problems = []
    for size in SIZES:
        p = png_path(size, icons)
        if not p.is_file():
            problems.append(f"missing {p}")
        elif png_size(p) != (size, size):
            problems.append(f"{p} is {png_size(p)}, expected {(size, size)}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the PNGs exist at the right sizes")
    ap.add_argument(
        "--out", type=Path, default=ICONS, help=f"icons folder (default {ICONS.relative_to(ROOT)})"
    )
    ns = ap.parse_args()
    if ns.check:
        problems = check(ns.out)
        for line in problems:
            print(f"render_icons: {line}", file=sys.stderr)
        return 1 if problems else 0
    for p in render(icons=ns.out):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
