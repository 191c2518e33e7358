"""Who is a member of which project, read from the Project objects in the API server.

The API server is the source of truth for intent: services decide whom to certify, whom to
let read a dataset, whose logs to show from the Projects themselves (watched, so a removed
member is refused within a second or two), never from an event's payload. A Project being
deleted has no members any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lulea.core.kube.informer import Informer
from lulea.core.kube.raw import Kube

PROJECTS = "/apis/lulea.io/v1alpha1/projects"


@dataclass(frozen=True)
class ProjectMembers:
    name: str
    uid: str
    members: dict[str, str]  # user -> role
    deleting: bool

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ProjectMembers:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        deleting = bool(meta.get("deletionTimestamp"))
        members = {} if deleting else {str(m["user"]): str(m["role"]) for m in spec.get("members") or []}
        return cls(str(meta["name"]), str(meta.get("uid") or ""), members, deleting)


class Memberships:
    """A live view of every Project's members (an informer on Projects)."""

    def __init__(self, kube: Kube, changed: Callable[[str], object] = lambda _project: None) -> None:
        self.informer = Informer(kube, PROJECTS, changed=changed)

    async def run(self) -> None:
        await self.informer.run()

    @property
    def synced(self) -> bool:
        return self.informer.synced.is_set()

    def project(self, name: str) -> ProjectMembers | None:
        obj = self.informer.get(name)
        return ProjectMembers.of(obj) if obj is not None else None

    def role(self, project: str, user: str) -> str | None:
        """The user's role in the project, or None when not a member (or no such project)."""
        found = self.project(project)
        return found.members.get(user) if found is not None else None

    def projects_of(self, user: str) -> dict[str, str]:
        """project -> role, for every project the user is a member of."""
        out = {}
        for name in self.informer.names():
            role = self.role(name, user)
            if role is not None:
                out[name] = role
        return out

    def names(self) -> list[str]:
        return self.informer.names()
