"""kopf handlers for Project: each reconcile is a short list of named, idempotent steps; the
decisions are the pure functions of `plan`.

Membership events are computed against what is actually bound (the RoleBindings), published
before the bindings change, with ids derived from (uid, generation, user, change): a reconcile
killed half way re-sends the same ids, which consumers drop, and then finishes the bindings.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from opentelemetry import trace
from pydantic import ValidationError

from lulea.core.crds.project import Project
from lulea.core.events import PROJECT_EVENTS, EventPublisher, EventType, Publication
from lulea.core.kube import condition, connect
from lulea.core.metrics import reconciling
from lulea.core.platform import PlatformSettings, renew_forever, request_identity
from lulea.core.telemetry import setup_tracing
from lulea.operators.project import plan
from lulea.operators.project.cluster import Cluster
from lulea.operators.project.settings import OperatorSettings

GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "projects"
FINALIZER = "lulea.io/project-cleanup"
CHANGE_EVENTS = {"added": EventType.MEMBER_ADDED, "removed": EventType.MEMBER_REMOVED,
                 "role-changed": EventType.MEMBER_ROLE_CHANGED}
log = logging.getLogger("lulea.operators.project")
tracer = trace.get_tracer("lulea.operators.project")


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = OperatorSettings()
    platform = PlatformSettings()
    setup_tracing("lulea-operator-project")
    settings.persistence.finalizer = FINALIZER
    # kopf's own bookkeeping goes to annotations: our CRD schema has no room for it in status.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="project.lulea.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="project.lulea.io", key="last-handled-configuration")
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


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    memo.renewal.cancel()
    await memo.events.stop()
    await memo.api.close()


def _parse(body: kopf.Body) -> Project:
    try:
        return Project.model_validate(dict(body))
    except ValidationError as e:
        raise kopf.PermanentError(f"the Project does not match its schema: {e}") from e


def _publication(project: Project, event_type: EventType, subject: str, data: dict[str, Any],
                 *id_parts: str) -> Publication:
    return Publication(event_type, subject, project.metadata.name, data,
                       (str(project.metadata.uid), *id_parts))


def _membership_publications(project: Project, bound: dict[str, str]) -> list[Publication]:
    name, generation = project.metadata.name, str(project.metadata.generation)
    out = []
    for change in plan.membership_changes(bound, plan.desired_members(project)):
        data: dict[str, Any] = {"project": name, "user": change.user, "role": change.role}
        if change.kind == "role-changed":
            data["previousRole"] = change.previous_role
        out.append(_publication(project, CHANGE_EVENTS[change.kind], f"{name}/{change.user}", data,
                                generation, change.user, change.kind))
    return out


async def _apply_children(cluster: Cluster, project: Project, member_ports: tuple[int, ...]) -> None:
    """Independent objects in an existing namespace: applied concurrently, except that the
    project's ClusterRoles go before the bindings that name them (RBAC checks, at a binding's
    creation, that its creator holds what the role grants: the role must exist by then)."""
    rbac = plan.cluster_rbac(project)
    roles = [m for m in rbac if m["kind"] == "ClusterRole"]
    await asyncio.gather(*(cluster.apply(m) for m in roles))
    quota = plan.resource_quota(project)
    await asyncio.gather(
        *(cluster.apply(m) for m in [*plan.role_bindings(project), *plan.platform_bindings(project),
                                     *(m for m in rbac if m["kind"] != "ClusterRole"),
                                     *plan.network_policies(project, member_ports)]),
        cluster.apply(quota) if quota is not None
        else cluster.delete("ResourceQuota", "lulea-quota", project.metadata.name))


async def _bound(cluster: Cluster, project: Project) -> dict[str, str]:
    bindings = await cluster.list("RoleBinding", project.metadata.name,
                                  f"{plan.PROJECT_LABEL}={project.metadata.name}")
    return plan.bound_members(bindings)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def reconcile(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, **_: Any) -> None:
    with tracer.start_as_current_span("reconcile Project", attributes={
            "lulea.project": str(body.get("metadata", {}).get("name"))}), reconciling("Project"):
        await _reconcile(_parse(body), body, memo, patch)


async def _reconcile(project: Project, body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch) -> None:
    name, old_conditions = project.metadata.name, (body.get("status") or {}).get("conditions")
    cluster: Cluster = memo.cluster
    # Step 1: the namespace must be ours, or nothing is touched.
    existing = await cluster.get("Namespace", name)
    if not plan.namespace_is_ours(existing, project):
        message = (f"namespace {name} already exists and does not belong to this Project; "
                   f"nothing was adopted: delete that namespace or choose another project name")
        patch.status["conditions"] = [condition("Ready", False, "NamespaceConflict", message,
                                                generation=project.metadata.generation,
                                                old=old_conditions)]
        raise kopf.TemporaryError(message, delay=60)
    if existing and existing["metadata"].get("deletionTimestamp"):
        raise kopf.TemporaryError(f"namespace {name} is still terminating", delay=5)
    # Step 2: announce creation (once: ids are deterministic) and membership changes, and wait
    # until the broker has them, before anything changes.
    publications = []
    if (body.get("status") or {}).get("observedGeneration") is None:
        publications.append(_publication(project, EventType.PROJECT_CREATED, name, {
            "project": name, "namespace": name,
            "members": [{"user": m.user, "role": m.role.value} for m in project.spec.members],
        }))
    bound = await _bound(cluster, project) if existing else {}
    publications += _membership_publications(project, bound)
    if publications:
        await memo.events.publish_many(publications)
    # Step 3: apply the namespace and everything in it (server-side apply: idempotent).
    await cluster.apply(plan.namespace(project))
    await _apply_children(cluster, project, memo.member_ports)
    # Step 4: report what is actually bound.
    bound = await _bound(cluster, project)
    patch.status["observedGeneration"] = project.metadata.generation
    patch.status["namespace"] = name
    patch.status["memberCount"] = len(bound)
    summary = ", ".join(f"{u} ({r})" for u, r in sorted(bound.items()))
    patch.status["conditions"] = [condition(
        "Ready", bound == plan.desired_members(project), "Reconciled",
        f"namespace {name} ready; members bound: {summary}",
        generation=project.metadata.generation, old=old_conditions)]


@kopf.timer(GROUP, VERSION, PLURAL, interval=600.0, initial_delay=600.0, idle=60.0)
async def repair_drift(body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, **kwargs: Any) -> None:
    """Someone deleted a RoleBinding or edited the quota by hand: apply the plan again. Every
    10 minutes per project: each pass costs ~14 API calls, so 1,000 projects add ~25 calls/s."""
    if body.get("metadata", {}).get("deletionTimestamp"):
        return
    await _reconcile(_parse(body), body, memo, patch)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def delete(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    project = _parse(body)
    name, cluster = project.metadata.name, memo.cluster
    existing = await cluster.get("Namespace", name)
    if existing is not None and plan.namespace_is_ours(existing, project):
        if not existing["metadata"].get("deletionTimestamp"):
            await cluster.delete("Namespace", name)
        raise kopf.TemporaryError(f"waiting for namespace {name} to be deleted", delay=2)
    for manifest in plan.cluster_rbac(project):
        await cluster.delete(manifest["kind"], manifest["metadata"]["name"])
    # The namespace is gone (or was never ours): announce, and let kopf drop the finalizer.
    await memo.events.publish_many([_publication(project, EventType.PROJECT_DELETED, name,
                                                 {"project": name})])
