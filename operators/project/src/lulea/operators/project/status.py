"""What a Project's status says, as pure functions: Ready with a reason and a message that says
what to do, for every way a reconcile ends (a table test drives each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lulea.core.crds.project import Project
from lulea.operators.project import plan


@dataclass(frozen=True)
class Verdict:
    """The Ready condition: whether, why (a reason), and what to do (a message)."""

    ok: bool
    reason: str
    message: str


class NotReady(Exception):
    """A reconcile that cannot finish now: why (a reason), what to do (a message), and how long
    to wait before looking again (seconds; None: a person must change something first)."""

    def __init__(self, reason: str, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.reason, self.message, self.retry_after = reason, message, retry_after

    @property
    def verdict(self) -> Verdict:
        return Verdict(False, self.reason, self.message)


def events_unavailable(err: BaseException) -> NotReady:
    return NotReady("EventBusUnavailable",
                    f"the platform's Kafka did not take the membership events ({type(err).__name__}: "
                    f"{err}); nothing was changed, and the change goes through once Kafka answers", 10)


def api_refused(err: Any) -> NotReady:
    """The API server refused one of the tenant's objects (RBAC of the operator, a webhook)."""
    body = str(getattr(err, "body", "") or err)
    return NotReady("ApplyRefused",
                    f"the API server refused part of the tenant ({getattr(err, 'status', '?')}): "
                    f"{body[:300]}; a platform admin must look at the operator's permissions", 30)


def invalid(details: str) -> NotReady:
    return NotReady("InvalidSpec", f"the Project does not match its schema: {details}; fix its spec", None)


def ready(project: Project, bound: dict[str, str]) -> tuple[dict[str, Any], Verdict]:
    """The status once the tenant is applied: Ready when every member is bound as the spec says."""
    desired = plan.desired_members(project)
    fields: dict[str, Any] = {"observedGeneration": project.metadata.generation,
                              "namespace": project.metadata.name, "memberCount": len(bound)}
    if bound == desired:
        summary = ", ".join(f"{u} ({r})" for u, r in sorted(bound.items()))
        return fields, Verdict(True, "Reconciled",
                               f"namespace {project.metadata.name} ready; members bound: {summary}")
    missing = sorted(set(desired.items()) - set(bound.items()))
    return fields, Verdict(False, "MembersNotBound", "members not bound yet: "
                           + ", ".join(f"{u} ({r})" for u, r in missing) + "; the operator retries")
