"""Member certificates follow project membership, level-based: `converge(project, members)`
makes the certificates of a project exactly its members of the moment, as the Project object
in the API server says (events only say which project to look at). A member without one gets
it, a changed role gets a new one and the old revoked, a member gone or a project gone is
revoked and its Secret deleted; certificates past two thirds of their life are re-issued.

Every step is idempotent and safe to kill half way: the record is written before the Secret,
the Secret is checked before issuing, and each record remembers the last status announced on
the bus (an outbox), so a crash between a change and its event publishes the event on the
next converge, with the same id."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
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
        return await self._ensure(project, user, role, cause,
                                  await self.records.members(project, user, Status.ACTIVE))

    async def _ensure(self, project: str, user: str, role: str, cause: str,
                      active: list[CertificateRecord]) -> CertificateRecord:
        """`ensure`, given the member's active records (read by the caller)."""
        member = MemberPrincipal(project, user)
        current = await self._current(active)
        if current is not None:
            in_secret = await self.secrets.read_serial(project, secret_name(user))
            fresh = self.clock() < current.renew_at
            if current.role == role and in_secret == current.serial and fresh:
                return current
            if current.role != role:
                await self._revoke([current], Reason.ROLE_CHANGED, cause)
            else:  # rotation, or a crash between record and Secret: its key is gone
                await self.records.set_status(current, Status.SUPERSEDED)
        return await self._issue(member, role)

    async def converge(self, project: str, members: Mapping[str, str] | None) -> None:
        """The project's certificates are exactly `members` (user -> role); None: it is gone.
        One read of the project's records serves every member, the removals and the outbox."""
        if members is None:
            await self.remove_project(project)
            return
        records = await self.records.members(project, None, None)
        active = [r for r in records if r.status is Status.ACTIVE]
        for user, role in sorted(members.items()):
            await self._ensure(project, user, role, "membership", [r for r in active if r.user == user])
        for user in sorted({r.user for r in active if r.user} - members.keys()):
            await self.remove(project, user)
        # certificates the members asked for themselves (CSR) carry a role too
        stale = [r for r in active if r.user is not None and r.user in members
                 and r.profile != Profile.MEMBER and r.role != members[r.user]]
        await self._revoke(stale, Reason.ROLE_CHANGED, "membership")
        # what this converge changed it announced itself; only what it found unannounced
        # (a crash before an event) needs another look
        if any(_unannounced(r) for r in records):
            await self.announce_pending(project)

    async def remove(self, project: str, user: str) -> list[CertificateRecord]:
        active = await self.records.members(project, user, Status.ACTIVE)
        revoked = await self._revoke(active, Reason.MEMBER_REMOVED, "membership")
        await self.secrets.delete(project, secret_name(user))
        return revoked

    async def remove_project(self, project: str) -> list[CertificateRecord]:
        active = await self.records.members(project, None, Status.ACTIVE)
        revoked = await self._revoke(active, Reason.PROJECT_DELETED, "project-deleted")
        for user in sorted({r.user for r in active if r.user}):
            await self.secrets.delete(project, secret_name(user))
        await self.announce_pending(project)
        return revoked

    async def announce_pending(self, project: str) -> None:
        """Publish what a crash left unannounced (same event ids: consumers dedup)."""
        for record in await self.records.members(project, None, None):
            if not _unannounced(record):
                continue
            if record.status is Status.ACTIVE:
                await self._announce_issued(record)
            else:
                await self._announce_revoked(record)

    async def due_projects(self, limit: int = 100) -> set[str]:
        """Projects with member certificates past two thirds of their life: a converge of each
        re-issues them (for members that still are members, with the role they have now)."""
        return {r.project for r in await self.records.due_for_renewal(self.clock(), limit) if r.project}

    async def _current(self, active: list[CertificateRecord]) -> CertificateRecord | None:
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
        await self.records.mark_announced(record, Status.ACTIVE)

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
        await self.records.mark_announced(record, Status.REVOKED)


def _unannounced(record: CertificateRecord) -> bool:
    """A status change not yet published (the outbox): an active member certificate not
    announced as issued, or a revoked one not announced as revoked."""
    if record.status is Status.ACTIVE:
        return record.announced is not Status.ACTIVE and record.profile == Profile.MEMBER
    return record.status is Status.REVOKED and record.announced is not Status.REVOKED
