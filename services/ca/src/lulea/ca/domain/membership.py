"""Member certificates follow project membership: issue on MemberAdded, re-issue on
MemberRoleChanged or when two thirds of the life is gone, revoke on MemberRemoved and
ProjectDeleted. Every step is idempotent: the record is written before the Secret, the
Secret is checked before issuing, and events carry ids derived from the serial."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.issuance import issue_member
from lulea.ca.domain.profiles import DEFAULT_LIFETIME, Profile, Subject
from lulea.ca.metrics import ISSUED, REVOKED
from lulea.ca.store.base import (
    CertificateRecord,
    EventSink,
    Reason,
    RecordStore,
    SecretStore,
    Status,
)
from lulea.core.auth import MemberPrincipal
from lulea.core.events import EventType

log = logging.getLogger("lulea.ca.membership")
MANAGED_BY = "lulea-ca"


def secret_name(user: str) -> str:
    return f"lulea-cert-{user}"


@dataclass
class MemberCertificates:
    hierarchy: Hierarchy
    records: RecordStore
    secrets: SecretStore
    events: EventSink
    lifetime: dt.timedelta = DEFAULT_LIFETIME
    crl_url: str | None = None
    on_revoked: Callable[[], Awaitable[object]] | None = None
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    async def ensure(self, project: str, user: str, role: str, cause: str) -> CertificateRecord:
        """The member holds a valid certificate for `role` in its Secret (issue if needed)."""
        member = MemberPrincipal(project, user)
        current = await self._current(project, user)
        if current is not None:
            in_secret = await self.secrets.read_serial(project, secret_name(user))
            fresh = self.clock() < current.renew_at
            if current.role == role and in_secret == current.serial and fresh:
                await self._announce_issued(current)  # same id as before: consumers dedup
                return current
            if current.role != role:
                await self._revoke([current], Reason.ROLE_CHANGED, cause)
            else:  # rotation, or a crash between record and Secret: its key is gone
                await self.records.set_status(current, Status.SUPERSEDED)
        return await self._issue(member, role)

    async def remove(self, project: str, user: str, cause: str) -> list[CertificateRecord]:
        active = await self.records.members(project, user, Status.ACTIVE)
        revoked = await self._revoke(active, Reason.MEMBER_REMOVED, cause)
        await self.secrets.delete(project, secret_name(user))
        await self._reannounce(project, user, cause)
        return revoked

    async def remove_project(self, project: str, cause: str) -> list[CertificateRecord]:
        active = await self.records.members(project, None, Status.ACTIVE)
        revoked = await self._revoke(active, Reason.PROJECT_DELETED, cause)
        for user in sorted({r.user for r in active if r.user}):
            await self.secrets.delete(project, secret_name(user))
        await self._reannounce(project, None, cause)
        return revoked

    async def rotate_due(self, limit: int = 100) -> int:
        """Re-issue member certificates past two thirds of their life; returns how many."""
        rotated = 0
        for record in await self.records.due_for_renewal(self.clock(), limit):
            if record.project and record.user and record.role:
                await self.ensure(record.project, record.user, record.role, f"rotate/{record.serial}")
                rotated += 1
        return rotated

    async def _current(self, project: str, user: str) -> CertificateRecord | None:
        active = await self.records.members(project, user, Status.ACTIVE)
        # Only the certificates the CA keeps in Secrets; CSR-signed ones are the member's own.
        active = [r for r in active if r.profile == Profile.MEMBER]
        active.sort(key=lambda r: r.not_before)
        for stale in active[:-1]:  # more than one active never survives a handler
            await self.records.set_status(stale, Status.SUPERSEDED)
        return active[-1] if active else None

    async def _issue(self, member: MemberPrincipal, role: str) -> CertificateRecord:
        issued = issue_member(
            self.hierarchy,
            Subject.member(member, role),
            lifetime=self.lifetime,
            crl_url=self.crl_url,
            now=self.clock(),
        )
        record = CertificateRecord(
            serial=issued.serial_hex,
            common_name=member.common_name,
            profile=Profile.MEMBER,
            not_before=issued.not_before,
            not_after=issued.not_after,
            project=member.project,
            user=member.user,
            role=role,
        )
        await self.records.insert(record)  # recorded before it exists anywhere else
        await self.secrets.put(
            member.project,
            secret_name(member.user),
            issued.secret_data(),
            labels={
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "lulea.io/project": member.project,
                "lulea.io/user": member.user,
            },
            annotations={
                "lulea.io/serial": record.serial,
                "lulea.io/not-after": record.not_after.isoformat(),
                "lulea.io/role": role,
            },
        )
        ISSUED.labels(Profile.MEMBER).inc()
        log.info(
            "issued %s serial %s until %s", member.common_name, record.serial, record.not_after.isoformat()
        )
        await self._announce_issued(record)
        return record

    async def _revoke(
        self, records: list[CertificateRecord], reason: Reason, cause: str
    ) -> list[CertificateRecord]:
        done = []
        for record in records:
            revoked = record.revoked(reason, self.clock(), cause)
            if await self.records.set_status(revoked, Status.REVOKED):
                done.append(revoked)
                REVOKED.labels(str(reason)).inc()
                log.info("revoked %s serial %s (%s)", record.common_name, record.serial, reason)
        if done and self.on_revoked is not None:
            await self.on_revoked()
        for record in done:
            await self._announce_revoked(record)
        return done

    async def _reannounce(self, project: str, user: str | None, cause: str) -> None:
        """A crash after revoking but before publishing: publish again (same event ids)."""
        for record in await self.records.members(project, user, Status.REVOKED):
            if record.revoked_by == cause:
                await self._announce_revoked(record)

    async def _announce_issued(self, record: CertificateRecord) -> None:
        await self.events.publish(
            EventType.CERTIFICATE_ISSUED,
            subject=f"{record.project}/{record.user}",
            key=str(record.project),
            data={
                "project": record.project,
                "user": record.user,
                "serial": record.serial,
                "notAfter": record.not_after.isoformat(),
            },
            id_parts=(record.serial,),
        )

    async def _announce_revoked(self, record: CertificateRecord) -> None:
        await self.events.publish(
            EventType.CERTIFICATE_REVOKED,
            subject=f"{record.project}/{record.user}",
            key=str(record.project),
            data={
                "project": record.project,
                "user": record.user,
                "serial": record.serial,
                "reason": str(record.reason),
            },
            id_parts=(record.serial,),
        )
