"""The SDK's per-record paths without a broker: the Avro framing both ways, the producer's
failure accounting, and how records() batches and stops (consume() replaced by a script)."""

from __future__ import annotations

import json
from typing import Any

import fastavro
import pytest
from confluent_kafka import KafkaError

from lulea.sdk.avro import AvroReader, AvroWriter
from lulea.sdk.errors import LuleaError
from lulea.sdk.kafka import TopicConsumer, TopicProducer

CLICK = {"type": "record", "name": "Click", "fields": [
    {"name": "user", "type": "string"}, {"name": "ms", "type": "long"}]}


class Registry:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def get_schema(self, schema_id: int) -> Any:
        self.asked.append(schema_id)
        return type("S", (), {"schema_str": json.dumps(CLICK)})()


def test_the_wire_is_confluent_framed_and_read_back_with_one_registry_lookup_per_id() -> None:
    writer = AvroWriter(42, json.dumps(CLICK))
    data = writer.encode({"user": "u1", "ms": 7})
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == 42
    registry = Registry()
    reader = AvroReader(registry)  # type: ignore[arg-type]
    assert [reader.decode(data), reader.decode(data)] == [{"user": "u1", "ms": 7}] * 2
    assert registry.asked == [42]
    with pytest.raises(Exception, match="magic byte"):
        reader.decode(b"\x01abcd")
    assert fastavro.schemaless_reader(__import__("io").BytesIO(data[5:]), writer.parsed, None) == {
        "user": "u1", "ms": 7}


# no broker: one refused connection, then none for a minute (each failed connect also queues a
# client event, which len(producer) counts until a poll serves it)
OFFLINE = {"bootstrap.servers": "127.0.0.1:1", "log_level": 0,
           "reconnect.backoff.ms": 60_000, "reconnect.backoff.max.ms": 60_000}


def test_send_refuses_off_schema_records_and_counts_what_it_queued() -> None:
    producer = TopicProducer(OFFLINE | {"delivery.report.only.error": True}, "p1.t",
                             AvroWriter(1, json.dumps(CLICK)))
    for i in range(100):
        producer.send({"user": "u", "ms": i}, key="k" if i % 2 else None)
    with pytest.raises(ValueError, match=r"does not fit the schema of p1\.t"):
        producer.send({"user": 3})
    for _ in range(4):  # let the connection be refused and serve its events: records stay queued
        producer.poll(0.05)
    assert producer.sent == 100 and len(producer) == 100 and producer.delivered == 0
    producer._on_delivery(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), None)  # type: ignore[arg-type]
    assert producer.failures and producer.delivered == -1  # queued ones are not delivered yet
    producer.purge()


class Msg:
    def __init__(self, value: bytes | None, key: bytes | None = None) -> None:
        self._value, self._key = value, key

    def error(self) -> None:
        return None

    def value(self) -> Any:
        return self._value

    def key(self) -> Any:
        return self._key

    def set_value(self, v: Any) -> None:
        self._value = v

    def set_key(self, k: Any) -> None:
        self._key = k


class Scripted(TopicConsumer):
    """A TopicConsumer whose librdkafka batches come from a script."""

    def __init__(self, batches: list[list[Msg]], assigned: bool = True) -> None:
        super().__init__(OFFLINE | {"group.id": "p1.g"}, "p1.t", AvroReader(Registry()))  # type: ignore[arg-type]
        self.script, self.assigned = batches, assigned
        self.calls: list[tuple[int, float | None]] = []

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Any]:
        self.calls.append((num_messages, timeout))
        batch = self.script.pop(0) if self.script else []
        if len(batch) > num_messages:  # what librdkafka did not hand over stays queued
            self.script.insert(0, batch[num_messages:])
        return [self._decoded(m) for m in batch[:num_messages]]  # type: ignore[arg-type]

    def assignment(self) -> list[Any]:
        return [object()] if self.assigned else []


def encoded(n: int) -> list[Msg]:
    writer = AvroWriter(1, json.dumps(CLICK))
    return [Msg(writer.encode({"user": f"u{i}", "ms": i}), b"k") for i in range(n)]


def test_records_come_in_batches_decoded_and_stop_at_max_records() -> None:
    consumer = Scripted([encoded(3), encoded(500), encoded(500)])
    got = list(consumer.records(max_records=400))
    assert len(got) == 400 and got[0] == {"user": "u0", "ms": 0}
    assert consumer.calls[0] == (400, 0) and consumer.calls[1] == (397, 0)
    msgs = list(Scripted([encoded(2)]).messages(max_records=2))
    assert msgs[0].key() == "k"  # type: ignore[comparison-overlap]  # keys as text, as a DeserializingConsumer's
    consumer.close()


def test_idle_counts_from_the_assignment_and_a_bad_record_says_so() -> None:
    consumer = Scripted([[], encoded(2)])
    assert len(list(consumer.records(idle=0.6))) == 2
    with pytest.raises(LuleaError, match="not Avro of its schema"):
        list(Scripted([[Msg(b"\x00\x00\x00\x00\x01\xff\xff\xff")]]).records(max_records=1))
