"""Publishing and consuming platform events on Kafka.

Producer: idempotent (acks=all), keyed by project so a project's events stay in order.
Consumer: a consumer group with manual commits after the handler succeeds (at-least-once),
de-duplication by event id, a rebalance listener that never commits across a rebalance, and
a dead-letter topic for messages that cannot be decoded or keep failing their handler.
The publish span is the parent of the handle span, across processes, through `traceparent`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from opentelemetry import propagate, trace

from lulea.core.events.codec import EventType
from lulea.core.events.envelope import Event, event_id
from lulea.core.events.topics import PLATFORM_PREFIX, topic_of
from lulea.core.kafka import KafkaClient
from lulea.core.metrics import PUBLISHED

log = logging.getLogger("lulea.events")
tracer = trace.get_tracer("lulea.core.events")
Handler = Callable[[Event], Awaitable[None]]
TOPIC_ALREADY_EXISTS = 36


class EventPublisher:
    """Publishes one component's events on that component's own topic (see `topics`): the
    topic's ACL, not the event, says who published it."""

    def __init__(self, kafka: KafkaClient, *, source: str, topic: str) -> None:
        self.kafka, self.source, self.topic = kafka, source, topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect; the topic must exist (`python -m lulea.core.events setup` creates it)."""
        self._producer = AIOKafkaProducer(**self.kafka.aiokafka(), enable_idempotence=True,
                                          acks="all", linger_ms=2)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> EventPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> Event:
        """Publish one event and wait until the broker has it (acks=all)."""
        (event,) = await self.publish_many([Publication(event_type, subject, key, data, tuple(id_parts))])
        return event

    async def publish_many(self, publications: Sequence[Publication]) -> list[Event]:
        """Publish in order without waiting for each: the idempotent producer keeps the order of
        one key's events; returns once the broker has all of them."""
        if self._producer is None:
            raise RuntimeError("EventPublisher.start() was not awaited")
        for p in publications:
            if self.topic.startswith(PLATFORM_PREFIX) and topic_of(p.type) != self.topic:
                raise ValueError(f"{p.type.value} events belong on {topic_of(p.type)}, not {self.topic}")
        events, deliveries = [], []
        for p in publications:
            with tracer.start_as_current_span(f"publish {p.type.value}",
                                              kind=trace.SpanKind.PRODUCER) as span:
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                event = Event(id=event_id(p.type, *p.id_parts), type=p.type, source=self.source,
                              subject=p.subject, data=p.data, traceparent=carrier.get("traceparent"),
                              tracestate=carrier.get("tracestate"))
                span.set_attribute("messaging.destination.name", self.topic)
                span.set_attribute("cloudevents.event_id", event.id)
                deliveries.append(await self._producer.send(
                    self.topic, event.value(), key=p.key.encode(), headers=event.headers()))
            events.append(event)
        await asyncio.gather(*deliveries)
        for event in events:
            PUBLISHED.labels(self.topic, event.type.value).inc()
        return events


class Publishing(Protocol):
    """What an operator needs of a publisher: `EventPublisher`, or `LoggedPublisher` when it
    runs without a broker (unit tests, a bare cluster)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> Any: ...


class LoggedPublisher:
    """A `Publishing` that only logs each event: nothing reaches Kafka."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event_type: EventType, *, subject: str, key: str, data: dict[str, Any],
                      id_parts: Iterable[str]) -> None:
        log.info("event %s %s %s (not published: no broker)", event_type.value, subject, data)


class Publication(NamedTuple):
    type: EventType
    subject: str
    key: str
    data: dict[str, Any]
    id_parts: tuple[str, ...]


class _SeenIds:
    """A bounded memory of handled event ids (redeliveries after a crash or rebalance are
    recent); handlers stay idempotent for anything older."""

    def __init__(self, capacity: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Wait for the message in flight to finish and commit, so no commit crosses the rebalance.
        async with self._lock:
            log.info("partitions revoked: %s", sorted(str(tp) for tp in revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(str(tp) for tp in assigned))


async def create_topics(kafka: KafkaClient, topics: dict[str, int]) -> None:
    """Create topics if missing (tests' own topics; the platform's come from `setup`)."""
    admin = AIOKafkaAdminClient(**kafka.aiokafka())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, num_partitions=p, replication_factor=1)
                   for t, p in topics.items() if t not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in getattr(response, "topic_errors", getattr(response, "topics", [])):
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"creating topic {name} failed with Kafka error {code}")
    finally:
        await admin.close()
