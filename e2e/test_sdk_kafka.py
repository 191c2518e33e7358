"""The SDK's Kafka against the real stack: alice's member certificate (from her Secret, as a job
mounts it), the member listener, the schema registry. The topic, its ACLs and its schema are
made by hand as the Topic operator will (it is not merged yet); then code that names neither
an endpoint, a certificate nor a schema sends and receives dicts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import Schema
from kubernetes_asyncio import client as k8s

import lulea.sdk
from lulea.devstack.endpoints import Stack
from lulea.sdk.errors import LuleaError, NotFound

from .identities import MemberFiles, create_topic, member_files
from .projects import create_project, delete_project, unique, wait_ready
from .test_topics import create_topic_cr, wait_topic

CLICK = {"type": "record", "name": "Click", "namespace": "lulea.examples", "fields": [
    {"name": "user", "type": "string"}, {"name": "page", "type": "string"},
    {"name": "ms", "type": "long"}]}


@dataclass
class World:
    stack: Stack
    project: str
    alice: MemberFiles
    env: dict[str, str]  # what the GpuJob operator injects into alice's job


def job_env(stack: Stack, member: MemberFiles) -> dict[str, str]:
    return {"LULEA_PROJECT": member.project, "LULEA_USER": member.user, "LULEA_JOB": "sdk-e2e",
            "LULEA_CERT_DIR": str(member.cert.parent),
            "LULEA_KAFKA_BOOTSTRAP": stack.kafka_member_bootstrap,
            "LULEA_SCHEMA_REGISTRY_URL": stack.schema_registry_url}


@pytest.fixture(scope="module")
async def world(stack: Stack, admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[World]:
    project = unique("sdk")
    await create_project(admin_api, project, [("alice", "DataOwner")])
    try:
        await wait_ready(admin_api, project)
        alice = await member_files(admin_api, project, "alice", tmp_path_factory.mktemp("certs"))
        # the Topics as a DataOwner declares them: the Topic operator makes topic, ACLs, schema
        await create_topic_cr(admin_api, project, "clicks", {"avroSchema": json.dumps(CLICK)})
        await create_topic_cr(admin_api, project, "noschema", {})
        for name in ("clicks", "noschema"):
            await wait_topic(admin_api, project, name)
        yield World(stack, project, alice, job_env(stack, alice))
    finally:
        await delete_project(admin_api, project, wait=False)


def test_a_job_produces_and_consumes_dicts_with_nothing_but_the_sdk(world: World) -> None:
    project = lulea.sdk.login(environ=world.env)
    sent = [{"user": f"u{i}", "page": f"/p/{i % 7}", "ms": 1000 + i} for i in range(200)]
    with project.kafka.producer("clicks") as producer:
        for i, click in enumerate(sent):
            producer.send(click, key=click["user"] if i % 2 else None)
    assert producer.delivered == len(sent)
    with project.kafka.consumer("clicks", group="analytics") as consumer:
        got = list(consumer.records(max_records=len(sent), timeout=60))
    assert sorted(got, key=lambda c: c["ms"]) == sent


def test_the_wire_is_confluent_avro_that_a_plain_client_reads(world: World) -> None:
    """Any Confluent-compatible client reads what the SDK wrote: magic byte 0, the schema id."""
    project = lulea.sdk.login(environ=world.env)
    schema_id = project.kafka.registry.get_latest_version(f"{world.project}.clicks-value").schema_id
    with project.kafka.producer("clicks") as producer:
        producer.send({"user": "wire", "page": "/", "ms": 1})
    raw = Consumer(project.kafka.config(**{"group.id": f"{world.project}.raw",
                                           "auto.offset.reset": "earliest"}))
    raw.subscribe([f"{world.project}.clicks"])
    try:
        msg = None
        for _ in range(120):
            msg = raw.poll(0.5)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and msg.error() is None
        value = msg.value()
        assert value is not None and value[0] == 0
        assert int.from_bytes(value[1:5], "big") == schema_id
    finally:
        raw.close()


def test_a_record_that_does_not_fit_the_schema_is_refused_before_the_wire(world: World) -> None:
    producer = lulea.sdk.login(environ=world.env).kafka.producer("clicks")
    with pytest.raises(ValueError, match=f"does not fit the schema of {world.project}.clicks"):
        producer.send({"user": "u1", "page": 3})
    producer.flush()


def test_a_topic_without_a_schema_says_so(world: World) -> None:
    with pytest.raises(NotFound, match=rf"topic {world.project}.noschema has no schema .*-value"):
        lulea.sdk.login(environ=world.env).kafka.producer("noschema")


def test_another_projects_topic_is_refused(world: World) -> None:
    """alice names a topic of a project she is not in: the registry does not show her its
    subject (404), so the SDK stops before Kafka."""
    with pytest.raises(NotFound):
        lulea.sdk.login(environ=world.env).kafka.producer("other-project.clicks")


def test_a_group_outside_the_acl_is_refused_with_a_hint(world: World, tmp_path: Path) -> None:
    """The consumer's group is always inside `<project>.`; reading a topic without an ACL
    (the raw config, a topic she has no grant on) is refused with a readable message."""
    create_topic(world.stack.kafka_admin, f"{world.project}.closed")
    registry = lulea.sdk.login(environ=world.env).kafka.registry
    registry.register_schema(f"{world.project}.closed-value", Schema(json.dumps(CLICK), "AVRO"))
    consumer = lulea.sdk.login(environ=world.env).kafka.consumer("closed", group="g")
    try:
        with pytest.raises(LuleaError, match=f"not allowed to read {world.project}.closed"):
            list(consumer.records(max_records=1, timeout=30))
    finally:
        consumer.close()
