"""The stack's schema registry (TLS, authorization on, as the chart runs it) against real
FerretDB and Kafka, driven by Confluent's own client: confluent-kafka's SchemaRegistryClient,
AvroSerializer and AvroDeserializer go through it with a member's own certificate, producing to
and consuming from the broker's member listener.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from kubernetes_asyncio import client as k8s

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack

from .identities import MemberFiles, create_topic, grant, member_files, platform_token
from .projects import create_project, delete_project, unique, wait_ready

ORDER_V1 = {"type": "record", "name": "Order", "namespace": "p1.shop", "fields": [
    {"name": "id", "type": "string"}, {"name": "amount", "type": "int"}]}
ORDER_V2 = {**ORDER_V1, "fields": [*ORDER_V1["fields"],
                                   {"name": "currency", "type": "string", "default": "SEK"}]}


@pytest.fixture(scope="module")
async def p1(admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory
             ) -> AsyncIterator[tuple[str, MemberFiles, MemberFiles]]:
    """A project of this module's own: (name, alice its DataOwner, dave of another project)."""
    name, other = unique("srp"), unique("sro")
    await create_project(admin_api, name, [("alice", "DataOwner")])
    await create_project(admin_api, other, [("dave", "DataOwner")])
    try:
        await wait_ready(admin_api, name)
        await wait_ready(admin_api, other)
        where = tmp_path_factory.mktemp("members")
        yield (name, await member_files(admin_api, name, "alice", where),
               await member_files(admin_api, other, "dave", where))
    finally:
        await delete_project(admin_api, name)
        await delete_project(admin_api, other)


