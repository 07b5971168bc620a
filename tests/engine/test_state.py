"""SharedState: Pode's Set/Get/Remove/Test/GetNames behaviour, scopes, the change feed, edit/touch."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.engine import SharedState
from desktop_app.engine.locks import Lockable


def test_set_returns_value_and_stores_by_reference() -> None:
    s = SharedState()
    value = {"values": []}
    assert s.set("hash", value) is value
    s.get("hash")["values"].append(1)
    assert value == {"values": [1]}
    assert s.get("hash") is value


def test_names_are_case_insensitive_and_case_preserving() -> None:
    s = SharedState()
    s.set("MyName", 1)
    assert s.get("myname") == 1 and s.test("MYNAME") and "mYnAmE" in s
    s.set("myname", 2)
    assert s.names() == ["MyName"]
    assert s.get("MyName") == 2
    assert len(s) == 1


@pytest.mark.parametrize("bad", ["", None])
def test_empty_or_none_name_is_refused(bad: object) -> None:
    s = SharedState()
    for call in (s.set, s.get, s.remove, s.test):
        with pytest.raises(ValueError):
            call(bad)  # type: ignore[operator]


def test_get_missing_gives_default_and_with_scope() -> None:
    s = SharedState()
    assert s.get("nope") is None
    assert s.get("nope", 5) == 5
    assert s.get("nope", with_scope=True) is None
    s.set("a", 1, scope="users")
    assert s.get("a", with_scope=True) == {"Value": 1, "Scope": ["users"]}


def test_scope_normalisation_and_reset_on_set_without_scope() -> None:
    s = SharedState()
    s.set("a", 1, scope="one")
    assert s.get("a", with_scope=True)["Scope"] == ["one"]
    s.set("a", 2, scope=["x", "y"])
    assert s.get("a", with_scope=True)["Scope"] == ["x", "y"]
    s.set("a", 3)
    assert s.get("a", with_scope=True)["Scope"] == []
    with pytest.raises(ValueError):
        s.set("a", 3, scope=[1])  # type: ignore[list-item]


def test_remove_returns_value_or_none() -> None:
    s = SharedState()
    s.set("a", [1])
    assert s.remove("A") == [1]
    assert s.remove("a") is None
    assert not s.test("a")


def test_names_filters_combine_with_and() -> None:
    s = SharedState()
    s.set("users", 1, scope=["Users", "cache"])
    s.set("orders", 2, scope="users")
    s.set("tmp", 3, scope="cache")
    s.set("plain", 4)
    assert sorted(s.names()) == ["orders", "plain", "tmp", "users"]
    # scope: any-of, case-insensitive, entries without scope never match
    assert sorted(s.names(scope="USERS")) == ["orders", "users"]
    assert sorted(s.names(scope=["cache", "nothing"])) == ["tmp", "users"]
    # include / exclude, case-insensitive, exclude wins
    assert sorted(s.names(include=["USERS", "tmp"])) == ["tmp", "users"]
    assert s.names(include=["users"], exclude=["Users"]) == []
    assert sorted(s.names(scope="users", exclude="orders")) == ["users"]
    # pattern: unanchored, case-insensitive regex
    assert sorted(s.names(pattern="R")) == ["orders", "users"]
    assert s.names(pattern="^ord") == ["orders"]
    assert s.names(pattern="^ord", scope="cache") == []
    assert sorted(s.names(pattern="  ")) == sorted(s.names())


def test_invalid_pattern_raises_value_error() -> None:
    with pytest.raises(ValueError, match="pattern"):
        SharedState().names(pattern="(")


def test_version_and_per_entry_metadata() -> None:
    s = SharedState()
    v0 = s.version
    s.set("a", 1)
    info = s.entry("a")
    assert info is not None and info.version == s.version == v0 + 1
    assert info.thread == threading.current_thread().name
    t = threading.Thread(target=lambda: s.set("a", 2), name="writer-x")
    t.start()
    t.join()
    info2 = s.entry("a")
    assert info2 is not None and info2.thread == "writer-x" and info2.version > info.version


def test_change_feed_since_version() -> None:
    s = SharedState(ring_size=5)
    s.set("a", 1)
    v = s.version
    s.set("b", 2)
    s.remove("a")
    s.set("c", 3, scope="x")
    ch = s.changes_since(v)
    assert not ch.resync
    assert [(r.op, r.name) for r in ch.records] == [("set", "b"), ("remove", "a"), ("set", "c")]
    assert ch.version == s.version
    assert s.changes_since(s.version).records == ()
    # falling behind the ring asks for a resync
    for i in range(10):
        s.set(f"k{i}", i)
    assert s.changes_since(v).resync
    # a replacing restore / clear also asks readers to resync
    v2 = s.version
    s.clear()
    assert s.changes_since(v2).resync
    assert len(s) == 0


def test_touch_and_edit_record_in_place_changes() -> None:
    lock = Lockable("g")
    s = SharedState(lockable=lock)
    s.set("hash", {"values": []})
    v = s.version
    with s.edit("HASH") as h:
        assert lock.held_by_me()
        h["values"].append(7)
    assert not lock.locked()
    assert s.get("hash") == {"values": [7]}
    ch = s.changes_since(v)
    assert [(r.op, r.name) for r in ch.records] == [("touch", "hash")]
    s.touch("hash")
    assert s.version == v + 2
    with pytest.raises(KeyError):
        s.touch("missing")
    with pytest.raises(KeyError), s.edit("missing"):
        pass
    assert not lock.locked()


def test_edit_releases_lock_when_body_raises() -> None:
    s = SharedState()
    s.set("a", [])
    with pytest.raises(RuntimeError), s.edit("a"):
        raise RuntimeError("boom")
    assert not s.lockable.locked()


def test_rename_keeps_value_and_scope_and_refuses_duplicates() -> None:
    s = SharedState()
    value = {"x": 1}
    s.set("old", value, scope="keep")
    s.set("other", 2)
    s.rename("old", "New")
    assert s.get("new") is value
    assert s.get("New", with_scope=True)["Scope"] == ["keep"]
    assert not s.test("old")
    with pytest.raises(ValueError):
        s.rename("new", "OTHER")
    with pytest.raises(ValueError):
        s.rename("new", "")
    with pytest.raises(KeyError):
        s.rename("nope", "x")
    s.rename("new", "NEW")  # a case-only rename is allowed
    assert s.names() == ["NEW", "other"] or sorted(s.names()) == ["NEW", "other"]


def test_snapshot_is_a_deep_copy() -> None:
    s = SharedState()
    s.set("hash", {"values": [1]}, scope="s")
    snap = s.snapshot()
    assert snap == {"hash": {"Value": {"values": [1]}, "Scope": ["s"]}}
    snap["hash"]["Value"]["values"].append(2)
    assert s.get("hash") == {"values": [1]}


def test_load_entries_replace_and_merge() -> None:
    s = SharedState()
    s.set("keep", 1)
    s.set("Over", 2)
    s.load_entries({"over": (20, ["x"]), "new": (3, [])}, merge=True)
    assert s.get("keep") == 1 and s.get("over") == 20 and s.get("new") == 3
    assert s.names(pattern="over") == ["Over"]  # merged keys keep the live name's case
    s.load_entries({"only": (1, [])})
    assert s.names() == ["only"]
    assert s.get("ONLY") == 1  # still case-insensitive after a replace


def test_concurrent_sets_and_gets_are_atomic() -> None:
    s = SharedState()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(2000):
                s.set(f"k{n}-{i % 50}", i)
                s.get(f"k{(n + 1) % 4}-{i % 50}")
                if i % 7 == 0:
                    s.remove(f"k{n}-{(i + 3) % 50}")
                s.names(pattern="k1")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert s.changes_since(0).resync or s.version > 8000


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["set", "remove"]), st.sampled_from(["a", "A", "b", "B", "c"]), st.integers())))
def test_behaves_like_a_casefolded_dict(ops: list[tuple[str, str, int]]) -> None:
    s = SharedState()
    model: dict[str, int] = {}
    for op, name, value in ops:
        if op == "set":
            s.set(name, value)
            model[name.casefold()] = value
        else:
            assert s.remove(name) == model.pop(name.casefold(), None)
    assert {n.casefold(): s.get(n) for n in s.names()} == model
    assert len(s) == len(model)


def test_a_change_event_is_set_by_every_kind_of_change_and_by_nothing_else() -> None:
    s = SharedState()
    changed = threading.Event()
    s.add_change_event(changed)
    s.add_change_event(changed)  # once is enough: adding again changes nothing
    steps = [
        lambda: s.set("a", {"n": 1}),
        lambda: s.touch("a"),
        lambda: s.rename("a", "b"),
        lambda: s.load_entries({"c": (1, [])}, merge=True),
        lambda: s.remove("b"),
        lambda: s.clear(),
    ]
    for step in steps:
        changed.clear()
        version = s.version
        step()
        assert s.version > version and changed.is_set()
    changed.clear()
    assert s.remove("missing") is None and s.get("c") is None and s.names() == []
    assert not changed.is_set(), "reads and a remove of nothing are not changes"
    s.remove_change_event(changed)
    s.set("d", 1)
    assert not changed.is_set()


def test_a_reader_that_clears_before_reading_the_version_misses_no_change() -> None:
    s = SharedState()
    changed = threading.Event()
    s.add_change_event(changed)
    done = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        version = 0
        while not done.is_set() or version < s.version:
            changed.clear()
            if s.version == version:
                assert changed.wait(5.0) or done.is_set(), "a change did not wake the reader"
                continue
            version = s.changes_since(version).version
            seen.append(version)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(2000):
        s.set(f"k{i % 7}", i)
    done.set()
    changed.set()
    t.join(10)
    assert not t.is_alive() and seen[-1] == s.version == 2000
