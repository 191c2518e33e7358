"""Projects are tenants: the operator makes namespaces, roles and quotas, and people get exactly
the access their role gives them, acting through their own static tokens."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import REPO

from .projects import (
    GROUP,
    VERSION,
    create_project,
    delete_project,
    eventually_status,
    get_project,
    set_members,
    unique,
    wait_ready,
)

Users = Callable[[str], k8s.ApiClient]


def _topic(name: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Topic", "metadata": {"name": name},
            "spec": {"partitions": 1, "replicationFactor": 1}}


def _dataset(name: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Dataset", "metadata": {"name": name},
            "spec": {"description": "e2e"}}


def _gpujob(name: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "GpuJob",
            "metadata": {"name": name, "annotations": {"sim.lulea.io/simulated": "true"}},
            "spec": {"image": "busybox", "gpus": 1}}


async def _create(api: k8s.ApiClient, ns: str, plural: str, body: dict[str, Any]) -> Any:
    return await k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, ns, plural, body)


async def _status_of(call: Any) -> int:
    try:
        await call
        return 200
    except ApiException as e:
        return int(e.status)


async def test_example_projects_reach_ready(stack: Stack, admin_api: k8s.ApiClient) -> None:
    result = subprocess.run([stack.kubectl, f"--kubeconfig={stack.kubeconfig}", "apply", "-f",
                             str(REPO / "examples" / "01-project")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for name in ("p1", "p2"):
        project = await wait_ready(admin_api, name)
        assert project["status"]["namespace"] == name
        ns = await k8s.CoreV1Api(admin_api).read_namespace(name)
        assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    quota = await k8s.CoreV1Api(admin_api).read_namespaced_resource_quota("lulea-quota", "p1")
    assert quota.spec.hard["requests.nvidia.com/gpu"] == "40"


async def test_each_role_gets_exactly_its_access(admin_api: k8s.ApiClient, user_api: Users) -> None:
    name = unique("rbac")
    await create_project(admin_api, name, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await wait_ready(admin_api, name)
    alice, bob, carol = user_api("alice"), user_api("bob"), user_api("carol")

    # alice, a DataOwner, creates a Topic and a Dataset; bob, a DataScientist, runs a GpuJob.
    assert await _status_of(_create(alice, name, "topics", _topic("t1"))) == 200
    assert await _status_of(_create(alice, name, "datasets", _dataset("d1"))) == 200
    assert await _status_of(_create(bob, name, "gpujobs", _gpujob("j1"))) == 200
    # bob can read data but not create or change it, nor edit the Project.
    assert await _status_of(k8s.CustomObjectsApi(bob).get_namespaced_custom_object(
        GROUP, VERSION, name, "topics", "t1")) == 200
    assert await _status_of(_create(bob, name, "topics", _topic("t2"))) == 403
    assert await _status_of(_create(bob, name, "datasets", _dataset("d2"))) == 403
    # bob reads his Project (one ClusterRole per project grants every member get, watch and
    # patch); the admission policy refuses his patches, also one that makes him an owner.
    assert await _status_of(k8s.CustomObjectsApi(bob).get_cluster_custom_object(
        GROUP, VERSION, "projects", name)) == 200
    with pytest.raises(ApiException) as refused:
        await set_members(bob, name, [("bob", "DataOwner")])
    assert refused.value.status == 403 and "only the DataOwners of project" in str(refused.value.body)
    with pytest.raises(ApiException) as refused:
        await k8s.CustomObjectsApi(bob).patch_cluster_custom_object(
            GROUP, VERSION, "projects", name, {"spec": {"description": "bob's now"}},
            _content_type="application/merge-patch+json")
    assert refused.value.status == 403 and "bob is not one of them" in str(refused.value.body)
    # alice can edit the Project (membership).
    assert await _status_of(k8s.CustomObjectsApi(alice).get_cluster_custom_object(
        GROUP, VERSION, "projects", name)) == 200
    # carol is not a member: 403 for everything in the project, Secrets included.
    core = k8s.CoreV1Api(carol)
    for call in (_create(carol, name, "gpujobs", _gpujob("j2")),
                 k8s.CustomObjectsApi(carol).list_namespaced_custom_object(GROUP, VERSION, name,
                                                                           "topics"),
                 core.list_namespaced_secret(name), core.list_namespaced_pod(name),
                 k8s.CustomObjectsApi(carol).get_cluster_custom_object(GROUP, VERSION, "projects",
                                                                       name)):
        assert await _status_of(call) == 403
    # Nobody, not even the owner, reads the members' certificate Secrets.
    assert await _status_of(k8s.CoreV1Api(alice).list_namespaced_secret(name)) == 403

    # Removing bob from the Project takes his access away.
    await set_members(alice, name, [("alice", "DataOwner")])
    await eventually_status(lambda: _create(bob, name, "gpujobs", _gpujob("j3")), 403)
    await eventually_status(lambda: k8s.CustomObjectsApi(bob).list_namespaced_custom_object(
        GROUP, VERSION, name, "topics"), 403)
    await eventually_status(lambda: k8s.CustomObjectsApi(bob).get_cluster_custom_object(
        GROUP, VERSION, "projects", name), 403)
    project = await wait_ready(admin_api, name)
    assert project["status"]["memberCount"] == 1
    await delete_project(admin_api, name)


async def test_a_foreign_namespace_is_never_adopted(admin_api: k8s.ApiClient) -> None:
    name = unique("taken")
    core = k8s.CoreV1Api(admin_api)
    await core.create_namespace({"metadata": {"name": name, "labels": {"owner": "someone"}}})
    await create_project(admin_api, name, [("alice", "DataOwner")])
    try:
        message = ""
        for _ in range(120):
            project = await get_project(admin_api, name)
            conditions = (project or {}).get("status", {}).get("conditions") or []
            ready = next((c for c in conditions if c["type"] == "Ready"), None)
            if ready and ready["reason"] == "NamespaceConflict":
                message = ready["message"]
                assert ready["status"] == "False"
                break
            await asyncio.sleep(0.25)
        assert "does not belong to this Project" in message
        ns = await core.read_namespace(name)
        assert ns.metadata.labels == {"owner": "someone", "kubernetes.io/metadata.name": name}
        # Deleting the Project leaves the namespace that was never its own.
        await delete_project(admin_api, name)
        assert (await core.read_namespace(name)).status.phase == "Active"
    finally:
        await core.delete_namespace(name)


async def test_deleting_a_project_removes_its_namespace_and_cluster_roles(
        admin_api: k8s.ApiClient) -> None:
    name = unique("gone")
    await create_project(admin_api, name, [("alice", "DataOwner")], {"gpus": 4})
    await wait_ready(admin_api, name)
    await delete_project(admin_api, name)
    core, rbac = k8s.CoreV1Api(admin_api), k8s.RbacAuthorizationV1Api(admin_api)
    assert await _status_of(core.read_namespace(name)) == 404
    left = await rbac.list_cluster_role(label_selector=f"lulea.io/project={name}")
    assert left.items == []


@pytest.mark.parametrize("bad_name", ["Upper", "kube-mine", "default"])
async def test_bad_project_names_are_refused_at_the_door(admin_api: k8s.ApiClient, bad_name: str) -> None:
    with pytest.raises(ApiException) as refused:
        await create_project(admin_api, bad_name, [("alice", "DataOwner")])
    assert refused.value.status == 422


async def test_a_new_project_costs_the_operator_one_write_of_it(
        stack: Stack, admin_api: k8s.ApiClient) -> None:
    """The finalizer comes with the create (an admission policy), and kopf's bookkeeping lives in
    status next to ours: handling a new Project is one patch of its status subresource and no
    patch of the object itself, counted in the API server's audit log."""
    name = unique("onewrite")
    created = await create_project(admin_api, name, [("alice", "DataOwner")])
    assert created["metadata"]["finalizers"] == ["lulea.io/project-cleanup"]
    project = await wait_ready(admin_api, name)
    assert "last-handled-configuration" in project["status"]["kopf"]
    assert not [k for k in project["metadata"].get("annotations") or {} if "lulea.io" in k]
    operator = "system:serviceaccount:lulea-system:lulea-operator-project"
    writes: list[str] = []
    for _ in range(20):  # the audit log is written in batches
        await asyncio.sleep(0.5)
        writes = []
        for line in stack.audit_log.read_text().splitlines():
            if name not in line:
                continue
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if (event["user"]["username"] == operator and ref.get("resource") == "projects"
                    and ref.get("name") == name and event["verb"] in ("patch", "update")
                    and event["stage"] == "ResponseComplete"):
                writes.append(ref.get("subresource") or "object")
        if writes:
            break
    assert writes == ["status"]
    await delete_project(admin_api, name)
