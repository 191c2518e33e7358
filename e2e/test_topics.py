"""Topics for real: a Topic CR becomes a Kafka topic, an Avro subject and ACLs that follow the
people, checked with the members' own certificates (read from their `lulea-cert-<user>`
Secrets) on the broker's member listener, and with Confluent's own serializer against our
registry. Refusals are asserted by Kafka's own error codes."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from e2e.identities import MemberFiles, member_files, platform_token
from e2e.projects import create_project, delete_project, set_members, unique, wait_ready
from lulea.devstack.endpoints import Stack

GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "topics"
CLICK = {"type": "record", "name": "Click", "namespace": "io.lulea.e2e",
         "fields": [{"name": "user", "type": "string"}, {"name": "url", "type": "string"}]}
CLICK_V2 = {**CLICK, "fields": [*CLICK["fields"], {"name": "ms", "type": "long", "default": 0}]}
CLICK_BROKEN = {**CLICK, "fields": [{"name": "user", "type": "long"}]}


# --- Topic CRs --------------------------------------------------------------------------------
async def create_topic_cr(api: k8s.ApiClient, project: str, name: str, spec: dict[str, Any]) -> None:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Topic",
            "metadata": {"name": name, "namespace": project}, "spec": spec}
    await k8s.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, project, PLURAL, body)


async def patch_topic(api: k8s.ApiClient, project: str, name: str, patch: dict[str, Any]) -> None:
    await k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, project, PLURAL, name, patch, _content_type="application/merge-patch+json")


async def get_topic(api: k8s.ApiClient, project: str, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, project, PLURAL, name)
        return found
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def ready_condition(topic: dict[str, Any] | None) -> dict[str, Any] | None:
    status = (topic or {}).get("status") or {}
    return next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)


async def wait_topic(api: k8s.ApiClient, project: str, name: str, *, reason: str = "Reconciled",
                     timeout: float = 60) -> dict[str, Any]:
    """Until Ready has `reason` for the Topic's current generation."""
    topic: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                topic = await get_topic(api, project, name)
                cond = ready_condition(topic)
                if (topic and cond and cond["reason"] == reason
                        and cond.get("observedGeneration") == topic["metadata"]["generation"]):
                    return topic
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"Topic {project}/{name} not {reason}: {(topic or {}).get('status')}") from None


# --- Kafka as the members use it --------------------------------------------------------------
def produce(member: MemberFiles, stack: Stack, topic: str, values: list[bytes]) -> None:
    producer = Producer(member.kafka(stack).confluent(**{"message.timeout.ms": 10000}))
    errors: list[KafkaError] = []
    for v in values:
        producer.produce(topic, v, on_delivery=lambda err, _m: errors.append(err) if err else None)
    producer.flush(15)
    if errors:
        raise KafkaException(errors[0])


def consumer_for(member: MemberFiles, stack: Stack, group: str) -> Consumer:
    return Consumer(member.kafka(stack).confluent(**{
        "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": True,
        "topic.metadata.refresh.interval.ms": 1000}))


def consume(member: MemberFiles, stack: Stack, topic: str, group: str, count: int,
            timeout: float = 30) -> list[bytes]:
    """`count` values, or KafkaException with the broker's refusal."""
    consumer = consumer_for(member, stack, group)
    consumer.subscribe([topic])
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                raise KafkaException(message.error())
            out.append(message.value())
    finally:
        consumer.close()
    return out


def refusal(call: Any, *args: Any) -> int:
    with pytest.raises(KafkaException) as refused:
        call(*args)
    return int(refused.value.args[0].code())


