"""The Topic operator is SIGKILLed at random (seeded) during 200+ topic changes: creations,
edits, shares, unshares, deletions and member changes. Afterwards Kafka's topics, configs
and ACLs equal what this test computes on its own from the CRs, and nothing of the deleted
Topics is left (`list_topics`, `describe_configs`, `describe_acls`)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)
from kubernetes_asyncio import client as k8s

from e2e.projects import create_project, delete_project, set_members, unique, wait_ready
from e2e.test_topics import GROUP, PLURAL, VERSION, create_topic_cr, get_topic, patch_topic, ready_condition
from lulea.devstack import stack as devstack
from lulea.devstack.components import PLATFORM
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths
from lulea.devstack.process import read_pidfile, spawn

OPERATOR = next(c for c in PLATFORM if c.name == "operator-topic")
SEED = int(os.environ.get("LULEA_CHAOS_SEED", "1201"))
TOPICS = 40


@pytest.fixture
def layout(stack: Stack) -> Iterator[Layout]:
    layout = Layout(stack.state_dir, stack.port_base, tools=tool_paths())
    yield layout
    devstack.up(layout)  # whatever happened, the stack's operator runs again afterwards


def _kill(layout: Layout) -> None:
    managed = read_pidfile(layout.pids / f"{OPERATOR.name}.pid")
    if managed is not None and managed.alive():
        os.killpg(managed.pid, signal.SIGKILL)  # a crash, not a shutdown


def _start(layout: Layout) -> None:
    spawn(OPERATOR.name, OPERATOR.argv(layout), layout.log(OPERATOR.name),
          layout.pids / f"{OPERATOR.name}.pid", env=OPERATOR.env(layout))


def expected_acls(owner: str, members: dict[str, list[str]], topics: dict[str, dict[str, Any]]
                  ) -> set[tuple[str, str, str, str, str]]:
    """What docs/topics.md's matrix says, written out again here (not lulea's function)."""
    out = set()
    for project, users in members.items():
        for u in users:
            out.add((f"User:{project}__{u}", "GROUP", f"{project}.", "PREFIXED", "READ"))
            out.add((f"User:{project}__{u}", "TRANSACTIONAL_ID", f"{project}.", "PREFIXED", "WRITE"))
            out.add((f"User:{project}__{u}", "TRANSACTIONAL_ID", f"{project}.", "PREFIXED", "DESCRIBE"))
    for name, spec in topics.items():
        kt = f"{owner}.{name}"
        for u in members[owner]:
            out |= {(f"User:{owner}__{u}", "TOPIC", kt, "LITERAL", op)
                    for op in ("READ", "WRITE", "DESCRIBE")}
        for share in spec.get("shares") or []:
            ops = ("READ", "DESCRIBE") + (("WRITE",) if share["access"] == "ReadWrite" else ())
            out |= {(f"User:{share['project']}__{u}", "TOPIC", kt, "LITERAL", op)
                    for u in members[share["project"]] for op in ops}
    return out


async def test_operator_killed_at_random_converges(layout: Layout, admin_api: k8s.ApiClient,
                                                   stack: Stack) -> None:
    rng = random.Random(SEED)
    owner, reader, other = unique("cha"), unique("chb"), unique("chc")
    await create_project(admin_api, owner, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await create_project(admin_api, reader, [("dave", "DataOwner")])
    await create_project(admin_api, other, [("carol", "DataOwner")])
    for p in (owner, reader, other):
        await wait_ready(admin_api, p)
    changes = 0
    deleted: set[str] = set()

    async def life(i: int) -> None:
        nonlocal changes
        name = f"t{i:02d}"
        await create_topic_cr(admin_api, owner, name, {"config": {"retention.ms": "3600000"}})
        changes += 1
        patches: list[dict[str, Any]] = [
            {"spec": {"partitions": 2, "config": {"retention.ms": str(7200000 + i)}}},
            {"spec": {"shares": [{"project": reader, "access": "Read"}]}},
            {"spec": {"shares": [{"project": reader, "access": "ReadWrite"},
                                 {"project": other, "access": "Read"}]}},
            {"spec": {"config": {"retention.ms": str(9000000 + i)}}},
        ]
        if i % 3 == 0:
            patches.append({"spec": {"shares": [{"project": other, "access": "Read"}]}})
        for patch in patches:
            await asyncio.sleep(rng.uniform(0, 1.5))
            await patch_topic(admin_api, owner, name, patch)
            changes += 1
        if i % 4 == 0:
            await asyncio.sleep(rng.uniform(0, 1))
            deleted.add(name)
            await k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
                GROUP, VERSION, owner, PLURAL, name)
            changes += 1

    async def people() -> None:
        nonlocal changes
        await asyncio.sleep(rng.uniform(1, 4))
        await set_members(admin_api, reader, [("dave", "DataOwner"), ("erin", "DataScientist")])
        await asyncio.sleep(rng.uniform(1, 4))
        await set_members(admin_api, owner, [("alice", "DataOwner")])
        changes += 2

    workload = asyncio.gather(*(life(i) for i in range(TOPICS)), people())
    kills = 0
    while not workload.done() or kills < 5:
        await asyncio.sleep(rng.uniform(0.5, 3))
        _kill(layout)
        kills += 1
        await asyncio.sleep(rng.uniform(0, 1))
        _start(layout)
    await workload
    assert kills >= 5 and changes >= 200

    members = {owner: ["alice"], reader: ["dave", "erin"], other: ["carol"]}
    alive = {f"t{i:02d}" for i in range(TOPICS)} - deleted
    specs: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(240):
        while True:
            bodies = {n: await get_topic(admin_api, owner, n) for n in sorted(alive | deleted)}
            settled = all(bodies[n] is None for n in deleted) and all(
                (c := ready_condition(bodies[n])) and c["status"] == "True"
                and c.get("observedGeneration") == bodies[n]["metadata"]["generation"]  # type: ignore[index]
                for n in alive)
            if settled:
                specs = {n: bodies[n]["spec"] for n in alive}  # type: ignore[index]
                break
            await asyncio.sleep(1)

    admin = AdminClient(stack.kafka_admin.confluent())
    want_acls = expected_acls(owner, members, specs)
    async with asyncio.timeout(60):  # the last membership pass may still be under way
        while True:
            listed = admin.list_topics(timeout=10).topics
            anything: Any = None
            query = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything,
                                     AclOperation.ANY, AclPermissionType.ANY)
            have = {(b.principal, b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name)
                    for b in admin.describe_acls(query).result(30)
                    if b.name.startswith((f"{owner}.", f"{reader}.", f"{other}."))}
            if have == want_acls:
                break
            await asyncio.sleep(1)
    ours = {t for t in listed if t.startswith(f"{owner}.")}
    assert ours == {f"{owner}.{n}" for n in alive}
    for n in alive:
        kt = f"{owner}.{n}"
        assert len(listed[kt].partitions) == int(specs[n].get("partitions", 1))
        entries = next(iter(admin.describe_configs([ConfigResource(ResourceType.TOPIC, kt)]).values()))
        assert entries.result(30)["retention.ms"].value == specs[n]["config"]["retention.ms"]
    print(f"\n{changes} changes, {kills} kills (seed {SEED}); {len(alive)} topics, "
          f"{len(want_acls)} ACLs equal")
    for p in (owner, reader, other):
        await delete_project(admin_api, p, wait=False)
