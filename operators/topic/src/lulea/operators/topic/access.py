"""Who may use which Kafka topic, as a pure function of the objects in the API server.

Nobody writes a Kafka ACL by hand: `desired_grants` turns (every Project's members, every
Topic's shares) into the exact set of ACL bindings, and `ours` says which bindings on the
broker are Lulea's to manage (the patterns below), so the operator can create what is
missing and delete what is extra without touching anything else. The matrix (docs/topics.md):

| who                                   | resource                           | operations            |
|---------------------------------------|------------------------------------|-----------------------|
| member of the owning project (any role)| TOPIC `<project>.<topic>` literal | READ, WRITE, DESCRIBE |
| member of a project shared `Read`     | TOPIC `<project>.<topic>` literal  | READ, DESCRIBE        |
| member of a project shared `ReadWrite`| TOPIC `<project>.<topic>` literal  | READ, WRITE, DESCRIBE |
| member of project p (any role)        | GROUP `p.` prefixed                | READ                  |
| member of project p (any role)        | TRANSACTIONAL_ID `p.` prefixed     | WRITE, DESCRIBE       |

A share names a project, never people: whoever is in the sharing project now is in the
grants, so a person who joins it later reads without the Topic changing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lulea.core.events.topics import PLATFORM_PREFIX, Grant

OWNER_TOPIC_OPS = ("READ", "WRITE", "DESCRIBE")
SHARE_TOPIC_OPS = {"Read": ("READ", "DESCRIBE"), "ReadWrite": ("READ", "WRITE", "DESCRIBE")}
GROUP_OPS = ("READ",)
TRANSACTION_OPS = ("WRITE", "DESCRIBE")
PROJECT_TOPIC = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PROJECT_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.$")


def principal(project: str, user: str) -> str:
    """The Kafka principal of a member's certificate (CN `<project>__<user>`)."""
    return f"User:{project}__{user}"


def kafka_topic(project: str, name: str) -> str:
    return f"{project}.{name}"


@dataclass(frozen=True)
class TopicAccess:
    """What the grants of one Topic depend on: its project, its name and its shares."""

    project: str
    name: str
    shares: tuple[tuple[str, str], ...] = field(default=())  # (project, "Read" | "ReadWrite")

    @property
    def kafka_topic(self) -> str:
        return kafka_topic(self.project, self.name)


def topic_grants(topic: TopicAccess, members: Mapping[str, Iterable[str]]) -> set[Grant]:
    """The grants on one topic; `members`: project -> its members' user names (only existing
    projects: a share with a project that does not exist grants nothing)."""
    name = topic.kafka_topic
    out = {Grant(principal(topic.project, user), "TOPIC", name, "LITERAL", op)
           for user in members.get(topic.project, ()) for op in OWNER_TOPIC_OPS}
    if topic.project not in members:
        return set()  # a Topic in a namespace that is not (or no longer) a project
    for project, access in topic.shares:
        if project == topic.project:
            continue
        out |= {Grant(principal(project, user), "TOPIC", name, "LITERAL", op)
                for user in members.get(project, ()) for op in SHARE_TOPIC_OPS[access]}
    return out


def project_grants(project: str, users: Iterable[str]) -> set[Grant]:
    """Consumer groups and transactional ids named `<project>.<anything>` for its members."""
    prefix = f"{project}."
    out: set[Grant] = set()
    for user in users:
        p = principal(project, user)
        out |= {Grant(p, "GROUP", prefix, "PREFIXED", op) for op in GROUP_OPS}
        out |= {Grant(p, "TRANSACTIONAL_ID", prefix, "PREFIXED", op) for op in TRANSACTION_OPS}
    return out


def desired_grants(members: Mapping[str, Iterable[str]], topics: Iterable[TopicAccess]) -> set[Grant]:
    """Every ACL binding Lulea wants on the broker."""
    frozen = {p: tuple(users) for p, users in members.items()}
    out: set[Grant] = set()
    for project, users in frozen.items():
        out |= project_grants(project, users)
    for topic in topics:
        out |= topic_grants(topic, frozen)
    return out


def ours(grant: Grant) -> bool:
    """A binding in Lulea's patterns, whoever wrote it: on a project topic (literal
    `<project>.<topic>`), or on a project's groups or transactional ids (prefixed
    `<project>.`). Platform topics (`lulea.*`) and everything else are left alone."""
    if grant.resource == "TOPIC" and grant.pattern == "LITERAL":
        return bool(PROJECT_TOPIC.match(grant.name)) and not grant.name.startswith(PLATFORM_PREFIX)
    if grant.resource in ("GROUP", "TRANSACTIONAL_ID") and grant.pattern == "PREFIXED":
        return bool(PROJECT_PREFIX.match(grant.name)) and not grant.name.startswith(PLATFORM_PREFIX)
    return False


def difference(desired: set[Grant], current: Iterable[Grant]) -> tuple[set[Grant], set[Grant]]:
    """(to create, to delete): `current` is what the broker has; only Lulea's patterns count."""
    have = {g for g in current if ours(g)}
    return desired - have, have - desired
