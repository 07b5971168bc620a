"""The main toolbar's icons: bundled SVGs drawn in the palette's text colour, redrawn when the palette changes."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QAction, QColor, QPalette

from desktop_app.engine.paths import resources_dir
from desktop_app.ui.common.themed_icons import themed_icon
from desktop_app.ui.shell.main_toolbar import MainToolBar

ICONS = ("open", "save", "snapshot", "pause", "resume", "find", "server-start", "server-stop")


def _colours(action: QAction) -> set[tuple[int, int, int]]:
    """The opaque colours of the icon as a 24 px pixmap."""
    image = action.icon().pixmap(24, 24).toImage()
    seen = set()
    for x in range(image.width()):
        for y in range(image.height()):
            c = image.pixelColor(x, y)
            if c.alpha() == 255:
                seen.add((c.red(), c.green(), c.blue()))
    return seen


def _palette(text: str) -> QPalette:
    palette = QPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.ButtonText, QColor(text))
    return palette


@pytest.mark.parametrize("name", ICONS)
def test_every_icon_is_bundled_and_renders(qapp: Any, name: str) -> None:
    assert (resources_dir() / "icons" / "actions" / f"{name}.svg").is_file()
    icon = themed_icon(name, _palette("#000000"))
    assert not icon.isNull() and not icon.pixmap(24, 24).toImage().isNull()


def test_icons_follow_the_palette_light_and_dark(qtbot: Any) -> None:
    bar = MainToolBar()
    qtbot.addWidget(bar)
    bar.setPalette(_palette("#202020"))  # a light theme: dark text
    action = bar.add(QAction("Save"), "save", "Save the state")
    assert (0x20, 0x20, 0x20) in _colours(action)
    bar.setPalette(_palette("#f0f0f0"))  # a dark theme: light text
    assert (0xF0, 0xF0, 0xF0) in _colours(action) and (0x20, 0x20, 0x20) not in _colours(action)


def test_tooltips_name_the_shortcut(qtbot: Any) -> None:
    bar = MainToolBar()
    qtbot.addWidget(bar)
    action = QAction("Open state file…")
    action.setShortcut("Ctrl+O")
    bar.add(action, "open", "Open a state file")
    assert action.toolTip() == "Open a state file (Ctrl+O)"
