"""Platform events -> which project's certificates to look at again.

An event is a trigger, never proof: the CA never issues or revokes from what an event says.
It takes the project named in a membership event and converges that project's certificates
with the Project object in the API server (`MemberCertificates.converge`).
"""

from __future__ import annotations

from lulea.core.events import Event, EventType

TRIGGERS = frozenset(
    {
        EventType.PROJECT_CREATED,
        EventType.MEMBER_ADDED,
        EventType.MEMBER_ROLE_CHANGED,
        EventType.MEMBER_REMOVED,
        EventType.PROJECT_DELETED,
    }
)


def project_of(event: Event) -> str | None:
    """The project an event is about, if it is one the CA reacts to."""
    if event.type not in TRIGGERS:
        return None
    project = event.data.get("project")
    return project if isinstance(project, str) and project else None
