"""The placement scheduler killed mid-queue: the restarted one rebuilds its state from the
API server, places every queued gang, never binds a gang in part and never over-commits. And
with a second replica standing by: the standby takes over when the leader dies (once the
Lease runs out) and at once when the leader stops cleanly.

The tests kill the stack's own placement process (SIGKILL, by the pid the stack recorded) and
have the stack start it again, as a crash and a Deployment's restart would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack

G, V = "lulea.io", "v1alpha1"
pytestmark = pytest.mark.timeout(240)
STANDBY_PORT = 24012
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
    layout = stack.layout
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


def _start_standby(stack: Stack, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = devstack.replica_env(stack.layout, "placement", log.parent / "standby-identity",
                               LULEA_PLACEMENT_PORT=str(port), LULEA_PLACEMENT_IDENTITY="e2e-standby")
    return subprocess.Popen(  # a second replica of ours, stopped by its own pid below
        [sys.executable, "-m", "lulea.placement"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def _role(port: int, trust: Path) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=2, verify=ssl.create_default_context(cafile=str(trust))) as http:
            resp = await http.get(f"https://127.0.0.1:{port}/readyz")
    except httpx.HTTPError:
        return None
    return resp.json().get("role") if resp.status_code == 200 else None


async def _wait_role(port: int, role: str, timeout: float, trust: Path) -> float:
    t0 = time.monotonic()
    while (got := await _role(port, trust)) != role:
        assert time.monotonic() - t0 < timeout, f"replica on {port} is {got}, not {role}"
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def test_a_standby_takes_over_when_the_leader_dies_and_hands_back_on_a_clean_stop(
    stack: Stack, admin_api: k8s.ApiClient, namespace: str, tmp_path: Path
) -> None:
    layout = stack.layout
    leader = devstack.running(layout, "placement")
    assert leader is not None, "the stack runs no placement service"
    stack_port = layout.port("placement")
    custom = k8s.CustomObjectsApi(admin_api)

    async def placed(name: str, timeout: float) -> None:
        job = {
            "apiVersion": f"{G}/{V}",
            "kind": "GpuJob",
            "metadata": {"name": name, "annotations": {"sim.lulea.io/outcome": "Succeeded"}},
            "spec": {"image": "x", "gpus": 2},
        }
        await custom.create_namespaced_custom_object(G, V, namespace, "gpujobs", job)
        deadline = time.monotonic() + timeout
        while True:
            got = await custom.get_namespaced_custom_object(G, V, namespace, "gpujobs", name)
            if (got.get("status") or {}).get("phase") in ("Placed", "Running", "Succeeded"):
                return
            assert time.monotonic() < deadline, f"{name} not placed: {got.get('status')}"
            await asyncio.sleep(0.2)

    standby = _start_standby(stack, STANDBY_PORT, tmp_path / "standby.log")
    try:
        await _wait_role(STANDBY_PORT, "standby", 60, stack.trust_file)
        assert await _role(stack_port, stack.trust_file) == "leader"
        await placed("before", 60)  # the standby binds nothing meanwhile: it is the leader's job
        os.killpg(leader.pid, signal.SIGKILL)  # no goodbye: the Lease must run out (15 s)
        took = await _wait_role(STANDBY_PORT, "leader", 40, stack.trust_file)
        await placed("during", 30)
        # the stack's replica comes back as a standby; a clean stop of ours hands the Lease back
        await asyncio.to_thread(devstack.start_one, layout, "placement")
        assert await _role(stack_port, stack.trust_file) == "standby"
        standby.send_signal(signal.SIGTERM)
        standby.wait(20)
        back = await _wait_role(stack_port, "leader", 10, stack.trust_file)
        await placed("after", 30)
    finally:
        if standby.poll() is None:
            os.killpg(standby.pid, signal.SIGKILL)
            standby.wait()
        if devstack.running(layout, "placement") is None:
            await asyncio.to_thread(devstack.start_one, layout, "placement")
    print(f"takeover after a kill: {took:.1f}s; after a clean stop: {back:.1f}s")
    assert back < 5, "a released Lease should be taken at the next retry, not after it expires"
    text = (tmp_path / "standby.log").read_text(errors="replace")
    assert "Traceback (most recent call last)" not in text
