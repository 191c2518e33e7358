"""The ACL pass: full listings only on the periodic pass, the Topics the operator acts on
noted in between (newest resourceVersion wins), bindings described before anything is read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lulea.core.events.topics import Grant
from lulea.operators.topic.grants import TOPICS, GrantSync
from lulea.operators.topic.projects import PROJECTS


def topic(name: str, rv: int, shares: list[str] = (), deleting: bool = False) -> dict[str, Any]:  # type: ignore[assignment]
    meta: dict[str, Any] = {"name": name, "namespace": "p1", "resourceVersion": str(rv)}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"shares": [{"project": p, "access": "Read"} for p in shares]}}


PROJECT_LIST = [{"metadata": {"name": "p1"}, "spec": {"members": [{"user": "alice"}]}},
                {"metadata": {"name": "p2"}, "spec": {"members": [{"user": "dave"}]}}]


class StaticProjects:
    """The informer's view, already synced (tests of the informer itself: test_projects.py)."""

    def __init__(self, projects: list[dict[str, Any]]) -> None:
        self.projects = projects
        self.synced = asyncio.Event()
        self.synced.set()

    def items(self) -> list[dict[str, Any]]:
        return list(self.projects)

    def subscribe(self, listener: Any) -> None:
        pass


def grant_sync(kube: Any, admin: Any, interval: float) -> GrantSync:
    return GrantSync(kube, admin, interval, StaticProjects(PROJECT_LIST))


class FakeKube:
    def __init__(self, topics: list[dict[str, Any]]) -> None:
        self.topics = topics
        self.calls: list[str] = []
        self.during_list: Any = None

    async def list(self, path: str) -> tuple[list[dict[str, Any]], str]:
        self.calls.append(path)
        if path == TOPICS:
            listed = list(self.topics)
            if self.during_list:
                self.during_list()
            return listed, "1"
        return PROJECT_LIST, "1"


class FakeAdmin:
    def __init__(self, order: list[str] | None = None) -> None:
        self.allow: set[Grant] = set()
        self.order = order if order is not None else []

    async def acls(self) -> tuple[set[Grant], set[Grant]]:
        self.order.append("describe")
        return set(self.allow), set()

    async def create_acls(self, grants: Any) -> None:
        self.allow |= set(grants)

    async def delete_acls(self, grants: Any, permission: Any = None) -> None:
        self.allow -= set(grants)


def readers(admin: FakeAdmin, kt: str) -> set[str]:
    return {g.principal for g in admin.allow if g.name == kt and g.operation == "READ"}


async def test_noted_topics_are_granted_without_listing_all_topics() -> None:
    kube, admin = FakeKube([topic("a", 10)]), FakeAdmin()
    sync = grant_sync(kube, admin, 60)
    await sync.sync_once(full=True)
    assert readers(admin, "p1.a") == {"User:p1__alice"}
    sync.note(topic("b", 20, ["p2"]))  # created after the listing, reconciled now
    await sync.sync_once(full=False)
    assert kube.calls.count(TOPICS) == 1 and kube.calls.count(PROJECTS) == 0  # the informer's
    assert readers(admin, "p1.b") == {"User:p1__alice", "User:p2__dave"}
    sync.note(topic("b", 19, []))  # an older copy never wins
    sync.note(topic("b", 21, []))  # the share removed
    await sync.sync_once(full=False)
    assert readers(admin, "p1.b") == {"User:p1__alice"}
    sync.note(topic("a", 30, deleting=True))
    await sync.sync_once(full=False)
    assert readers(admin, "p1.a") == set()


async def test_a_note_made_while_listing_is_kept_when_newer() -> None:
    kube = FakeKube([topic("a", 10)])
    admin = FakeAdmin(kube.calls)
    sync = grant_sync(kube, admin, 60)
    kube.during_list = lambda: sync.note(topic("a", 11, ["p2"]))
    await sync.sync_once(full=True)
    assert readers(admin, "p1.a") == {"User:p1__alice", "User:p2__dave"}
    assert kube.calls[:2] == ["describe", TOPICS]  # the bindings are read first


async def test_the_periodic_full_pass_repairs_what_no_note_said() -> None:
    kube, admin = FakeKube([topic("a", 10, ["p2"])]), FakeAdmin()
    sync = grant_sync(kube, admin, 60)
    await sync.sync_once(full=True)
    kube.topics = []  # deleted while no operator ran
    await sync.sync_once(full=False)
    assert readers(admin, "p1.a")  # a poke pass does not know yet
    await sync.sync_once(full=True)
    assert readers(admin, "p1.a") == set()


