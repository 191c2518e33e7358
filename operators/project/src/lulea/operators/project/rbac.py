"""The API verbs the Project operator needs, per (group, resource). A unit test compares this
with the chart's ClusterRole, so the chart grants exactly this: no more, no wildcards."""

from __future__ import annotations

from lulea.operators.project.cluster import KINDS
from lulea.operators.project.plan import CA_SECRETS_ROLE, ROLE_NAMES

APPLIED = ("get", "list", "create", "patch", "delete")  # server-side apply creates on first use

_GROUPS = {"/api/v1": "", "/apis/rbac.authorization.k8s.io/v1": "rbac.authorization.k8s.io",
           "/apis/networking.k8s.io/v1": "networking.k8s.io"}

#: (apiGroup, resource) -> verbs
RULES: dict[tuple[str, str], tuple[str, ...]] = {
    **{(_GROUPS[prefix], plural): APPLIED for prefix, plural, _ in KINDS.values()},
    ("lulea.io", "projects"): ("get", "list", "watch", "patch"),  # kopf: watch, finalizer, annotations
    ("lulea.io", "projects/status"): ("get", "patch"),
    ("", "events"): ("create",),  # kopf posts handler outcomes as Events
    ("events.k8s.io", "events"): ("create",),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ("get", "list", "watch"),  # kopf scanning
}

#: The shared role ClusterRoles: the operator keeps them up to date and binds them per project.
#: `escalate`/`bind` limited to these names replace holding every permission they grant.
SHARED_ROLE_VERBS = ("get", "patch", "bind", "escalate")
SHARED_ROLE_NAMES = tuple(sorted(ROLE_NAMES.values()))
#: The CA's per-namespace Secret access is bound by the operator in each project namespace.
CA_ROLE_VERBS = ("bind",)
CA_ROLE_NAMES = (CA_SECRETS_ROLE,)
