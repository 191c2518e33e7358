"""The CA for real: events in, Secrets in the project namespace, mTLS to a real broker with
the member's principal, revocation into the CRL. The CA runs as its own process (`python -m
lulea.ca`) against the stack's API server, Kafka and FerretDB; the mTLS broker is a real Kafka
with an SSL listener built from `lulea.ca issue-server` (until the stack's broker has one)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAuthorizationFailedError
from cryptography import x509
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from pymongo import AsyncMongoClient

from lulea.core.auth import MemberPrincipal
from lulea.core.auth.clientcert import member_from_certificate
from lulea.core.events import EventPublisher, EventType

pytestmark = pytest.mark.timeout(420)
CA_PORT, PLAIN, CONTROLLER, SSL_PORT = 22080, 22092, 22093, 22094
T = TypeVar("T")


def kafka_libs() -> Path:
    with contextlib.suppress(Exception):
        from lulea.devstack.layout import tool_paths

        return tool_paths()["kafka"]
    return Path.home() / ".cache" / "lulea" / "kafka-4.3.1" / "libs"


def java(*args: str) -> list[str]:
    return ["java", "-Xms128m", "-Xmx512m", "-cp", f"{kafka_libs()}/*", *args]


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, within: float = 60) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await probe()
        if value is not None:
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ca")
    run = [sys.executable, "-m", "lulea.ca"]
    subprocess.run([*run, "init", "--dir", str(base / "ca")], check=True)
    subprocess.run([*run, "init", "--dir", str(base / "ca")], check=True)  # idempotent
    subprocess.run([*run, "issue-server", "--dir", str(base / "ca"), "--cn", "kafka-broker",
                    "--san", "127.0.0.1", "--out-dir", str(base / "broker")], check=True)
    assert (base / "ca" / "intermediate.key").stat().st_mode & 0o077 == 0
    return base


@pytest.fixture(scope="module")
def mtls_broker(ca_dir: Path) -> Iterator[str]:
    """A one-node Kafka with the authorizer on and an mTLS listener (the stack's settings)."""
    d = ca_dir / "kafka"
    d.mkdir()
    broker = ca_dir / "broker"
    (d / "server.properties").write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{CONTROLLER}",
        f"listeners=PLAINTEXT://127.0.0.1:{PLAIN},CONTROLLER://127.0.0.1:{CONTROLLER},"
        f"SSL://127.0.0.1:{SSL_PORT}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{PLAIN},SSL://127.0.0.1:{SSL_PORT}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
        f"log.dirs={d / 'data'}", "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
        "auto.create.topics.enable=false",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:ANONYMOUS", "allow.everyone.if.no.acl.found=false",
        "ssl.keystore.type=PEM", f"ssl.keystore.location={broker / 'kafka-broker.keystore.pem'}",
        "ssl.truststore.type=PEM", f"ssl.truststore.location={broker / 'truststore.pem'}",
        "ssl.client.auth=required",
        "ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT",
    ]) + "\n")
    props = str(d / "server.properties")
    subprocess.run(java("kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()).replace(
        "-", "")[:22], "-c", props), check=True, capture_output=True)
    log = (d / "broker.log").open("wb")
    proc = subprocess.Popen(java("kafka.Kafka", props), stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"127.0.0.1:{PLAIN}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
async def events_topic(kafka_bootstrap: str) -> str:
    """A topic of our own, so this CA sees only the events this test publishes."""
    topic = f"lulea.events.ca-e2e-{secrets.token_hex(4)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    return topic


@pytest.fixture(scope="module")
async def ca_service(stack: Any, ca_dir: Path, events_topic: str) -> AsyncIterator[str]:
    env = {**os.environ,
           "LULEA_CA_PORT": str(CA_PORT), "LULEA_CA_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
           "LULEA_CA_MONGO_URI": stack.mongo_uri, "LULEA_CA_MONGO_DATABASE": "lulea_ca_e2e",
           "LULEA_CA_KUBECONFIG": str(stack.kubeconfig), "LULEA_CA_KEY_DIR": str(ca_dir / "ca"),
           "LULEA_CA_EVENTS_TOPIC": events_topic,
           "LULEA_CA_CONSUMER_GROUP": f"lulea-ca-e2e-{secrets.token_hex(4)}"}
    log_path = ca_dir / "ca.log"
    proc = spawn([sys.executable, "-m", "lulea.ca"], env, log_path)
    url = f"http://127.0.0.1:{CA_PORT}"
    try:
        async with httpx.AsyncClient() as http:
            async def ready() -> bool | None:
                assert proc.poll() is None, log_path.read_text()
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get(f"{url}/readyz")).status_code == 200 or None
                return None

            await eventually(ready, "the CA to be ready", 90)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
    text = log_path.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
    assert "PRIVATE KEY" not in text


