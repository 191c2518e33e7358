"""Platform events -> member certificate actions."""

from __future__ import annotations

import logging

from lulea.ca.domain.membership import MemberCertificates
from lulea.core.events import Event, EventType

log = logging.getLogger("lulea.ca.events")

HANDLED = frozenset(
    {
        EventType.PROJECT_CREATED,
        EventType.MEMBER_ADDED,
        EventType.MEMBER_ROLE_CHANGED,
        EventType.MEMBER_REMOVED,
        EventType.PROJECT_DELETED,
    }
)


async def handle(event: Event, certificates: MemberCertificates) -> None:
    """Apply one event. Safe to run twice with the same event."""
    data = event.data
    issuing = event.type in (EventType.MEMBER_ADDED, EventType.MEMBER_ROLE_CHANGED, EventType.PROJECT_CREATED)
    if issuing and await certificates.secrets.project_gone(data["project"]):
        log.info("skipping %s for project %s: the project no longer exists", event.type, data["project"])
        return
    match event.type:
        case EventType.MEMBER_ADDED | EventType.MEMBER_ROLE_CHANGED:
            await certificates.ensure(data["project"], data["user"], data["role"], event.id)
        case EventType.PROJECT_CREATED:
            for member in data.get("members") or []:
                await certificates.ensure(data["project"], member["user"], member["role"], event.id)
        case EventType.MEMBER_REMOVED:
            await certificates.remove(data["project"], data["user"], event.id)
        case EventType.PROJECT_DELETED:
            await certificates.remove_project(data["project"], event.id)
        case _:
            log.debug("ignoring %s", event.type)
