"""Tenants and line ids are stable functions of their inputs; dedup and access decisions."""

from __future__ import annotations

import asyncio

import pytest

from lulea.logs.gateway.access import Authenticator, Caller, Unauthenticated, may_read
from lulea.logs.gateway.dedup import Dedup
from lulea.logs.gateway.retention import orphans
from lulea.logs.tenancy import Tenant, line_id, tenant_of


def test_tenant_is_stable_and_distinct() -> None:
    assert tenant_of("p1") == tenant_of("p1")
    assert tenant_of("p1") != tenant_of("p2")
    assert tenant_of("p1").headers().keys() == {"AccountID", "ProjectID"}
    assert len({tenant_of(f"p{i}") for i in range(10_000)}) == 10_000


def test_line_id_depends_on_every_part() -> None:
    base = line_id("u", "c", "1:2", 0, 10)
    assert base == line_id("u", "c", "1:2", 0, 10)
    others = {line_id("v", "c", "1:2", 0, 10), line_id("u", "d", "1:2", 0, 10),
              line_id("u", "c", "1:3", 0, 10), line_id("u", "c", "1:2", 1, 10),
              line_id("u", "c", "1:2", 0, 11)}
    assert base not in others and len(others) == 5


def test_dedup_drops_second_copy_only() -> None:
    d = Dedup()
    a, b = b'{"lid":"a","_msg":"x"}', b'{"lid":"b","_msg":"x"}'
    assert [d.admit(x) for x in (a, b, a, b'{"count":3}', b"not json")] == [True, True, False, True, True]
    assert d.dropped == 1


PROJECTS = {
    "p1": {"metadata": {"name": "p1"}, "spec": {"members": [{"user": "alice", "role": "DataOwner"}]}},
    "p2": {"metadata": {"name": "p2"}, "spec": {"members": [{"user": "dave", "role": "DataOwner"}]}},
}


@pytest.mark.parametrize(("caller", "project", "allowed"), [
    (Caller("alice"), "p1", True),
    (Caller("alice"), "p2", False),
    (Caller("dave"), "p1", False),
    (Caller("carol"), "p1", False),
    (Caller("alice"), "nope", False),
    (Caller("alice", "p1"), "p1", True),        # alice's p1 certificate
    (Caller("alice", "p2"), "p2", False),       # a p2 certificate of someone not a member
    (Caller("dave", "p2"), "p1", False),
    (Caller("system:serviceaccount:p1:default", "p1"), "p1", True),
    (Caller("system:serviceaccount:p2:default", "p2"), "p1", False),
])
def test_may_read(caller: Caller, project: str, allowed: bool) -> None:
    assert may_read(caller, project, PROJECTS.get) is allowed


class Reviewer:
    async def review(self, token: str) -> str | None:
        return {"t-alice": "alice", "t-sa": "system:serviceaccount:p1:default"}.get(token)


def test_authenticate_tokens() -> None:
    auth = Authenticator(Reviewer(), None, 60)
    assert asyncio.run(auth.authenticate("Bearer t-alice", None)) == Caller("alice")
    sa = Caller("system:serviceaccount:p1:default", "p1")
    assert asyncio.run(auth.authenticate("Bearer t-sa", None)) == sa
    for header in (None, "Bearer nope", "Basic abc", "Bearer "):
        with pytest.raises(Unauthenticated):
            asyncio.run(auth.authenticate(header, None))


def test_orphans() -> None:
    held = {tenant_of("p1"), tenant_of("gone"), Tenant(0, 0)}
    assert orphans(held, ["p1", "p2"]) == {tenant_of("gone")}
