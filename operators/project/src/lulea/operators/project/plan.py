"""What a Project should become, as pure functions of its spec: the namespace, the roles and
bindings per role, the quota, the network policies, and the membership changes to announce.

The Hopsworks role model: a DataOwner manages membership, datasets, topics and shares and runs
jobs; a DataScientist reads datasets and topics and creates and runs GpuJobs. Nobody reads the
namespace's Secrets: they hold members' private keys, which only jobs mount.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lulea.core.crds.project import Project, Role

MANAGER = "lulea-operator-project"
PROJECT_LABEL = "lulea.io/project"
PLATFORM_LABEL = "lulea.io/platform"
READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
ROLE_NAMES = {Role.DATA_OWNER: "lulea-data-owner", Role.DATA_SCIENTIST: "lulea-data-scientist"}
Manifest = dict[str, Any]


def _meta(project: Project, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {PROJECT_LABEL: project.metadata.name, "app.kubernetes.io/managed-by": MANAGER},
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def owner_reference(project: Project) -> dict[str, Any]:
    return {"apiVersion": "lulea.io/v1alpha1", "kind": "Project", "name": project.metadata.name,
            "uid": project.metadata.uid, "controller": True, "blockOwnerDeletion": True}


def namespace(project: Project) -> Manifest:
    meta = _meta(project, project.metadata.name)
    meta["labels"].update({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    })
    meta["ownerReferences"] = [owner_reference(project)]
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def namespace_is_ours(ns: Manifest | None, project: Project) -> bool:
    """A namespace we may manage: absent, or owned by this very Project (same uid)."""
    if ns is None:
        return True
    owners = (ns.get("metadata") or {}).get("ownerReferences") or []
    return any(o.get("uid") == project.metadata.uid for o in owners)


def _rules(role: Role) -> list[dict[str, Any]]:
    data = ["datasets", "topics"]
    if role is Role.DATA_OWNER:
        lulea = [{"apiGroups": ["lulea.io"], "resources": [*data, "gpujobs"], "verbs": WRITE}]
    else:
        lulea = [{"apiGroups": ["lulea.io"], "resources": data, "verbs": READ},
                 {"apiGroups": ["lulea.io"], "resources": ["gpujobs"], "verbs": WRITE}]
    return [
        *lulea,
        {"apiGroups": ["lulea.io"], "resources": ["datasets/status", "topics/status",
                                                  "gpujobs/status"], "verbs": READ},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "resourcequotas"],
         "verbs": READ},
        {"apiGroups": [""], "resources": ["configmaps"],
         "verbs": WRITE if role is Role.DATA_OWNER else READ},
    ]


def shared_cluster_roles() -> list[Manifest]:
    """One ClusterRole per project role, bound per namespace by RoleBindings (the pattern of
    Kubernetes' own admin/edit/view), so a new project costs no Role objects."""
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": ROLE_NAMES[role],
                          "labels": {"app.kubernetes.io/managed-by": MANAGER}},
             "rules": _rules(role)} for role in Role]


def _subjects(project: Project, role: Role) -> list[dict[str, str]]:
    users = sorted(m.user for m in project.spec.members if m.role is role)
    return [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u} for u in users]


def role_bindings(project: Project) -> list[Manifest]:
    ns = project.metadata.name
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": _meta(project, ROLE_NAMES[role], ns),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": ROLE_NAMES[role]},
             "subjects": _subjects(project, role)} for role in Role]


CA_SECRETS_ROLE = "lulea-ca-member-secrets"


def platform_bindings(project: Project) -> list[Manifest]:
    """The CA writes the members' certificate Secrets into this namespace, and only this one:
    its access is granted per project rather than cluster-wide."""
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": _meta(project, "lulea-ca", project.metadata.name),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": CA_SECRETS_ROLE},
             "subjects": [{"kind": "ServiceAccount", "name": "lulea-ca",
                           "namespace": "lulea-system"}]}]


def cluster_role_name(project: Project) -> str:
    return f"lulea:project:{project.metadata.name}:members"


#: The names the project's cluster RBAC had before one role per project (a role and a binding
#: each for owners and scientists): removed once at the operator's start (`legacy_cluster_rbac`).
LEGACY_SUFFIXES = (":data-owner", ":data-scientist")

MEMBER_PROJECT_VERBS = ["get", "watch", "patch"]


