"""The Project operator's decisions, as pure functions of a Project."""

from __future__ import annotations

from typing import Any

import pytest

from lulea.core.crds.project import Project
from lulea.operators.project import plan


def project(members: list[tuple[str, str]], quotas: dict[str, int] | None = None,
            name: str = "p1", uid: str = "uid-1") -> Project:
    body: dict[str, Any] = {
        "apiVersion": "lulea.io/v1alpha1", "kind": "Project",
        "metadata": {"name": name, "uid": uid, "generation": 1},
        "spec": {"members": [{"user": u, "role": r} for u, r in members]},
    }
    if quotas is not None:
        body["spec"]["quotas"] = quotas
    return Project.model_validate(body)


P1 = project([("alice", "DataOwner"), ("bob", "DataScientist"), ("dave", "DataScientist")],
             {"gpus": 8, "jobs": 20})


def test_namespace_is_named_labelled_owned_and_restricted() -> None:
    ns = plan.namespace(P1)
    labels = ns["metadata"]["labels"]
    assert ns["metadata"]["name"] == "p1" and labels[plan.PROJECT_LABEL] == "p1"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


@pytest.mark.parametrize("existing, ours", [
    (None, True),
    ({"metadata": {"name": "p1"}}, False),
    ({"metadata": {"name": "p1", "ownerReferences": [{"uid": "someone-else"}]}}, False),
    ({"metadata": {"name": "p1", "ownerReferences": [{"uid": "uid-1"}]}}, True),
])
def test_a_namespace_that_is_not_ours_is_never_adopted(existing: dict[str, Any] | None,
                                                       ours: bool) -> None:
    assert plan.namespace_is_ours(existing, P1) is ours


def _verbs(role: dict[str, Any], resource: str, group: str = "lulea.io") -> set[str]:
    return {v for r in role["rules"] if group in r["apiGroups"] and resource in r["resources"]
            for v in r["verbs"]}


def test_owner_manages_data_and_scientist_only_reads_it_but_runs_jobs() -> None:
    owner, scientist = plan.shared_cluster_roles()
    for resource in ("datasets", "topics", "gpujobs"):
        assert {"create", "delete", "update"} <= _verbs(owner, resource)
    for resource in ("datasets", "topics"):
        assert _verbs(scientist, resource) == {"get", "list", "watch"}
    assert {"create", "delete"} <= _verbs(scientist, "gpujobs")


def test_nobody_reads_secrets_or_uses_wildcards() -> None:
    for role in [*plan.shared_cluster_roles(), *plan.cluster_rbac(P1)]:
        for rule in role.get("rules", []):
            assert "secrets" not in rule["resources"]
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]


def test_bindings_bind_each_member_to_exactly_their_role() -> None:
    bindings = plan.role_bindings(P1)
    assert plan.bound_members(bindings) == {"alice": "DataOwner", "bob": "DataScientist",
                                            "dave": "DataScientist"}
    assert all(b["roleRef"]["kind"] == "ClusterRole" for b in bindings)


def test_one_cluster_role_and_binding_per_project_for_all_its_members() -> None:
    rbac = {(m["kind"], m["metadata"]["name"]): m for m in plan.cluster_rbac(P1)}
    name = plan.cluster_role_name(P1)
    assert set(rbac) == {("ClusterRole", name), ("ClusterRoleBinding", name)}
    role, binding = rbac["ClusterRole", name], rbac["ClusterRoleBinding", name]
    # the operator holds get/watch/patch on projects: it may grant those without escalate;
    # that only owners' patches pass is the admission policy's (e2e: test_projects, test_tenant_attacks)
    assert role["rules"][0]["verbs"] == ["get", "watch", "patch"]
    assert role["rules"][0]["resourceNames"] == ["p1"] and role["rules"][1]["resourceNames"] == ["p1"]
    assert [s["name"] for s in binding["subjects"]] == ["alice", "bob", "dave"]
    assert binding["roleRef"]["name"] == name
    assert role["metadata"]["ownerReferences"][0]["uid"] == P1.metadata.uid


def test_only_the_old_per_role_names_of_this_operator_are_legacy() -> None:
    def obj(name: str, project: str | None = "p1", manager: str = plan.MANAGER) -> dict[str, Any]:
        labels = {"app.kubernetes.io/managed-by": manager}
        if project:
            labels[plan.PROJECT_LABEL] = project
        return {"metadata": {"name": name, "labels": labels}}

    objects = [obj("lulea:project:p1:data-owner"), obj("lulea:project:p1:data-scientist"),
               obj("lulea:project:p1:members"),  # today's
               obj("lulea:project:p2:data-owner", project="p1"),  # not the name of its project
               obj("lulea:project:p1:data-owner", manager="someone-else"),
               obj("lulea:project:p1:data-owner", project=None)]
    legacy = [o["metadata"]["name"] for o in plan.legacy_cluster_rbac(objects)]
    assert legacy == ["lulea:project:p1:data-owner", "lulea:project:p1:data-scientist"]


def test_quota_maps_gpus_jobs_and_topics() -> None:
    quota = plan.resource_quota(P1)
    assert quota is not None
    assert quota["spec"]["hard"] == {"requests.nvidia.com/gpu": "8", "count/gpujobs.lulea.io": "20"}
    assert plan.resource_quota(project([("alice", "DataOwner")])) is None


def test_one_network_policy_denies_all_but_the_project_dns_and_the_member_ports() -> None:
    (policy,) = plan.network_policies(P1, (9093, 8443))
    spec = policy["spec"]
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": [{"podSelector": {}}]}]
    platform = [e for e in spec["egress"] if "namespaceSelector" in e["to"][0]
                and "lulea.io/platform" in e["to"][0]["namespaceSelector"]["matchLabels"]]
    assert [p["port"] for p in platform[0]["ports"]] == [9093, 8443]  # nothing else of the platform
    (no_ports,) = plan.network_policies(P1)
    assert not any("lulea.io/platform" in str(e) for e in no_ports["spec"]["egress"])


@pytest.mark.parametrize("bound, desired, expected", [
    ({}, {"alice": "DataOwner"}, [("added", "alice", "DataOwner", None)]),
    ({"alice": "DataOwner"}, {"alice": "DataOwner"}, []),
    ({"alice": "DataOwner", "bob": "DataScientist"}, {"alice": "DataOwner"},
     [("removed", "bob", "DataScientist", None)]),
    ({"bob": "DataScientist"}, {"bob": "DataOwner"},
     [("role-changed", "bob", "DataOwner", "DataScientist")]),
    ({"a": "DataOwner", "c": "DataOwner", "d": "DataScientist"},
     {"a": "DataScientist", "b": "DataOwner", "c": "DataOwner"},
     [("added", "b", "DataOwner", None), ("role-changed", "a", "DataScientist", "DataOwner"),
      ("removed", "d", "DataScientist", None)]),
])
def test_membership_changes(bound: dict[str, str], desired: dict[str, str],
                            expected: list[tuple[str, str, str, str | None]]) -> None:
    changes = plan.membership_changes(bound, desired)
    assert [(c.kind, c.user, c.role, c.previous_role) for c in changes] == expected
