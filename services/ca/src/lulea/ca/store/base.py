"""What the CA stores: the record of each certificate it issued (the audit record), and the
stores the domain works through: records, Secrets, events (memory, MongoDB and Kubernetes
implement them beside this module)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from cryptography import x509


class Reason(StrEnum):
    """Why a certificate was revoked (RFC 5280 reason codes, never `unspecified`)."""

    MEMBER_REMOVED = "memberRemoved"
    ROLE_CHANGED = "roleChanged"
    PROJECT_DELETED = "projectDeleted"
    KEY_COMPROMISE = "keyCompromise"

    @property
    def flag(self) -> x509.ReasonFlags:
        return {
            Reason.MEMBER_REMOVED: x509.ReasonFlags.affiliation_changed,
            Reason.ROLE_CHANGED: x509.ReasonFlags.superseded,
            Reason.PROJECT_DELETED: x509.ReasonFlags.cessation_of_operation,
            Reason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
        }[self]


class Status(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # rotated: replaced in its Secret, left to expire
    REVOKED = "revoked"


@dataclass(frozen=True)
class CertificateRecord:
    serial: str  # lowercase hex
    common_name: str
    profile: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: Status = Status.ACTIVE
    project: str | None = None
    user: str | None = None
    role: str | None = None
    revoked_at: dt.datetime | None = None
    reason: Reason | None = None
    revoked_by: str | None = None  # what revoked it (a membership change, a project deletion)
    announced: Status | None = None  # the last status published as an event (outbox)

    @property
    def renew_at(self) -> dt.datetime:
        return self.not_before + (self.not_after - self.not_before) * 2 / 3

    def revoked(self, reason: Reason, at: dt.datetime, by: str) -> CertificateRecord:
        return replace(self, status=Status.REVOKED, reason=reason, revoked_at=at, revoked_by=by)



class RecordStore(Protocol):
    async def insert(self, record: CertificateRecord) -> None: ...
    async def get(self, serial: str) -> CertificateRecord | None: ...
    async def members(
        self, project: str, user: str | None = None, status: Status | None = None
    ) -> list[CertificateRecord]: ...
    async def set_status(
        self, record: CertificateRecord, status: Status, expect: Status = Status.ACTIVE
    ) -> bool: ...
    async def due_for_renewal(self, now: dt.datetime, limit: int) -> list[CertificateRecord]: ...
    async def revoked(self) -> list[CertificateRecord]: ...
    async def next_crl_number(self) -> int: ...
    async def mark_announced(self, record: CertificateRecord, status: Status) -> None: ...
    async def active_projects(self) -> set[str]:
        """Every project some member certificate is still active for."""
        ...


class SecretStore(Protocol):
    async def read_serial(self, namespace: str, name: str) -> str | None: ...
    async def put(
        self,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> None: ...
    async def delete(self, namespace: str, name: str) -> None: ...


class EventSink(Protocol):
    async def publish(
        self,
        event_type: Any,
        *,
        subject: str,
        key: str,
        data: dict[str, Any],
        id_parts: Iterable[str],
    ) -> Any: ...
