"""Least privilege, checked against what the components did: the API server's audit log of this
stack (every request of the platform's service accounts since `up`) against the chart's RBAC
(rendered by helm, the same objects `helm install` creates), both ways:

- everything a component asked for is granted by the chart (a missing verb fails here as it
  would fail the component in a cluster);
- everything the chart grants was used by some request (an extra verb fails here).

It runs after every other e2e test (conftest orders it last), so their requests are in the log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from lulea.devstack import accounts
from lulea.devstack.endpoints import Stack
from lulea.operators.project import plan

NAMESPACE = accounts.PLATFORM_NAMESPACE
# Granted to every service account by Kubernetes itself (system:basic-user, system:discovery,
# system:public-info-viewer), not by the chart.
BUILTIN = {("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
           ("authorization.k8s.io", "selfsubjectrulesreviews", "create"),
           ("authentication.k8s.io", "selfsubjectreviews", "create")}
# RoleBindings the Project operator makes in every project namespace, from the chart's roles
# (plan.role_bindings and plan.platform_bindings): binding name -> the role it binds.
BOUND_BY_NAME = {**{name: name for name in plan.ROLE_NAMES.values()}, "lulea-ca": plan.CA_SECRETS_ROLE}
# What the Project operator grants onwards in each project's own ClusterRole (plan.cluster_rbac):
# RBAC lets it grant only what it holds, so writing such a role is a use of these verbs.
DELEGATED = {("lulea.io", "projects", v) for v in plan.MEMBER_PROJECT_VERBS}
DELEGATED |= {("lulea.io", "projects/status", "get")}
PROJECT_ROLE_PREFIX = "lulea:project:"


@dataclass(frozen=True)
class Grant:
    account: str
    group: str
    resource: str  # with "/subresource"
    verb: str
    namespace: str | None  # None: cluster-wide; "*project*": every project namespace
    names: frozenset[str] | None  # resourceNames, or None for any name


@dataclass(frozen=True)
class Request:
    account: str
    group: str
    resource: str
    verb: str
    namespace: str | None
    name: str | None
    code: int


def _rules_by_role(objects: list[dict[str, Any]]) -> dict[tuple[str, str | None, str], list[dict[str, Any]]]:
    roles = {}
    for o in objects:
        if o["kind"] in ("Role", "ClusterRole"):
            roles[o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]] = o.get("rules") or []
    return roles


def chart_grants(objects: list[dict[str, Any]]) -> set[Grant]:
    roles = _rules_by_role(objects)
    platform = {f"system:serviceaccount:{NAMESPACE}:{a}" for a in accounts.ACCOUNTS.values()}
    out: set[Grant] = set()

    def grant(account: str, rules: list[dict[str, Any]], namespace: str | None) -> None:
        for rule in rules:
            names = frozenset(rule["resourceNames"]) if rule.get("resourceNames") else None
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    for verb in rule["verbs"]:
                        out.add(Grant(account, group, resource, verb, namespace, names))

    for o in objects:
        if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref = o["roleRef"]
        namespace = o["metadata"].get("namespace") if o["kind"] == "RoleBinding" else None
        rules = roles.get((ref["kind"], namespace if ref["kind"] == "Role" else None, ref["name"]), [])
        for subject in o.get("subjects") or []:
            account = f"system:serviceaccount:{subject.get('namespace')}:{subject['name']}"
            if account in platform:
                grant(account, rules, namespace)
    # the CA's Secrets in each project namespace (plan.platform_bindings, from a chart role)
    grant(f"system:serviceaccount:{NAMESPACE}:lulea-ca", roles[("ClusterRole", None, plan.CA_SECRETS_ROLE)],
          "*project*")
    return out


def audited(stack: Stack) -> list[Request]:
    out = []
    prefix = f"system:serviceaccount:{NAMESPACE}:"
    for line in stack.audit_log.read_text().splitlines():
        event = json.loads(line)
        account, ref = event["user"]["username"], event.get("objectRef")
        if not account.startswith(prefix) or ref is None:
            continue  # non-resource requests (discovery, /version) are every account's
        resource = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        out.append(Request(account, ref.get("apiGroup", ""), resource, event["verb"],
                           ref.get("namespace"), ref.get("name"),
                           int((event.get("responseStatus") or {}).get("code") or 0)))
    return out


def covers(grant: Grant, request: Request, projects: set[str]) -> bool:
    if (grant.account, grant.group, grant.resource, grant.verb) != (
            request.account, request.group, request.resource, request.verb):
        return False
    if grant.namespace == "*project*":
        in_scope = request.namespace in projects
    else:
        in_scope = grant.namespace is None or grant.namespace == request.namespace
    return in_scope and (grant.names is None or request.name in grant.names)


def used(grant: Grant, requests: list[Request], projects: set[str]) -> bool:
    """A grant is used when a request needed it; `escalate` and `bind` are needed by writes of
    the roles and bindings that name the role (RBAC checks them at that write)."""
    writes = ("create", "patch", "update")
    as_patch = Grant(**{**grant.__dict__, "verb": "patch"})
    if grant.verb == "create" and any(  # server-side apply creates with a PATCH answered 201
            r.verb == "patch" and r.code == 201 and covers(as_patch, r, projects) for r in requests):
        return True
    operator = grant.account.endswith(":lulea-operator-project")
    if operator and (grant.group, grant.resource, grant.verb) in DELEGATED:
        return any(r.account == grant.account and r.resource == "clusterroles" and r.verb in writes
                   and (r.name or "").startswith(PROJECT_ROLE_PREFIX) for r in requests)
    if grant.group == "rbac.authorization.k8s.io" and grant.verb in ("escalate", "bind"):
        for r in requests:
            if r.account != grant.account or r.verb not in writes or r.group != grant.group:
                continue
            if grant.verb == "escalate" and r.resource == grant.resource and r.name in (grant.names or ()):
                return True
            bound = BOUND_BY_NAME.get(r.name or "")
            if grant.verb == "bind" and r.resource in ("rolebindings", "clusterrolebindings") \
                    and bound in (grant.names or ()):
                return True
        return False
    return any(covers(grant, r, projects) for r in requests)


@pytest.fixture(scope="module")
def evidence(stack: Stack) -> tuple[set[Grant], list[Request], set[str]]:
    objects = accounts.rbac_objects(accounts.render_chart(stack.layout))
    requests = audited(stack)
    assert requests, f"the audit log {stack.audit_log} holds no request of the platform's accounts"
    platform = {NAMESPACE, "default", "kube-system", "kube-public", "kube-node-lease"}
    projects = {r.namespace for r in requests if r.namespace and r.namespace not in platform}
    return chart_grants(objects), requests, projects


def test_every_request_of_a_component_is_granted_by_the_chart(
        evidence: tuple[set[Grant], list[Request], set[str]]) -> None:
    grants, requests, projects = evidence
    missing: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for r in requests:
        if (r.group, r.resource, r.verb) in BUILTIN:
            continue
        if not any(covers(g, r, projects) for g in grants):
            missing[r.account.rsplit(":", 1)[1], r.verb, r.group or "core", r.resource] += 1
    assert not missing, "requests the chart does not grant (account, verb, group, resource): " + \
        ", ".join(f"{k} x{n}" for k, n in sorted(missing.items()))


def test_everything_the_chart_grants_is_used(evidence: tuple[set[Grant], list[Request], set[str]]) -> None:
    grants, requests, projects = evidence
    unused = sorted({(g.account.rsplit(":", 1)[1], g.verb, g.group or "core", g.resource,
                      ",".join(sorted(g.names or ())))
                     for g in grants if not used(g, requests, projects)})
    assert not unused, f"granted but never used by any request of the run: {unused}"
