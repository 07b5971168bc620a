"""File -> Attach to shared state…: passwords never shown, recent connections, the Test button on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.engine import SharedState
from desktop_app.ui.shell.attach_dialog import (
    AttachDialog,
    AttachRequest,
    recent_entry,
    split_password,
    with_password,
)
from desktop_app.ui.shell.attach_flows import check_connection
from tests.redis_server import free_port


@pytest.mark.parametrize(
    ("url", "bare", "password"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", None),
        ("redis://:s3cret@h:6379/0", "redis://h:6379/0", "s3cret"),
        ("redis://ann:p%40ss@h/1", "redis://ann@h/1", "p@ss"),
        ("redis://s3cret@h/0", "redis://h/0", "s3cret"),  # a password alone, as redis-py reads it
    ],
)
def test_a_password_comes_out_of_the_url_and_goes_back_in(url: str, bare: str, password: str | None) -> None:
    assert split_password(url) == (bare, password)
    again = with_password(bare, password)
    assert split_password(again) == (bare, password)


def test_a_pasted_password_is_never_shown_nor_remembered(qtbot: Any) -> None:
    dialog = AttachDialog([], lambda url, ns: "ok")
    qtbot.addWidget(dialog)
    dialog.url_edit.setText("redis://:hunter2@10.0.0.5:6380/2")
    dialog.namespace_edit.setText("shop")
    assert dialog.url_edit.text() == "redis://10.0.0.5:6380/2"
    assert dialog.password_edit.text() == "hunter2"
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password
    req = dialog.request()
    assert req == AttachRequest("redis://:hunter2@10.0.0.5:6380/2", "shop")
    assert "hunter2" not in req.shown and "hunter2" not in recent_entry(req)
    assert recent_entry(req) == "redis://10.0.0.5:6380/2\tshop"


def test_recent_connections_fill_the_fields(qtbot: Any) -> None:
    dialog = AttachDialog(["redis://a:1/0\tone", "redis://b:2/3\ttwo"], lambda url, ns: "ok")
    qtbot.addWidget(dialog)
    dialog.password_edit.setText("old")
    dialog.recent_list.setCurrentRow(1)
    assert (dialog.url_edit.text(), dialog.namespace_edit.text(), dialog.password_edit.text()) == (
        "redis://b:2/3",
        "two",
        "",
    )
    dialog.url_edit.setText("http://nope")
    assert not dialog.attach_button.isEnabled() and "redis://" in dialog.test_result.text()


def test_the_test_button_asks_redis_off_the_gui_thread(qtbot: Any, redis_url: str, ns: str) -> None:
    SharedState(store=redis_url, namespace=ns).set("hash", {"values": []})
    dialog = AttachDialog([], check_connection, url=redis_url, namespace=ns)
    qtbot.addWidget(dialog)
    future = dialog.test()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✔"), timeout=10_000)
    assert future.done()
    text = dialog.test_result.text()
    assert "answers" in text and f"Namespace '{ns}': 1 entry" in text and "0 processes beating" in text
    dialog.namespace_edit.setText(ns + "-empty")
    dialog.test()
    qtbot.waitUntil(lambda: "no entries yet" in dialog.test_result.text(), timeout=10_000)


def test_a_failed_test_says_why_without_the_password(qtbot: Any) -> None:
    port = free_port()  # nothing listens there
    dialog = AttachDialog([], check_connection, url=f"redis://:topsecret@127.0.0.1:{port}/0", namespace="x")
    qtbot.addWidget(dialog)
    dialog.test()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✘"), timeout=10_000)
    text = dialog.test_result.text()
    assert f"127.0.0.1:{port}" in text and "cannot reach Redis" in text and "topsecret" not in text
