"""Who is calling, and which subjects they may see.

A subject belongs to the project of its topic: `<project>.<topic>-value` / `-key`. A member
principal `<project>__<user>` reaches the subjects of its project; platform callers reach all.
A Topic shared with another project (its CR's `shares`, fed by `topic_shares.TopicShares`
from the API server) lets that project's members *read* the topic's subjects, never write
them: a consumer in the sharing project can then decode the records it may read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

PROJECT_USER_DELIMITER = "__"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    project: str | None = None
    platform: bool = False

    @classmethod
    def from_name(cls, name: str, *, admins: Iterable[str] = ()) -> Principal:
        """`p1__alice` -> member of p1; configured admin names -> platform; else no project."""
        if name in set(admins):
            return cls(name, platform=True)
        project, sep, user = name.partition(PROJECT_USER_DELIMITER)
        if sep and project and user:
            return cls(name, project=project)
        return cls(name)


def subject_project(subject: str) -> str | None:
    """The project owning a subject named `<project>.<topic>-value`, if it follows that shape."""
    project, sep, _ = subject.partition(".")
    return project if sep and project else None


class Authorizer(Protocol):
    def can_access(self, principal: Principal, subject: str) -> bool:
        """Everything on the subject: read, register, delete, configure."""

    def can_read(self, principal: Principal, subject: str) -> bool:
        """Read its versions, schemas, config, and check compatibility against it."""

    def can_change_global(self, principal: Principal) -> bool: ...


class AllowAll:
    """Authorization off (local runs): everyone is treated as the platform."""

    def can_access(self, principal: Principal, subject: str) -> bool:
        return True

    def can_read(self, principal: Principal, subject: str) -> bool:
        return True

    def can_change_global(self, principal: Principal) -> bool:
        return True


class ProjectAuthorizer:
    """Own project's subjects; reading also the subjects of topics shared with the caller's."""

    def __init__(self, shares: Callable[[str], Iterable[str]] | None = None) -> None:
        # shares(subject) -> the projects its topic is shared with (Topic CRs)
        self.shares = shares or (lambda _subject: ())

    def can_access(self, principal: Principal, subject: str) -> bool:
        if principal.platform:
            return True
        return principal.project is not None and subject_project(subject) == principal.project

    def can_read(self, principal: Principal, subject: str) -> bool:
        if self.can_access(principal, subject):
            return True
        return principal.project is not None and principal.project in set(self.shares(subject))

    def can_change_global(self, principal: Principal) -> bool:
        return principal.platform
