"""The Project operator is SIGKILLed at random points while 50 Projects are created, edited and
some deleted; after a restart everything converges: nothing lost, duplicated or orphaned."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s

from lulea.devstack import stack as devstack
from lulea.devstack.components import PLATFORM
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths
from lulea.devstack.process import Managed, read_pidfile, spawn

from .projects import create_project, delete_project, get_project, is_ready, set_members, unique

OPERATOR = next(c for c in PLATFORM if c.name == "operator-project")
SEED = int(os.environ.get("LULEA_CHAOS_SEED", "1123"))


@pytest.fixture
def layout(stack: Stack) -> Iterator[Layout]:
    layout = Layout(stack.state_dir, stack.port_base, tools=tool_paths())
    yield layout
    devstack.up(layout)  # whatever happened, the stack's operator runs again afterwards


def _pidfile(layout: Layout) -> Any:
    return layout.pids / f"{OPERATOR.name}.pid"


def _kill(layout: Layout) -> None:
    managed = read_pidfile(_pidfile(layout))
    if managed is not None and managed.alive():
        os.killpg(managed.pid, signal.SIGKILL)  # no goodbye: a crash, not a shutdown


def _start(layout: Layout) -> Managed:
    return spawn(OPERATOR.name, OPERATOR.argv(layout), layout.log(OPERATOR.name), _pidfile(layout),
                 env=OPERATOR.env(layout))


async def _workload(admin: k8s.ApiClient, names: list[str], rng: random.Random) -> set[str]:
    deleted: set[str] = set()

    async def life(i: int, name: str) -> None:
        await create_project(admin, name, [("alice", "DataOwner"), ("bob", "DataScientist")],
                             {"gpus": 1 + i % 8})
        await asyncio.sleep(rng.uniform(0, 2))
        await set_members(admin, name, [("alice", "DataOwner"), ("bob", "DataOwner"),
                                        ("carol", "DataScientist")])
        await asyncio.sleep(rng.uniform(0, 2))
        if i % 5 == 0:
            deleted.add(name)
            await delete_project(admin, name, wait=False)
        elif i % 3 == 0:
            await set_members(admin, name, [("carol", "DataOwner")])

    await asyncio.gather(*(life(i, n) for i, n in enumerate(names)))
    return deleted


def _expected_members(i: int) -> dict[str, str]:
    if i % 3 == 0:
        return {"carol": "DataOwner"}
    return {"alice": "DataOwner", "bob": "DataOwner", "carol": "DataScientist"}


async def test_operator_killed_at_random_converges(layout: Layout, admin_api: k8s.ApiClient) -> None:
    rng = random.Random(SEED)
    prefix = unique("chaos")
    names = [f"{prefix}-{i:02d}" for i in range(50)]
    workload = asyncio.create_task(_workload(admin_api, names, rng))
    kills = 0
    while not workload.done() or kills < 5:
        await asyncio.sleep(rng.uniform(0.3, 2.5))
        _kill(layout)
        kills += 1
        await asyncio.sleep(rng.uniform(0, 1))
        _start(layout)
    deleted = await workload

    core, rbac = k8s.CoreV1Api(admin_api), k8s.RbacAuthorizationV1Api(admin_api)
    net = k8s.NetworkingV1Api(admin_api)
    async with asyncio.timeout(180):
        while True:
            projects = {n: await get_project(admin_api, n) for n in names}
            if all(projects[n] is None for n in deleted) and all(
                    is_ready(projects[n]) for n in names if n not in deleted):
                break
            await asyncio.sleep(1)

    for i, name in enumerate(names):
        selector = f"lulea.io/project={name}"
        cluster_roles = await rbac.list_cluster_role(label_selector=selector)
        cluster_bindings = await rbac.list_cluster_role_binding(label_selector=selector)
        if name in deleted:  # nothing orphaned
            assert (await core.list_namespace(label_selector=selector)).items == []
            assert cluster_roles.items == [] and cluster_bindings.items == []
            continue
        project = projects[name]
        assert project is not None
        ns = await core.read_namespace(name)
        assert [o.uid for o in ns.metadata.owner_references] == [project["metadata"]["uid"]]
        bindings = (await rbac.list_namespaced_role_binding(name, label_selector=selector)).items
        bound = {s.name: b.role_ref.name for b in bindings for s in b.subjects or []
                 if s.kind == "User"}
        expected = {u: f"lulea-{'data-owner' if r == 'DataOwner' else 'data-scientist'}"
                    for u, r in _expected_members(i).items()}
        assert bound == expected, name
        assert len(bindings) == 3 and len(cluster_roles.items) == 1 and len(cluster_bindings.items) == 1
        assert sorted(s.name for s in cluster_bindings.items[0].subjects) == sorted(expected), name
        assert len((await net.list_namespaced_network_policy(name)).items) == 1
        quota = await core.read_namespaced_resource_quota("lulea-quota", name)
        assert quota.spec.hard["requests.nvidia.com/gpu"] == str(1 + i % 8)
        assert project["status"]["memberCount"] == len(expected)
    assert kills >= 5
    for name in names:
        await delete_project(admin_api, name, wait=False)


async def test_a_restarted_operator_removes_the_per_role_cluster_rbac_of_before(
        layout: Layout, admin_api: k8s.ApiClient, user_api: Any) -> None:
    """An upgrade from two ClusterRoles and two bindings per project to one: the old ones
    (here made by hand, for erin, who is no longer a member) are gone after the operator's
    start, so erin keeps nothing, and the project's one role and binding are in place."""
    name = unique("legacy")
    await create_project(admin_api, name, [("alice", "DataOwner")])
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    labels = {"lulea.io/project": name, "app.kubernetes.io/managed-by": "lulea-operator-project"}
    old = f"lulea:project:{name}:data-scientist"
    try:
        async with asyncio.timeout(60):
            while not is_ready(await get_project(admin_api, name)):
                await asyncio.sleep(0.5)
        await rbac.create_cluster_role({"metadata": {"name": old, "labels": labels}, "rules": [
            {"apiGroups": ["lulea.io"], "resources": ["projects"], "resourceNames": [name],
             "verbs": ["get"]}]})
        await rbac.create_cluster_role_binding({
            "metadata": {"name": old, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": old},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "erin"}]})
        erin = k8s.CustomObjectsApi(user_api("erin"))
        async with asyncio.timeout(20):  # what the left-over binding grants, once RBAC's cache has it
            while True:
                try:
                    await erin.get_cluster_custom_object("lulea.io", "v1alpha1", "projects", name)
                    break
                except k8s.ApiException as e:
                    assert e.status == 403
                    await asyncio.sleep(0.2)

        _kill(layout)
        _start(layout)
        selector = f"lulea.io/project={name}"
        async with asyncio.timeout(120):  # the killed one's Lease expires first
            while True:
                roles = [r.metadata.name for r in
                         (await rbac.list_cluster_role(label_selector=selector)).items]
                bindings = [b.metadata.name for b in
                            (await rbac.list_cluster_role_binding(label_selector=selector)).items]
                if old not in roles and old not in bindings:
                    break
                await asyncio.sleep(0.5)
        assert roles == bindings == [f"lulea:project:{name}:members"]
        async with asyncio.timeout(20):  # RBAC's cache follows the deletion within moments
            while True:
                try:
                    await erin.get_cluster_custom_object("lulea.io", "v1alpha1", "projects", name)
                    await asyncio.sleep(0.2)
                except k8s.ApiException as e:
                    assert e.status == 403
                    break
    finally:
        await delete_project(admin_api, name, wait=False)
