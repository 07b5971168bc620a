"""Only regular files are read or replaced: FIFOs, sockets, device nodes and folders are refused untouched."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop_app.cli import main
from desktop_app.engine import SharedState, StateFileError
from desktop_app.engine.persistence import atomic_write, read_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sockets and device nodes are POSIX")


def node_id(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_ino, stat.S_IFMT(st.st_mode), st.st_rdev


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def a_state() -> SharedState:
    state = SharedState()
    state.set("count", 5)
    return state


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "state.json"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "state.json"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        yield path


@pytest.fixture
def device(tmp_path: Path) -> Path:
    """Our own character device node (the same device as /dev/null), so a regression can only replace this one.

    Never point these tests at the system's /dev/null: as root, the bug they guard against replaces it.
    """
    path = tmp_path / "null-device"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD)")
    return path


# ------------------------------------------------------------------------------------------------
# Saving


@pytest.mark.parametrize("kind", ["fifo", "unix_socket", "device"])
def test_save_refuses_a_node_that_is_not_a_regular_file_and_leaves_it(
    kind: str, request: pytest.FixtureRequest
) -> None:
    node: Path = request.getfixturevalue(kind)
    before = node_id(node)
    with pytest.raises(StateFileError, match="not a regular file") as info:
        a_state().save(node)
    assert info.value.path == str(node)
    assert node_id(node) == before
    assert leftovers(node.parent) == []


def test_save_refuses_a_symlink_to_a_device_and_keeps_link_and_device(device: Path, tmp_path: Path) -> None:
    link = tmp_path / "state.json"
    link.symlink_to(device)
    before = node_id(device)
    with pytest.raises(StateFileError, match="character device") as info:
        a_state().save(link)
    assert info.value.path == str(link) and str(device) in info.value.reason
    assert link.is_symlink() and os.readlink(link) == str(device)
    assert node_id(device) == before


def test_save_refuses_a_folder_through_a_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(folder)
    with pytest.raises(StateFileError) as info:
        a_state().save(link)
    assert info.value.reason.startswith("is a folder")
    assert folder.is_dir() and link.is_symlink() and os.listdir(folder) == []


def test_save_and_restore_through_a_symlink_to_a_regular_file(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "state.json"
    link.symlink_to(real)
    a_state().save(link)
    assert link.is_symlink() and json.loads(real.read_text()) == {"count": {"Value": 5, "Scope": []}}
    state = SharedState()
    assert state.restore(link) == "pode" and state.get("count") == 5


# ------------------------------------------------------------------------------------------------
# Reading


def watchdog(fifo: Path) -> tuple[threading.Event, Callable[[], bool]]:
    """Unblock a reader stuck opening ``fifo`` if the code under test regressed (instead of hanging).

    Returns (done, rescued): set ``done`` when the call returned; ``rescued()`` says whether the
    watchdog had to open the FIFO's other end to let it return.
    """
    done = threading.Event()
    rescued = threading.Event()

    def guard() -> None:
        if not done.wait(10):
            rescued.set()
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    thread = threading.Thread(target=guard, name="fifo-watchdog", daemon=True)
    thread.start()

    def finish() -> bool:
        done.set()
        thread.join()
        return rescued.is_set()

    return done, finish


@pytest.mark.parametrize("how", ["read_file", "restore", "restore-merge"])
def test_reading_a_fifo_is_refused_at_once(fifo: Path, how: str) -> None:
    state = a_state()
    _, finish = watchdog(fifo)
    try:
        with pytest.raises(StateFileError, match="FIFO") as info:
            if how == "read_file":
                read_file(fifo)
            else:
                state.restore(fifo, merge=how == "restore-merge")
    finally:
        assert not finish(), "the read blocked on the FIFO"
    assert info.value.path == str(fifo)
    assert state.get("count") == 5 and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_opening_a_fifo_never_blocks_even_when_it_appears_after_the_check(fifo: Path) -> None:
    # The FIFO may replace a regular file between the stat and the open; the open itself must not
    # block (O_NONBLOCK) and the fstat after it must refuse.
    from desktop_app.engine.persistence import _open_regular

    _, finish = watchdog(fifo)
    try:
        with pytest.raises(StateFileError, match="FIFO"):
            _open_regular(fifo)
    finally:
        assert not finish(), "opening the FIFO blocked"


@pytest.mark.parametrize(
    "command", [["inspect"], ["diff", "{other}"], ["convert", "{out}", "--format", "pode"]]
)
def test_cli_refuses_a_fifo_with_one_line(
    fifo: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text("{}")
    args = [part.format(other=other, out=tmp_path / "out.json") for part in command]
    args.insert(1, str(fifo))
    _, finish = watchdog(fifo)
    try:
        assert main(args) == 2
    finally:
        assert not finish(), "the command blocked on the FIFO"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(fifo) in err and "FIFO" in err
    assert not (tmp_path / "out.json").exists()


def test_reading_a_socket_is_refused(unix_socket: Path) -> None:
    with pytest.raises(StateFileError) as info:
        read_file(unix_socket)
    assert info.value.path == str(unix_socket) and info.value.reason.startswith("is a socket")


# A regression here reads /dev/zero until memory runs out: do it in a child process whose address
# space is capped, so a failure is a quick MemoryError there, not a machine out of memory.
_READ_DEVICES = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from desktop_app.engine import SharedState, StateFileError
results = {}
for link in sys.argv[1:]:
    state = SharedState()
    state.set("count", 5)
    try:
        state.restore(link)
        results[link] = "restored"
    except StateFileError as exc:
        results[link] = "refused: " + str(exc)
    except MemoryError:
        results[link] = "MemoryError"
    results[link] += " / count=%r" % state.get("count")
print(json.dumps(results))
"""


