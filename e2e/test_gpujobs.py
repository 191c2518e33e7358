"""GPU jobs on the local kwok fleet, one test per shape from the issue, applied from examples/.

The GpuJob operator and the placement scheduler are the stack's own (make up runs both);
each test gets its own namespace (= project) and deletes it after, so its GPUs are
released. kube-scheduler runs too and ignores pods with our schedulerName.
Default fleet: 12 x 10 a100 IB (r1, r2), 4 x 10 p100 IB (r3), 8 x 8 v100 (r4), 4 x 4 t4 (r5).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
G, V = "lulea.io", "v1alpha1"
Obj = dict[str, Any]
pytestmark = pytest.mark.timeout(180)


def example(name: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name / "gpujob.yaml").read_text()) if d]


class Project:
    """A namespace (and Project CR, when it has a quota) for one test, removed after."""

    def __init__(self, api: k8s.ApiClient, name: str) -> None:
        self.api, self.name = api, name
        self.core, self.custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)

    async def create(self, gpus: int | None = None) -> None:
        if gpus is not None:
            body = {
                "apiVersion": f"{G}/{V}",
                "kind": "Project",
                "metadata": {"name": self.name},
                "spec": {"members": [{"user": "alice", "role": "DataOwner"}], "quotas": {"gpus": gpus}},
            }
            await self.custom.create_cluster_custom_object(G, V, "projects", body)
        try:
            await self.core.create_namespace({"metadata": {"name": self.name}})
        except ApiException as err:
            if err.status != 409:  # the project operator may have made it already
                raise

    async def delete(self) -> None:
        for call in (
            lambda: self.custom.delete_cluster_custom_object(G, V, "projects", self.name),
            lambda: self.core.delete_namespace(self.name),
        ):
            try:
                await call()
            except ApiException as err:
                if err.status != 404:
                    raise
        # pods go with the namespace; wait so the next test sees the GPUs free
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pods = await self.core.list_namespaced_pod(self.name)
            if not [p for p in pods.items if p.status.phase not in ("Succeeded", "Failed")]:
                return
            await asyncio.sleep(0.5)

    async def submit(self, job: Obj) -> str:
        job = {**job, "metadata": {**job["metadata"], "namespace": self.name}}
        await self.custom.create_namespaced_custom_object(G, V, self.name, "gpujobs", job)
        return str(job["metadata"]["name"])

    async def job(self, name: str) -> Obj:
        return await self.custom.get_namespaced_custom_object(G, V, self.name, "gpujobs", name)  # type: ignore[no-any-return]

    async def wait(self, name: str, *phases: str, timeout: float = 90) -> Obj:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(name)
            status = job.get("status") or {}
            if status.get("phase") in phases:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} never reached {phases}: {status}")
            await asyncio.sleep(0.3)

    async def pods(self, job: str) -> list[k8s.V1Pod]:
        out = await self.core.list_namespaced_pod(self.name, label_selector=f"lulea.io/job={job}")
        return list(out.items)


@pytest.fixture
async def project(admin_api: k8s.ApiClient, gpu_platform: Path) -> AsyncIterator[Project]:
    p = Project(admin_api, f"gj-{uuid.uuid4().hex[:6]}")
    await p.create()
    yield p
    await p.delete()


async def node_labels(api: k8s.ApiClient) -> dict[str, dict[str, str]]:
    nodes = await k8s.CoreV1Api(api).list_node()
    return {n.metadata.name: n.metadata.labels or {} for n in nodes.items}


def gpus(pod: k8s.V1Pod) -> int:
    return int(pod.spec.containers[0].resources.limits["nvidia.com/gpu"])


async def run_example(project: Project, name: str) -> tuple[Obj, list[k8s.V1Pod]]:
    (job,) = example(name)
    job_name = await project.submit(job)
    done = await project.wait(job_name, "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    return done, await project.pods(job_name)


async def test_four_gpus_anywhere(project: Project) -> None:
    job, pods = await run_example(project, "10-gpujob-anywhere")
    assert len(pods) == 4 and all(gpus(p) == 1 for p in pods)
    assert job["status"]["attempts"] == 1 and job["status"]["nodes"]
    assert {c["type"]: c["status"] for c in job["status"]["conditions"]}["Ready"] == "True"


async def test_ten_gpus_on_one_host(project: Project, admin_api: k8s.ApiClient) -> None:
    job, pods = await run_example(project, "11-gpujob-one-host")
    assert len(pods) == 1 and gpus(pods[0]) == 10
    (node,) = job["status"]["nodes"]
    alloc = (await k8s.CoreV1Api(admin_api).read_node(node)).status.allocatable
    assert int(alloc["nvidia.com/gpu"]) >= 10


async def test_hundred_gpus_on_ten_infiniband_hosts(project: Project, admin_api: k8s.ApiClient) -> None:
    _, pods = await run_example(project, "12-gpujob-infiniband")
    labels = await node_labels(admin_api)
    nodes = [p.spec.node_name for p in pods]
    assert len(pods) == 10 and all(gpus(p) == 10 for p in pods)
    assert len(set(nodes)) == 10, nodes
    assert all(labels[n]["lulea.io/interconnect"] == "infiniband" for n in nodes)


async def test_twenty_gpus_on_two_infiniband_p100_hosts(project: Project, admin_api: k8s.ApiClient) -> None:
    _, pods = await run_example(project, "13-gpujob-p100")
    labels = await node_labels(admin_api)
    nodes = {p.spec.node_name for p in pods}
    assert len(pods) == 2 and len(nodes) == 2
    for n in nodes:
        assert labels[n]["lulea.io/gpu-model"] == "p100"
        assert labels[n]["lulea.io/interconnect"] == "infiniband"


async def test_rack_constrained_gang(project: Project, admin_api: k8s.ApiClient) -> None:
    _, pods = await run_example(project, "14-gpujob-rack")
    labels = await node_labels(admin_api)
    nodes = {p.spec.node_name for p in pods}
    assert len(nodes) == 4
    assert len({labels[n]["lulea.io/rack"] for n in nodes}) == 1


async def test_impossible_request_fails_at_once_naming_the_constraint(project: Project) -> None:
    (job,) = example("15-gpujob-impossible")
    name = await project.submit(job)
    done = await project.wait(name, "Failed", "Succeeded", timeout=30)
    status = done["status"]
    assert status["phase"] == "Failed"
    assert "no node has label lulea.io/gpu-model=h100" in status["message"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NeverFits")
    assert not [p for p in await project.pods(name) if p.spec.node_name]


async def test_gang_bigger_than_free_waits_whole_then_is_placed(project: Project) -> None:
    first, second = example("16-gpujob-queued")
    await project.submit(first)
    await project.wait("first", "Placed", "Running")
    await project.submit(second)
    saw_queued = False
    while True:
        first_live = [
            p
            for p in await project.pods("first")
            if p.spec.node_name and p.status.phase not in ("Succeeded", "Failed")
        ]
        job = await project.job("second")
        phase = (job.get("status") or {}).get("phase")
        bound = [p for p in await project.pods("second") if p.spec.node_name]
        if 0 < len(bound) < 6:
            # Six Binding calls are not one atomic write: a snapshot may fall between them.
            # What must never happen is a gang left part-bound, so the rest follows at once.
            await asyncio.sleep(5)
            bound = [p for p in await project.pods("second") if p.spec.node_name]
        assert len(bound) in (0, 6), f"partially bound gang: {len(bound)} of 6"
        if len(first_live) == 8 and phase == "Queued" and not bound and not saw_queued:
            saw_queued = True  # waiting whole while the first gang holds its 8 nodes
            # spec.priority is the one field a user may change: the waiting pods follow it
            await project.custom.patch_namespaced_custom_object(
                G, V, project.name, "gpujobs", "second", {"spec": {"priority": 700}},
                _content_type="application/merge-patch+json")
            async with asyncio.timeout(10):  # the first gang runs 15 s: the second still waits
                while {(p.metadata.annotations or {}).get("lulea.io/priority")
                       for p in await project.pods("second")} != {"700"}:
                    await asyncio.sleep(0.2)
        if phase == "Succeeded":
            break
        assert phase != "Failed", job["status"]
        await asyncio.sleep(0.3)
    assert saw_queued
    done = await project.job("second")
    assert len(set(done["status"]["nodes"])) == 6


async def test_quota_under_and_over(admin_api: k8s.ApiClient, gpu_platform: Path) -> None:
    docs = example("17-gpujob-quota")
    jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "GpuJob"}
    p = Project(admin_api, f"gjq-{uuid.uuid4().hex[:6]}")
    await p.create(gpus=8)
    try:
        await p.submit(jobs["fits"])
        await p.wait("fits", "Placed", "Running")
        await p.submit(jobs["waits"])
        await p.submit(jobs["too-big"])
        too_big = await p.wait("too-big", "Failed", timeout=30)
        assert "quota is 8" in too_big["status"]["message"]
        waiting = await p.wait("waits", "Queued")
        deadline = time.monotonic() + 20
        while "QuotaExceeded" not in str(waiting["status"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            waiting = await p.job("waits")
        fits = (await p.job("fits"))["status"]["phase"]
        if fits in ("Placed", "Running"):
            assert "QuotaExceeded" in str(waiting["status"]), waiting["status"]
        done = await p.wait("waits", "Succeeded", "Failed")
        assert done["status"]["phase"] == "Succeeded"
        # another project, under its quota, is not held back by this one
        other = Project(admin_api, f"gjq-{uuid.uuid4().hex[:6]}")
        await other.create(gpus=100)
        try:
            await other.submit(jobs["fits"])
            assert (await other.wait("fits", "Succeeded", "Failed"))["status"]["phase"] == "Succeeded"
        finally:
            await other.delete()
    finally:
        await p.delete()


async def test_failed_pod_retries_then_deleting_the_job_removes_its_pods(project: Project) -> None:
    job = {
        "apiVersion": f"{G}/{V}",
        "kind": "GpuJob",
        "metadata": {
            "name": "flaky",
            "annotations": {"sim.lulea.io/outcome": "Failed", "sim.lulea.io/duration": "1s"},
        },
        "spec": {"image": "x", "gpus": 2, "hosts": 2, "maxRetries": 1},
    }
    await project.submit(job)
    failed = await project.wait("flaky", "Failed")
    assert failed["status"]["attempts"] == 2 and "after 2 attempts" in failed["status"]["message"]
    long = {**job, "metadata": {"name": "long", "annotations": {"sim.lulea.io/simulated": "true"}}}
    await project.submit(long)
    await project.wait("long", "Running")
    await project.custom.delete_namespaced_custom_object(G, V, project.name, "gpujobs", "long")
    deadline = time.monotonic() + 30
    while await project.pods("long"):
        assert time.monotonic() < deadline, "pods outlived their job"
        await asyncio.sleep(0.3)


async def test_deadline_fails_a_running_job(project: Project) -> None:
    job = {
        "apiVersion": f"{G}/{V}",
        "kind": "GpuJob",
        "metadata": {"name": "slow", "annotations": {"sim.lulea.io/simulated": "true"}},
        "spec": {"image": "x", "gpus": 1, "activeDeadlineSeconds": 3},
    }
    await project.submit(job)
    failed = await project.wait("slow", "Failed", timeout=60)
    assert "activeDeadlineSeconds" in failed["status"]["message"]
    pods = await project.pods("slow")
    assert all(p.metadata.deletion_timestamp or p.status.phase in ("Succeeded", "Failed") for p in pods)
