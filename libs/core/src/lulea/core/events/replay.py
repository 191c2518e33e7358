"""Replaying what a consumer parked on the dead-letter topic, once its cause is fixed.

A consumer parks an event it failed to handle (`lulea_dlq_reason: handler failed ...`), one it
could not decode, and one that came from a topic that may not carry its type (a forgery).
`replay --group G` puts the first kind back on the topic it came from, for group G to handle
again (its handlers are idempotent and its ids dedup), and reports the others without
replaying them: an undecodable or forged message stays parked for a person to look at.
Progress is a consumer group of its own (`lulea-dlq-replay.<G>`), so a replay interrupted half
way goes on where it stopped. Run as the Kafka administrator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from confluent_kafka import Consumer, Message, Producer

from lulea.core.events.topics import DEAD_LETTER_TOPIC
from lulea.core.kafka import KafkaClient

log = logging.getLogger("lulea.events.replay")
DLQ_HEADERS = ("lulea_dlq_reason", "lulea_dlq_origin", "lulea_dlq_group")
RETRYABLE = "handler failed"


@dataclass(frozen=True)
class Parked:
    origin_topic: str
    group: str
    reason: str
    offset: int

    @property
    def replayable(self) -> bool:
        return self.reason.startswith(RETRYABLE) and bool(self.origin_topic)


def _headers(message: Message) -> list[tuple[str, bytes]]:
    return list(message.headers() or [])  # type: ignore[arg-type]  # a list of pairs at runtime


def parked(message: Message) -> Parked:
    headers = {k: bytes(v or b"").decode(errors="replace") for k, v in _headers(message)}
    origin = headers.get("lulea_dlq_origin", "")
    topic = origin.rsplit("@", 1)[0].rsplit("-", 1)[0] if "@" in origin else ""
    return Parked(topic, headers.get("lulea_dlq_group", ""), headers.get("lulea_dlq_reason", ""),
                  message.offset() or 0)


def replay(kafka: KafkaClient, group: str, *, dry_run: bool = False, idle_seconds: float = 5.0
           ) -> tuple[int, list[Parked]]:
    """Replay group's retryable parked events; returns (replayed, parked ones left as they are)."""
    consumer = Consumer(kafka.confluent(**{
        "group.id": f"lulea-dlq-replay.{group}", "auto.offset.reset": "earliest",
        "enable.auto.commit": False}))
    producer = Producer(kafka.confluent(**{"enable.idempotence": True, "acks": "all"}))
    consumer.subscribe([DEAD_LETTER_TOPIC])
    replayed, left = 0, []
    try:
        while (message := consumer.poll(idle_seconds)) is not None:
            if message.error():
                raise RuntimeError(f"reading {DEAD_LETTER_TOPIC}: {message.error()}")
            entry = parked(message)
            if entry.group != group:
                pass
            elif not entry.replayable:
                left.append(entry)
            elif not dry_run:
                headers: list[tuple[str, str | bytes | None]] = [
                    (k, v) for k, v in _headers(message) if k not in DLQ_HEADERS]
                headers.append(("lulea_replayed_from", f"{DEAD_LETTER_TOPIC}@{entry.offset}".encode()))
                producer.produce(entry.origin_topic, message.value(), key=message.key(), headers=headers)
                if producer.flush(30) != 0:
                    raise RuntimeError(f"replaying to {entry.origin_topic}: not acknowledged")
                replayed += 1
            else:
                replayed += 1
            if not dry_run:
                consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    log.info("replayed %d events for %s; %d left parked", replayed, group, len(left))
    return replayed, left