# --- the fixture: p1 (alice owner, bob scientist), p2 (dave owner), p3 (carol) ------------------
@pytest.fixture(scope="module")
async def world(admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[dict[str, Any]]:
    p1, p2, p3 = unique("tp1"), unique("tp2"), unique("tp3")
    await create_project(admin_api, p1, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await create_project(admin_api, p2, [("dave", "DataOwner")])
    await create_project(admin_api, p3, [("carol", "DataOwner")])
    try:
        for p in (p1, p2, p3):
            await wait_ready(admin_api, p)
        where = tmp_path_factory.mktemp("members")
        yield {"p1": p1, "p2": p2, "p3": p3, "dir": where,
               "alice": await member_files(admin_api, p1, "alice", where),
               "bob": await member_files(admin_api, p1, "bob", where),
               "dave": await member_files(admin_api, p2, "dave", where),
               "carol": await member_files(admin_api, p3, "carol", where)}
    finally:
        for p in (p1, p2, p3):
            await delete_project(admin_api, p, wait=False)
        for p in (p1, p2, p3):
            await delete_project(admin_api, p, timeout=120)  # never stuck on the Topics' finalizer


async def test_members_shares_and_removal_with_their_own_certificates(
        world: dict[str, Any], admin_api: k8s.ApiClient, stack: Stack) -> None:
    p1, p2 = world["p1"], world["p2"]
    alice, bob, dave, carol = world["alice"], world["bob"], world["dave"], world["carol"]
    await create_topic_cr(admin_api, p1, "clicks", {
        "partitions": 3, "config": {"retention.ms": "86400000"}, "avroSchema": json.dumps(CLICK)})
    ready = await wait_topic(admin_api, p1, "clicks")
    kt = f"{p1}.clicks"
    assert ready["status"]["kafkaTopic"] == kt and ready["status"]["partitions"] == 3
    assert ready["status"]["topicId"] and ready["status"]["schemaVersion"] == 1

    # alice produces Avro with Confluent's serializer, the schema registered by the operator only
    registry = SchemaRegistryClient(alice.registry(stack))
    serialize = AvroSerializer(registry, json.dumps(CLICK), conf={"auto.register.schemas": False})
    ctx = SerializationContext(kt, MessageField.VALUE)
    sent = [{"user": "u1", "url": "/a"}, {"user": "u2", "url": "/b"}]
    await asyncio.to_thread(produce, alice, stack, kt, [serialize(v, ctx) for v in sent])
    # bob consumes in a group under his project's prefix
    got = await asyncio.to_thread(consume, bob, stack, kt, f"{p1}.analytics", 2)
    deserialize = AvroDeserializer(SchemaRegistryClient(bob.registry(stack)))
    assert sorted((deserialize(v, ctx) for v in got), key=lambda r: r["user"]) == sent
    # carol (another project) is refused the topic; bob is refused another project's group
    assert await asyncio.to_thread(refusal, consume, carol, stack, kt, f"{world['p3']}.x", 1) \
        == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert await asyncio.to_thread(refusal, consume, bob, stack, kt, f"{p2}.x", 1) \
        == KafkaError.GROUP_AUTHORIZATION_FAILED
    assert await asyncio.to_thread(refusal, produce, dave, stack, kt, [b"x"]) \
        == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # a Read share: dave consumes in p2.readers, cannot produce
    await patch_topic(admin_api, p1, "clicks", {"spec": {"shares": [{"project": p2, "access": "Read"}]}})
    await wait_topic(admin_api, p1, "clicks")
    shared = await asyncio.to_thread(consume, dave, stack, kt, f"{p2}.readers", 2)
    assert len(shared) == 2
    assert await asyncio.to_thread(refusal, produce, dave, stack, kt, [b"x"]) \
        == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # ... and decodes them: the registry lets p2's members read p1's subject (read-only)
    assert await shared_schema_reads(dave, stack, kt, shared) == sent
    with pytest.raises(SchemaRegistryError) as written:
        SchemaRegistryClient(dave.registry(stack)).register_schema(
            f"{kt}-value", Schema(json.dumps(CLICK_V2), "AVRO"))
    assert (written.value.http_status_code, written.value.error_code) == (403, 40301)
    with pytest.raises(SchemaRegistryError) as hidden:  # carol's p3 has no share: not found
        AvroDeserializer(SchemaRegistryClient(carol.registry(stack)))(shared[0], ctx)
    assert (hidden.value.http_status_code, hidden.value.error_code) == (404, 40403)
    # ReadWrite lets him produce
    await patch_topic(admin_api, p1, "clicks", {"spec": {"shares": [{"project": p2, "access": "ReadWrite"}]}})
    await wait_topic(admin_api, p1, "clicks")
    await asyncio.to_thread(produce, dave, stack, kt, [serialize({"user": "d", "url": "/d"}, ctx)])
    # someone who joins p2 after the share reads without any change to the Topic
    generation = (await get_topic(admin_api, p1, "clicks") or {})["metadata"]["generation"]
    await set_members(admin_api, p2, [("dave", "DataOwner"), ("erin", "DataScientist")])
    erin = await member_files(admin_api, p2, "erin", world["dir"])
    async with asyncio.timeout(30):
        while True:
            try:
                if len(await asyncio.to_thread(consume, erin, stack, kt, f"{p2}.late", 3, 10)) == 3:
                    break
            except KafkaException:
                await asyncio.sleep(0.5)
    assert (await get_topic(admin_api, p1, "clicks") or {})["metadata"]["generation"] == generation
    # unsharing refuses dave again: a Topic edit, the ACL path alone
    unshared = time.monotonic()
    await patch_topic(admin_api, p1, "clicks", {"spec": {"shares": []}})
    async with asyncio.timeout(30):
        while True:
            try:
                await asyncio.to_thread(consume, dave, stack, kt, f"{p2}.readers2", 1, 3)
            except KafkaException as refused:
                assert refused.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
                break
    print(f"\nunshare -> dave refused after {time.monotonic() - unshared:.2f}s")
    async with asyncio.timeout(15):  # and the registry hides p1's schema from him again
        while True:
            try:
                SchemaRegistryClient(dave.registry(stack)).get_schema(
                    (await get_topic(admin_api, p1, "clicks") or {})["status"]["schemaId"])
            except SchemaRegistryError as gone:
                assert gone.http_status_code == 404
                break
            await asyncio.sleep(0.2)

    # removing bob from p1 refuses his running consumer within seconds (figures in the note)
    samples = [await remove_and_time(admin_api, p1, bob, stack, kt, world["dir"], i)
               for i in range(int(os.environ.get("LULEA_E2E_REMOVALS", "3")))]
    print(f"\nproject edit -> bob's first refused fetch: p50 {statistics.median(samples):.2f}s, "
          f"max {max(samples):.2f}s over {len(samples)} removals ({[round(s, 2) for s in samples]})")


async def shared_schema_reads(member: MemberFiles, stack: Stack, kt: str, values: list[bytes]
                              ) -> list[dict[str, Any]]:
    """`values` decoded by Confluent's AvroDeserializer with `member`'s own registry client;
    the registry learns the share from the Topic CR by a watch, so allow it a moment."""
    ctx = SerializationContext(kt, MessageField.VALUE)
    async with asyncio.timeout(15):
        while True:
            try:
                deserialize = AvroDeserializer(SchemaRegistryClient(member.registry(stack)))
                return sorted((deserialize(v, ctx) for v in values), key=lambda r: r["user"])
            except SchemaRegistryError as err:
                if err.http_status_code != 404:
                    raise
                await asyncio.sleep(0.2)


async def remove_and_time(api: k8s.ApiClient, p1: str, bob: MemberFiles, stack: Stack, kt: str,
                          where: Path, i: int) -> float:
    """bob consumes (an open connection: the CA's revocation only stops new handshakes); the
    Project edit removes him; seconds until the broker refuses his fetch. He is put back."""
    current = await member_files(api, p1, "bob", where)
    consumer = consumer_for(current, stack, f"{p1}.removal-{i}-{uuid.uuid4().hex[:4]}")
    consumer.subscribe([kt])
    async with asyncio.timeout(30):
        while not consumer.assignment():
            await asyncio.to_thread(consumer.poll, 0.5)
    start = time.monotonic()
    await set_members(api, p1, [("alice", "DataOwner")])
    refused_after = None
    deadline = start + 30
    while time.monotonic() < deadline:
        message = await asyncio.to_thread(consumer.poll, 0.1)
        if message is not None and message.error() and message.error().code() in (
                KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                KafkaError._AUTHENTICATION, KafkaError._SSL):
            refused_after = time.monotonic() - start
            break
    await asyncio.to_thread(consumer.close)
    await set_members(api, p1, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await wait_ready(api, p1)
    await member_files(api, p1, "bob", where, not_serials=frozenset({current.serial}))
    assert refused_after is not None, "bob's consumer was not refused within 30 s of his removal"
    return refused_after


async def test_schema_changes_through_the_registry(world: dict[str, Any], admin_api: k8s.ApiClient,
                                                   stack: Stack) -> None:
    p1 = world["p1"]
    await create_topic_cr(admin_api, p1, "schemas", {"avroSchema": json.dumps(CLICK)})
    first = await wait_topic(admin_api, p1, "schemas")
    await patch_topic(admin_api, p1, "schemas", {"spec": {"avroSchema": json.dumps(CLICK_BROKEN)}})
    refused = await wait_topic(admin_api, p1, "schemas", reason="SchemaIncompatible")
    message = ready_condition(refused)["message"]  # type: ignore[index]
    assert "user" in message, message  # which field, from the registry's verbose answer
    assert refused["status"]["schemaVersion"] == first["status"]["schemaVersion"] == 1
    subject = f"{p1}.schemas-value"
    token = platform_token(stack, "operator-topic")
    trust = ssl.create_default_context(cafile=str(stack.trust_file))
    async with httpx.AsyncClient(base_url=stack.schema_registry_url, verify=trust,
                                 headers={"Authorization": f"Bearer {token}"}) as sr:
        assert (await sr.get(f"/subjects/{subject}/versions")).json() == [1]
        await patch_topic(admin_api, p1, "schemas", {"spec": {"avroSchema": json.dumps(CLICK_V2)}})
        second = await wait_topic(admin_api, p1, "schemas")
        assert second["status"]["schemaVersion"] == 2
        assert (await sr.get(f"/subjects/{subject}/versions")).json() == [1, 2]
        assert (await sr.get(f"/config/{subject}")).json()["compatibilityLevel"] == "BACKWARD"


async def test_refusals_conflicts_and_drift(world: dict[str, Any], admin_api: k8s.ApiClient,
                                            stack: Stack) -> None:
    p1 = world["p1"]
    admin = AdminClient(stack.kafka_admin.confluent())
    # more replicas than brokers: Kafka's reason, in words
    await create_topic_cr(admin_api, p1, "toomany", {"replicationFactor": 3})
    refused = await wait_topic(admin_api, p1, "toomany", reason="KafkaRefused")
    assert "INVALID_REPLICATION_FACTOR" in ready_condition(refused)["message"]  # type: ignore[index]
    # a Kafka topic that exists and is not this Topic's: ResourceConflict, left untouched
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
    for f in admin.create_topics([NewTopic(f"{p1}.theirs", num_partitions=2)]).values():
        f.result(30)
    await create_topic_cr(admin_api, p1, "theirs", {"partitions": 4})
    await wait_topic(admin_api, p1, "theirs", reason="ResourceConflict")
    md = admin.list_topics(timeout=10).topics[f"{p1}.theirs"]
    assert len(md.partitions) == 2

    # drift: an ACL deleted and retention.ms changed behind the operator's back come back
    await create_topic_cr(admin_api, p1, "drift", {"config": {"retention.ms": "3600000"}})
    await wait_topic(admin_api, p1, "drift")
    kt = f"{p1}.drift"
    alice_read = AclBindingFilter(ResourceType.TOPIC, kt, ResourcePatternType.LITERAL,
                                  f"User:{p1}__alice", "*", AclOperation.READ, AclPermissionType.ALLOW)
    for f in admin.delete_acls([alice_read]).values():
        assert len(f.result(30)) == 1
    change = ConfigResource(ResourceType.TOPIC, kt, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    for f in admin.incremental_alter_configs([change]).values():
        f.result(30)
    changed = time.monotonic()

    def retention() -> str:
        entries = next(iter(admin.describe_configs([ConfigResource(ResourceType.TOPIC, kt)]).values()))
        return str(entries.result(30)["retention.ms"].value)

    async with asyncio.timeout(60):
        while not (admin.describe_acls(alice_read).result(30) and await asyncio.to_thread(retention)
                   == "3600000"):
            await asyncio.sleep(0.5)
    print(f"\ndrift (ACL deleted, retention.ms changed) repaired after {time.monotonic() - changed:.1f}s")


async def test_deletion_and_orphan(world: dict[str, Any], admin_api: k8s.ApiClient, stack: Stack) -> None:
    p1 = world["p1"]
    admin = AdminClient(stack.kafka_admin.confluent())
    await create_topic_cr(admin_api, p1, "gone", {"avroSchema": json.dumps(CLICK)})
    await create_topic_cr(admin_api, p1, "kept", {})
    await wait_topic(admin_api, p1, "gone")
    await wait_topic(admin_api, p1, "kept")
    orphan = {"metadata": {"annotations": {"lulea.io/deletion-policy": "Orphan"}}}
    await patch_topic(admin_api, p1, "kept", orphan)
    api = k8s.CustomObjectsApi(admin_api)
    for name in ("gone", "kept"):
        await api.delete_namespaced_custom_object(GROUP, VERSION, p1, PLURAL, name)
    async with asyncio.timeout(30):
        while await get_topic(admin_api, p1, "gone") or await get_topic(admin_api, p1, "kept"):
            await asyncio.sleep(0.2)
    async with asyncio.timeout(30):
        while f"{p1}.gone" in admin.list_topics(timeout=10).topics:
            await asyncio.sleep(0.2)
    assert f"{p1}.kept" in admin.list_topics(timeout=10).topics
    token = platform_token(stack, "operator-topic")
    trust = ssl.create_default_context(cafile=str(stack.trust_file))
    async with httpx.AsyncClient(base_url=stack.schema_registry_url, verify=trust,
                                 headers={"Authorization": f"Bearer {token}"}) as sr:
        assert f"{p1}.gone-value" not in (await sr.get("/subjects")).json()  # soft-deleted
        assert f"{p1}.gone-value" in (await sr.get("/subjects", params={"deleted": "true"})).json()


async def test_example_topic_reaches_ready(stack: Stack, admin_api: k8s.ApiClient) -> None:
    """examples/01-project then examples/03-topic, with kubectl, as the README says."""
    import subprocess

    from lulea.devstack.layout import REPO

    for example in ("01-project", "03-topic"):
        result = subprocess.run([stack.kubectl, f"--kubeconfig={stack.kubeconfig}", "apply", "-f",
                                 str(REPO / "examples" / example)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        if example == "01-project":
            for p in ("p1", "p2"):
                await wait_ready(admin_api, p, timeout=90)
    topic = await wait_topic(admin_api, "p1", "clicks", timeout=90)
    assert topic["status"]["kafkaTopic"] == "p1.clicks" and topic["status"]["partitions"] == 3
    assert topic["status"]["schemaVersion"] >= 1
    await k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, "p1", PLURAL, "clicks")
    async with asyncio.timeout(30):
        while await get_topic(admin_api, "p1", "clicks") is not None:
            await asyncio.sleep(0.2)


# --- per-member Kafka client quotas, read back with Kafka's own kafka-configs -------------------
def kafka_configs_describe(stack: Stack, where: Path, user: str) -> dict[str, float]:
    """`kafka-configs --describe --entity-type users --entity-name <user>` as the Kafka
    administrator (Kafka's own Java tool, not Lulea's code): the user's quotas."""
    import subprocess

    from lulea.devstack.layout import tool_paths

    keystore = where / "admin.keystore.pem"
    keystore.write_bytes(stack.kafka_admin_key.read_bytes() + stack.kafka_admin_cert.read_bytes())
    props = where / "admin.properties"
    props.write_text("security.protocol=SSL\nssl.keystore.type=PEM\n"
                     f"ssl.keystore.location={keystore}\nssl.truststore.type=PEM\n"
                     f"ssl.truststore.location={stack.trust_file}\n")
    result = subprocess.run(["java", "-cp", f"{tool_paths()['kafka']}/*", "kafka.admin.ConfigCommand",
                             "--bootstrap-server", stack.kafka_bootstrap, "--command-config", str(props),
                             "--describe", "--entity-type", "users", "--entity-name", user],
                            capture_output=True, text=True, check=True, timeout=120)
    out: dict[str, float] = {}
    for line in result.stdout.splitlines():
        if f"'{user}' are " in line:
            for part in line.split(" are ", 1)[1].split(","):
                key, _, value = part.strip().partition("=")
                out[key] = float(value)
    return out


async def wait_quotas(stack: Stack, where: Path, user: str, want: dict[str, float],
                      timeout: float = 90) -> float:
    start = time.monotonic()
    have: dict[str, float] = {}
    try:
        async with asyncio.timeout(timeout):
            while (have := await asyncio.to_thread(kafka_configs_describe, stack, where, user)) != want:
                await asyncio.sleep(1)
    except TimeoutError:
        raise AssertionError(f"quotas of {user}: {have}, want {want}") from None
    return time.monotonic() - start


def produce_throttled(member: MemberFiles, stack: Stack, topic: str, count: int, size: int
                      ) -> tuple[float, list[int]]:
    """Seconds to produce `count` values of `size` bytes, and the broker's throttle times (ms)
    librdkafka reported (its `throttle_cb`)."""
    throttles: list[int] = []
    producer = Producer(member.kafka(stack).confluent(**{
        "message.timeout.ms": 60000, "linger.ms": 5, "batch.size": 16384,
        "throttle_cb": lambda event: throttles.append(int(event.throttle_time * 1000))}))
    start = time.monotonic()
    errors: list[KafkaError] = []

    def delivered(err: KafkaError | None, _message: Any) -> None:
        if err is not None:
            errors.append(err)

    for _ in range(count):
        producer.produce(topic, os.urandom(size), on_delivery=delivered)
        producer.poll(0)
    producer.flush(90)
    elapsed = time.monotonic() - start
    if errors:
        raise KafkaException(errors[0])
    return elapsed, throttles


async def test_member_client_quotas_follow_membership(admin_api: k8s.ApiClient, stack: Stack,
                                                      tmp_path: Path) -> None:
    p = unique("tq")
    rate = 64 * 1024
    await create_project(admin_api, p, [("alice", "DataOwner"), ("bob", "DataScientist")],
                         {"kafkaProduceBytesPerSecond": rate, "kafkaConsumeBytesPerSecond": 4 * rate})
    try:
        await wait_ready(admin_api, p)
        both = {"producer_byte_rate": float(rate), "consumer_byte_rate": float(4 * rate)}
        seconds = await wait_quotas(stack, tmp_path, f"{p}__alice", both)
        await wait_quotas(stack, tmp_path, f"{p}__bob", both)
        print(f"\nProject created -> members' quotas in Kafka after {seconds:.1f}s")
        # the broker throttles alice's producer to her quota
        await create_topic_cr(admin_api, p, "q", {})
        await wait_topic(admin_api, p, "q")
        alice = await member_files(admin_api, p, "alice", tmp_path)
        # Kafka measures a rate over at least 10 one-second windows: 1.5 MiB at once is
        # ~150 KiB/s over them, well above the quota
        count, size = 150, 10 * 1024
        elapsed, throttles = await asyncio.to_thread(produce_throttled, alice, stack, f"{p}.q", count, size)
        print(f"alice produced {count * size // 1024} KiB in {elapsed:.1f}s under a {rate // 1024} KiB/s "
              f"quota; broker throttle reports: {len(throttles)}, max {max(throttles or [0])} ms")
        assert throttles and max(throttles) > 0, "the broker never throttled alice's producer"
        # a removed member loses his quota entity; a removed field removes it from the others
        await set_members(admin_api, p, [("alice", "DataOwner")])
        await wait_quotas(stack, tmp_path, f"{p}__bob", {})
        await k8s.CustomObjectsApi(admin_api).patch_cluster_custom_object(
            GROUP, VERSION, "projects", p, {"spec": {"quotas": {"kafkaConsumeBytesPerSecond": None}}},
            _content_type="application/merge-patch+json")
        await wait_quotas(stack, tmp_path, f"{p}__alice", {"producer_byte_rate": float(rate)})
    finally:
        await delete_project(admin_api, p, timeout=120)
    await wait_quotas(stack, tmp_path, f"{p}__alice", {})  # a deleted project's members: gone
