"""The event consumer: at-least-once, de-duplicated, with a dead-letter topic (see bus)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import propagate, trace

from lulea.core.events.bus import EVENT_TOPICS, Handler, _Rebalance, _SeenIds, ensure_topics, log, tracer
from lulea.core.events.codec import EventType, UndecodableEvent
from lulea.core.events.envelope import DEAD_LETTER_TOPIC, EVENTS_TOPIC, Event


class EventConsumer:
    def __init__(self, bootstrap_servers: str, *, group_id: str, handler: Handler,
                 types: set[EventType] | None = None, topic: str = EVENTS_TOPIC,
                 dead_letter_topic: str = DEAD_LETTER_TOPIC, max_attempts: int = 5,
                 retry_backoff: float = 0.5, dedup_capacity: int = 100_000, **kafka: Any) -> None:
        self.bootstrap_servers, self.group_id, self.handler = bootstrap_servers, group_id, handler
        self.types, self.topic, self.dead_letter_topic = types, topic, dead_letter_topic
        self.max_attempts, self.retry_backoff = max_attempts, retry_backoff
        self._seen = _SeenIds(dedup_capacity)
        self._lock = asyncio.Lock()
        self._kafka = kafka
        self.assigned = asyncio.Event()
        self.handled = 0
        self.duplicates = 0
        self.parked = 0

    async def run(self) -> None:
        """Consume until cancelled."""
        await ensure_topics(self.bootstrap_servers, {
            self.topic: EVENT_TOPICS.get(self.topic, 1),
            self.dead_letter_topic: EVENT_TOPICS.get(self.dead_letter_topic, 1)}, **self._kafka)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            isolation_level="read_committed", **self._kafka,
        )
        dead_letters = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers,
                                        enable_idempotence=True, acks="all", **self._kafka)
        consumer.subscribe([self.topic], listener=_Rebalance(self._lock))
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
            return
        if self.types is not None and event.type not in self.types:
            return
        if event.id in self._seen:
            self.duplicates += 1
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
                    return
            await asyncio.sleep(self.retry_backoff * attempt)
        log.error("parking %s %s after %d failed attempts", event.type.value, event.id,
                  self.max_attempts)
        await self._park(record, dead_letters, f"handler failed {self.max_attempts} times: {error}")

    async def _park(self, record: ConsumerRecord[bytes, bytes], dead_letters: AIOKafkaProducer,
                    reason: str) -> None:
        headers = [*list(record.headers), ("lulea_dlq_reason", reason.encode()[:1000]),
                   ("lulea_dlq_origin", f"{record.topic}-{record.partition}@{record.offset}".encode()),
                   ("lulea_dlq_group", self.group_id.encode())]
        await dead_letters.send_and_wait(self.dead_letter_topic, record.value, key=record.key,
                                         headers=headers)
        self.parked += 1


__all__ = ["EventConsumer", "TopicPartition"]
