"""Packaging metadata: one app id everywhere, the icons, the .desktop and AppStream files (validated with
desktop-file-validate and appstreamcli, which .ci/run installs), and ``state-studio --version/--help``."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop_app.ui.shell.app import APP_ID, APP_NAME

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
SVG = ICONS / f"{APP_ID}.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
SCREENSHOTS = ("main.png", "locks.png", "jobs.png", "diff.png")
RAW_URL = "https://raw.githubusercontent.com/sharedstatestudio/shared-state-studio/main/"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def _metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it with apt-get)")
    return path


# -- one id everywhere --------------------------------------------------------------------------------


def test_app_id_is_the_same_everywhere() -> None:
    assert APP_ID == "io.github.sharedstatestudio.StateStudio"
    assert DESKTOP.is_file() and METAINFO.is_file() and SVG.is_file()
    entry = _desktop_entry()
    assert entry["Icon"] == APP_ID
    root = _metainfo()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert root.findtext("icon[@type='stock']") == APP_ID


def test_desktop_entry_launches_the_installed_command() -> None:
    entry = _desktop_entry()
    scripts = PYPROJECT["project"]["gui-scripts"]
    command = entry["Exec"].split()[0]
    assert command in scripts and scripts[command] == "desktop_app.__main__:main"
    assert entry["TryExec"] == command
    # X11 WM_CLASS is Qt's applicationName: it must match for docks/taskbars to group the window
    assert entry["StartupWMClass"] == APP_NAME
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert {"Development", "Debugger"} <= set(entry["Categories"].strip(";").split(";"))


def test_metainfo_describes_this_release() -> None:
    root = _metainfo()
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("name") == "Shared State Studio"
    releases = root.findall("releases/release")
    assert releases, "no <release> entries"
    newest = releases[0]
    assert newest.get("version") == VERSION, "add a <release> (with notes) for the version in pyproject.toml"
    assert newest.get("date") and newest.find("description") is not None
    assert root.findtext("url[@type='homepage']", "").startswith("https://")
    assert root.find("content_rating") is not None
    assert root.find("developer/name") is not None


def test_metainfo_screenshots_point_at_repository_files() -> None:
    urls = [img.text or "" for img in _metainfo().findall("screenshots/screenshot/image")]
    assert [u.rsplit("/", 1)[-1] for u in urls] == list(SCREENSHOTS)
    assert all(u.startswith(RAW_URL + "resources/screenshots/") for u in urls), urls
    shots = ROOT / "resources" / "screenshots"
    if not shots.is_dir():
        pytest.skip("resources/screenshots/ has not been generated yet")
    missing = [u.removeprefix(RAW_URL) for u in urls if not (ROOT / u.removeprefix(RAW_URL)).is_file()]
    assert not missing, f"the metainfo points at screenshots that are not in the repository: {missing}"


# -- icons ----------------------------------------------------------------------------------------------


def test_svg_icon_is_a_square_svg() -> None:
    root = ET.parse(SVG).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, w, h = (float(v) for v in root.get("viewBox", "").split())
    assert w == h


@pytest.mark.parametrize("size", SIZES)
def test_png_icon_exists_at_every_size(size: int) -> None:
    png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    assert png.is_file(), f"missing {png.relative_to(ROOT)}: run packaging/render_icons.py"
    assert _png_size(png) == (size, size)


def test_render_icons_script_renders_every_size(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    script = PACKAGING / "render_icons.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        [sys.executable, str(script), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    # the PNGs in the repository are what the script renders from the SVG today
    for size in SIZES:
        rel = Path("hicolor") / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(tmp_path / rel) == _png_size(ICONS / rel)


# -- validators -----------------------------------------------------------------------------------------


def test_desktop_file_validates() -> None:
    tool = _tool("desktop-file-validate")
    proc = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "error:" not in out and "warning:" not in out, out


def _appstream_issues(output: str) -> list[str]:
    """Errors and warnings from appstreamcli. Infos and pedantic hints are allowed: see packaging/README.md."""
    return [line.strip() for line in output.splitlines() if line.strip().startswith(("E:", "W:"))]


def test_metainfo_validates() -> None:
    tool = _tool("appstreamcli")
    proc = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, timeout=60
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not _appstream_issues(out), out


def test_installed_tree_validates(tmp_path: Path) -> None:
    """Laid out as a distribution installs it, the metainfo finds its .desktop file and icons."""
    tool = _tool("appstreamcli")
    share = tmp_path / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "metainfo").mkdir()
    shutil.copy(DESKTOP, share / "applications")
    shutil.copy(METAINFO, share / "metainfo")
    shutil.copytree(ICONS / "hicolor", share / "icons" / "hicolor")
    (share / "icons" / "hicolor" / "scalable" / "apps").mkdir(parents=True)
    shutil.copy(SVG, share / "icons" / "hicolor" / "scalable" / "apps")
    proc = subprocess.run(
        [tool, "validate-tree", "--no-net", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not _appstream_issues(out), out


# -- the command ----------------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "desktop_app"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_version_prints_the_pyproject_version() -> None:
    proc = _cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in (
        f"state-studio {VERSION} (compiled hot paths)",
        f"state-studio {VERSION} (pure hot paths)",
    )


def test_version_says_which_hot_paths_run() -> None:
    compiled = _cli("--version")
    forced = subprocess.run(
        [*CLI, "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "STATE_STUDIO_PURE": "1"},
        cwd=ROOT,
        timeout=60,
    )
    assert forced.stdout.strip().endswith("(pure hot paths)")
    if importlib.util.find_spec("desktop_app.engine.hotpath._hotpath") is not None:
        assert compiled.stdout.strip().endswith("(compiled hot paths)")


def test_help_describes_the_command() -> None:
    proc = _cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: state-studio")
    assert "--version" in proc.stdout and "--self-test" in proc.stdout
    for sub in ("run", "inspect", "diff", "convert"):
        assert sub in proc.stdout
