"""The main window's status bar: script, HTTP endpoint, entry count, change rate and the global lock's holder."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from desktop_app.engine.locks import Holder


class StatusBar(QStatusBar):
    """Permanent facts on the left, the global lock on the right; ``showMessage`` for passing news."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.script_label = QLabel()
        self.url_label = QLabel()
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count_label = QLabel()
        self.rate_label = QLabel("0 changes/s")
        self.lock_label = QLabel("global: idle")
        for w in (self.script_label, self.url_label, self.count_label, self.rate_label):
            self.addWidget(w)
        self.addPermanentWidget(self.lock_label)

    def show_script(self, name: str) -> None:
        self.script_label.setText(f"Script: {name}")

    def show_endpoint(self, server: Any) -> None:
        """The server's URLs while it runs, "stopped" when it does not, a warning for an endpoint that failed."""
        if server is None or not server.endpoints:
            self.url_label.setText("")
            return
        parts = []
        for ep in server.endpoints:
            if ep.error:
                parts.append(f"⚠ {ep.error}")
            elif server.running and ep.url:
                parts.append(ep.url)
        self.url_label.setText("  ".join(parts) if server.running else "stopped")

    def show_counts(self, n: int) -> None:
        self.count_label.setText(f"{n:,} entries")

    def show_rate(self, rate: float) -> None:
        self.rate_label.setText(f"{rate:.0f} changes/s" if rate >= 1 else f"{rate:.1f} changes/s")

    def show_lock_status(self, status: Any) -> None:
        holder: Holder | None = getattr(status, "holder", None)
        waiting = tuple(getattr(status, "waiting", ()))
        if holder is None:
            self.lock_label.setText("global: idle")
            self.lock_label.setToolTip("")
        elif waiting:
            self.lock_label.setText(
                f"global: contended — held by {holder.thread} ({len(waiting)} waiting)"
            )
            self.lock_label.setToolTip(f"held at {holder.site}\nwaiting: {', '.join(waiting)}")
        else:
            self.lock_label.setText(f"global: held by {holder.thread}")
            self.lock_label.setToolTip(f"held at {holder.site}")
