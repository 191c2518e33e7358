"""The stack's own CA for real: certificates follow the Project objects into Secrets in the
project namespace, the broker's member listener sees the member's principal, and a removed
member is revoked: in the CRL, and refused at the broker's handshake and by the registry
within seconds."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from cryptography import x509
from kubernetes_asyncio import client as k8s
from pymongo import AsyncMongoClient

from lulea.core.auth import MemberPrincipal
from lulea.core.auth.clientcert import member_from_certificate
from lulea.devstack.endpoints import Stack
from lulea.devstack.kafka_revocation import handshake

from .identities import MemberFiles, create_topic, grant, member_files, member_secret
from .projects import create_project, delete_project, set_members, unique, wait_ready

pytestmark = pytest.mark.timeout(420)


def produce(client: dict[str, Any], topic: str) -> None:
    producer = Producer({**client, "message.timeout.ms": 15000})
    errors: list[KafkaError] = []
    producer.produce(topic, b"hello", on_delivery=lambda err, _msg: errors.append(err) if err else None)
    producer.flush(20)
    if errors:
        raise KafkaException(errors[0])


async def test_member_certificates_follow_the_project_and_revocation_reaches_the_broker(
        admin_api: k8s.ApiClient, stack: Stack, tmp_path: Path) -> None:
    project = unique("cae2e")
    owner = ("erin", "DataOwner")  # a project always has one
    await create_project(admin_api, project, [("alice", "DataOwner"), ("bob", "DataScientist"), owner])
    try:
        await wait_ready(admin_api, project)
        alice = await member_files(admin_api, project, "alice", tmp_path)
        bob = await member_files(admin_api, project, "bob", tmp_path)

        # The chain verifies to the platform root; the CN is <project>__alice.
        leaf = x509.load_pem_x509_certificates(alice.cert.read_bytes())[0]
        chain = x509.load_pem_x509_certificates(alice.ca.read_bytes())
        root = x509.load_pem_x509_certificate(stack.trust_file.read_bytes())
        assert chain[-1] == root
        assert member_from_certificate(leaf, chain[:-1], [root]) == MemberPrincipal(project, "alice")

        # Over mTLS the broker sees User:<project>__alice: her ACL lets her write; bob's cert
        # (same CA, no ACL) is refused: the principal comes from the CN, not from the CA.
        topic = create_topic(stack.kafka_admin, f"{project}.events")
        grant(stack.kafka_admin, f"User:{project}__alice", topic=topic, operations=("WRITE", "DESCRIBE"))
        produce(alice.kafka(stack).confluent(), topic)
        with pytest.raises(KafkaException) as refused:
            produce(bob.kafka(stack).confluent(), topic)
        assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

        # Removing alice from the Project revokes her: Secret deleted, serial in the CRL, the
        # broker refuses her next handshake, the registry refuses her certificate.
        bob_serial = bob.serial
        removed_at = time.monotonic()
        await set_members(admin_api, project, [("bob", "DataScientist"), owner])
        refused_after = await refused_by_broker(stack, alice, removed_at)
        async with asyncio.timeout(30):
            while await member_secret(admin_api, project, "alice") is not None:
                await asyncio.sleep(0.25)
        async with httpx.AsyncClient(base_url=stack.ca_public_url) as public:
            crl = x509.load_der_x509_crl((await public.get("/crl")).content)
            intermediate = x509.load_pem_x509_certificates((await public.get("/ca")).content)[0]
        assert crl.get_revoked_certificate_by_serial_number(alice.serial) is not None
        assert crl.get_revoked_certificate_by_serial_number(bob_serial) is None
        assert crl.is_signature_valid(intermediate.public_key())  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=stack.schema_registry_url, verify=alice.tls(stack)) as sr:
            async with asyncio.timeout(10):  # the registry polls the CRL every second
                while (answer := await sr.get("/subjects")).status_code == 200:
                    await asyncio.sleep(0.1)
        assert answer.status_code == 401 and "revoked" in answer.json()["message"]
        print(f"\nremoval -> refused by the broker after {refused_after:.2f}s, by the registry after "
              f"{time.monotonic() - removed_at:.2f}s")

        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
        records = mongo["lulea_ca"]["certificates"]
        alice_record = await records.find_one({"_id": format(alice.serial, "x")})
        assert alice_record is not None and alice_record["status"] == "revoked"
        assert await records.count_documents({"project": project, "user": "bob"}) == 1
        await mongo.close()
        bob_now = await member_secret(admin_api, project, "bob")
        assert bob_now is not None
        assert x509.load_pem_x509_certificates(bob_now["tls.crt"])[0].serial_number == bob_serial
    finally:
        await delete_project(admin_api, project)


async def refused_by_broker(stack: Stack, member: MemberFiles, since: float, within: float = 30) -> float:
    """Seconds from `since` until the broker's member listener refuses the member's handshake."""
    port = int(stack.kafka_member_bootstrap.rsplit(":", 1)[1])
    deadline = since + within
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(handshake, port, member.cert, member.key, member.ca):
            return time.monotonic() - since
        await asyncio.sleep(0.05)
    raise AssertionError(f"the broker still accepts {member.project}__{member.user} after {within}s")


async def test_time_from_removal_to_refusal_at_every_door(
        admin_api: k8s.ApiClient, stack: Stack, tmp_path: Path) -> None:
    """p50/p99 over 20 removals of the time to the broker's first refused handshake."""
    project = unique("revoke")
    users, owner = ["alice", "bob", "carol", "dave"], ("erin", "DataOwner")
    await create_project(admin_api, project, [owner, *((u, "DataScientist") for u in users)])
    timings: list[float] = []
    revoked: frozenset[int] = frozenset()
    try:
        await wait_ready(admin_api, project)
        for trial in range(5):
            members = {u: await member_files(admin_api, project, u, tmp_path / str(trial),
                                             not_serials=revoked) for u in users}
            revoked |= {m.serial for m in members.values()}
            remaining = list(users)
            for user in users:
                remaining.remove(user)
                since = time.monotonic()
                await set_members(admin_api, project, [owner, *((u, "DataScientist") for u in remaining)])
                timings.append(await refused_by_broker(stack, members[user], since))
            await set_members(admin_api, project, [owner, *((u, "DataScientist") for u in users)])
            await wait_ready(admin_api, project)
    finally:
        await delete_project(admin_api, project)
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    print(f"\nremoval -> refused at the broker over {len(timings)} removals: "
          f"p50 {statistics.median(timings):.2f}s p99 {p99:.2f}s max {timings[-1]:.2f}s")
    assert len(timings) == 20
