"""Events replayed from the start of the topic for projects that are gone issue nothing."""

from __future__ import annotations

import pytest

from lulea.ca.domain.handlers import handle
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.store.memory import MemoryEvents, MemoryRecords, MemorySecrets
from lulea.core.events import Event, EventType


@pytest.fixture
def members(hierarchy: Hierarchy) -> MemberCertificates:
    return MemberCertificates(hierarchy, MemoryRecords(), MemorySecrets(), MemoryEvents())


@pytest.mark.parametrize("event_type", [EventType.MEMBER_ADDED, EventType.MEMBER_ROLE_CHANGED])
async def test_issuance_for_a_deleted_project_is_skipped(members: MemberCertificates,
                                                         event_type: EventType) -> None:
    members.secrets.gone_projects.add("old")  # type: ignore[attr-defined]
    data = {"project": "old", "user": "alice", "role": "DataOwner"}
    if event_type is EventType.MEMBER_ROLE_CHANGED:
        data["previousRole"] = "DataScientist"
    await handle(Event(id="e1", type=event_type, source="t", subject="old/alice", data=data), members)
    assert await members.records.members("old", "alice", None) == []
    await handle(Event(id="e2", type=EventType.MEMBER_ADDED, source="t", subject="new/alice",
                       data={"project": "new", "user": "alice", "role": "DataOwner"}), members)
    assert len(await members.records.members("new", "alice", None)) == 1
