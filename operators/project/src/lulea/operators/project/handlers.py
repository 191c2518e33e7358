"""kopf wiring for Project: which changes lead to a reconcile (`reconcile`), and what its
outcome writes (the Ready condition from `status`) and how soon it retries."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from opentelemetry import trace
from pydantic import ValidationError

from lulea.core.crds.admission import PROJECT_FINALIZER
from lulea.core.crds.project import Project
from lulea.core.events import PROJECT_EVENTS, EventPublisher
from lulea.core.kube import condition, connect
from lulea.core.metrics import reconciling
from lulea.core.platform import PlatformSettings, renew_forever, request_identity
from lulea.core.telemetry import setup_tracing
from lulea.operators.project import plan, reconcile
from lulea.operators.project.cluster import Cluster
from lulea.operators.project.settings import OperatorSettings
from lulea.operators.project.status import NotReady, Verdict, invalid

GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "projects"
FINALIZER = PROJECT_FINALIZER
log = logging.getLogger("lulea.operators.project")
tracer = trace.get_tracer("lulea.operators.project")


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = OperatorSettings()
    platform = PlatformSettings()
    setup_tracing("lulea-operator-project")
    settings.persistence.finalizer = FINALIZER  # also put on at creation by an admission policy
    # kopf's own bookkeeping goes to status.kopf (room for it in the CRD's schema), next to ours:
    # a handled change is then one patch of the status subresource, where annotations took a
    # second patch of the object itself (and members cannot write status at all)
    settings.persistence.progress_storage = kopf.StatusProgressStorage(name="kopf")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(name="kopf")
    settings.posting.enabled = False  # the status conditions say what happened, not Events
    settings.batching.error_delays = [1, 2, 5, 10, 30, 60]
    memo.api = await connect(config.kubeconfig)
    memo.cluster = Cluster(memo.api)
    memo.member_ports = tuple(config.member_ports)
    if platform.kafka_bootstrap is None:
        raise kopf.PermanentError("LULEA_KAFKA_BOOTSTRAP is not set: membership events need Kafka")
    identity = await request_identity(platform)  # this operator's certificate, from the CA
    kafka = platform.kafka(identity)
    memo.events = EventPublisher(kafka, source="lulea/operator-project", topic=PROJECT_EVENTS)
    await memo.events.start()
    memo.renewal = asyncio.create_task(renew_forever(platform, identity, lambda _new: kafka.reload()))
    for role in plan.shared_cluster_roles():
        await memo.cluster.apply(role)
    await remove_legacy_cluster_rbac(memo.cluster)


async def remove_legacy_cluster_rbac(cluster: Cluster) -> None:
    """Before one ClusterRole per project, each had two roles and two bindings: removed here,
    before any project resumes (each resume then applies its one role and binding), so that a
    member removed while the old ones were left behind keeps nothing of them."""
    selector = f"app.kubernetes.io/managed-by={plan.MANAGER},{plan.PROJECT_LABEL}"
    for kind in ("ClusterRoleBinding", "ClusterRole"):
        for old in plan.legacy_cluster_rbac(await cluster.list(kind, label_selector=selector)):
            await cluster.delete(kind, old["metadata"]["name"])
            log.info("removed %s %s (one ClusterRole per project now)", kind, old["metadata"]["name"])


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    memo.renewal.cancel()
    await memo.events.stop()
    await memo.api.close()


def _parse(body: kopf.Body, patch: kopf.Patch) -> Project:
    try:
        return Project.model_validate(dict(body))
    except ValidationError as e:
        stop = invalid(str(e).splitlines()[0] if str(e) else "invalid")
        _write(patch, body, stop.verdict)
        raise kopf.PermanentError(stop.message) from e


def _write(patch: kopf.Patch, body: kopf.Body, verdict: Verdict) -> None:
    old = (body.get("status") or {}).get("conditions")
    generation = (body.get("metadata") or {}).get("generation")
    patch.status["conditions"] = [condition("Ready", verdict.ok, verdict.reason, verdict.message,
                                            generation=generation, old=old)]


def _retry(stop: NotReady) -> kopf.TemporaryError | kopf.PermanentError:
    if stop.retry_after is None:
        return kopf.PermanentError(stop.message)
    return kopf.TemporaryError(stop.message, delay=stop.retry_after)


async def _converge(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, *, announce: bool = False) -> None:
    project = _parse(body, patch)
    span = {"lulea.project": project.metadata.name}
    with tracer.start_as_current_span("reconcile Project", attributes=span), reconciling("Project"):
        try:
            fields, verdict = await reconcile.reconcile(project, dict(body.get("status") or {}), memo.cluster,
                                                        memo.events, memo.member_ports, announce=announce)
        except NotReady as stop:
            _write(patch, body, stop.verdict)
            raise _retry(stop) from stop
    patch.status.update(fields)
    _write(patch, body, verdict)
    if not verdict.ok:
        raise kopf.TemporaryError(verdict.message, delay=5)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def reconcile_project(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, **_: Any) -> None:
    await _converge(body, memo, patch)


@kopf.timer(GROUP, VERSION, PLURAL, interval=600.0, initial_delay=600.0, idle=60.0)
async def repair_drift(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, **_: Any) -> None:
    """Someone deleted a RoleBinding or edited the quota by hand: apply the plan again, and
    re-announce the membership (once per generation: the same event id), so a consumer that
    missed an event converges. Every 10 minutes per project: each pass costs ~10 API calls."""
    if body.get("metadata", {}).get("deletionTimestamp"):
        return
    await _converge(body, memo, patch, announce=True)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def delete(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, retry: int, **_: Any) -> None:
    project = _parse(body, patch)
    try:
        await reconcile.delete(project, memo.cluster, memo.events, retry)
    except NotReady as stop:
        _write(patch, body, stop.verdict)
        raise _retry(stop) from stop
