"""The placement scheduler killed mid-queue: the restarted one rebuilds its state from the
API server, places every queued gang, never binds a gang in part and never over-commits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack.endpoints import Stack

G, V = "lulea.io", "v1alpha1"
pytestmark = pytest.mark.timeout(240)
JOBS = 24  # 24 gangs x 4 hosts x 10 GPUs on the 16 InfiniBand nodes: many must queue


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(15)


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
    stack: Stack, admin_api: k8s.ApiClient, namespace: str, tmp_path: Path
) -> None:
    if (stack.state_dir / "pids" / "placement.pid").exists():
        pytest.skip("the stack runs its own placement service; this test restarts its own")
    env = {"KUBECONFIG": str(stack.kubeconfig), "LULEA_PLACEMENT_PORT": "24011"}
    operator = start("lulea.operators.gpujob", env, tmp_path / "operator.log")
    placement = start("lulea.placement", env, tmp_path / "placement.log")
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
        kill(placement, signal.SIGKILL)  # mid-queue, no goodbye
        await asyncio.sleep(2)
        placement = start("lulea.placement", env, tmp_path / "placement.log")
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
        kill(placement, signal.SIGTERM)
        kill(operator, signal.SIGTERM)
    log = (tmp_path / "placement.log").read_text(errors="replace")
    assert "Traceback (most recent call last)" not in log
    assert "-> " not in log, "a bind failed"  # the binder logs "bind <pod> -> <node> failed"
