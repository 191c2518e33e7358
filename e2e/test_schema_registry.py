"""The schema registry against real FerretDB and Kafka, driven by Confluent's own client.

The service runs as `python -m lulea.schema_registry` on a free port (23000-23999) with its
own database; confluent-kafka's SchemaRegistryClient, AvroSerializer and AvroDeserializer go
through it end to end, producing to and consuming from the local broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from kubernetes_asyncio import client as k8s
from pymongo import MongoClient

ORDER_V1 = {"type": "record", "name": "Order", "namespace": "p1.shop", "fields": [
    {"name": "id", "type": "string"}, {"name": "amount", "type": "int"}]}
ORDER_V2 = {**ORDER_V1, "fields": [*ORDER_V1["fields"],
                                   {"name": "currency", "type": "string", "default": "SEK"}]}


def _free_port() -> int:
    for port in range(23100, 23999):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 23100-23999")


@dataclass
class Registry:
    url: str
    database: str
    mongo_uri: str
    log: Path
    extra_env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "LULEA_SCHEMA_REGISTRY_HOST": "127.0.0.1",
               "LULEA_SCHEMA_REGISTRY_PORT": self.url.rsplit(":", 1)[1],
               "LULEA_SCHEMA_REGISTRY_MONGO_URI": self.mongo_uri,
               "LULEA_SCHEMA_REGISTRY_MONGO_DATABASE": self.database,
               "LULEA_SCHEMA_REGISTRY_AUTH": "off", **(self.extra_env or {})}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "lulea.schema_registry"],
                                            env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"registry not ready: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None


def _serve(mongo_uri: str, tmp_path: Path, extra_env: dict[str, str] | None = None
           ) -> Iterator[Registry]:
    database = f"sr_e2e_{uuid.uuid4().hex[:10]}"
    reg = Registry(f"http://127.0.0.1:{_free_port()}", database, mongo_uri,
                   tmp_path / "schema-registry.log", extra_env)
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()
        with MongoClient(mongo_uri) as client:
            client.drop_database(database)
    assert "Traceback" not in reg.log.read_text(), reg.log.read_text()


@pytest.fixture
def registry(mongo_uri: str, tmp_path: Path) -> Iterator[Registry]:
    yield from _serve(mongo_uri, tmp_path)


@pytest.fixture
def secured_registry(mongo_uri: str, tmp_path: Path, stack: Any) -> Iterator[Registry]:
    yield from _serve(mongo_uri, tmp_path, {
        "LULEA_SCHEMA_REGISTRY_AUTH": "on",
        "LULEA_SCHEMA_REGISTRY_KUBECONFIG": str(stack.kubeconfig),
        "LULEA_SCHEMA_REGISTRY_ADMIN_PRINCIPALS": "admin"})


def _topic(kafka_bootstrap: str) -> str:
    name = f"p1.orders-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=1)]).values():
        future.result(timeout=30)
    return name


def test_confluent_serializer_round_trip_through_kafka(registry: Registry,
                                                       kafka_bootstrap: str) -> None:
    topic = _topic(kafka_bootstrap)
    client = SchemaRegistryClient({"url": registry.url})
    v1 = AvroSerializer(client, json.dumps(ORDER_V1))
    v2 = AvroSerializer(client, json.dumps(ORDER_V2))
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    sent = [{"id": "o-1", "amount": 100}, {"id": "o-2", "amount": 250, "currency": "EUR"}]
    producer.produce(topic, value=v1(sent[0], value_ctx))
    producer.produce(topic, value=v2(sent[1], value_ctx))
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"sr-{topic}",
                         "auto.offset.reset": "earliest"})
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
    assert client.get_subjects() == [subject]
    assert client.get_versions(subject) == [1, 2]
    latest = client.get_latest_version(subject)
    assert latest.version == 2
    # a reader on v2 decodes v1 data with the default filled in (resolution by our ids)
    reader = AvroDeserializer(client, json.dumps(ORDER_V2))
    first = v1(sent[0], value_ctx)
    assert reader(first, value_ctx) == {**sent[0], "currency": "SEK"}


def test_incompatible_schema_refused_through_client(registry: Registry) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    subject = "p1.payments-value"
    client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    broken = {**ORDER_V1, "fields": [{"name": "id", "type": "long"}]}
    with pytest.raises(SchemaRegistryError) as caught:
        client.register_schema(subject, Schema(json.dumps(broken), "AVRO"))
    assert caught.value.error_code == 409
    assert "TYPE_MISMATCH" in caught.value.error_message
    verdict = client.test_compatibility(subject, Schema(json.dumps(ORDER_V2), "AVRO"))
    assert verdict is True


def test_slash_in_subject_and_lookup(registry: Registry) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    subject = "p1.a/b-value"
    schema_id = client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    found = client.lookup_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, subject)
    assert client.get_subjects() == [subject]


def test_restart_keeps_everything(registry: Registry) -> None:
    base = registry.url
    ids = [httpx.post(f"{base}/subjects/p1.r{i}-value/versions", json={"schema": json.dumps(
        {**ORDER_V1, "name": f"Order{i}"})}).json()["id"] for i in range(5)]
    httpx.delete(f"{base}/subjects/p1.r0-value")
    httpx.put(f"{base}/config/p1.r1-value", json={"compatibility": "FULL"})
    registry.stop()
    registry.start()
    assert httpx.get(f"{base}/subjects").json() == [f"p1.r{i}-value" for i in range(1, 5)]
    assert httpx.get(f"{base}/subjects?deleted=true").json()[0] == "p1.r0-value"
    assert httpx.get(f"{base}/config/p1.r1-value").json() == {"compatibilityLevel": "FULL"}
    for i, schema_id in enumerate(ids):
        body = httpx.get(f"{base}/schemas/ids/{schema_id}").json()
        stored = json.loads(body["schema"])  # Avro Java's form: namespace kept apart
        assert (stored["name"], stored["namespace"]) == (f"Order{i}", "p1.shop")
    fresh = httpx.post(f"{base}/subjects/p1.r9-value/versions",
                       json={"schema": json.dumps({**ORDER_V1, "name": "Fresh"})}).json()["id"]
    assert fresh not in ids


async def test_concurrent_registrations_converge(registry: Registry) -> None:
    """Distinct schemas get distinct ids; one schema raced into many subjects gets one id."""
    async with httpx.AsyncClient(base_url=registry.url, timeout=30) as http:
        async def put(subject: str, name: str) -> int:
            body = {"schema": json.dumps({**ORDER_V1, "name": name})}
            response = await http.post(f"/subjects/{subject}/versions", json=body)
            assert response.status_code == 200, response.text
            return int(response.json()["id"])

        distinct = await asyncio.gather(*(put(f"p1.c{i}-value", f"O{i}") for i in range(30)))
        shared = await asyncio.gather(*(put(f"p1.s{i}-value", "Shared") for i in range(10)))
        same_subject = await asyncio.gather(*(put("p1.same-value", "Same") for _ in range(10)))
        assert len(set(distinct)) == 30
        assert len(set(shared)) == 1 and shared[0] not in distinct
        assert len(set(same_subject)) == 1
        assert (await http.get("/subjects/p1.same-value/versions")).json() == [1]


async def test_project_scope_with_real_tokens(secured_registry: Registry, stack: Any,
                                              admin_api: k8s.ApiClient) -> None:
    """TokenReview on the real API server: a project's service account sees its project only."""
    project = f"srp{uuid.uuid4().hex[:6]}"
    core = k8s.CoreV1Api(admin_api)
    await core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=project)))
    try:
        await core.create_namespaced_service_account(
            project, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="jobs")))
        request = k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=600))
        issued = await core.create_namespaced_service_account_token("jobs", project, request)
        member = {"Authorization": f"Bearer {issued.status.token}"}
        admin = {"Authorization": f"Bearer {stack.tokens['admin']}"}
        outsider = {"Authorization": f"Bearer {stack.tokens['alice']}"}
        body = {"schema": json.dumps(ORDER_V1)}
        async with httpx.AsyncClient(base_url=secured_registry.url, timeout=30) as http:
            own = await http.post(f"/subjects/{project}.orders-value/versions", json=body,
                                  headers=member)
            assert own.status_code == 200, own.text
            other = await http.post("/subjects/zz.other-value/versions", json=body, headers=admin)
            assert other.status_code == 200, other.text
            assert (await http.get("/subjects", headers=member)).json() == [
                f"{project}.orders-value"]
            hidden = await http.get("/subjects/zz.other-value/versions", headers=member)
            assert hidden.status_code == 404 and hidden.json()["error_code"] == 40401
            assert (await http.get("/subjects", headers=outsider)).json() == []
            schema_id = own.json()["id"]
            assert (await http.get(f"/schemas/ids/{schema_id}", headers=outsider)).status_code \
                == 404
            assert (await http.get("/subjects")).status_code == 401
            assert (await http.put("/config", json={"compatibility": "NONE"},
                                   headers=member)).json()["error_code"] == 40301
    finally:
        await core.delete_namespace(project)
