"""Kafka for a project member: confluent-kafka clients with the member's certificate, the
member listener, the project's topic and group names, and the topic's Avro schema from the
platform's schema registry, so code sends and receives dicts.

Names: a topic `clicks` of project `p1` is the Kafka topic `p1.clicks`, its value schema the
registry subject `p1.clicks-value` (the Topic operator's contract); a name that already holds a
dot (`p2.events`, a topic another project shared) is taken as the full Kafka name. Consumer
groups are prefixed `p1.` (the ACLs grant the prefix). The wire format is Confluent's (magic
byte 0, 4-byte schema id), so any Confluent-compatible client reads what the SDK wrote."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.error import ConsumeError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError

from lulea.sdk.avro import AvroReader, AvroWriter
from lulea.sdk.config import Config
from lulea.sdk.errors import LuleaError, NotConfigured, NotFound
from lulea.sdk.project import need

LATEST_SCHEMA_TTL_SECONDS = 60
DeliveryCallback = Callable[[KafkaError | None, Message], None]


class DeliveryFailed(LuleaError):
    """Records the broker did not take (the first error says why)."""


class Kafka:
    def __init__(self, config: Config) -> None:
        self.project = config.project
        self._config = config
        self._registry: SchemaRegistryClient | None = None
        self._reader: AvroReader | None = None

    # -- names --------------------------------------------------------------------------------
    def topic(self, name: str) -> str:
        """The Kafka topic of the project's topic `name` (`clicks` -> `p1.clicks`)."""
        if not name:
            raise ValueError("a topic name is needed")
        return name if "." in name else f"{self.project}.{name}"

    def group(self, name: str) -> str:
        """The consumer group `name` inside the project's prefix (`analytics` -> `p1.analytics`)."""
        if not name:
            raise ValueError("a consumer group name is needed")
        prefix = f"{self.project}."
        return name if name.startswith(prefix) else prefix + name

    def subject(self, name: str) -> str:
        return f"{self.topic(name)}-value"

    # -- configuration ------------------------------------------------------------------------
    def config(self, **overrides: Any) -> dict[str, Any]:
        """The raw confluent-kafka configuration (Hopsworks' `get_default_config()`): the
        member listener, TLS with the member's certificate and key, the platform's trust."""
        bootstrap = need(self._config.endpoints.kafka_bootstrap, "Kafka", "LULEA_KAFKA_BOOTSTRAP")
        cert = self._certificate()
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": str(cert.ca),
            "ssl.certificate.location": str(cert.cert),
            "ssl.key.location": str(cert.key),
            "ssl.endpoint.identification.algorithm": "https",
            "client.id": self._config.principal,
        }
        return conf | {k.replace("_", "."): v for k, v in overrides.items()}

    def registry_config(self) -> dict[str, Any]:
        """confluent-kafka's SchemaRegistryClient configuration: the member's client certificate
        (the registry authenticates members by mTLS)."""
        url = need(self._config.endpoints.schema_registry_url, "schema registry", "LULEA_SCHEMA_REGISTRY_URL")
        cert = self._certificate()
        # the client caches a subject's latest version forever unless told otherwise: a producer
        # made a minute after the Topic's schema evolved writes with the new one
        return {"url": url, "ssl.ca.location": str(cert.ca), "ssl.certificate.location": str(cert.cert),
                "ssl.key.location": str(cert.key), "cache.latest.ttl.sec": LATEST_SCHEMA_TTL_SECONDS}

    @property
    def registry(self) -> SchemaRegistryClient:
        if self._registry is None:
            self._registry = SchemaRegistryClient(self.registry_config())
        return self._registry

    @property
    def reader(self) -> AvroReader:
        """Writers' schemas by id, fetched once and shared by every consumer of this project."""
        if self._reader is None:
            self._reader = AvroReader(self.registry)
        return self._reader

    def schema(self, name: str) -> str:
        """The topic's current value schema (Avro JSON text)."""
        return self._latest(name)[1]

    def _latest(self, name: str) -> tuple[int, str]:
        try:
            latest = self.registry.get_latest_version(self.subject(name))
        except SchemaRegistryError as exc:
            raise self._schema_error(name, exc) from None
        if latest.schema_id is None:
            raise LuleaError(f"the registry gave no schema id for {self.subject(name)}")
        return latest.schema_id, str(latest.schema.schema_str)

    # -- clients ------------------------------------------------------------------------------
    def producer(self, topic: str, **overrides: Any) -> TopicProducer:
        """A producer for one topic whose `send(dict)` writes Avro with the topic's schema."""
        full = self.topic(topic)
        # The topic's schema as the registry holds it now, fetched once (confluent-kafka's
        # AvroSerializer with use.latest.version asks the registry again per record: ~600/s).
        value = AvroWriter(*self._latest(topic))
        conf = self.config(**{"enable.idempotence": True, "acks": "all", "linger.ms": 5, **overrides})
        # reports for failures only: a Python callback per delivered record halves the rate
        conf |= {"delivery.report.only.error": True}
        return TopicProducer(conf, full, value)

    def consumer(self, topic: str, group: str, **overrides: Any) -> TopicConsumer:
        """A consumer in group `<project>.<group>`, subscribed to the topic; values are dicts
        (decoded with the writer's schema, found by its id in the registry)."""
        full = self.topic(topic)
        conf = self.config(**{"auto.offset.reset": "earliest", **overrides})
        conf |= {"group.id": self.group(group)}
        consumer = TopicConsumer(conf, full, self.reader)
        consumer.subscribe([full])
        return consumer

    def _certificate(self) -> Any:
        cert = self._config.certificate
        if cert is None:
            raise NotConfigured("no member certificate: inside a job the platform mounts it at "
                                "LULEA_CERT_DIR; on a laptop run `lulea login`")
        return cert

    def _schema_error(self, name: str, exc: SchemaRegistryError) -> LuleaError:
        if exc.http_status_code == 404:
            return NotFound(f"topic {self.topic(name)} has no schema in the registry (subject "
                            f"{self.subject(name)}); create the Topic with an Avro schema, or check "
                            f"the name")
        if exc.http_status_code in (401, 403):
            return LuleaError(f"the schema registry refused {self._config.principal}: "
                              f"{exc.error_message}; run `lulea login` again")
        return LuleaError(f"schema registry error for {self.subject(name)}: {exc.error_message}")


