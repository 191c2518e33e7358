"""Member certificates follow membership events; every handler is idempotent."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from lulea.ca.domain.crl import CurrentCrl
from lulea.ca.domain.handlers import handle
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.store.base import Status
from lulea.ca.store.memory import MemoryEvents, MemoryRecords, MemorySecrets
from lulea.core.auth.clientcert import member_from_certificate
from lulea.core.events import Event, EventType

ISSUED, REVOKED = str(EventType.CERTIFICATE_ISSUED), str(EventType.CERTIFICATE_REVOKED)
_ids = itertools.count()


def event(kind: EventType, **data: str) -> Event:
    return Event(
        id=f"ev-{next(_ids)}",
        type=kind,
        source="lulea/test",
        subject=f"{data.get('project')}/{data.get('user')}",
        data=data,
    )


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def ca(hierarchy: Hierarchy) -> MemberCertificates:
    records = MemoryRecords()
    clock = Clock()
    crl = CurrentCrl(hierarchy.intermediate, records, clock=clock)

    async def on_revoked() -> None:
        await crl.refresh()

    certs = MemberCertificates(
        hierarchy, records, MemorySecrets(), MemoryEvents(), on_revoked=on_revoked, clock=clock
    )
    certs.crl = crl  # type: ignore[attr-defined]
    return certs


def fakes(ca: MemberCertificates) -> tuple[MemoryRecords, MemorySecrets, MemoryEvents]:
    return ca.records, ca.secrets, ca.events  # type: ignore[return-value]


async def test_member_added_writes_a_verifiable_secret(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await handle(event(EventType.MEMBER_ADDED, project="p1", user="alice", role="DataOwner"), ca)
    data = secrets.secrets[("p1", "lulea-cert-alice")]["data"]
    assert set(data) == {"tls.crt", "tls.key", "ca.crt", "keystore.p12", "keystore.password"}
    chain = x509.load_pem_x509_certificates(data["ca.crt"])
    leaf = secrets.cert("p1", "lulea-cert-alice")
    member = member_from_certificate(leaf, chain[:1], chain[1:])
    assert member.common_name == "p1__alice"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "p1"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "DataOwner"
    assert leaf.serial_number.bit_length() >= 64
    p12 = pkcs12.load_pkcs12(data["keystore.p12"], data["keystore.password"])
    assert p12.cert is not None and p12.cert.certificate == leaf
    (record,) = records.by_serial.values()
    assert record.status is Status.ACTIVE and record.serial == format(leaf.serial_number, "x")
    assert events.ids(ISSUED) == {record.serial}


async def test_replayed_member_added_issues_nothing_new(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    added = event(EventType.MEMBER_ADDED, project="p1", user="alice", role="DataOwner")
    for _ in range(3):
        await handle(added, ca)
    assert secrets.writes == 1 and len(records.by_serial) == 1
    assert len(events.ids(ISSUED)) == 1  # re-published with the same id only


async def test_crash_between_record_and_secret_converges(ca: MemberCertificates) -> None:
    records, secrets, _ = fakes(ca)
    added = event(EventType.MEMBER_ADDED, project="p1", user="bob", role="DataScientist")
    secrets.fail_next_put = True
    with pytest.raises(ConnectionError):
        await handle(added, ca)
    await handle(added, ca)  # redelivery
    active = await records.members("p1", "bob", Status.ACTIVE)
    assert len(active) == 1
    assert secrets.cert("p1", "lulea-cert-bob").serial_number == int(active[0].serial, 16)
    await handle(added, ca)
    assert secrets.writes == 1


async def test_role_change_reissues_and_revokes_the_old(ca: MemberCertificates) -> None:
    _, secrets, _ = fakes(ca)
    await handle(event(EventType.MEMBER_ADDED, project="p1", user="carol", role="DataScientist"), ca)
    old = secrets.cert("p1", "lulea-cert-carol").serial_number
    await handle(
        event(
            EventType.MEMBER_ROLE_CHANGED,
            project="p1",
            user="carol",
            role="DataOwner",
            previousRole="DataScientist",
        ),
        ca,
    )
    new = secrets.cert("p1", "lulea-cert-carol")
    assert new.serial_number != old
    assert new.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "DataOwner"
    crl = await ca.crl.current()  # type: ignore[attr-defined]
    assert crl.get_revoked_certificate_by_serial_number(old) is not None
    assert crl.get_revoked_certificate_by_serial_number(new.serial_number) is None


async def test_member_removed_revokes_deletes_and_announces(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await handle(event(EventType.MEMBER_ADDED, project="p1", user="dave", role="DataOwner"), ca)
    serial = secrets.cert("p1", "lulea-cert-dave").serial_number
    removed = event(EventType.MEMBER_REMOVED, project="p1", user="dave", role="DataOwner")
    await handle(removed, ca)
    assert ("p1", "lulea-cert-dave") not in secrets.secrets
    assert events.ids(REVOKED) == {format(serial, "x")}
    crl = await ca.crl.current()  # type: ignore[attr-defined]
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.affiliation_changed
    )
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    await handle(removed, ca)  # replay: nothing new revoked, CRL not re-signed
    assert len(await records.revoked()) == 1
    assert (await ca.crl.current()).extensions.get_extension_for_class(  # type: ignore[attr-defined]
        x509.CRLNumber
    ).value.crl_number == number


async def test_project_deleted_revokes_every_member(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await handle(
        Event(
            id="pc",
            type=EventType.PROJECT_CREATED,
            source="t",
            subject="p2",
            data={
                "project": "p2",
                "namespace": "p2",
                "members": [{"user": "alice", "role": "DataOwner"}, {"user": "bob", "role": "DataScientist"}],
            },
        ),
        ca,
    )
    assert len(await records.members("p2", None, Status.ACTIVE)) == 2
    await handle(event(EventType.PROJECT_DELETED, project="p2"), ca)
    assert await records.members("p2", None, Status.ACTIVE) == []
    assert not [k for k in secrets.secrets if k[0] == "p2"]
    assert len(events.ids(REVOKED)) == 2


async def test_rotation_at_two_thirds_of_life(ca: MemberCertificates) -> None:
    records, secrets, _ = fakes(ca)
    await handle(event(EventType.MEMBER_ADDED, project="p3", user="alice", role="DataOwner"), ca)
    first = secrets.cert("p3", "lulea-cert-alice")
    life = first.not_valid_after_utc - first.not_valid_before_utc
    ca.clock.now += life * 0.6  # type: ignore[attr-defined]
    assert await ca.rotate_due() == 0
    ca.clock.now += life * 0.1  # type: ignore[attr-defined]
    assert await ca.rotate_due() == 1
    second = secrets.cert("p3", "lulea-cert-alice")
    assert second.serial_number != first.serial_number
    old = records.by_serial[format(first.serial_number, "x")]
    assert old.status is Status.SUPERSEDED  # left to expire: running jobs keep working
    assert await ca.rotate_due() == 0


async def test_crl_number_increases_and_next_update_is_future(ca: MemberCertificates) -> None:
    numbers = []
    for _ in range(3):
        crl = await ca.crl.refresh()  # type: ignore[attr-defined]
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
        assert crl.next_update_utc > ca.clock()
    assert numbers == sorted(set(numbers))
    ca.clock.now += dt.timedelta(hours=9)  # type: ignore[attr-defined]
    fresh = await ca.crl.current()  # type: ignore[attr-defined]
    assert fresh.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > numbers[-1]
