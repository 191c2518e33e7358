"""Member certificates follow the members the Project objects name: `converge` is idempotent,
safe to interrupt, and an event's payload never decides anything."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from lulea.ca.domain.convergence import Convergence
from lulea.ca.domain.crl import CurrentCrl
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.store.base import Status
from lulea.ca.store.memory import MemoryEvents, MemoryRecords, MemorySecrets
from lulea.core.auth.clientcert import member_from_certificate
from lulea.core.events import Event, EventType
from lulea.core.membership import ProjectMembers
from lulea.core.workqueue import WorkQueue

ISSUED, REVOKED = str(EventType.CERTIFICATE_ISSUED), str(EventType.CERTIFICATE_REVOKED)


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
    certs = MemberCertificates(
        hierarchy, records, MemorySecrets(), MemoryEvents(), on_revoked=crl.refresh, clock=clock
    )
    certs.crl = crl  # type: ignore[attr-defined]
    return certs


def fakes(ca: MemberCertificates) -> tuple[MemoryRecords, MemorySecrets, MemoryEvents]:
    return ca.records, ca.secrets, ca.events  # type: ignore[return-value]


async def test_a_member_gets_a_verifiable_secret(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await ca.converge("p1", {"alice": "DataOwner"})
    data = secrets.secrets[("p1", "lulea-cert-alice")]["data"]
    assert set(data) == {"tls.crt", "tls.key", "ca.crt", "keystore.pem"}
    chain = x509.load_pem_x509_certificates(data["ca.crt"])
    leaf = secrets.cert("p1", "lulea-cert-alice")
    member = member_from_certificate(leaf, chain[:1], chain[1:])
    assert member.common_name == "p1__alice"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "p1"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "DataOwner"
    assert leaf.serial_number.bit_length() >= 64
    # the JVM's PEM keystore (Kafka ssl.keystore.type=PEM): the key, then leaf and intermediate
    assert data["keystore.pem"].startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(data["keystore.pem"], password=None)
    stored = x509.load_pem_x509_certificates(data["keystore.pem"].split(b"-----END PRIVATE KEY-----")[1])
    assert stored[0] == leaf and stored[1] == chain[0]
    assert key.public_key() == leaf.public_key()
    (record,) = records.by_serial.values()
    assert record.status is Status.ACTIVE and record.serial == format(leaf.serial_number, "x")
    assert events.ids(ISSUED) == {record.serial}


async def test_converging_again_issues_and_announces_nothing_new(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    for _ in range(3):
        await ca.converge("p1", {"alice": "DataOwner"})
    assert secrets.writes == 1 and len(records.by_serial) == 1
    assert len(events.published) == 1  # the outbox remembers what was announced


async def test_a_crash_between_record_and_secret_converges(ca: MemberCertificates) -> None:
    records, secrets, _ = fakes(ca)
    secrets.fail_next_put = True
    with pytest.raises(ConnectionError):
        await ca.converge("p1", {"bob": "DataScientist"})
    await ca.converge("p1", {"bob": "DataScientist"})  # the work queue retries
    active = await records.members("p1", "bob", Status.ACTIVE)
    assert len(active) == 1
    assert secrets.cert("p1", "lulea-cert-bob").serial_number == int(active[0].serial, 16)
    await ca.converge("p1", {"bob": "DataScientist"})
    assert secrets.writes == 1


async def test_a_crash_before_an_event_is_published_publishes_it_on_the_next_converge(
        ca: MemberCertificates) -> None:
    records, _, events = fakes(ca)
    events.fail_next = True
    with pytest.raises(ConnectionError):
        await ca.converge("p1", {"bob": "DataScientist"})
    assert events.ids(ISSUED) == set()
    await ca.converge("p1", {"bob": "DataScientist"})
    (record,) = records.by_serial.values()
    assert events.ids(ISSUED) == {record.serial}


async def test_a_role_change_reissues_and_revokes_the_old(ca: MemberCertificates) -> None:
    _, secrets, _ = fakes(ca)
    await ca.converge("p1", {"carol": "DataScientist"})
    old = secrets.cert("p1", "lulea-cert-carol").serial_number
    await ca.converge("p1", {"carol": "DataOwner"})
    new = secrets.cert("p1", "lulea-cert-carol")
    assert new.serial_number != old
    assert new.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "DataOwner"
    crl = await ca.crl.current()  # type: ignore[attr-defined]
    assert crl.get_revoked_certificate_by_serial_number(old) is not None
    assert crl.get_revoked_certificate_by_serial_number(new.serial_number) is None


async def test_a_member_no_longer_named_is_revoked_deleted_and_announced(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await ca.converge("p1", {"alice": "DataOwner", "dave": "DataOwner"})
    serial = secrets.cert("p1", "lulea-cert-dave").serial_number
    await ca.converge("p1", {"alice": "DataOwner"})
    assert ("p1", "lulea-cert-dave") not in secrets.secrets
    assert events.ids(REVOKED) == {format(serial, "x")}
    crl = await ca.crl.current()  # type: ignore[attr-defined]
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.affiliation_changed
    )
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    await ca.converge("p1", {"alice": "DataOwner"})  # again: nothing revoked, CRL not re-signed
    assert len(await records.revoked()) == 1
    assert (await ca.crl.current()).extensions.get_extension_for_class(  # type: ignore[attr-defined]
        x509.CRLNumber
    ).value.crl_number == number


async def test_a_project_gone_revokes_every_member(ca: MemberCertificates) -> None:
    records, secrets, events = fakes(ca)
    await ca.converge("p2", {"alice": "DataOwner", "bob": "DataScientist"})
    assert len(await records.members("p2", None, Status.ACTIVE)) == 2
    await ca.converge("p2", None)
    assert await records.members("p2", None, Status.ACTIVE) == []
    assert not [k for k in secrets.secrets if k[0] == "p2"]
    assert len(events.ids(REVOKED)) == 2


async def test_certificates_past_two_thirds_of_life_are_reissued_by_a_converge(
        ca: MemberCertificates) -> None:
    records, secrets, _ = fakes(ca)
    await ca.converge("p3", {"alice": "DataOwner"})
    first = secrets.cert("p3", "lulea-cert-alice")
    life = first.not_valid_after_utc - first.not_valid_before_utc
    ca.clock.now += life * 0.6  # type: ignore[attr-defined]
    assert await ca.due_projects() == set()
    ca.clock.now += life * 0.1  # type: ignore[attr-defined]
    assert await ca.due_projects() == {"p3"}
    await ca.converge("p3", {"alice": "DataOwner"})
    second = secrets.cert("p3", "lulea-cert-alice")
    assert second.serial_number != first.serial_number
    old = records.by_serial[format(first.serial_number, "x")]
    assert old.status is Status.SUPERSEDED  # left to expire: running jobs keep working
    assert await ca.due_projects() == set()


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


class View:
    """The Project objects: p2 exists with one member."""

    synced = True

    def __init__(self) -> None:
        self.projects = {"p2": ProjectMembers("p2", "uid-p2", {"dave": "DataOwner"}, False)}

    def project(self, name: str) -> ProjectMembers | None:
        return self.projects.get(name)

    def names(self) -> list[str]:
        return sorted(self.projects)


def forged(kind: EventType, **data: str) -> Event:
    return Event(id=f"forged-{kind}", type=kind, source="lulea/operator-project", subject="p2", data=data)


async def test_a_forged_member_added_certifies_nobody(ca: MemberCertificates) -> None:
    records, secrets, _ = fakes(ca)
    work = Convergence(View(), ca, WorkQueue())
    await work.triggered(forged(EventType.MEMBER_ADDED, project="p2", user="mallory", role="DataOwner"))
    await work.converge("p2")
    assert ("p2", "lulea-cert-mallory") not in secrets.secrets
    assert {r.user for r in records.by_serial.values()} == {"dave"}  # the Project's member only


async def test_a_forged_project_deleted_revokes_nothing(ca: MemberCertificates) -> None:
    records, _, _ = fakes(ca)
    view = View()
    work = Convergence(view, ca, WorkQueue())
    await work.converge("p2")
    await work.triggered(forged(EventType.PROJECT_DELETED, project="p2"))
    await work.converge("p2")
    assert [r.status for r in records.by_serial.values()] == [Status.ACTIVE]
    del view.projects["p2"]  # the Project really is gone: now its certificates go
    await work.resync()
    await work.converge("p2")
    assert [r.status for r in records.by_serial.values()] == [Status.REVOKED]


async def test_the_resync_visits_every_project_and_every_project_with_certificates(
        ca: MemberCertificates) -> None:
    await ca.converge("gone", {"erin": "DataOwner"})
    queue = WorkQueue()
    await Convergence(View(), ca, queue).resync()
    assert len(queue) == 2  # p2 from the view, "gone" from the records
