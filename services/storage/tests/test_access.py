"""The role matrix as a table (docs/storage.md): who gets which level on which path."""

from __future__ import annotations

import pytest

from lulea.storage.access import Caller, Level, level
from lulea.storage.namespace.paths import Path


class Directory:
    members = {"p1": {"alice": "DataOwner", "bob": "DataScientist"}, "p2": {"carol": "DataOwner"},
               "p3": {"erin": "DataOwner"}}
    # (owner project, dataset, target) -> access, accepted shares only
    shares = {("p1", "shared", "p2"): "ReadOnly", ("p1", "rw", "p2"): "ReadWrite"}

    def role(self, project: str, user: str) -> str | None:
        return self.members.get(project, {}).get(user)

    def projects_of(self, user: str) -> list[str]:
        return [p for p, m in self.members.items() if user in m]

    def share(self, owner_project: str, dataset: str, target: str) -> str | None:
        return self.shares.get((owner_project, dataset, target))

    def datasets_of(self, project: str) -> list[str]:
        return sorted({d for (p, d, _) in self.shares if p == project})


ALICE, BOB, CAROL, ERIN = (Caller("alice", "p1"), Caller("bob", "p1"), Caller("carol", "p2"),
                           Caller("erin", "p3"))
ROWS = [
    (ALICE, "/Projects/p1/shared/x", Level.MANAGE),
    (BOB, "/Projects/p1/shared/x", Level.WRITE),
    (CAROL, "/Projects/p1/shared/x", Level.READ),
    (CAROL, "/Projects/p1/rw/x", Level.WRITE),
    (CAROL, "/Projects/p1/private/x", Level.NONE),
    (CAROL, "/Projects/p1", Level.READ),
    (ERIN, "/Projects/p1/shared/x", Level.NONE),
    (ERIN, "/Projects/p1", Level.NONE),
    (Caller("alice", "p3"), "/Projects/p1/shared", Level.NONE),  # a p3 cert of alice: not a p3 member
    (Caller("alice"), "/Projects/p1/shared", Level.MANAGE),  # a person's token: her projects
    (Caller("mallory", "p1"), "/Projects/p1/shared", Level.NONE),  # removed or never a member
    (Caller("lulea-operator-dataset", platform=True), "/Projects/p1/private", Level.PLATFORM),
    (ERIN, "/Projects", Level.READ),
    (ERIN, "/", Level.READ),
]


@pytest.mark.parametrize(("caller", "path", "expected"), ROWS)
def test_levels(caller: Caller, path: str, expected: Level) -> None:
    assert level(caller, Path.parse(path), Directory()) is expected