def test_confluent_serializer_round_trip_through_kafka(
        p1: tuple[str, MemberFiles, MemberFiles], stack: Stack) -> None:
    """alice, with her own certificate, on the member listener and the stack's registry."""
    project, alice, _ = p1
    topic = create_topic(stack.kafka_admin, f"{project}.orders-{uuid.uuid4().hex[:6]}")
    grant(stack.kafka_admin, f"User:{project}__alice", topic=topic, group=f"{project}.")
    client = SchemaRegistryClient(alice.registry(stack))
    v1 = AvroSerializer(client, json.dumps(ORDER_V1))
    v2 = AvroSerializer(client, json.dumps(ORDER_V2))
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    kafka = alice.kafka(stack)
    producer = Producer(kafka.confluent(**{"enable.idempotence": True}))
    sent = [{"id": "o-1", "amount": 100}, {"id": "o-2", "amount": 250, "currency": "EUR"}]
    producer.produce(topic, value=v1(sent[0], value_ctx))
    producer.produce(topic, value=v2(sent[1], value_ctx))
    assert producer.flush(30) == 0

    consumer = Consumer(kafka.confluent(**{"group.id": f"{project}.sr-{topic}",
                                           "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    deserialize = AvroDeserializer(client)  # writer schema fetched by id from the registry
    received = []
    deadline = time.monotonic() + 60
    while len(received) < 2 and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        received.append(deserialize(message.value(), value_ctx))
    consumer.close()
    assert received == [sent[0], sent[1]]

    subject = f"{topic}-value"
    assert subject in client.get_subjects()
    assert client.get_versions(subject) == [1, 2]
    latest = client.get_latest_version(subject)
    assert latest.version == 2
    # a reader on v2 decodes v1 data with the default filled in (resolution by our ids)
    reader = AvroDeserializer(client, json.dumps(ORDER_V2))
    first = v1(sent[0], value_ctx)
    assert reader(first, value_ctx) == {**sent[0], "currency": "SEK"}


def test_incompatible_schema_refused_through_client(
        p1: tuple[str, MemberFiles, MemberFiles], stack: Stack) -> None:
    project, alice, _ = p1
    client = SchemaRegistryClient(alice.registry(stack))
    subject = f"{project}.payments-value"
    client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    broken = {**ORDER_V1, "fields": [{"name": "id", "type": "long"}]}
    with pytest.raises(SchemaRegistryError) as caught:
        client.register_schema(subject, Schema(json.dumps(broken), "AVRO"))
    assert caught.value.error_code == 409
    assert "TYPE_MISMATCH" in caught.value.error_message
    verdict = client.test_compatibility(subject, Schema(json.dumps(ORDER_V2), "AVRO"))
    assert verdict is True


def test_slash_in_subject_and_lookup(p1: tuple[str, MemberFiles, MemberFiles], stack: Stack) -> None:
    project, alice, _ = p1
    client = SchemaRegistryClient(alice.registry(stack))
    subject = f"{project}.a/b-value"
    schema_id = client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    found = client.lookup_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, subject)
    assert subject in client.get_subjects()


def test_restart_keeps_everything(p1: tuple[str, MemberFiles, MemberFiles], stack: Stack) -> None:
    """The stack's own registry, killed and started again, as a Deployment would."""
    project, alice, _ = p1
    with httpx.Client(base_url=stack.schema_registry_url, verify=alice.tls(stack), timeout=30) as http:
        ids = []
        for i in range(5):
            answer = http.post(f"/subjects/{project}.r{i}-value/versions",
                               json={"schema": json.dumps({**ORDER_V1, "name": f"Order{i}"})})
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["id"])
        http.delete(f"/subjects/{project}.r0-value")
        http.put(f"/config/{project}.r1-value", json={"compatibility": "FULL"})
    layout = stack.layout
    assert devstack.kill(layout, "schema-registry") is not None
    devstack.start_one(layout, "schema-registry")
    with httpx.Client(base_url=stack.schema_registry_url, verify=alice.tls(stack), timeout=30) as http:
        mine = [s for s in http.get("/subjects").json() if s.startswith(f"{project}.r")]
        assert mine == [f"{project}.r{i}-value" for i in range(1, 5)]
        assert f"{project}.r0-value" in http.get("/subjects?deleted=true").json()
        assert http.get(f"/config/{project}.r1-value").json() == {"compatibilityLevel": "FULL"}
        for i, schema_id in enumerate(ids):
            body = http.get(f"/schemas/ids/{schema_id}").json()
            stored = json.loads(body["schema"])  # Avro Java's form: namespace kept apart
            assert (stored["name"], stored["namespace"]) == (f"Order{i}", "p1.shop")
        fresh = http.post(f"/subjects/{project}.r9-value/versions",
                          json={"schema": json.dumps({**ORDER_V1, "name": "Fresh"})}).json()["id"]
        assert fresh not in ids


async def test_concurrent_registrations_converge(p1: tuple[str, MemberFiles, MemberFiles],
                                                 stack: Stack) -> None:
    """Distinct schemas get distinct ids; one schema raced into many subjects gets one id."""
    project, alice, _ = p1
    async with httpx.AsyncClient(base_url=stack.schema_registry_url, verify=alice.tls(stack),
                                 timeout=30) as http:
        async def put(subject: str, name: str) -> int:
            body = {"schema": json.dumps({**ORDER_V1, "name": name})}
            response = await http.post(f"/subjects/{project}.{subject}/versions", json=body)
            assert response.status_code == 200, response.text
            return int(response.json()["id"])

        distinct = await asyncio.gather(*(put(f"c{i}-value", f"O{i}") for i in range(30)))
        shared = await asyncio.gather(*(put(f"s{i}-value", "Shared") for i in range(10)))
        same_subject = await asyncio.gather(*(put("same-value", "Same") for _ in range(10)))
        assert len(set(distinct)) == 30
        assert len(set(shared)) == 1 and shared[0] not in distinct
        assert len(set(same_subject)) == 1
        assert (await http.get(f"/subjects/{project}.same-value/versions")).json() == [1]


async def test_project_scope_with_real_credentials(p1: tuple[str, MemberFiles, MemberFiles],
                                                   stack: Stack) -> None:
    """A member sees its project only; the platform sees all; another project's subjects are
    404; an API-server token, an unbound token and no credentials are 401."""
    project, alice, dave = p1
    platform = {"Authorization": f"Bearer {platform_token(stack, 'operator-project')}"}
    body = {"schema": json.dumps(ORDER_V1)}
    url = stack.schema_registry_url
    async with httpx.AsyncClient(base_url=url, verify=alice.tls(stack), timeout=30) as as_alice, \
            httpx.AsyncClient(base_url=url, verify=dave.tls(stack), timeout=30) as as_dave, \
            httpx.AsyncClient(base_url=url, verify=str(stack.trust_file), timeout=30) as anonymous:
        own = await as_alice.post(f"/subjects/{project}.scoped-value/versions", json=body)
        assert own.status_code == 200, own.text
        other = await anonymous.post("/subjects/zz.other-value/versions", json=body, headers=platform)
        assert other.status_code == 200, other.text
        assert f"{project}.scoped-value" in (await as_alice.get("/subjects")).json()
        assert "zz.other-value" not in (await as_alice.get("/subjects")).json()
        hidden = await as_alice.get("/subjects/zz.other-value/versions")
        assert hidden.status_code == 404 and hidden.json()["error_code"] == 40401
        assert not any(s.startswith(f"{project}.") for s in (await as_dave.get("/subjects")).json())
        schema_id = own.json()["id"]
        assert (await as_dave.get(f"/schemas/ids/{schema_id}")).status_code == 404
        assert (await as_dave.get(f"/subjects/{project}.scoped-value/versions")).status_code == 404
        assert (await anonymous.get("/subjects")).status_code == 401
        api_token = {"Authorization": f"Bearer {stack.tokens['admin']}"}  # the API server's, no audience
        assert (await anonymous.get("/subjects", headers=api_token)).status_code == 401
        assert (await as_alice.put("/config", json={"compatibility": "NONE"})).json()["error_code"] == 40301
