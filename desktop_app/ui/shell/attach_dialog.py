"""File -> Attach to shared state…: the Redis URL, its password (never shown), the namespace, recent connections, Test.

A password typed inside the URL (``redis://:secret@host:6379/0``) moves to the password field at
once, so the URL field, the recent list, the title and the log never show it; recent connections
are remembered without it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.common.worker_lanes import WorkerLanes

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_NAMESPACE = "default"
MAX_RECENT = 8
RECENT_SEP = "\t"


def split_password(url: str) -> tuple[str, str | None]:
    """``redis://user:pw@host/0`` -> (``redis://user@host/0``, ``pw``); a URL without one is unchanged."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" not in netloc:
        return url, None
    userinfo, host = netloc.rsplit("@", 1)
    user, sep, password = userinfo.partition(":")
    if not sep:  # redis://SECRET@host: a password alone, as redis-py reads it
        user, password = "", userinfo
    bare = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, bare, parts.path, parts.query, parts.fragment)), unquote(password)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` put back in (quoted); the URL as it is when there is none."""
    if not password:
        return url
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    userinfo = f"{user}:{quote(password, safe='')}" if user else f":{quote(password, safe='')}"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class AttachRequest:
    """What the person asked for. ``url`` may hold the password: pass it on, never show or log it."""

    url: str
    namespace: str

    @property
    def shown(self) -> str:
        """The URL without its password, and the namespace: for titles, lists and logs."""
        return f"{split_password(self.url)[0]} · namespace '{self.namespace}'"


def recent_entry(request: AttachRequest) -> str:
    """How a connection is remembered: the URL without its password, a tab, the namespace."""
    return f"{split_password(request.url)[0]}{RECENT_SEP}{request.namespace}"


class AttachDialog(QDialog):
    """Asks for a Redis URL and namespace; *Test* checks them off the GUI thread.

    Args:
        recent: remembered connections (``recent_entry`` strings), newest first.
        tester: ``tester(url, namespace) -> str``, run on a worker thread: a line saying what it
            found, or an exception whose message says what went wrong.
    """

    def __init__(
        self,
        recent: list[str],
        tester: Callable[[str, str], str],
        parent: QWidget | None = None,
        *,
        url: str = "",
        namespace: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Attach to shared state")
        self._tester = tester
        self._lanes = WorkerLanes("attach-test", parent=self)
        self._test_serial = 0
        self.last_test: Future[Any] | None = None

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Watch and edit the state that processes started with "
            "<tt>state-studio run SCRIPT --headless --store URL --namespace NS</tt> share."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.url_edit = QLineEdit(url or DEFAULT_URL)
        self.url_edit.setPlaceholderText(DEFAULT_URL)
        self.url_edit.setToolTip("redis://HOST:PORT/DB (or rediss://, unix://)")
        form.addRow("&Redis URL:", self.url_edit)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("only if the server asks for one (never stored)")
        form.addRow("&Password:", self.password_edit)
        self.namespace_edit = QLineEdit(namespace or DEFAULT_NAMESPACE)
        self.namespace_edit.setToolTip("The --namespace the processes run with")
        form.addRow("&Namespace:", self.namespace_edit)
        layout.addLayout(form)

        layout.addWidget(QLabel("Recent connections:"))
        self.recent_list = QListWidget()
        self.recent_list.setMaximumHeight(self.fontMetrics().height() * 6)
        for entry in recent[:MAX_RECENT]:
            url_part, _, ns = entry.partition(RECENT_SEP)
            item = QListWidgetItem(f"{url_part}   namespace '{ns}'")
            item.setData(Qt.ItemDataRole.UserRole, (url_part, ns))
            self.recent_list.addItem(item)
        if not recent:
            self.recent_list.addItem(QListWidgetItem("(none yet)"))
            self.recent_list.setEnabled(False)
        self.recent_list.currentItemChanged.connect(self._pick_recent)
        self.recent_list.itemDoubleClicked.connect(lambda _item: self.accept())
        layout.addWidget(self.recent_list)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("&Test")
        self.test_button.setToolTip(
            "Connect and look at the namespace (entries, processes), without attaching"
        )
        self.test_button.clicked.connect(self.test)
        test_row.addWidget(self.test_button)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row.addWidget(self.test_result, 1)
        layout.addLayout(test_row)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.attach_button = self.buttons.addButton("&Attach", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.url_edit.textChanged.connect(self._url_changed)
        self.namespace_edit.textChanged.connect(lambda _t: self._validate())
        self._url_changed(self.url_edit.text())
        self.resize(max(self.sizeHint().width(), 560), self.sizeHint().height())

    # -- what was asked ---------------------------------------------------------------------------

    def request(self) -> AttachRequest:
        url = self.url_edit.text().strip() or DEFAULT_URL
        return AttachRequest(
            with_password(url, self.password_edit.text() or None), self.namespace_edit.text().strip()
        )

    def _url_changed(self, text: str) -> None:
        bare, password = split_password(text)
        if password is not None:
            # Out of sight at once: the URL field shows no password, the password field keeps it.
            self.password_edit.setText(password)
            self.url_edit.blockSignals(True)
            self.url_edit.setText(bare)
            self.url_edit.blockSignals(False)
        self._validate()

    def _validate(self) -> None:
        url = self.url_edit.text().strip() or DEFAULT_URL
        ok = urlsplit(url).scheme in ("redis", "rediss", "unix") and bool(self.namespace_edit.text().strip())
        self.attach_button.setEnabled(ok)
        self.test_button.setEnabled(ok)
        self.test_result.setText(
            "" if ok else "A URL starting redis://, rediss:// or unix://, and a namespace"
        )

    def _pick_recent(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None = None) -> None:
        data = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not data:
            return
        url, ns = data
        self.url_edit.setText(url)
        self.namespace_edit.setText(ns)
        self.password_edit.clear()

    # -- Test -------------------------------------------------------------------------------------

    def test(self) -> Future[Any]:
        """Check the URL and namespace on a worker thread; the line beside the button says what it found."""
        req = self.request()
        self._test_serial += 1
        serial = self._test_serial
        self.test_result.setText(f"Connecting to {split_password(req.url)[0]}…")
        self.test_button.setEnabled(False)

        def done(f: Future[Any]) -> None:
            if serial != self._test_serial:
                return  # an older test
            self.test_button.setEnabled(True)
            err = f.exception()
            if err is None:
                self.test_result.setStyleSheet("color: #2e7d32;")
                self.test_result.setText(f"✔ {f.result()}")
            else:
                self.test_result.setStyleSheet("color: #c62828;")
                self.test_result.setText(f"✘ {err}")

        self.last_test = self._lanes.submit(lambda: self._tester(req.url, req.namespace), done)
        return self.last_test

    def done(self, result: int) -> None:
        self._lanes.shutdown()
        super().done(result)