def read_in_capped_child(paths: list[str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _READ_DEVICES, *paths], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, str] = json.loads(done.stdout)
    return results


def test_symlinks_to_dev_zero_and_urandom_are_refused_without_reading(tmp_path: Path) -> None:
    links = []
    for device in ("/dev/zero", "/dev/urandom"):
        link = tmp_path / f"{Path(device).name}.json"
        link.symlink_to(device)
        links.append(str(link))
    results = read_in_capped_child(links)
    for link, device in zip(links, ("/dev/zero", "/dev/urandom"), strict=True):
        assert results[link].startswith(f"refused: {link}"), results[link]
        assert "character device" in results[link] and device in results[link]
        assert results[link].endswith("count=5")


def test_a_device_node_itself_is_refused(device: Path, tmp_path: Path) -> None:
    zero = tmp_path / "zero-device"
    os.mknod(zero, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    results = read_in_capped_child([str(device), str(zero)])
    for path in (device, zero):
        assert results[str(path)].startswith(f"refused: {path}: is a character device"), results[str(path)]


# ------------------------------------------------------------------------------------------------
# Leftover temp files of interrupted saves

# A saver that stops inside atomic_write when it is about to call ``argv[2]`` ("fsync": its temp
# file is written; "flock": its temp file is created but not yet locked), says PAUSED and waits
# for a line on stdin (or for SIGKILL), then finishes the save and says DONE.
_PAUSING_SAVER = """
import fcntl, os, sys
from desktop_app.engine.persistence import atomic_write
target, where = sys.argv[1], {"fsync": os.fsync, "flock": fcntl.flock}[sys.argv[2]]
def pause(frame, event, arg):
    if event == "c_call" and arg is where:
        sys.setprofile(None)
        print("PAUSED", flush=True)
        sys.stdin.readline()
sys.setprofile(pause)
atomic_write(target, b"child")
sys.setprofile(None)
print("DONE", flush=True)
"""


def start_saver(target: Path, where: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _PAUSING_SAVER, str(target), where],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def next_line(proc: subprocess.Popen[str]) -> str:
    """The saver's next line; "" if it ended or said nothing for a minute (a guard against hanging)."""
    import select

    assert proc.stdout is not None
    if not select.select([proc.stdout], [], [], 60)[0]:
        return ""
    return proc.stdout.readline().strip()


@pytest.fixture
def savers() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_killed_saves_temp_file_is_removed_by_the_next_save_not_while_it_lives(
    tmp_path: Path, savers: list[subprocess.Popen[str]]
) -> None:
    target = tmp_path / "state.json"
    saver = start_saver(target, "fsync")
    savers.append(saver)
    assert next_line(saver) == "PAUSED"
    temps = leftovers(tmp_path)
    assert len(temps) == 1 and (tmp_path / temps[0]).read_bytes() == b"child"

    a_state().save(target)  # while the other process is still writing: its temp file stays
    assert leftovers(tmp_path) == temps

    saver.kill()
    saver.wait()
    assert leftovers(tmp_path) == temps  # what a save killed mid-write leaves behind

    a_state().save(target)
    assert leftovers(tmp_path) == []
    assert json.loads(target.read_text()) == {"count": {"Value": 5, "Scope": []}}


def test_a_writer_whose_new_temp_file_was_removed_before_it_locked_it_starts_again(
    tmp_path: Path, savers: list[subprocess.Popen[str]]
) -> None:
    target = tmp_path / "state.json"
    saver = start_saver(target, "flock")
    savers.append(saver)
    assert next_line(saver) == "PAUSED"
    assert len(leftovers(tmp_path)) == 1
    # Created but not locked yet: indistinguishable from a dead writer's, so this save removes it.
    a_state().save(target)
    assert leftovers(tmp_path) == []
    assert saver.stdin is not None
    saver.stdin.write("go on\n")
    saver.stdin.flush()
    assert next_line(saver) == "DONE", saver.communicate()[1]
    assert target.read_bytes() == b"child"
    assert leftovers(tmp_path) == []


def test_a_concurrent_save_in_this_process_keeps_its_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    paused = threading.Event()
    go_on = threading.Event()
    errors: list[BaseException] = []

    def pause(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and arg is os.fsync:
            sys.setprofile(None)
            paused.set()
            go_on.wait()

    def save_in_thread() -> None:
        sys.setprofile(pause)
        try:
            atomic_write(target, b"thread")
        except BaseException as exc:
            errors.append(exc)
        finally:
            sys.setprofile(None)

    thread = threading.Thread(target=save_in_thread, name="saver-thread")
    thread.start()
    try:
        assert paused.wait(60)
        temps = leftovers(tmp_path)
        assert len(temps) == 1
        a_state().save(target)
        assert leftovers(tmp_path) == temps
    finally:
        go_on.set()
        thread.join()
    assert errors == []
    assert target.read_bytes() == b"thread" and leftovers(tmp_path) == []


def test_only_our_abandoned_temp_files_for_this_target_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    abandoned = [".state.json.0123abcd.tmp", ".state.json.ffffffff.tmp"]
    kept_files = [
        ".state.json.bak",
        ".state.json.0123ABCD.tmp",  # not a name we make (we write lowercase hex)
        ".state.json.0123abc.tmp",
        ".state.json.0123abcde.tmp",
        "state.json.0123abcd.tmp",
        ".other.json.0123abcd.tmp",
        ".state.json.0123abcd.tmp.old",
    ]
    for name in abandoned + kept_files:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".state.json.deadbeef.tmp").symlink_to(outside)
    os.mkfifo(tmp_path / ".state.json.cafebabe.tmp")
    (tmp_path / ".state.json.0badf00d.tmp").mkdir()
    a_state().save(target)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [
            "state.json",
            "outside.txt",
            *kept_files,
            ".state.json.deadbeef.tmp",
            ".state.json.cafebabe.tmp",
            ".state.json.0badf00d.tmp",
        ]
    )
    assert outside.read_text() == "keep"


def test_atomic_write_itself_removes_leftovers(tmp_path: Path) -> None:
    # convert and the snapshot store write through atomic_write, not SharedState.save
    target = tmp_path / "state.json"
    target.write_text("{}")
    (tmp_path / ".state.json.0123abcd.tmp").write_bytes(b"x" * 1000)
    atomic_write(target, b"new")
    assert leftovers(tmp_path) == [] and target.read_bytes() == b"new"
