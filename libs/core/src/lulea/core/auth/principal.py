"""Principals: a project member `<project>__<user>` or a Kubernetes user/service account."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MEMBER_SEPARATOR = "__"
# A project owns a namespace, so its name is a DNS label; so is a user (it names the Secret
# `lulea-cert-<user>`). No dots: a CN with a dot looks like a host name to OpenSSL and Java,
# which would then check it against the CA's DNS name constraints and refuse it.
_PROJECT = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_USER = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class InvalidPrincipal(ValueError):
    """A name that cannot be a member principal."""


@dataclass(frozen=True, slots=True)
class MemberPrincipal:
    """A member of a project, as named in certificates and Kafka ACLs."""

    project: str
    user: str

    def __post_init__(self) -> None:
        if not _PROJECT.fullmatch(self.project):
            raise InvalidPrincipal(f"project {self.project!r} is not a DNS label")
        if not _USER.fullmatch(self.user) or MEMBER_SEPARATOR in self.user:
            raise InvalidPrincipal(f"user {self.user!r} is not a valid member name")

    @property
    def common_name(self) -> str:
        return f"{self.project}{MEMBER_SEPARATOR}{self.user}"

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.common_name}"


@dataclass(frozen=True, slots=True)
class KubernetesPrincipal:
    """An identity the Kubernetes API vouched for (TokenReview)."""

    username: str
    groups: tuple[str, ...] = field(default_factory=tuple)
    uid: str = ""

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) when this is a service account, else None."""
        if not self.username.startswith(_SERVICE_ACCOUNT_PREFIX):
            return None
        rest = self.username[len(_SERVICE_ACCOUNT_PREFIX) :]
        namespace, sep, name = rest.partition(":")
        if not sep or not namespace or not name or ":" in name:
            return None
        return namespace, name


Principal = MemberPrincipal | KubernetesPrincipal


def member_common_name(project: str, user: str) -> str:
    """The CN (and Kafka principal name) of `user` in `project`."""
    return MemberPrincipal(project, user).common_name


def parse_member_common_name(common_name: str) -> MemberPrincipal:
    """`p1__alice` -> MemberPrincipal("p1", "alice"); raise InvalidPrincipal otherwise."""
    project, sep, user = common_name.partition(MEMBER_SEPARATOR)
    if not sep:
        raise InvalidPrincipal(f"{common_name!r} is not of the form <project>__<user>")
    return MemberPrincipal(project, user)
