"""Which projects to converge, and converging one from the Project objects.

Events, the Project informer, rotation and a periodic resync only put a project's name on the
work queue; the worker reads that project's members from the view of the Project objects and
makes its certificates match. A forged or stale event can make the CA look at a project, never
decide what the project's members are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from lulea.ca.domain.handlers import project_of
from lulea.ca.domain.membership import MemberCertificates
from lulea.core.events import Event
from lulea.core.membership import ProjectMembers
from lulea.core.workqueue import WorkQueue


class MembershipView(Protocol):
    """The Project objects as the API server has them (lulea.core.membership.Memberships)."""

    @property
    def synced(self) -> bool: ...
    def project(self, name: str) -> ProjectMembers | None: ...
    def names(self) -> list[str]: ...


@dataclass
class Convergence:
    """Projects to converge, and the worker that does it from the Project objects."""

    memberships: MembershipView
    members: MemberCertificates
    queue: WorkQueue

    async def converge(self, project: str) -> None:
        found = self.memberships.project(project)
        await self.members.converge(project, None if found is None or found.deleting else found.members)

    async def resync(self) -> None:
        """Every project there is, and every project that still has active certificates."""
        if not self.memberships.synced:
            return
        for name in set(self.memberships.names()) | await self.members.records.active_projects():
            self.queue.add(name)

    async def rotate(self) -> None:
        for name in await self.members.due_projects():
            self.queue.add(name)

    async def triggered(self, event: Event) -> None:
        project = project_of(event)
        if project:
            self.queue.add(project)

    async def run(self) -> None:
        while not self.memberships.synced:  # noqa: ASYNC110 - never converge against an empty view
            await asyncio.sleep(0.1)
        await self.queue.run(self.converge)


