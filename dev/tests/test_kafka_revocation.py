"""The revocation plug-in inside the real broker: a one-node KRaft broker of our own with a member
listener (LuleaMember), a platform listener (LuleaPlatform) and a plain PKIX one for comparison,
certificates from Lulea's CA, and the CRL served over HTTP as the CA serves it.

Needs the Kafka libs and the plug-in jar (`bash dev/tools.sh kafka kafka-revocation`); skipped
without them. `LULEA_REVOCATION_TRIALS=20` repeats the revocation trial (bench/kafka_revocation).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from cryptography.hazmat.primitives import serialization

from lulea.ca.domain.hierarchy import Hierarchy, load_files, new_key
from lulea.ca.domain.issuance import issue_member, sign
from lulea.ca.domain.profiles import Profile, Subject
from lulea.ca.domain.revocation import RevokedEntry, build_crl
from lulea.ca.store.base import Reason
from lulea.ca.store.keyfiles import KeyFiles
from lulea.core.auth import MemberPrincipal
from lulea.devstack.kafka import MEMBER, PLATFORM, Revocation
from lulea.devstack.kafka_revocation import Broker, CrlEndpoint, free_ports, handshake
from lulea.devstack.layout import tool_paths
from lulea.devstack.process import stop

pytestmark = pytest.mark.slow
REFRESH_MS = 1000  # the plug-in's default
TRIALS = int(os.environ.get("LULEA_REVOCATION_TRIALS", "3"))


def _built() -> tuple[Path, Path] | str:
    tools = tool_paths()
    libs, jar = tools.get("kafka"), tools.get("kafka-revocation")
    if libs is None or not (libs / ".complete").exists():
        return "Kafka libs not built: run `bash dev/tools.sh kafka`"
    if jar is None or not jar.exists():
        return "the revocation plug-in is not built: run `bash dev/tools.sh kafka-revocation`"
    return libs, jar


@dataclass(frozen=True)
class Client:
    """A certificate as a client holds it: PEM leaf + intermediate, key, and the CA root."""

    cn: str
    serial: int
    cert: Path
    key: Path
    ca: Path

    def kafka(self, port: int) -> dict[str, str]:
        return {"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "SSL",
                "ssl.ca.location": str(self.ca), "ssl.certificate.location": str(self.cert),
                "ssl.key.location": str(self.key), "socket.timeout.ms": "5000"}


@dataclass
class Pki:
    """Lulea's CA (python -m lulea.ca) and the CRL it would publish: revoked serials, CRL number."""

    directory: Path
    hierarchy: Hierarchy
    truststore: Path
    revoked: list[RevokedEntry] = field(default_factory=list)
    number: int = 0

    def member(self, project: str, user: str) -> Client:
        issued = issue_member(self.hierarchy, Subject.member(MemberPrincipal(project, user), "DataScientist"))
        return self._write(f"{project}__{user}", issued.secret_data(), issued.cert.serial_number)

    def service(self, account: str) -> Client:
        """A platform service's certificate as in the cluster: its Service's DNS name as SAN. (Without a
        DNS SAN the JDK checks a DNS-like CN such as `lulea-ca` against the intermediate's name
        constraints, and PKIX refuses it before the plug-in is asked.)"""
        key = new_key()
        subject = Subject(account, Profile.SERVER, organization="Lulea",
                          dns_names=(f"{account}.lulea.svc.cluster.local",))
        signed = sign(self.hierarchy, subject, key.public_key())
        data = {"tls.crt": signed.cert_pem() + self.hierarchy.intermediate.cert_pem(),
                "tls.key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())}
        return self._write(account, data, signed.cert.serial_number)

    def _write(self, name: str, data: dict[str, bytes], serial: int) -> Client:
        d = self.directory / "clients" / format(serial, "x")
        d.mkdir(parents=True)
        (d / "tls.crt").write_bytes(data["tls.crt"])
        (d / "tls.key").write_bytes(data["tls.key"])
        return Client(name, serial, d / "tls.crt", d / "tls.key", self.truststore)

    def crl(self, *revoke: Client) -> bytes:
        """The next CRL (number + 1), with `revoke` added to what was revoked before."""
        now = dt.datetime.now(dt.UTC)
        self.revoked += [RevokedEntry(c.serial, now, Reason.MEMBER_REMOVED) for c in revoke]
        self.number += 1
        crl = build_crl(self.hierarchy.intermediate, self.revoked, self.number, now=now)
        return crl.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def built() -> tuple[Path, Path]:
    found = _built()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    for step in (["init", "--dir", str(d / "ca")],
                 ["issue-server", "--dir", str(d / "ca"), "--cn", "kafka-broker", "--san", "127.0.0.1",
                  "--out-dir", str(d / "kafka")]):
        subprocess.run([sys.executable, "-m", "lulea.ca", *step], check=True, capture_output=True)
    return Pki(d, load_files(KeyFiles(d / "ca")), d / "kafka" / "truststore.pem")


@pytest.fixture(scope="module")
def crl_endpoint(pki: Pki) -> Iterator[CrlEndpoint]:
    endpoint = CrlEndpoint(pki.crl())
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def broker(built: tuple[Path, Path], pki: Pki, crl_endpoint: CrlEndpoint,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    libs, jar = built
    d = tmp_path_factory.mktemp("kafka")
    names = ["PLAINTEXT", "CONTROLLER", "PLATFORM", "MEMBER", "PKIX"]
    broker = Broker(
        directory=d, libs=libs, jar=jar, keystore=pki.directory / "kafka" / "kafka-broker.keystore.pem",
        truststore=pki.truststore,
        revocation=Revocation(crl_endpoint.url, cache_file=d / "crl-cache.der", refresh_ms=REFRESH_MS),
        ssl_listeners={"PLATFORM": PLATFORM, "MEMBER": MEMBER, "PKIX": "PKIX"},
        ports=dict(zip(names, free_ports(len(names)), strict=True)),
    )
    process = broker.start()
    try:
        _grant_topic(broker, "proj")
        yield broker
    finally:
        stop(process)


def _lists_topics(client: Client, port: int) -> list[str] | None:
    """The topics `client` may see through the listener on `port`, or None if it cannot connect."""
    try:
        return sorted(AdminClient(client.kafka(port)).list_topics(timeout=8).topics)
    except KafkaException:
        return None


def _grant_topic(broker: Broker, project: str) -> None:
    """A topic of `project` its members may describe (created over PLAINTEXT, the super user)."""
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{broker.ports['PLAINTEXT']}"})
    for future in admin.create_topics([NewTopic(f"{project}.events", 1, 1)]).values():
        future.result(timeout=30)
    acl = AclBinding(ResourceType.TOPIC, f"{project}.", ResourcePatternType.PREFIXED, "User:*", "*",
                     AclOperation.DESCRIBE, AclPermissionType.ALLOW)
    for future in admin.create_acls([acl]).values():
        future.result(timeout=30)


def test_a_member_lists_topics_on_the_member_listener_and_is_refused_on_the_platform_one(
        broker: Broker, pki: Pki) -> None:
    alice = pki.member("proj", "alice")
    assert _lists_topics(alice, broker.ports["MEMBER"]) == ["proj.events"]
    assert _lists_topics(alice, broker.ports["PLATFORM"]) is None
    assert "Refused client certificate CN=proj__alice" in broker.log.read_text()
    assert "on a LuleaPlatform listener: a member certificate may not use the platform listener" in \
        broker.log.read_text()


def test_a_service_is_refused_on_the_member_listener_and_accepted_on_the_platform_one(
        broker: Broker, pki: Pki) -> None:
    service = pki.service("lulea-ca")
    assert handshake(broker.ports["PLATFORM"], service.cert, service.key, service.ca)
    assert not handshake(broker.ports["MEMBER"], service.cert, service.key, service.ca)
    # Refused by the CN rule, not by PKIX:
    assert (f"Refused client certificate CN=lulea-ca serial={service.serial:x} on a LuleaMember listener: "
            "not a member certificate") in broker.log.read_text()


def test_a_removed_member_is_refused_about_one_refresh_period_after_the_crl_changes(
        broker: Broker, pki: Pki, crl_endpoint: CrlEndpoint) -> None:
    port = broker.ports["MEMBER"]
    latencies: list[float] = []
    for trial in range(TRIALS):
        member = pki.member("proj", f"leaver{trial}")
        assert handshake(port, member.cert, member.key, member.ca), "a fresh member is accepted"
        crl_endpoint.publish(pki.crl(member))
        changed = time.monotonic()
        deadline = changed + 10 * REFRESH_MS / 1000
        while handshake(port, member.cert, member.key, member.ca):
            assert time.monotonic() < deadline, f"still accepted {10 * REFRESH_MS} ms after the CRL changed"
        latencies.append((time.monotonic() - changed) * 1000)
        time.sleep(REFRESH_MS / 1000 * (trial % 4) / 4)  # spread the changes over the poll period
    assert _lists_topics(member, port) is None, "the last removed member can still list topics"
    stayer = pki.member("proj", "stayer")
    assert _lists_topics(stayer, port) == ["proj.events"], "a member still on the project is refused"
    log = broker.log.read_text()
    assert f"Refused client certificate CN=proj__leaver0 serial={pki.revoked[0].serial:x}" in log
    assert f"CRL number {pki.number} " in log  # the INFO line of the refresh that changed the number
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(f"\nCRL change -> first refused handshake over {len(latencies)} trials (refresh {REFRESH_MS} ms): "
          f"p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms")


def test_handshake_cost_next_to_plain_pkix(broker: Broker, pki: Pki) -> None:
    """Printed, not asserted: connect + full TLS 1.3 handshake + ApiVersions, median of 100 each."""
    member = pki.member("proj", "timer")
    runs: dict[str, list[float]] = {"PKIX": [], "MEMBER": []}
    for _ in range(110):
        for name, samples in runs.items():
            start = time.perf_counter()
            assert handshake(broker.ports[name], member.cert, member.key, member.ca)
            samples.append((time.perf_counter() - start) * 1000)
    pkix, ours = (statistics.median(s[10:]) for s in runs.values())
    print(f"\nhandshake + ApiVersions, median of 100: PKIX {pkix:.2f} ms, LuleaMember {ours:.2f} ms "
          f"(x{ours / pkix:.2f})")