async def test_a_lagging_describe_does_not_make_every_pass_write_again() -> None:
    """DescribeAcls lags CreateAcls under load: what was just written is not written again."""
    kube, admin = FakeKube([topic("a", 10)]), FakeAdmin()
    sync = grant_sync(kube, admin, 60)
    written: list[int] = []
    real_create = admin.create_acls

    async def lagging_create(grants: Any) -> None:
        written.append(len(set(grants)))  # accepted, but not visible to describe yet

    admin.create_acls = lagging_create  # type: ignore[method-assign]
    assert (await sync.sync_once(full=True))[0] == 9  # p1.a's 3, alice's and dave's groups/txn ids
    assert (await sync.sync_once(full=False))[0] == 0 and written == [9]
    sync.recent_seconds = 0  # long after: a binding still missing is written again
    admin.create_acls = real_create  # type: ignore[method-assign]
    assert (await sync.sync_once(full=False))[0] == 9 and readers(admin, "p1.a") == {"User:p1__alice"}


async def test_a_new_topic_is_served_by_an_add_only_pass() -> None:
    """No DescribeAcls and nothing deleted for a Topic new to the table; any other poke (an
    edit, a membership event, a deletion) gets the full diff."""
    kube = FakeKube([topic("a", 10)])
    admin = FakeAdmin(kube.calls)
    sync = grant_sync(kube, admin, 3600)
    runner = asyncio.create_task(sync.run())
    try:
        await sync.poke()  # the first pass: loads the table, full diff
        admin.allow.add(Grant("User:p1__mallory", "TOPIC", "p1.a", "LITERAL", "READ"))  # by hand
        kube.calls.clear()
        sync.note(topic("b", 20, ["p2"]))
        await sync.poke(topic="p1/b")
        assert kube.calls == []  # no describe, and the Projects are the informer's view
        assert readers(admin, "p1.b") == {"User:p1__alice", "User:p2__dave"}
        assert "User:p1__mallory" in readers(admin, "p1.a")  # add-only: the full pass's job
        sync.note(topic("b", 21, []))  # an edit of a Topic the table knows: full diff
        await sync.poke(topic="p1/b")
        assert "describe" in kube.calls and readers(admin, "p1.b") == {"User:p1__alice"}
        assert readers(admin, "p1.a") == {"User:p1__alice"}  # the hand-written one is gone
    finally:
        runner.cancel()


async def test_a_failed_add_only_pass_is_retried_as_a_full_one() -> None:
    kube, admin = FakeKube([]), FakeAdmin()
    sync = grant_sync(kube, admin, 3600)
    await sync.sync_once(full=True)
    sync.loaded = True
    sync.note(topic("c", 5))
    failing = admin.create_acls

    async def refuse(grants: Any) -> None:
        raise RuntimeError("broker away")

    admin.create_acls = refuse  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await sync.add_once()
    assert sync.added == {"p1/c"}  # still to serve
    admin.create_acls = failing  # type: ignore[method-assign]
    await sync.sync_once(full=False)
    assert sync.added == set() and readers(admin, "p1.c") == {"User:p1__alice"}


async def test_a_new_topic_is_granted_while_a_full_pass_hangs() -> None:
    """A full pass waiting on a slow broker describe does not hold up a new Topic's grants."""
    kube = FakeKube([topic("a", 10)])
    admin = FakeAdmin(kube.calls)
    sync = grant_sync(kube, admin, 3600)
    runner = asyncio.create_task(sync.run())
    try:
        await sync.poke()  # the first pass loads the table
        release = asyncio.Event()
        fast_acls = admin.acls

        async def slow_acls() -> tuple[set[Grant], set[Grant]]:
            await release.wait()
            return await fast_acls()

        admin.acls = slow_acls  # type: ignore[method-assign]
        diff = asyncio.create_task(sync.poke())  # e.g. a membership event: a diff pass, stuck
        await asyncio.sleep(0.05)
        sync.note(topic("b", 20, ["p2"]))
        await asyncio.wait_for(sync.poke(topic="p1/b"), 2)
        assert readers(admin, "p1.b") == {"User:p1__alice", "User:p2__dave"}
        assert not diff.done()
        release.set()
        await asyncio.wait_for(diff, 2)
    finally:
        runner.cancel()


