"""The event bus against the real broker: a project's life in order and exactly once, trace
context across processes, duplicates dropped, poison messages parked, redelivery after a crash."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kubernetes_asyncio import client as k8s
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lulea.core.events import Event, EventConsumer, EventPublisher, EventType, create_topics
from lulea.core.kafka import KafkaClient

from .projects import create_project, delete_project, set_members, unique, wait_ready

SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def tracing() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(SPANS))


async def own_topic(kafka: KafkaClient, prefix: str) -> str:
    """A topic of the test's own (the platform's topics carry only their owners' events)."""
    topic = unique(f"e2e-{prefix}")
    await create_topics(kafka, {topic: 1})
    return topic


@contextlib.asynccontextmanager
async def consuming(kafka: KafkaClient, handler: Callable[[Event], Awaitable[None]], *,
                    topic: str | None = None, types: set[EventType] | None = None, **options: object):
    """A consumer of the platform's project events, or of `topic` (every type) if given."""
    if topic is not None:
        dlq = unique("e2e-dlq")
        await create_topics(kafka, {dlq: 1})
        options = {"sources": {topic: set(types or EventType)}, "dead_letter_topic": dlq, **options}
    consumer = EventConsumer(kafka, group_id=unique("e2e"), handler=handler,  # type: ignore[arg-type]
                             types=types, **options)
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(30):
            await consumer.assigned.wait()
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.1)


async def test_a_projects_life_arrives_in_order_exactly_once_with_its_trace(
        admin_api: k8s.ApiClient, kafka: KafkaClient) -> None:
    name = unique("life")
    seen: list[Event] = []

    async def handle(event: Event) -> None:
        if event.data.get("project") == name:
            seen.append(event)

    # Start from the end of the topic: the consumer group is new, so read from the beginning
    # but only this project's events count.
    lifecycle = {EventType.PROJECT_CREATED, EventType.MEMBER_ADDED, EventType.MEMBER_ROLE_CHANGED,
                 EventType.MEMBER_REMOVED, EventType.PROJECT_DELETED}
    async with consuming(kafka, handle, types=lifecycle):
        await create_project(admin_api, name, [("alice", "DataOwner")])
        await wait_ready(admin_api, name)
        await set_members(admin_api, name, [("alice", "DataOwner"), ("bob", "DataScientist")])
        await wait_ready(admin_api, name)
        await set_members(admin_api, name, [("alice", "DataOwner"), ("bob", "DataOwner")])
        await wait_ready(admin_api, name)
        await set_members(admin_api, name, [("alice", "DataOwner")])
        await wait_ready(admin_api, name)
        await delete_project(admin_api, name)
        await _until(lambda: any(e.type is EventType.PROJECT_DELETED for e in seen))
        await asyncio.sleep(1)  # anything duplicated would arrive now

    life = [(e.type.value, e.data.get("user"), e.data.get("role")) for e in seen]
    assert life == [
        ("ProjectCreated", None, None),
        ("MemberAdded", "alice", "DataOwner"),
        ("MemberAdded", "bob", "DataScientist"),
        ("MemberRoleChanged", "bob", "DataOwner"),
        ("MemberRemoved", "bob", "DataOwner"),
        ("ProjectDeleted", None, None),
    ]
    assert len({e.id for e in seen}) == len(seen)
    # Each handle span is a child of the operator's publish span, in another process.
    handle_spans = {s.attributes["cloudevents.event_id"]: s for s in SPANS.get_finished_spans()
                    if s.name.startswith("handle ")}
    for event in seen:
        assert event.traceparent, f"{event.type} carries no traceparent"
        _, trace_id, parent_id, _ = event.traceparent.split("-")
        span = handle_spans[event.id]
        assert span.parent is not None and f"{span.parent.span_id:016x}" == parent_id
        assert f"{span.context.trace_id:032x}" == trace_id


async def test_retried_publishes_are_delivered_once(kafka: KafkaClient) -> None:
    project, handled = unique("dup"), []
    topic = await own_topic(kafka, "dup")

    async def handle(event: Event) -> None:
        if event.data["project"] == project:
            handled.append(event.id)

    async with consuming(kafka, handle, topic=topic) as consumer:
        async with EventPublisher(kafka, source="lulea/e2e", topic=topic) as publisher:
            for _ in range(3):  # a handler retried three times re-sends the same event id
                await publisher.publish(EventType.MEMBER_ADDED, subject=f"{project}/bob", key=project,
                                        data={"project": project, "user": "bob", "role": "DataOwner"},
                                        id_parts=(project, "1", "bob"))
        await _until(lambda: consumer.duplicates >= 2 and len(handled) == 1)
    assert len(handled) == 1


async def test_poison_messages_are_parked_and_do_not_block(kafka: KafkaClient) -> None:
    project, handled = unique("poison"), []
    topic = await own_topic(kafka, "poison")

    async def handle(event: Event) -> None:
        if event.data["project"] == project:
            handled.append(event)

    async with consuming(kafka, handle, topic=topic) as consumer:
        producer = AIOKafkaProducer(**kafka.aiokafka())
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"not avro at all", key=project.encode(),
                                         headers=[("ce_id", b"x")])
        finally:
            await producer.stop()
        async with EventPublisher(kafka, source="lulea/e2e", topic=topic) as publisher:
            await publisher.publish(EventType.PROJECT_DELETED, subject=project, key=project,
                                    data={"project": project}, id_parts=(project,))
        await _until(lambda: len(handled) == 1 and consumer.parked == 1)
    parked = AIOKafkaConsumer(consumer.dead_letter_topic, **kafka.aiokafka(),
                              auto_offset_reset="earliest", group_id=unique("dlq-reader"))
    await parked.start()
    try:
        message = await asyncio.wait_for(parked.getone(), 30)
    finally:
        await parked.stop()
    headers = dict(message.headers)
    assert message.value == b"not avro at all"
    assert headers["lulea_dlq_reason"].startswith(b"undecodable: missing CloudEvents header")


