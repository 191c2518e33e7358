"""One GpuJob brought in line with its pods: read, assess (pure), act, write status.

API verbs (compare charts/lulea/templates/operator-gpujob/rbac.yaml):
  lulea.io gpujobs: get list watch patch
  lulea.io gpujobs/status: get patch
  lulea.io gpujobs/finalizers: update
  core pods: get list watch create delete deletecollection patch
  core events: create
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.core.events import EventType
from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob.gang import PodEnvironment, desired_pods, gang_id, gang_shape
from lulea.operators.gpujob.lifecycle import TERMINAL, Action, Verdict, assess, conditions
from lulea.operators.gpujob.publishing import JobEvents

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class QuotaRefused(Exception):
    """The API server's ResourceQuota admission refused one of the gang's pods."""

    LIMIT = re.compile(r"limited: [^\"]*?requests\.nvidia\.com/gpu=(\d+)")

    def verdict(self, job: Obj) -> Verdict:
        gpus = int(job["spec"]["gpus"])
        found = self.LIMIT.search(str(self))
        limit = int(found.group(1)) if found else None
        project = job["metadata"]["namespace"]
        if limit is not None and gpus > limit:
            return Verdict("Failed", c.QUOTA_EXCEEDED,
                           f"the job asks {gpus} GPUs but project {project}'s quota is {limit}",
                           Action.STOP)
        return Verdict("Queued", c.QUOTA_EXCEEDED,
                       f"waiting for project {project}'s GPUs in use to fall under its quota"
                       + (f" ({limit})" if limit is not None else ""))


def _iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts or time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    def __init__(self, api: client.ApiClient, events: JobEvents, env: PodEnvironment) -> None:
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.events, self.env = events, env
        self.running: set[tuple[str, str]] = set()
        self.again: set[tuple[str, str]] = set()

    async def poke(self, namespace: str, name: str) -> None:
        """Reconcile now, or once more after the reconcile already running for this job."""
        key = (namespace, name)
        if key in self.running:
            self.again.add(key)
            return
        self.running.add(key)
        try:
            while True:
                self.again.discard(key)
                try:
                    await self.reconcile(namespace, name)
                except ApiException as err:
                    log.warning("job %s/%s: %s %s %s", namespace, name, err.status, err.reason, err.body)
                if key not in self.again:
                    return
        finally:
            self.running.discard(key)

    async def reconcile(self, namespace: str, name: str) -> None:
        job = await self._job(namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        status = job.get("status") or {}
        if status.get("phase") in TERMINAL:
            return
        attempt = int(status.get("attempts") or 0)
        try:
            await self._advance(job, status, attempt)
        except QuotaRefused as refused:
            # The namespace's ResourceQuota (from Project.spec.quotas.gpus) refused the pods.
            verdict = refused.verdict(job)
            await self._write(job, verdict, max(attempt, 1))
            await self._announce(job, status.get("phase"), verdict, max(attempt, 1))

    async def _advance(self, job: Obj, status: Obj, attempt: int) -> None:
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        if attempt == 0:
            await self._create(job, 1)
            size, per_pod = gang_shape(job["spec"])
            verdict = Verdict("Queued", "Submitted", f"gang of {size} x {per_pod} GPUs submitted")
            await self._write(job, verdict, 1)
            await self._publish(
                job,
                EventType.JOB_SUBMITTED,
                ("submitted",),
                {"gpus": int(job["spec"]["gpus"]), "hosts": int(job["spec"].get("hosts") or 0)},
            )
            return
        pods = await self._pods(namespace, gang_id(name, attempt))
        verdict = assess(job, pods, attempt, time.time())
        if verdict.action is Action.CREATE:
            await self._create(job, attempt)
        elif verdict.action is Action.RETRY:
            await self._delete(namespace, gang_id(name, attempt), keep_finished=True)
            attempt += 1
            await self._create(job, attempt)
        elif verdict.action is Action.STOP:
            await self._delete(namespace, gang_id(name, attempt), keep_finished=True)
        else:
            await self._sync_priority(job, pods)
        await self._write(job, verdict, attempt)
        await self._announce(job, status.get("phase"), verdict, attempt)

    # --- steps -------------------------------------------------------------------------------
    async def _job(self, namespace: str, name: str) -> Obj | None:
        try:
            job: Obj = await self.custom.get_namespaced_custom_object(
                c.GROUP, c.VERSION, namespace, c.PLURAL, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return job

    async def _pods(self, namespace: str, gang: str) -> list[Obj]:
        resp = await self.core.list_namespaced_pod(
            namespace, label_selector=f"{c.GANG}={gang}", _preload_content=False
        )
        async with resp:
            items: list[Obj] = json.loads(await resp.read()).get("items") or []
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    async def _create(self, job: Obj, attempt: int) -> None:
        namespace = job["metadata"]["namespace"]
        for pod in desired_pods(job, attempt, self.env):
            try:
                await self.core.create_namespaced_pod(namespace, pod)
            except ApiException as err:
                if err.status == 403 and "exceeded quota" in str(err.body):
                    # All or nothing already at creation: pending pods would hold the quota.
                    await self._delete(namespace, gang_id(job["metadata"]["name"], attempt),
                                       keep_finished=True)
                    raise QuotaRefused(str(err.body)) from err
                if err.status != 409:  # already there: creation is idempotent
                    raise

    async def _delete(self, namespace: str, gang: str, *, keep_finished: bool) -> None:
        for pod in await self._pods(namespace, gang):
            phase = (pod.get("status") or {}).get("phase")
            if keep_finished and phase in TERMINAL:
                continue  # finished pods stay for their logs; they hold no GPUs
            try:
                await self.core.delete_namespaced_pod(
                    pod["metadata"]["name"], namespace, grace_period_seconds=0
                )
            except ApiException as err:
                if err.status != 404:
                    raise

    async def _sync_priority(self, job: Obj, pods: list[Obj]) -> None:
        """spec.priority is the one mutable field: waiting pods follow it."""
        want = str(job["spec"].get("priority", 0))
        for pod in pods:
            meta = pod["metadata"]
            if pod["spec"].get("nodeName") or (meta.get("annotations") or {}).get(c.PRIORITY) == want:
                continue
            await self.core.patch_namespaced_pod(
                meta["name"],
                meta["namespace"],
                {"metadata": {"annotations": {c.PRIORITY: want}}},
                _content_type="application/merge-patch+json",
            )

    async def _write(self, job: Obj, verdict: Verdict, attempt: int) -> None:
        meta, old = job["metadata"], job.get("status") or {}
        now = _iso()
        status: Obj = {
            "observedGeneration": meta.get("generation"),
            "phase": verdict.phase,
            "message": verdict.message,
            "attempts": attempt,
            "gangId": gang_id(meta["name"], attempt),
            "nodes": verdict.nodes,
            "conditions": conditions(
                verdict, int(meta.get("generation") or 0), old.get("conditions") or [], now
            ),
        }
        if verdict.phase == "Running" and (old.get("phase") != "Running" or not old.get("startTime")):
            status["startTime"] = now
        if verdict.phase in TERMINAL:
            status["completionTime"] = now
        comparable = {k: v for k, v in status.items() if k not in ("conditions",)}
        if all(old.get(k) == v for k, v in comparable.items()):
            return
        await self.custom.patch_namespaced_custom_object_status(
            c.GROUP,
            c.VERSION,
            meta["namespace"],
            c.PLURAL,
            meta["name"],
            {"status": status},
            _content_type="application/merge-patch+json",
        )

    async def _announce(self, job: Obj, before: str | None, verdict: Verdict, attempt: int) -> None:
        placed = ("Placed", "Running", "Succeeded")
        if verdict.phase in placed and before not in placed:
            kopf.event(
                job,
                type="Normal",
                reason="JobPlaced",
                message=f"attempt {attempt} placed on {','.join(verdict.nodes)}",
            )
            await self._publish(
                job,
                EventType.JOB_PLACED,
                (str(attempt), "placed"),
                {"nodes": verdict.nodes, "attempt": attempt},
            )
        if verdict.phase in TERMINAL:
            kopf.event(
                job,
                type="Normal" if verdict.phase == "Succeeded" else "Warning",
                reason="JobFinished",
                message=f"{verdict.phase}: {verdict.message}",
            )
            await self._publish(
                job,
                EventType.JOB_FINISHED,
                ("finished",),
                {"phase": verdict.phase, "reason": verdict.reason, "attempt": attempt},
            )
        elif verdict.action is Action.RETRY:
            kopf.event(cast(kopf.Body, job), type="Warning", reason="JobRetried", message=verdict.message)

    async def _publish(self, job: Obj, kind: EventType, parts: tuple[str, ...], data: Obj) -> None:
        meta = job["metadata"]
        project = meta["namespace"]
        user = (meta.get("annotations") or {}).get(c.SUBMITTED_BY, "")
        try:
            await self.events.publish(
                kind,
                subject=f"{project}/{user}" if user else project,
                key=project,
                data={"project": project, "job": meta["name"], **data},
                id_parts=(meta["uid"], *parts),
            )
        except Exception as err:  # the status is the record; a lost event is only logged
            log.warning("job %s/%s: %s not published: %s", project, meta["name"], kind.value, err)