class TopicProducer(Producer):
    """confluent-kafka's Producer bound to one topic, encoding dicts with the topic's schema.
    Delivery failures are kept and raised by `flush()` (and at the end of a `with` block), never
    lost silently; `delivered` counts the records the broker acknowledged. An `on_delivery`
    given to `send` is called for failed records only (delivery.report.only.error).

    Per record, `send` does what hand-written code does and no more: one fastavro encode into a
    buffer that already holds the Confluent header, one `produce` with positional arguments
    (the failure callback is the producer's default, not a per-call argument), and a `poll(0)`
    every POLL_EVERY records to serve failure reports (successes report nothing)."""

    POLL_EVERY = 64

    def __init__(self, conf: dict[str, Any], topic: str, writer: AvroWriter) -> None:
        super().__init__(conf | {"on_delivery": self._on_delivery})
        self.topic = topic
        self.writer = writer
        self.failures: list[KafkaError] = []
        self.sent = 0
        self._encode = writer.encode
        self._unpolled = 0

    @property
    def delivered(self) -> int:
        """Records the broker acknowledged. librdkafka's queue length also counts client events
        (a refused connection, say) until a poll or flush serves them, so this may read low
        until then, never high."""
        return self.sent - len(self) - len(self.failures)

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.failures.append(err)

    def send(self, value: dict[str, Any], key: str | None = None, *,
             headers: dict[str, str | bytes | None] | None = None,
             on_delivery: DeliveryCallback | None = None,
             timestamp: int = 0) -> None:
        """Queue one record (a dict matching the topic's schema)."""
        try:
            data = self._encode(value)
        except SerializationError as exc:
            raise ValueError(f"record does not fit the schema of {self.topic}: {exc}") from None
        raw_key = key.encode() if key is not None else None
        plain = headers is None and on_delivery is None and not timestamp
        while True:
            try:
                if plain:
                    self.produce(self.topic, data, raw_key)
                else:
                    self.produce(self.topic, data, raw_key, headers=headers,
                                 on_delivery=on_delivery or self._on_delivery, timestamp=timestamp)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self.poll(0.1)
        self.sent += 1
        self._unpolled += 1
        if self._unpolled >= self.POLL_EVERY:
            self._unpolled = 0
            self.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        left = int(super().flush(timeout))
        if left:
            raise DeliveryFailed(f"{left} records to {self.topic} not delivered within {timeout:.0f}s")
        if self.failures:
            first, count = self.failures[0], len(self.failures)
            self.failures = []
            self.sent -= count
            raise DeliveryFailed(f"{count} records to {self.topic} were refused: {first.str()}"
                                 + _hint(first))
        return left

    def __enter__(self) -> TopicProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


