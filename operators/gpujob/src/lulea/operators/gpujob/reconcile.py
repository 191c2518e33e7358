"""One GpuJob brought in line with its pods: read, assess (pure), act, write status.

Every step is safe to run twice and to be killed between: a new attempt is recorded in the
job's status *before* its gang is created, so a crash never leaves two gangs alive; pod
creation and deletion treat "already there" and "already gone" as success. An API error
that repeats (a 403 or 422 from the API server) becomes a condition on the job, not a log
line every resync.

The RBAC it needs is checked against what it does: e2e/test_rbac_audit.py.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, cast

import kopf

from lulea.core import gangs
from lulea.core.events import EventType, Publishing
from lulea.core.kube import Kube, KubeError
from lulea.core.metrics import reconciling
from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob.gang import (
    InvalidSpec,
    PodEnvironment,
    desired_pods,
    desired_service,
    gang_id,
    gang_shape,
)
from lulea.operators.gpujob.lifecycle import TERMINAL, Action, Verdict, assess, conditions

log = logging.getLogger(__name__)
Obj = dict[str, Any]
JOBS = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{{namespace}}/{c.PLURAL}"


class QuotaRefused(Exception):
    """The API server's ResourceQuota admission refused one of the gang's pods."""

    LIMIT = re.compile(r"limited: [^\"]*?requests\.nvidia\.com/gpu=(\d+)")

    def verdict(self, job: Obj) -> Verdict:
        gpus = int(job["spec"]["gpus"])
        found = self.LIMIT.search(str(self))
        limit = int(found.group(1)) if found else None
        project = job["metadata"]["namespace"]
        if limit is not None and gpus > limit:
            return Verdict("Failed", gangs.QUOTA_EXCEEDED,
                           f"the job asks {gpus} GPUs but project {project}'s quota is {limit}",
                           Action.STOP)
        return Verdict("Queued", gangs.QUOTA_EXCEEDED,
                       f"waiting for project {project}'s GPUs in use to fall under its quota"
                       + (f" ({limit})" if limit is not None else ""))


def api_error_verdict(err: KubeError, phase: str | None) -> Verdict:
    """What the job's status says when the API server refuses the operator's own calls."""
    what = {403: "the operator is not allowed to manage this job's pods",
            422: "the API server refused this job's pods as invalid"}.get(
        err.status, f"the API server answered {err.status}")
    return Verdict(phase or "Queued", "ApiError",
                   f"{what}: {err.message}; fix the cause, the operator retries on its own")


def logs_query(namespace: str, name: str) -> str:
    """Where this job's logs are: the logs collector labels every line with the project (the
    namespace) and the job (the pods' lulea.io/job label), both stream fields (docs/logs.md)."""
    return f'{{project="{namespace}",job="{name}"}}'


def _iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts or time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    def __init__(self, kube: Kube, events: Publishing, env: PodEnvironment) -> None:
        self.kube, self.events, self.env = kube, events, env
        self.running: set[tuple[str, str]] = set()
        self.again: set[tuple[str, str]] = set()
        self.last: dict[tuple[str, str], float] = {}  # when each job was last reconciled

    async def poke(self, namespace: str, name: str, *, unless_within: float | None = None) -> None:
        """Reconcile now, or once more after the reconcile already running for this job.
        `unless_within`: skip if the job was reconciled that many seconds ago or less (the
        resync timer: a job whose pods just changed was looked at already)."""
        key = (namespace, name)
        if unless_within is not None and time.monotonic() - self.last.get(key, -1e9) < unless_within:
            return
        if key in self.running:
            self.again.add(key)
            return
        self.running.add(key)
        try:
            while True:
                self.again.discard(key)
                self.last[key] = time.monotonic()
                await self.reconcile(namespace, name)
                if key not in self.again:
                    return
        finally:
            self.running.discard(key)
            if len(self.last) > 10_000:  # forget jobs not seen for ten minutes (long gone)
                horizon = time.monotonic() - 600
                self.last = {k: t for k, t in self.last.items() if t >= horizon}

    async def reconcile(self, namespace: str, name: str) -> None:
        with reconciling("GpuJob"):
            await self._reconcile(namespace, name)

    async def _reconcile(self, namespace: str, name: str) -> None:
        job = await self._job(namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        status = job.get("status") or {}
        if status.get("phase") in TERMINAL:
            return
        attempt = int(status.get("attempts") or 0)
        try:
            await self._advance(job, status, attempt)
        except InvalidSpec as bad:
            # a spec the CRD should have refused: the operator never renders it into pods
            verdict = Verdict("Failed", "InvalidSpec", f"{bad}; delete the job and submit a fixed one",
                              Action.STOP)
            await self._write(job, verdict, max(attempt, 1))
            await self._announce(job, status.get("phase"), verdict, max(attempt, 1))
        except QuotaRefused as refused:
            # The namespace's ResourceQuota (from Project.spec.quotas.gpus) refused the pods.
            verdict = refused.verdict(job)
            await self._write(job, verdict, max(attempt, 1))
            await self._announce(job, status.get("phase"), verdict, max(attempt, 1))
        except KubeError as err:
            if err.status in (404, 409):  # the job or a pod changed under us: the next poke sees it
                return
            if err.status == 403 and "being terminated" in err.message:
                return  # the project is being deleted: the job goes with its namespace
            log.warning("job %s/%s: %s", namespace, name, err)
            verdict = api_error_verdict(err, status.get("phase"))
            await self._write(job, verdict, max(attempt, 1))

    async def _advance(self, job: Obj, status: Obj, attempt: int) -> None:
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        if attempt == 0:  # announce (same id if repeated), record the attempt, then create
            size, per_pod = gang_shape(job["spec"])
            await self._publish(
                job,
                EventType.JOB_SUBMITTED,
                ("submitted",),
                {"gpus": int(job["spec"]["gpus"]), "hosts": int(job["spec"].get("hosts") or 0)},
            )
            submitted = Verdict("Queued", "Submitted", f"gang of {size} x {per_pod} GPUs submitted")
            await self._write(job, submitted, 1)
            await self._create(job, 1)
            return
        pods = await self._pods(namespace, gang_id(name, attempt))
        verdict = assess(job, pods, attempt, time.time())
        if verdict.action is Action.CREATE:
            await self._create(job, attempt)
        elif verdict.action is Action.RETRY:
            await self._delete(namespace, gang_id(name, attempt), keep_finished=True)
            attempt += 1
            await self._write(job, verdict, attempt)  # the new attempt is on record first
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
            return await self.kube.request("GET", f"{JOBS.format(namespace=namespace)}/{name}")
        except KubeError as err:
            if err.status == 404:
                return None
            raise

    async def _pods(self, namespace: str, gang: str) -> list[Obj]:
        items, _ = await self.kube.list(f"/api/v1/namespaces/{namespace}/pods",
                                        labelSelector=f"{gangs.GANG}={gang}")
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    async def _create(self, job: Obj, attempt: int) -> None:
        namespace = job["metadata"]["namespace"]
        pods = desired_pods(job, attempt, self.env)  # InvalidSpec before anything is created
        if (service := desired_service(job, self.env)) is not None:
            try:  # the gang's DNS names; owned by the job, so it goes with it
                await self.kube.request("POST", f"/api/v1/namespaces/{namespace}/services", body=service)
            except KubeError as err:
                if err.status != 409:
                    raise
        for pod in pods:
            try:
                await self.kube.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)
            except KubeError as err:
                if err.status == 403 and "exceeded quota" in err.message:
                    # All or nothing already at creation: pending pods would hold the quota.
                    await self._delete(namespace, gang_id(job["metadata"]["name"], attempt),
                                       keep_finished=True)
                    raise QuotaRefused(err.message) from err
                if err.status != 409:  # already there: creation is idempotent
                    raise

    async def _delete(self, namespace: str, gang: str, *, keep_finished: bool) -> None:
        for pod in await self._pods(namespace, gang):
            phase = (pod.get("status") or {}).get("phase")
            if keep_finished and phase in TERMINAL:
                continue  # finished pods stay for their logs; they hold no GPUs
            try:
                await self.kube.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/"
                                        f"{pod['metadata']['name']}", body={"gracePeriodSeconds": 0})
            except KubeError as err:
                if err.status != 404:
                    raise

    async def _sync_priority(self, job: Obj, pods: list[Obj]) -> None:
        """spec.priority is the one mutable field: waiting pods follow it."""
        want = str(job["spec"].get("priority", 0))
        for pod in pods:
            meta = pod["metadata"]
            if pod["spec"].get("nodeName") or (meta.get("annotations") or {}).get(gangs.PRIORITY) == want:
                continue
            await self.kube.patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                                  {"metadata": {"annotations": {gangs.PRIORITY: want}}})

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
            "logsQuery": logs_query(meta["namespace"], meta["name"]),
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
        await self.kube.patch(f"{JOBS.format(namespace=meta['namespace'])}/{meta['name']}/status",
                              {"status": status})
        job["status"] = {**old, **status}  # later steps of this reconcile see what was written

    async def _announce(self, job: Obj, before: str | None, verdict: Verdict, attempt: int) -> None:
        """Kubernetes Events and platform events, only when the job's state changes."""
        placed = ("Placed", "Running", "Succeeded")
        if verdict.phase in placed and before not in placed:
            kopf.event(cast(kopf.Body, job), type="Normal", reason="JobPlaced",
                       message=f"attempt {attempt} placed on {','.join(verdict.nodes)}")
            await self._publish(job, EventType.JOB_PLACED, (str(attempt), "placed"),
                                {"nodes": verdict.nodes, "attempt": attempt})
        if verdict.phase in TERMINAL:
            kopf.event(cast(kopf.Body, job), type="Normal" if verdict.phase == "Succeeded" else "Warning",
                       reason="JobFinished", message=f"{verdict.phase}: {verdict.message}")
            await self._publish(job, EventType.JOB_FINISHED, ("finished",),
                                {"phase": verdict.phase, "reason": verdict.reason, "attempt": attempt})
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
