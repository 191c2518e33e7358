"""Who runs a GpuJob, and what the platform tells about it, on the real stack.

The API server stamps the member who created the job (MutatingAdmissionPolicy, whatever the
request claimed) and refuses any later change; the GpuJob operator mounts that member's
certificate Secret, which the CA issued, into every pod of the gang; and the job's life is
published on Kafka: JobSubmitted, JobPlaced, JobFinished, once each and in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.core.events import Event, EventConsumer, EventType
from lulea.core.kafka import KafkaClient
from lulea.devstack.endpoints import Stack

from .projects import create_project, delete_project, unique, wait_ready

G, V = "lulea.io", "v1alpha1"
SUBMITTED_BY = "lulea.io/submitted-by"
pytestmark = pytest.mark.timeout(180)


def job_body(name: str, claimed: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{G}/{V}",
        "kind": "GpuJob",
        "metadata": {
            "name": name,
            "annotations": {
                SUBMITTED_BY: claimed,  # a lie: the API server writes who really asked
                "sim.lulea.io/outcome": "Succeeded",
                "sim.lulea.io/duration": "1s",
            },
        },
        "spec": {"image": "trainer", "gpus": 2, "hosts": 2},
    }


async def _until(check: Callable[[], Any], timeout: float = 90) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.3)
    return found


async def test_the_submitter_is_stamped_its_certificate_mounted_and_the_jobs_life_published(
    admin_api: k8s.ApiClient,
    user_api: Callable[[str], k8s.ApiClient],
    kafka: KafkaClient,
    stack: Stack,
    gpu_platform: Path,
) -> None:
    project = unique("gid")
    seen: list[Event] = []

    async def handle(event: Event) -> None:
        if event.data.get("project") == project:
            seen.append(event)

    types = {EventType.JOB_SUBMITTED, EventType.JOB_PLACED, EventType.JOB_FINISHED}
    consumer = EventConsumer(kafka, group_id=unique("e2e-jobs"), handler=handle, types=types)
    consuming = asyncio.create_task(consumer.run())
    core, admin_custom = k8s.CoreV1Api(admin_api), k8s.CustomObjectsApi(admin_api)
    bob = k8s.CustomObjectsApi(user_api("bob"))
    try:
        async with asyncio.timeout(30):
            await consumer.assigned.wait()
        await create_project(admin_api, project, [("alice", "DataOwner"), ("bob", "DataScientist")])
        await wait_ready(admin_api, project)

        async def bobs_secret() -> bool:
            try:
                await core.read_namespaced_secret("lulea-cert-bob", project)
            except ApiException as err:
                if err.status == 404:
                    return False
                raise
            return True

        await _until(bobs_secret)  # the CA issues it on MemberAdded

        await bob.create_namespaced_custom_object(G, V, project, "gpujobs", job_body("train", "alice"))
        job = await bob.get_namespaced_custom_object(G, V, project, "gpujobs", "train")
        assert job["metadata"]["annotations"][SUBMITTED_BY] == "bob"

        for api in (bob, admin_custom):  # nobody may re-label a job as someone else's
            patch = {"metadata": {"annotations": {SUBMITTED_BY: "alice"}}}
            with pytest.raises(ApiException) as refused:
                await api.patch_namespaced_custom_object(
                    G, V, project, "gpujobs", "train", patch, _content_type="application/merge-patch+json"
                )
            assert refused.value.status in (403, 422), refused.value
            assert "cannot be changed" in str(refused.value.body)

        async def finished() -> dict[str, Any] | None:
            got = await admin_custom.get_namespaced_custom_object(G, V, project, "gpujobs", "train")
            phase = (got.get("status") or {}).get("phase")
            return got if phase in ("Succeeded", "Failed") else None

        done = await _until(finished)
        assert done["status"]["phase"] == "Succeeded", done["status"]
        pods = (await core.list_namespaced_pod(project, label_selector="lulea.io/job=train")).items
        assert len(pods) == 2
        for pod in pods:
            env = {e.name: e.value for e in pod.spec.containers[0].env}
            assert env["LULEA_USER"] == "bob" and env["LULEA_PROJECT"] == project
            # the member listener of Kafka, never the platform's
            assert env["LULEA_KAFKA_BOOTSTRAP"] == stack.kafka_member_bootstrap != stack.kafka_bootstrap
            volumes = {v.name: v for v in pod.spec.volumes or ()}
            assert volumes["member-cert"].secret.secret_name == "lulea-cert-bob"
            mounts = {m.mount_path for m in pod.spec.containers[0].volume_mounts}
            assert env["LULEA_CERT_DIR"] in mounts

        async with asyncio.timeout(30):
            while not any(e.type is EventType.JOB_FINISHED for e in seen):
                await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # a duplicate would arrive now
        life = [EventType.JOB_SUBMITTED, EventType.JOB_PLACED, EventType.JOB_FINISHED]
        assert [e.type for e in seen] == life
        assert {e.subject for e in seen} == {f"{project}/bob"}
        assert len({e.id for e in seen}) == 3
        assert sorted(seen[1].data["nodes"]) == sorted({p.spec.node_name for p in pods})
        assert seen[2].data["phase"] == "Succeeded"
        # Kubernetes Events say what changed, not that a timer ran (it ran every 2 s meanwhile)
        events = (await core.list_namespaced_event(project, field_selector="involvedObject.name=train")).items
        assert {e.reason for e in events} <= {"JobPlaced", "JobFinished", "JobRetried"}, \
            sorted({(e.reason, e.message) for e in events})
    finally:
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await delete_project(admin_api, project)