class TopicConsumer(Consumer):
    """confluent-kafka's Consumer subscribed to one topic, whose messages carry their values
    decoded (dicts) and their keys as text, as a DeserializingConsumer's do: `poll()` and
    `consume()` decode, `records()` yields the dicts, `messages()` the Message objects.

    `records()` and `messages()` take what librdkafka has already fetched in batches
    (`consume(BATCH, 0)`: one call per batch instead of per record, never waiting for a batch to
    fill); only when nothing is there do they wait, for one record (`consume(1, 0.5)`), so a
    record that arrives alone is handed over at once."""

    BATCH = 500
    JOIN_GRACE = 30.0

    def __init__(self, conf: dict[str, Any], topic: str, reader: AvroReader) -> None:
        super().__init__(conf)
        self.topic = topic
        self.reader = reader

    def _decoded(self, msg: Message) -> Message:
        err = msg.error()
        if err is not None:
            raise _consume_error(ConsumeError(err, kafka_message=msg), self.topic)
        value = msg.value()
        if value is not None:
            try:
                msg.set_value(self.reader.decode(value))
            except SerializationError as exc:
                raise LuleaError(f"a record of {self.topic} is not Avro of its schema: {exc}") from None
        key = msg.key()
        if key is not None:
            try:
                msg.set_key(key.decode())
            except UnicodeDecodeError as exc:
                raise LuleaError(f"a record of {self.topic} has a key that is not UTF-8: {exc}") from None
        return msg

    def poll(self, timeout: float | None = None) -> Message | None:
        msg = super().poll(-1 if timeout is None else timeout)
        return None if msg is None else self._decoded(msg)

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Message]:
        batch = super().consume(num_messages, -1 if timeout is None else timeout)
        return [self._decoded(m) for m in batch]

    def messages(self, *, max_records: int | None = None, timeout: float | None = None,
                 idle: float | None = None) -> Iterator[Message]:
        """Messages until `max_records`, or `idle` seconds without one (None: forever)."""
        for batch in self._batches(max_records, timeout, idle):
            yield from batch

    def records(self, *, max_records: int | None = None, timeout: float | None = None,
                idle: float | None = None) -> Iterator[dict[str, Any]]:
        """Record values as dicts (a non-record schema's value as `{"value": v}`)."""
        for batch in self._batches(max_records, timeout, idle):
            for msg in batch:
                value = msg.value()
                yield value if isinstance(value, dict) else {"value": value}

    def _batches(self, max_records: int | None, timeout: float | None,
                 idle: float | None) -> Iterator[list[Message]]:
        # `idle` counts from the last record, or from when the group gave this consumer its
        # partitions (joining takes a while on a busy broker and is not quiet on the topic);
        # a consumer never given any stops after JOIN_GRACE seconds more
        count, now = 0, time.monotonic()
        deadline = now + timeout if timeout is not None else None
        last, assigned = now + self.JOIN_GRACE, False
        while max_records is None or count < max_records:
            now = time.monotonic()
            if (deadline is not None and now >= deadline) or (idle is not None and now - last >= idle):
                return
            want = self.BATCH if max_records is None else min(self.BATCH, max_records - count)
            batch = self.consume(want, 0) or self.consume(1, 0.5)
            if batch:
                last, assigned = time.monotonic(), True
                count += len(batch)
                yield batch
            elif not assigned and self.assignment():
                last, assigned = time.monotonic(), True


def _hint(err: KafkaError) -> str:
    if err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
        return " (not allowed: ask a DataOwner of the project for access to the topic)"
    if err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return " (no such topic: create the Topic first)"
    return ""


def _consume_error(exc: ConsumeError, topic: str) -> LuleaError:
    err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if err is not None and err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                          KafkaError.GROUP_AUTHORIZATION_FAILED):
        return LuleaError(f"not allowed to read {topic}: {err.str()}{_hint(err)}")
    if err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return NotFound(f"no topic {topic}: create the Topic first, or check the name")
    return LuleaError(f"reading {topic} failed: {exc}")


__all__ = ["DeliveryFailed", "Kafka", "KafkaException", "TopicConsumer", "TopicProducer"]
