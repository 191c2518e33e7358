"""The event consumer: at-least-once, de-duplicated, with a dead-letter topic (see bus).

It reads each event type only from the topic of the component that owns the type
(`topics.sources_for`); the same type read from any other topic is a forgery: it is parked
with the reason, logged, and never handled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Set

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import propagate, trace

from lulea.core.events.bus import Handler, _Rebalance, _SeenIds, log, tracer
from lulea.core.events.codec import EventType, UndecodableEvent
from lulea.core.events.envelope import Event
from lulea.core.events.topics import DEAD_LETTER_TOPIC, sources_for
from lulea.core.kafka import KafkaClient
from lulea.core.metrics import CONSUMED, CONSUMER_LAG


class EventConsumer:
    """`types`: the event types handled, each read from its owner's topic. `sources` (topic ->
    types) replaces that mapping, for consumers of topics that are not the platform's (tests)."""

    def __init__(self, kafka: KafkaClient, *, group_id: str, handler: Handler,
                 types: set[EventType] | None = None,
                 sources: Mapping[str, Set[EventType]] | None = None,
                 dead_letter_topic: str = DEAD_LETTER_TOPIC, max_attempts: int = 5,
                 retry_backoff: float = 0.5, dedup_capacity: int = 100_000) -> None:
        self.kafka, self.group_id, self.handler = kafka, group_id, handler
        self.types = frozenset(types if types is not None else EventType)
        self.sources = dict(sources) if sources is not None else sources_for(self.types)
        self.dead_letter_topic = dead_letter_topic
        self.max_attempts, self.retry_backoff = max_attempts, retry_backoff
        self._seen = _SeenIds(dedup_capacity)
        self._lock = asyncio.Lock()
        self.assigned = asyncio.Event()
        self.handled = 0
        self.duplicates = 0
        self.parked = 0
        self.forged = 0

    async def run(self) -> None:
        """Consume until cancelled (the topics must exist: `python -m lulea.core.events setup`)."""
        consumer = AIOKafkaConsumer(
            **self.kafka.aiokafka(), group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        dead_letters = AIOKafkaProducer(**self.kafka.aiokafka(), enable_idempotence=True, acks="all")
        consumer.subscribe(sorted(self.sources), listener=_Rebalance(self._lock))
        await consumer.start()
        await dead_letters.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=200)
                if consumer.assignment():
                    self.assigned.set()
                for tp, records in batch.items():
                    # Commit once per partition batch, after every record in it was handled:
                    # still at-least-once (a crash re-delivers the batch; ids de-duplicate).
                    async with self._lock:
                        for record in records:
                            await self._process(record, dead_letters)
                        await consumer.commit({tp: records[-1].offset + 1})
                    end = consumer.highwater(tp)
                    if end is not None:
                        CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                            max(end - records[-1].offset - 1, 0))
        finally:
            with contextlib.suppress(Exception):
                await dead_letters.stop()
            await consumer.stop()

    async def _process(self, record: ConsumerRecord[bytes, bytes], dead_letters: AIOKafkaProducer) -> None:
        try:
            event = Event.from_message(list(record.headers), record.value)
        except UndecodableEvent as e:
            log.warning("parking undecodable message %s-%s@%s: %s",
                        record.topic, record.partition, record.offset, e)
            await self._park(record, dead_letters, f"undecodable: {e}")
            CONSUMED.labels(record.topic, "unknown", "parked").inc()
            return
        if event.type not in self.types:
            CONSUMED.labels(record.topic, event.type.value, "ignored").inc()
            return
        if event.type not in self.sources.get(record.topic, ()):
            log.warning("parking %s %s from %s: that topic may not carry %s events (a forgery)",
                        event.type.value, event.id, record.topic, event.type.value)
            self.forged += 1
            await self._park(record, dead_letters, f"forged: {event.type.value} is not accepted "
                                                   f"from topic {record.topic}")
            CONSUMED.labels(record.topic, event.type.value, "forged").inc()
            return
        if event.id in self._seen:
            self.duplicates += 1
            CONSUMED.labels(record.topic, event.type.value, "duplicate").inc()
            return
        parent = propagate.extract({"traceparent": event.traceparent or ""})
        for attempt in range(1, self.max_attempts + 1):
            with tracer.start_as_current_span(f"handle {event.type.value}", context=parent,
                                              kind=trace.SpanKind.CONSUMER) as span:
                span.set_attribute("cloudevents.event_id", event.id)
                try:
                    await self.handler(event)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    span.record_exception(e)
                    log.warning("handler failed on %s %s (attempt %d/%d): %s", event.type.value,
                                event.id, attempt, self.max_attempts, e)
                    error = e
                else:
                    self._seen.add(event.id)
                    self.handled += 1
                    CONSUMED.labels(record.topic, event.type.value, "handled").inc()
                    return
            await asyncio.sleep(self.retry_backoff * attempt)
        log.error("parking %s %s after %d failed attempts", event.type.value, event.id,
                  self.max_attempts)
        await self._park(record, dead_letters, f"handler failed {self.max_attempts} times: {error}")
        CONSUMED.labels(record.topic, event.type.value, "parked").inc()

    async def _park(self, record: ConsumerRecord[bytes, bytes], dead_letters: AIOKafkaProducer,
                    reason: str) -> None:
        headers = [*list(record.headers), ("lulea_dlq_reason", reason.encode()[:1000]),
                   ("lulea_dlq_origin", f"{record.topic}-{record.partition}@{record.offset}".encode()),
                   ("lulea_dlq_group", self.group_id.encode())]
        await dead_letters.send_and_wait(self.dead_letter_topic, record.value, key=record.key,
                                         headers=headers)
        self.parked += 1


__all__ = ["EventConsumer", "TopicPartition"]
