"""One Project brought in line with its spec: a short list of named, idempotent steps. The
decisions are the pure functions of `plan`; what a person reads in the status comes from
`status`.

Membership events are computed against what is actually bound (the RoleBindings), published
before the bindings change, with ids derived from (uid, generation, user, change): a reconcile
killed half way re-sends the same ids, which consumers drop, and then finishes the bindings.
Every way a reconcile cannot finish raises `NotReady`, which says why, what to do, and when
to look again.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from kubernetes_asyncio.client.exceptions import ApiException

from lulea.core.crds.project import Project
from lulea.core.events import EventType, Publication
from lulea.operators.project import plan
from lulea.operators.project.cluster import Cluster
from lulea.operators.project.status import NotReady, Verdict, api_refused, events_unavailable, ready

CHANGE_EVENTS = {"added": EventType.MEMBER_ADDED, "removed": EventType.MEMBER_REMOVED,
                 "role-changed": EventType.MEMBER_ROLE_CHANGED}


class Events(Protocol):
    async def publish_many(self, publications: list[Publication]) -> Any: ...


def publication(project: Project, event_type: EventType, subject: str, data: dict[str, Any],
                *id_parts: str) -> Publication:
    return Publication(event_type, subject, project.metadata.name, data,
                       (str(project.metadata.uid), *id_parts))


def created(project: Project, *id_parts: str) -> Publication:
    """ProjectCreated carries the whole membership: also what a repair re-announces."""
    name = project.metadata.name
    return publication(project, EventType.PROJECT_CREATED, name, {
        "project": name, "namespace": name,
        "members": [{"user": m.user, "role": m.role.value} for m in project.spec.members],
    }, *id_parts)


def membership_publications(project: Project, bound: dict[str, str]) -> list[Publication]:
    name, generation = project.metadata.name, str(project.metadata.generation)
    out = []
    for change in plan.membership_changes(bound, plan.desired_members(project)):
        data: dict[str, Any] = {"project": name, "user": change.user, "role": change.role}
        if change.kind == "role-changed":
            data["previousRole"] = change.previous_role
        out.append(publication(project, CHANGE_EVENTS[change.kind], f"{name}/{change.user}", data,
                               generation, change.user, change.kind))
    return out


async def bound_members(cluster: Cluster, project: Project) -> dict[str, str]:
    bindings = await cluster.list("RoleBinding", project.metadata.name,
                                  f"{plan.PROJECT_LABEL}={project.metadata.name}")
    return plan.bound_members(bindings)


async def apply_children(cluster: Cluster, project: Project, member_ports: tuple[int, ...], *,
                         fresh: bool = False) -> dict[str, str]:
    """Independent objects in an existing namespace: applied concurrently, except that the
    project's ClusterRoles go before the bindings that name them (RBAC checks, at a binding's
    creation, that its creator holds what the role grants: the role must exist by then).
    Returns the members bound, read from the RoleBindings the API server answered with (what
    it stored, after any admission webhook), so no list is needed to report them.
    `fresh`: the namespace was just made, so its objects are created rather than applied
    (all but the quota, whose keys may later be removed: see Cluster.create)."""
    write = cluster.create if fresh else cluster.apply
    rbac = plan.cluster_rbac(project)
    await asyncio.gather(*(write(m) for m in rbac if m["kind"] == "ClusterRole"))
    quota = plan.resource_quota(project)
    bindings = plan.role_bindings(project)
    written = await asyncio.gather(
        *(write(m) for m in [*bindings, *plan.platform_bindings(project),
                                     *(m for m in rbac if m["kind"] != "ClusterRole"),
                                     *plan.network_policies(project, member_ports)]),
        cluster.apply(quota) if quota is not None
        else cluster.delete("ResourceQuota", "lulea-quota", project.metadata.name))
    return plan.bound_members([w for w in written[:len(bindings)] if isinstance(w, dict)])


async def reconcile(project: Project, status: dict[str, Any], cluster: Cluster, events: Events,
                    member_ports: tuple[int, ...], *, announce: bool = False
                    ) -> tuple[dict[str, Any], Verdict]:
    """The Project's tenant made real; returns the status fields and the Ready verdict.
    `announce`: re-publish the whole membership (a repair: a consumer that missed events
    converges from it)."""
    name = project.metadata.name
    # Step 1: the namespace must be ours, or nothing is touched.
    existing = await cluster.get("Namespace", name)
    if existing and existing["metadata"].get("deletionTimestamp"):  # whoever owned it
        raise NotReady("NamespaceTerminating",
                       f"namespace {name} (left by a deleted project of the same name) is still being "
                       "deleted; the project is set up once it is gone", 5)
    if not plan.namespace_is_ours(existing, project):
        raise NotReady("NamespaceConflict",
                       f"namespace {name} already exists and does not belong to this Project; "
                       "nothing was adopted: delete that namespace or choose another project name", 60)
    # Step 2: announce creation (once: ids are deterministic) and membership changes, and wait
    # until the broker has them, before anything changes.
    publications = []
    if status.get("observedGeneration") is None:
        publications.append(created(project))
    elif announce:
        publications.append(created(project, str(project.metadata.generation), "state"))
    bound = await bound_members(cluster, project) if existing else {}
    publications += membership_publications(project, bound)
    if publications:
        try:
            await events.publish_many(publications)
        except Exception as err:  # the broker is away: nothing changes until it answers
            raise events_unavailable(err) from err
    # Step 3: the namespace and everything in it: created if the namespace was not there,
    # else server-side applied (idempotent either way: AlreadyExists falls back to apply).
    try:
        if existing is None:  # a new project: created, one call each, no merge to compute
            await cluster.create(plan.namespace(project))
        else:
            await cluster.apply(plan.namespace(project))
        now_bound = await apply_children(cluster, project, member_ports, fresh=existing is None)
    except ApiException as err:
        if err.status in (401, 403, 422):
            raise api_refused(err) from err
        raise
    # Step 4: report what is actually bound, as the API server answered the writes.
    return ready(project, now_bound)


async def delete(project: Project, cluster: Cluster, events: Events, retry: int) -> None:
    """The namespace deleted (and waited for), the project's cluster roles removed, then
    ProjectDeleted announced; NotReady while the namespace is going, with a growing delay."""
    name = project.metadata.name
    existing = await cluster.get("Namespace", name)
    if existing is not None and plan.namespace_is_ours(existing, project):
        if not existing["metadata"].get("deletionTimestamp"):
            await cluster.delete("Namespace", name)
        left = [c.get("message", "") for c in (existing.get("status") or {}).get("conditions") or []
                if c.get("status") == "True" and c.get("type", "").startswith("NamespaceContent")]
        raise NotReady("Deleting", f"waiting for namespace {name} to be deleted"
                       + (f": {'; '.join(left)}" if left else ""), min(2 * 2 ** retry, 30))
    for manifest in plan.cluster_rbac(project):
        await cluster.delete(manifest["kind"], manifest["metadata"]["name"])
    # The namespace is gone (or was never ours): announce, and let kopf drop the finalizer.
    try:
        await events.publish_many([publication(project, EventType.PROJECT_DELETED, name, {"project": name})])
    except Exception as err:
        raise events_unavailable(err) from err