def cluster_rbac(project: Project) -> list[Manifest]:
    """The Project object itself is cluster-scoped, so only a ClusterRole can name it: one role
    and one binding per project, for every member, whatever their role.

    RBAC walks every ClusterRoleBinding in the cluster for each request of a non-superuser and
    for each role or binding the operator creates, so each binding per project costs the whole
    cluster (docs/projects.md): one is the fewest that still names the project. That a
    DataScientist's patch is refused is the admission policy's to say (`lulea-project-owners`:
    only the project's DataOwners change it, and only members, description and accepted
    shares), as it already says which fields an owner may change.

    Members get `patch` (kubectl apply, edit and patch all patch) but not `update`: the operator
    holds exactly get/watch/patch on projects, and RBAC lets it grant only what it holds, so it
    needs neither `escalate` nor `bind` on these roles."""
    name = cluster_role_name(project)
    meta = _meta(project, name)
    meta["ownerReferences"] = [owner_reference(project)]
    subjects = sorted(({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": m.user}
                       for m in project.spec.members), key=lambda s: s["name"])
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": meta, "rules": [
                 {"apiGroups": ["lulea.io"], "resources": ["projects"],
                  "resourceNames": [project.metadata.name], "verbs": MEMBER_PROJECT_VERBS},
                 {"apiGroups": ["lulea.io"], "resources": ["projects/status"],
                  "resourceNames": [project.metadata.name], "verbs": ["get"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": dict(meta), "subjects": subjects,
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}}]


def legacy_cluster_rbac(objects: list[Manifest]) -> list[Manifest]:
    """Of the ClusterRoles or ClusterRoleBindings this operator labelled for a project, those with
    a name from before one role per project. They would keep granting a member removed since the
    upgrade `get` on the Project, since nothing updates them any more."""
    out = []
    for o in objects:
        meta = o.get("metadata") or {}
        labels = meta.get("labels") or {}
        project = labels.get(PROJECT_LABEL)
        if labels.get("app.kubernetes.io/managed-by") != MANAGER or not project:
            continue
        if meta.get("name") in {f"lulea:project:{project}{s}" for s in LEGACY_SUFFIXES}:
            out.append(o)
    return out


def resource_quota(project: Project) -> Manifest | None:
    quotas = project.spec.quotas
    hard: dict[str, str] = {}
    if quotas is not None:
        if quotas.gpus is not None:
            hard["requests.nvidia.com/gpu"] = str(quotas.gpus)
        if quotas.jobs is not None:
            hard["count/gpujobs.lulea.io"] = str(quotas.jobs)
        if quotas.topics is not None:
            hard["count/topics.lulea.io"] = str(quotas.topics)
    if not hard:
        return None
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": _meta(project, "lulea-quota", project.metadata.name), "spec": {"hard": hard}}


NETWORK_POLICY = "lulea-project-isolation"


def network_policies(project: Project, member_ports: tuple[int, ...] = ()) -> list[Manifest]:
    """One policy that selects every pod of the project for both directions, so everything it
    does not allow is denied: traffic within the project, DNS, and the platform namespace on the
    member-facing ports only (Kafka's member listener, the registry, storage, logs) — never the
    platform's Kafka listener, the CA's API or the API server."""
    same_project: list[dict[str, Any]] = [{"podSelector": {}}]
    platform = [{"namespaceSelector": {"matchLabels": {PLATFORM_LABEL: "true"}}}]
    dns = {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    egress: list[dict[str, Any]] = [{"to": same_project}, dns]
    if member_ports:
        egress.append({"to": platform, "ports": [{"protocol": "TCP", "port": p} for p in member_ports]})
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": _meta(project, NETWORK_POLICY, project.metadata.name),
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                      "ingress": [{"from": same_project}], "egress": egress}}]


@dataclass(frozen=True)
class MemberChange:
    kind: str  # "added" | "removed" | "role-changed"
    user: str
    role: str
    previous_role: str | None = None


def membership_changes(bound: dict[str, str], desired: dict[str, str]) -> list[MemberChange]:
    """What changed between the members bound now (user -> role) and the spec, in a stable order."""
    changes = [MemberChange("added", u, desired[u]) for u in sorted(desired.keys() - bound.keys())]
    changes += [MemberChange("role-changed", u, desired[u], bound[u])
                for u in sorted(desired.keys() & bound.keys()) if desired[u] != bound[u]]
    changes += [MemberChange("removed", u, bound[u]) for u in sorted(bound.keys() - desired.keys())]
    return changes


def bound_members(bindings: list[Manifest]) -> dict[str, str]:
    """user -> role, read back from the RoleBindings actually in the namespace."""
    by_binding = {name: role.value for role, name in ROLE_NAMES.items()}
    out: dict[str, str] = {}
    for b in bindings:
        role = by_binding.get(b["metadata"]["name"])
        for s in b.get("subjects") or []:
            if role and s.get("kind") == "User":
                out[s["name"]] = role
    return out


def desired_members(project: Project) -> dict[str, str]:
    return {m.user: m.role.value for m in project.spec.members}