def spawn(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


async def member_secret(api: k8s.ApiClient, project: str, user: str) -> dict[str, bytes] | None:
    try:
        secret = await k8s.CoreV1Api(api).read_namespaced_secret(f"lulea-cert-{user}", project)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def tls_context(ca_dir: Path, data: dict[str, bytes], name: str) -> ssl.SSLContext:
    d = ca_dir / name
    d.mkdir(exist_ok=True)
    for key, value in data.items():
        (d / key).write_bytes(value)
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    ctx.load_cert_chain(d / "tls.crt", d / "tls.key")
    return ctx


async def produce(ctx: ssl.SSLContext, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{SSL_PORT}",
                                security_protocol="SSL", ssl_context=ctx)
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"hello"), 30)
    finally:
        await producer.stop()


async def test_member_certificate_lifecycle(
    admin_api: k8s.ApiClient, kafka_bootstrap: str, mongo_uri: str, ca_dir: Path,
    ca_service: str, events_topic: str, mtls_broker: str,
) -> None:
    project = f"cae2e{secrets.token_hex(3)}"
    await k8s.CoreV1Api(admin_api).create_namespace(
        k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=project)))
    publisher = EventPublisher(kafka_bootstrap, source="lulea/e2e", topic=events_topic)
    await publisher.start()
    try:
        async def member_event(kind: EventType, user: str, role: str) -> None:
            await publisher.publish(kind, subject=f"{project}/{user}", key=project,
                                    data={"project": project, "user": user, "role": role},
                                    id_parts=(project, user, kind.value))

        await member_event(EventType.MEMBER_ADDED, "alice", "DataOwner")
        await member_event(EventType.MEMBER_ADDED, "bob", "DataScientist")
        alice = await eventually(lambda: member_secret(admin_api, project, "alice"), "alice's Secret")
        bob = await eventually(lambda: member_secret(admin_api, project, "bob"), "bob's Secret")

        # The chain verifies to the root written by `init`; the CN is <project>__alice.
        leaf = x509.load_pem_x509_certificates(alice["tls.crt"])[0]
        chain = x509.load_pem_x509_certificates(alice["ca.crt"])
        root = x509.load_pem_x509_certificate((ca_dir / "ca" / "root.crt").read_bytes())
        assert chain[-1] == root
        assert member_from_certificate(leaf, chain[:-1], [root]) == MemberPrincipal(project, "alice")

        # Over mTLS the broker sees User:<project>__alice: her ACL lets her write, bob's cert
        # (same CA, no ACL) is refused — the principal comes from the CN, not the CA.
        topic = f"{project}.events"
        admin = AIOKafkaAdminClient(bootstrap_servers=mtls_broker)
        await eventually(lambda: _start(admin), "the mTLS broker", 90)
        await admin.create_topics([NewTopic(topic, 1, 1)])
        await admin.close()
        acl = await asyncio.to_thread(subprocess.run, java(
            "org.apache.kafka.tools.AclCommand", "--bootstrap-server", mtls_broker, "--add",
            "--allow-principal", f"User:{project}__alice", "--operation", "Write",
            "--operation", "Describe", "--topic", topic), capture_output=True, text=True)
        assert acl.returncode == 0, acl.stderr
        await produce(tls_context(ca_dir, alice, "alice"), topic)
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(tls_context(ca_dir, bob, "bob"), topic)

        # Replaying bob's MemberAdded issues nothing new.
        bob_serial = x509.load_pem_x509_certificates(bob["tls.crt"])[0].serial_number
        await member_event(EventType.MEMBER_ADDED, "bob", "DataScientist")

        # Removing alice revokes her serial (in the CRL) and deletes her Secret.
        await member_event(EventType.MEMBER_REMOVED, "alice", "DataOwner")

        async def gone() -> bool | None:
            return True if await member_secret(admin_api, project, "alice") is None else None

        await eventually(gone, "alice's Secret to be deleted")
        async with httpx.AsyncClient() as http:
            crl = x509.load_der_x509_crl((await http.get(f"{ca_service}/crl")).content)
            chain_resp = await http.get(f"{ca_service}/ca")
        assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
        assert crl.get_revoked_certificate_by_serial_number(bob_serial) is None
        intermediate = x509.load_pem_x509_certificates(chain_resp.content)[0]
        assert crl.is_signature_valid(intermediate.public_key())

        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
        records = mongo["lulea_ca_e2e"]["certificates"]
        alice_record = await records.find_one({"_id": format(leaf.serial_number, "x")})
        assert alice_record is not None and alice_record["status"] == "revoked"
        assert await records.count_documents({"project": project, "user": "bob"}) == 1
        await mongo.close()
        bob_now = await member_secret(admin_api, project, "bob")
        assert bob_now is not None
        assert x509.load_pem_x509_certificates(bob_now["tls.crt"])[0].serial_number == bob_serial
    finally:
        await publisher.stop()
        await k8s.CoreV1Api(admin_api).delete_namespace(project)


async def _start(admin: AIOKafkaAdminClient) -> bool | None:
    try:
        await admin.start()
        return True
    except Exception:
        return None