async def test_an_event_whose_handler_crashed_before_commit_is_redelivered(
        kafka: KafkaClient) -> None:
    project, group = unique("crash"), unique("crash-group")
    topic = await own_topic(kafka, "crash")
    sources = {topic: {EventType.PROJECT_DELETED}}
    first_try: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    delivered: list[str] = []

    async def crash_in_the_middle(event: Event) -> None:
        if event.data["project"] == project:
            first_try.set_result(None)
            await asyncio.sleep(3600)  # killed here, before the commit

    consumer = EventConsumer(kafka, group_id=group, handler=crash_in_the_middle, sources=sources)
    task = asyncio.create_task(consumer.run())
    async with EventPublisher(kafka, source="lulea/e2e", topic=topic) as publisher:
        await publisher.publish(EventType.PROJECT_DELETED, subject=project, key=project,
                                data={"project": project}, id_parts=(project,))
    await asyncio.wait_for(first_try, 60)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    async def handle(event: Event) -> None:
        if event.data["project"] == project:
            delivered.append(event.id)

    again = EventConsumer(kafka, group_id=group, handler=handle, sources=sources)
    task = asyncio.create_task(again.run())
    try:
        await _until(lambda: len(delivered) == 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


PUBLISH_IN_ANOTHER_PROCESS = """
import asyncio, json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from lulea.core.events import EventPublisher, EventType
from lulea.core.kafka import KafkaClient
spans = InMemorySpanExporter(); provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans)); trace.set_tracer_provider(provider)
async def main():
    kafka = KafkaClient.from_files(*json.loads(sys.argv[1]))
    async with EventPublisher(kafka, source="lulea/e2e-child", topic=sys.argv[3]) as p:
        e = await p.publish(EventType.PROJECT_DELETED, subject=sys.argv[2], key=sys.argv[2],
                            data={"project": sys.argv[2]}, id_parts=(sys.argv[2],))
    span = spans.get_finished_spans()[0]
    print(json.dumps({"id": e.id, "span_id": f"{span.context.span_id:016x}"}))
asyncio.run(main())
"""


async def test_the_publish_span_in_another_process_is_the_parent_of_the_handle_span(
        kafka: KafkaClient) -> None:
    project, handled = unique("trace"), []
    topic = await own_topic(kafka, "trace")

    async def handle(event: Event) -> None:
        if event.data["project"] == project:
            handled.append(event)

    async with consuming(kafka, handle, topic=topic):
        files = [kafka.bootstrap, str(kafka.trust_file), str(kafka.cert_file), str(kafka.key_file)]
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISH_IN_ANOTHER_PROCESS, json.dumps(files), project, topic,
            stdout=subprocess.PIPE)
        out, _ = await child.communicate()
        assert child.returncode == 0
        published = json.loads(out)
        await _until(lambda: len(handled) == 1)
    span = next(s for s in SPANS.get_finished_spans()
                if s.attributes.get("cloudevents.event_id") == published["id"])
    assert span.parent is not None and f"{span.parent.span_id:016x}" == published["span_id"]
    assert str(uuid.UUID(published["id"])) == handled[0].id


def replay(kafka: KafkaClient, group: str, *flags: str) -> str:
    """`python -m lulea.core.events replay`, as the Kafka administrator runs it."""
    env = {**os.environ, "LULEA_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "LULEA_KAFKA_TRUST_FILE": str(kafka.trust_file), "LULEA_KAFKA_CERT_FILE": str(kafka.cert_file),
           "LULEA_KAFKA_KEY_FILE": str(kafka.key_file)}
    done = subprocess.run([sys.executable, "-m", "lulea.core.events", "replay", "--group", group, *flags],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_parked_event_is_replayed_once_its_handler_is_fixed(kafka: KafkaClient) -> None:
    project, group = unique("replay"), unique("replay-group")
    topic = await own_topic(kafka, "replay")
    sources = {topic: {EventType.PROJECT_DELETED}}
    handled: list[str] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("the database is away")

    async def fixed(event: Event) -> None:
        if event.data["project"] == project:
            handled.append(event.id)

    consumer = EventConsumer(kafka, group_id=group, handler=broken, sources=sources, max_attempts=2,
                             retry_backoff=0.05)
    task = asyncio.create_task(consumer.run())
    try:
        async with EventPublisher(kafka, source="lulea/e2e", topic=topic) as publisher:
            await publisher.publish(EventType.PROJECT_DELETED, subject=project, key=project,
                                    data={"project": project}, id_parts=(project,))
        await _until(lambda: consumer.parked == 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert "would replay 1 events" in await asyncio.to_thread(replay, kafka, group, "--dry-run")
    assert "replayed 1 events" in await asyncio.to_thread(replay, kafka, group)
    assert "replayed 0 events" in await asyncio.to_thread(replay, kafka, group)  # progress is kept
    again = EventConsumer(kafka, group_id=group, handler=fixed, sources=sources)
    task = asyncio.create_task(again.run())
    try:
        await _until(lambda: len(handled) == 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
