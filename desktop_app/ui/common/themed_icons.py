"""Icons from the bundled SVGs (resources/icons/actions) drawn in the palette's text colour, light or dark.

The SVGs stroke and fill with ``currentColor``; each icon is rendered with the colour the palette
gives button text (and its disabled shade), so it reads on a light and on a dark theme alike.
Re-render when the palette changes (see ``MainToolBar``).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop_app.engine.paths import resources_dir

SIZES = (16, 20, 24, 32, 48)


def icon_path(name: str) -> str:
    return str(resources_dir() / "icons" / "actions" / f"{name}.svg")


@cache
def _svg(name: str) -> str:
    with open(icon_path(name), encoding="utf-8") as f:
        return f.read()


def render(name: str, colour: QColor, size: int) -> QPixmap:
    """The SVG ``name`` at ``size`` x ``size`` px, drawn in ``colour``."""
    renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", colour.name()).encode()))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


def themed_icon(name: str, palette: QPalette) -> QIcon:
    """An icon whose normal and disabled looks use ``palette``'s button-text colours."""
    icon = QIcon()
    normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    for size in SIZES:
        icon.addPixmap(render(name, normal, size), QIcon.Mode.Normal)
        icon.addPixmap(render(name, disabled, size), QIcon.Mode.Disabled)
    return icon
