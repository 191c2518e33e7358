"""One Projects informer per operator, shared by the ACL loops and the quota loop: the API
server sees one list (and a watch), not a list per pass, and a Project change seen by the
watch alone wakes the passes that act on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from lulea.core.events.topics import Grant
from lulea.operators.topic.grants import TOPICS, GrantSync
from lulea.operators.topic.projects import PROJECTS, Projects
from lulea.operators.topic.quotas import QuotaSync


def project(name: str, users: list[str], rv: int = 1, **quotas: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": str(rv)},
            "spec": {"members": [{"user": u, "role": "DataScientist"} for u in users], "quotas": quotas}}


def topic(name: str, shares: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"metadata": {"name": name, "namespace": "p1", "resourceVersion": "5"},
            "spec": {"shares": [{"project": p, "access": "Read"} for p in shares]}}


class WatchedKube:
    """The API server as the informer uses it: `list` (counted) and a `watch` fed by the test."""

    def __init__(self, projects: list[dict[str, Any]], topics: list[dict[str, Any]]) -> None:
        self.projects = {p["metadata"]["name"]: p for p in projects}
        self.topics = topics
        self.calls: list[str] = []
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.list_gate: asyncio.Event | None = None  # set: the Projects list answers

    async def list(self, path: str, **_: Any) -> tuple[list[dict[str, Any]], str]:
        self.calls.append(path)
        if path == PROJECTS:
            if self.list_gate is not None:
                await self.list_gate.wait()
            return list(self.projects.values()), "10"
        assert path == TOPICS
        return list(self.topics), "10"

    async def watch(self, path: str, version: str, seconds: int = 240) -> AsyncIterator[dict[str, Any]]:
        assert path == PROJECTS
        while (event := await self.events.get()) is not None:
            yield event

    def send(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self.projects.pop(obj["metadata"]["name"], None)
        else:
            self.projects[obj["metadata"]["name"]] = obj
        self.events.put_nowait({"type": kind, "object": obj})


class FakeAdmin:
    def __init__(self) -> None:
        self.allow: set[Grant] = set()
        self.describes = 0

    async def acls(self) -> tuple[set[Grant], set[Grant]]:
        self.describes += 1
        return set(self.allow), set()

    async def create_acls(self, grants: Any) -> None:
        self.allow |= set(grants)

    async def delete_acls(self, grants: Any, permission: Any = None) -> None:
        self.allow -= set(grants)


class FakeTool:
    def __init__(self) -> None:
        self.broker: dict[str, dict[str, float]] = {}

    async def describe(self) -> dict[str, dict[str, float]]:
        return {k: dict(v) for k, v in self.broker.items()}

    async def alter(self, user: str, to_set: dict[str, float], to_delete: list[str]) -> None:
        entry = {k: v for k, v in self.broker.get(user, {}).items() if k not in to_delete} | to_set
        if entry:
            self.broker[user] = entry
        else:
            self.broker.pop(user, None)


def readers(admin: FakeAdmin, kt: str) -> set[str]:
    return {g.principal for g in admin.allow if g.name == kt and g.operation == "READ"}


async def until(check: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.01)


class Operator:
    """As handlers.startup wires them: one informer, the ACL loops and the quota loop on it
    (each subscribes to the informer's changes itself)."""

    def __init__(self, kube: WatchedKube) -> None:
        self.kube, self.admin, self.tool = kube, FakeAdmin(), FakeTool()
        self.projects = Projects(kube, retry_seconds=0.01)  # type: ignore[arg-type]
        self.grants = GrantSync(kube, self.admin, 3600, self.projects)  # type: ignore[arg-type]
        self.quotas = QuotaSync(self.projects, self.tool, 3600)  # type: ignore[arg-type]
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Operator:
        self.tasks = [asyncio.create_task(self.projects.run()), asyncio.create_task(self.grants.run()),
                      asyncio.create_task(self.quotas.run())]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def world() -> WatchedKube:
    return WatchedKube([project("p1", ["alice", "bob"], kafkaConsumeBytesPerSecond=4096),
                        project("p2", ["dave"])], [topic("a", ["p2"])])


async def test_many_passes_list_the_projects_once() -> None:
    """The old passes listed every Project each time (464 lists in bench/projects' 3 rounds)."""
    kube = world()
    async with Operator(kube) as op:
        for _ in range(5):
            await op.grants.poke()  # diff passes (Topic edits, membership events)
        for i in range(5):
            op.grants.note(topic(f"new{i}"))
            await op.grants.poke(topic=f"p1/new{i}")  # add-only passes
        for _ in range(3):
            op.quotas.poke()
            await asyncio.sleep(0.01)
        await until(lambda: op.quotas.passes >= 2)
        assert op.grants.passes >= 10
        assert kube.calls.count(PROJECTS) == 1
        assert readers(op.admin, "p1.new4") == {"User:p1__alice", "User:p1__bob"}


async def test_a_member_removed_in_the_watch_loses_access_with_no_poke() -> None:
    """No bus event, no poke: the watch event alone wakes the diff pass and the quota pass."""
    kube = world()
    async with Operator(kube) as op:
        await op.grants.poke()
        await until(lambda: "p1__bob" in op.tool.broker)
        assert readers(op.admin, "p1.a") == {"User:p1__alice", "User:p1__bob", "User:p2__dave"}
        kube.send("MODIFIED", project("p1", ["alice"], rv=11, kafkaConsumeBytesPerSecond=4096))
        await until(lambda: "User:p1__bob" not in readers(op.admin, "p1.a"))
        await until(lambda: "p1__bob" not in op.tool.broker)
        assert not any(g.principal == "User:p1__bob" for g in op.admin.allow)  # his groups too
        assert op.tool.broker == {"p1__alice": {"consumer_byte_rate": 4096.0}}
        kube.send("DELETED", project("p2", ["dave"], rv=12))  # a share's project gone
        await until(lambda: readers(op.admin, "p1.a") == {"User:p1__alice"})
        assert kube.calls.count(PROJECTS) == 1


async def test_a_status_write_wakes_no_pass() -> None:
    kube = world()
    async with Operator(kube) as op:
        await op.grants.poke()
        await until(lambda: op.quotas.passes == 1)
        await asyncio.sleep(0.05)
        passes, quota_passes, describes = op.grants.passes, op.quotas.passes, op.admin.describes
        p1 = project("p1", ["alice", "bob"], rv=11, kafkaConsumeBytesPerSecond=4096)
        p1["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        kube.send("MODIFIED", p1)
        await until(lambda: op.projects.get("p1") == p1)
        await asyncio.sleep(0.05)
        assert (op.grants.passes, op.quotas.passes, op.admin.describes) == (passes, quota_passes, describes)


async def test_no_pass_runs_before_the_first_list() -> None:
    """An empty view means no members: a diff pass on it would delete every binding."""
    kube = world()
    kube.list_gate = asyncio.Event()
    async with Operator(kube) as op:
        standing = Grant("User:p1__alice", "TOPIC", "p1.a", "LITERAL", "READ")
        op.admin.allow.add(standing)
        op.grants.wake()
        op.quotas.poke()
        waiting = asyncio.create_task(op.grants.poke())
        await asyncio.sleep(0.05)
        assert op.admin.describes == 0 and op.grants.passes == 0 and op.quotas.passes == 0
        assert standing in op.admin.allow and not waiting.done()
        kube.list_gate.set()
        await asyncio.wait_for(waiting, 2)
        assert standing in op.admin.allow and "User:p1__bob" in readers(op.admin, "p1.a")


async def test_a_change_missed_by_an_expired_watch_is_found_by_the_re_list() -> None:
    """A watch that ends with 410 Gone: the informer lists again and reports what differs,
    which wakes the diff pass as a watch event would."""
    kube = world()
    async with Operator(kube) as op:
        await op.grants.poke()
        kube.projects["p1"] = project("p1", ["alice"], rv=20, kafkaConsumeBytesPerSecond=4096)  # unseen
        kube.events.put_nowait({"type": "ERROR", "object": {"code": 410, "message": "too old"}})
        await until(lambda: "User:p1__bob" not in readers(op.admin, "p1.a"))
        assert kube.calls.count(PROJECTS) == 2


async def test_a_member_removed_again_soon_after_re_adding_loses_access_again() -> None:
    """Removed, put back, removed again within the 15 s in which the operator trusts its own
    writes over a lagging DescribeAcls: each removal takes the bindings away at once."""
    kube = world()
    async with Operator(kube) as op:
        await op.grants.poke()
        for rv in (11, 13, 15):
            kube.send("MODIFIED", project("p1", ["alice"], rv=rv, kafkaConsumeBytesPerSecond=4096))
            await until(lambda: "User:p1__bob" not in readers(op.admin, "p1.a"))
            kube.send("MODIFIED", project("p1", ["alice", "bob"], rv=rv + 1, kafkaConsumeBytesPerSecond=4096))
            await until(lambda: "User:p1__bob" in readers(op.admin, "p1.a"))