async def test_a_diff_pass_waits_for_the_add_pass_in_flight() -> None:
    """A Topic deleted while an add pass writes its bindings: the diff pass its deletion asks
    for describes after those writes, so it removes them."""
    kube = FakeKube([topic("a", 10)])
    admin = FakeAdmin(kube.calls)
    sync = grant_sync(kube, admin, 3600)
    runner = asyncio.create_task(sync.run())
    try:
        await sync.poke()
        release = asyncio.Event()
        real_create = admin.create_acls

        async def slow_create(grants: Any) -> None:
            await release.wait()
            await real_create(grants)

        admin.create_acls = slow_create  # type: ignore[method-assign]
        sync.note(topic("b", 20, ["p2"]))
        adding = asyncio.create_task(sync.poke(topic="p1/b"))
        await asyncio.sleep(0.05)  # the add pass is writing b's bindings
        kube.calls.clear()
        sync.note(topic("b", 21, ["p2"], deleting=True))
        deleting = asyncio.create_task(sync.poke())
        await asyncio.sleep(0.05)
        assert "describe" not in kube.calls  # the diff pass waits for the writes
        release.set()
        admin.create_acls = real_create  # type: ignore[method-assign]
        await asyncio.wait_for(asyncio.gather(adding, deleting), 2)
        assert readers(admin, "p1.b") == set()
        assert readers(admin, "p1.a") == {"User:p1__alice"}
    finally:
        runner.cancel()


async def test_a_topic_the_listing_already_has_unchanged_is_served_add_only() -> None:
    """In a burst, the periodic listing often has a new Topic before its first reconcile: its
    poke still needs additions only, unless its shares differ from the table's copy."""
    kube = FakeKube([topic("a", 10), topic("b", 20, ["p2"])])
    admin = FakeAdmin(kube.calls)
    sync = grant_sync(kube, admin, 3600)
    runner = asyncio.create_task(sync.run())
    try:
        await sync.poke()  # the full pass lists a and b
        admin.allow -= {g for g in admin.allow if g.name == "p1.b"}  # deleted by hand, say
        sync.recent.clear()  # long after the full pass wrote them
        kube.calls.clear()
        sync.note(topic("b", 20, ["p2"]))  # b's reconcile, same copy as listed
        await sync.poke(topic="p1/b")
        assert kube.calls == []  # add-only
        assert readers(admin, "p1.b") == {"User:p1__alice", "User:p2__dave"}
        sync.note(topic("b", 22, []))  # the share removed: a diff pass takes p2's reader away
        assert "p1/b" not in sync.added
        await sync.poke(topic="p1/b")
        assert "describe" in kube.calls and readers(admin, "p1.b") == {"User:p1__alice"}
    finally:
        runner.cancel()


async def test_what_the_describe_does_not_show_yet_is_still_undone() -> None:
    """DescribeAcls lags both ways: a binding created lately and no longer wanted is deleted
    though not described yet; one deleted lately and wanted again is created though still
    described."""
    projects = [{"metadata": {"name": "p1"}, "spec": {"members": [{"user": "alice"}, {"user": "bob"}]}}]
    view = StaticProjects(projects)
    kube, admin = FakeKube([topic("a", 10)]), FakeAdmin()
    sync = GrantSync(kube, admin, 60, view)  # type: ignore[arg-type]
    visible: set[Grant] = set()  # what the describe shows: only what was on the broker before the pass

    async def lagging_acls() -> tuple[set[Grant], set[Grant]]:
        return set(visible), set()

    admin.acls = lagging_acls  # type: ignore[method-assign]
    await sync.sync_once(full=True)
    assert "User:p1__bob" in readers(admin, "p1.a")
    view.projects = [{"metadata": {"name": "p1"}, "spec": {"members": [{"user": "alice"}]}}]
    await sync.sync_once(full=False)  # bob's bindings are not described yet
    assert readers(admin, "p1.a") == {"User:p1__alice"}
    visible = set(admin.allow) | {Grant("User:p1__bob", "TOPIC", "p1.a", "LITERAL", "READ")}  # late
    view.projects = projects  # bob back
    await sync.sync_once(full=False)
    assert "User:p1__bob" in readers(admin, "p1.a")
