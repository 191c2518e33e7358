"""The ACL matrix as a table: (members, topics) -> the exact grants (docs/topics.md)."""

from __future__ import annotations

import pytest

from lulea.core.events.topics import Grant
from lulea.operators.topic.access import TopicAccess, desired_grants, difference, ours

P1 = {"p1": ["alice", "bob"]}
P12 = {"p1": ["alice"], "p2": ["dave"]}


def topic(*ops: tuple[str, str]) -> set[Grant]:
    return {Grant(p, "TOPIC", "p1.clicks", "LITERAL", op) for p, op in ops}


def groups(project: str, user: str) -> set[Grant]:
    p = f"User:{project}__{user}"
    return {Grant(p, "GROUP", f"{project}.", "PREFIXED", "READ"),
            Grant(p, "TRANSACTIONAL_ID", f"{project}.", "PREFIXED", "WRITE"),
            Grant(p, "TRANSACTIONAL_ID", f"{project}.", "PREFIXED", "DESCRIBE")}


RW = ("READ", "WRITE", "DESCRIBE")
CASES = [
    ("owning members both roles: read, write, describe; own groups",
     P1, [TopicAccess("p1", "clicks")],
     topic(*[(f"User:p1__{u}", op) for u in ("alice", "bob") for op in RW])
     | groups("p1", "alice") | groups("p1", "bob")),
    ("a Read share: read and describe for the sharing project's members, groups under p2.",
     P12, [TopicAccess("p1", "clicks", (("p2", "Read"),))],
     topic(*[("User:p1__alice", op) for op in RW], ("User:p2__dave", "READ"), ("User:p2__dave", "DESCRIBE"))
     | groups("p1", "alice") | groups("p2", "dave")),
    ("a ReadWrite share adds write",
     P12, [TopicAccess("p1", "clicks", (("p2", "ReadWrite"),))],
     topic(*[(f"User:{p}", op) for p in ("p1__alice", "p2__dave") for op in RW])
     | groups("p1", "alice") | groups("p2", "dave")),
    ("a share with a project that does not exist grants nothing",
     {"p1": ["alice"]}, [TopicAccess("p1", "clicks", (("ghost", "ReadWrite"),))],
     topic(*[("User:p1__alice", op) for op in RW]) | groups("p1", "alice")),
    ("a Topic in a namespace that is no project grants nothing",
     {"p2": ["dave"]}, [TopicAccess("p1", "clicks", (("p2", "Read"),))], groups("p2", "dave")),
    ("a share with the owning project itself adds nothing",
     {"p1": ["alice"]}, [TopicAccess("p1", "clicks", (("p1", "Read"),))],
     topic(*[("User:p1__alice", op) for op in RW]) | groups("p1", "alice")),
    ("no topics: only groups", {"p1": ["alice"]}, [], groups("p1", "alice")),
]


@pytest.mark.parametrize(("why", "members", "topics", "expected"), CASES, ids=[c[0] for c in CASES])
def test_matrix(why: str, members: dict[str, list[str]], topics: list[TopicAccess],
                expected: set[Grant]) -> None:
    assert desired_grants(members, topics) == expected


def test_a_late_joiner_of_a_sharing_project_is_granted_without_touching_the_topic() -> None:
    t = [TopicAccess("p1", "clicks", (("p2", "Read"),))]
    before = desired_grants(P12, t)
    after = desired_grants({"p1": ["alice"], "p2": ["dave", "erin"]}, t)
    assert after - before == {Grant("User:p2__erin", "TOPIC", "p1.clicks", "LITERAL", "READ"),
                              Grant("User:p2__erin", "TOPIC", "p1.clicks", "LITERAL", "DESCRIBE")} \
        | groups("p2", "erin")


@pytest.mark.parametrize(("grant", "managed"), [
    (Grant("User:p1__bob", "TOPIC", "p1.clicks", "LITERAL", "READ"), True),
    (Grant("User:*", "TOPIC", "p1.clicks", "LITERAL", "READ"), True),  # a hand-made wildcard
    (Grant("User:p1__bob", "GROUP", "p1.", "PREFIXED", "READ"), True),
    (Grant("User:lulea-ca", "TOPIC", "lulea.events.project", "LITERAL", "READ"), False),
    (Grant("User:lulea-ca", "GROUP", "lulea-ca", "PREFIXED", "READ"), False),
    (Grant("User:lulea-operator-topic", "TOPIC", "*", "LITERAL", "ALTER"), False),
    (Grant("User:x", "TOPIC", "legacy", "LITERAL", "READ"), False),
    (Grant("User:x", "BROKER", "kafka-cluster", "LITERAL", "ALTER"), False),
])
def test_only_luleas_patterns_are_managed(grant: Grant, managed: bool) -> None:
    assert ours(grant) is managed


def test_difference_creates_missing_and_deletes_extra_within_patterns_only() -> None:
    want = {Grant("User:p1__alice", "TOPIC", "p1.clicks", "LITERAL", "READ")}
    stray = Grant("User:p3__mallory", "TOPIC", "p1.clicks", "LITERAL", "READ")
    platform = Grant("User:lulea-ca", "TOPIC", "lulea.events.project", "LITERAL", "READ")
    assert difference(want, {stray, platform}) == (want, {stray})
