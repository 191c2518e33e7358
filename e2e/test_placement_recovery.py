"""The placement scheduler killed mid-queue: the restarted one rebuilds its state from the
API server, places every queued gang, never binds a gang in part and never over-commits.

It kills the stack's own placement process (SIGKILL, by the pid the stack recorded) and has the
stack start it again, as a crash and a Deployment's restart would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths

G, V = "lulea.io", "v1alpha1"
pytestmark = pytest.mark.timeout(240)
JOBS = 24  # 24 gangs x 4 hosts x 10 GPUs on the 16 InfiniBand nodes: many must queue


@pytest.fixture
async def namespace(admin_api: k8s.ApiClient) -> AsyncIterator[str]:
    name = f"gjr-{uuid.uuid4().hex[:6]}"
    core = k8s.CoreV1Api(admin_api)
    await core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        await core.delete_namespace(name)
    except ApiException as err:
        if err.status != 404:
            raise


async def test_restart_mid_queue_loses_nothing_and_binds_nothing_twice(
    stack: Stack, admin_api: k8s.ApiClient, namespace: str
) -> None:
    layout = Layout(state_dir=stack.state_dir, port_base=stack.port_base, tools=tool_paths())
    placement = devstack.running(layout, "placement")
    assert placement is not None, "the stack runs no placement service"
    assert devstack.running(layout, "operator-gpujob") is not None, "the stack runs no GpuJob operator"
    custom, core = k8s.CustomObjectsApi(admin_api), k8s.CoreV1Api(admin_api)
    over_commit: list[str] = []

    async def audit() -> int:
        """Record over-committed nodes; count fully bound gangs."""
        pods = (await core.list_namespaced_pod(namespace)).items
        by_gang: dict[str, list[k8s.V1Pod]] = {}
        for p in pods:
            by_gang.setdefault(p.metadata.labels["lulea.io/gang"], []).append(p)
        used: Counter[str] = Counter()
        for p in pods:
            if p.spec.node_name and p.status.phase not in ("Succeeded", "Failed"):
                used[p.spec.node_name] += 10
        over_commit.extend(n for n, g in used.items() if g > 10)
        bound = 0
        for members in by_gang.values():
            bound += sum(1 for p in members if p.spec.node_name) == 4
        return bound

    try:
        for i in range(JOBS):
            job = {
                "apiVersion": f"{G}/{V}",
                "kind": "GpuJob",
                "metadata": {
                    "name": f"r{i:02d}",
                    "annotations": {"sim.lulea.io/outcome": "Succeeded", "sim.lulea.io/duration": "3s"},
                },
                "spec": {
                    "image": "x",
                    "gpus": 40,
                    "hosts": 4,
                    "nodeSelector": {"lulea.io/interconnect": "infiniband"},
                },
            }
            await custom.create_namespaced_custom_object(G, V, namespace, "gpujobs", job)
        deadline = time.monotonic() + 60
        while await audit() < 4:  # the first wave is bound, the rest queue
            assert time.monotonic() < deadline, "nothing was placed"
            await asyncio.sleep(0.2)
        os.killpg(placement.pid, signal.SIGKILL)  # mid-queue, no goodbye
        while placement.alive():
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        await asyncio.to_thread(devstack.start_one, layout, "placement")  # waits for /readyz
        deadline = time.monotonic() + 180
        while True:
            jobs = (await custom.list_namespaced_custom_object(G, V, namespace, "gpujobs"))["items"]
            phases = Counter((j.get("status") or {}).get("phase") for j in jobs)
            await audit()
            if phases["Succeeded"] == JOBS:
                break
            assert not phases["Failed"], phases
            assert time.monotonic() < deadline, f"not all jobs finished: {phases}"
            await asyncio.sleep(0.3)
        assert not over_commit, f"over-committed nodes: {over_commit}"
        for job in jobs:
            assert job["status"]["attempts"] == 1, job["status"]  # no gang had to be redone
            assert len(set(job["status"]["nodes"])) == 4
        # every pod was bound once, to the node its gang's plan named
        pods = (await core.list_namespaced_pod(namespace)).items
        plans: dict[str, dict[str, str]] = {}
        for p in pods:
            note = (p.metadata.annotations or {}).get("placement.lulea.io/plan")
            if note:
                plans[p.metadata.labels["lulea.io/gang"]] = json.loads(note)
        assert len(plans) == JOBS
        for p in pods:
            assert plans[p.metadata.labels["lulea.io/gang"]][p.metadata.name] == p.spec.node_name
    finally:
        if devstack.running(layout, "placement") is None:  # leave the stack as it was
            await asyncio.to_thread(devstack.start_one, layout, "placement")
    # the killed run's log was kept as placement.log.1 when the stack started it again
    logs = [layout.log("placement"), layout.log("placement").with_suffix(".log.1")]
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    assert "Traceback (most recent call last)" not in text
    failed = [line for line in text.splitlines() if f"gang {namespace}/" in line and " failed" in line]
    assert not failed, f"a bind failed: {failed[:3]}"  # "gang <id>: bind <pod> -> <node> failed"
