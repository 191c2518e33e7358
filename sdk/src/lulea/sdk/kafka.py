"""Kafka for a project member: confluent-kafka clients with the member's certificate, the
member listener, the project's topic and group names, and the topic's Avro schema from the
platform's schema registry, so code sends and receives dicts.

Names: a topic `clicks` of project `p1` is the Kafka topic `p1.clicks`, its value schema the
registry subject `p1.clicks-value` (the Topic operator's contract); a name that already holds a
dot (`p2.events`, a topic another project shared) is taken as the full Kafka name. Consumer
groups are prefixed `p1.` (the ACLs grant the prefix). The wire format is Confluent's (magic
byte 0, 4-byte schema id), so any Confluent-compatible client reads what the SDK wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import DeserializingConsumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.error import ConsumeError, KeyDeserializationError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError, StringDeserializer

from lulea.sdk.avro import AvroReader, AvroWriter
from lulea.sdk.config import Config
from lulea.sdk.errors import LuleaError, NotConfigured, NotFound
from lulea.sdk.project import need

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class DeliveryFailed(LuleaError):
    """Records the broker did not take (the first error says why)."""


class Kafka:
    def __init__(self, config: Config) -> None:
        self.project = config.project
        self._config = config
        self._registry: SchemaRegistryClient | None = None

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
        return {"url": url, "ssl.ca.location": str(cert.ca), "ssl.certificate.location": str(cert.cert),
                "ssl.key.location": str(cert.key)}

    @property
    def registry(self) -> SchemaRegistryClient:
        if self._registry is None:
            self._registry = SchemaRegistryClient(self.registry_config())
        return self._registry

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
        conf |= {"group.id": self.group(group), "key.deserializer": StringDeserializer("utf_8"),
                 "value.deserializer": AvroReader(self.registry)}
        consumer = TopicConsumer(conf, full)
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
    given to `send` is called for failed records only (delivery.report.only.error)."""

    def __init__(self, conf: dict[str, Any], topic: str, writer: AvroWriter) -> None:
        super().__init__(conf)
        self.topic = topic
        self.writer = writer
        self.failures: list[KafkaError] = []
        self.sent = 0

    @property
    def delivered(self) -> int:
        return self.sent - len(self) - len(self.failures)

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.failures.append(err)

    def send(self, value: dict[str, Any], key: str | None = None, *,
             headers: dict[str, str | bytes | None] | None = None,
             on_delivery: DeliveryCallback | None = None,
             timestamp: int = 0) -> None:
        """Queue one record (a dict matching the topic's schema)."""
        callback = on_delivery or self._on_delivery
        try:
            data = self.writer(value)
        except SerializationError as exc:
            raise ValueError(f"record does not fit the schema of {self.topic}: {exc}") from None
        raw_key = key.encode() if key is not None else None
        while True:
            try:
                self.produce(self.topic, data, raw_key, headers=headers, on_delivery=callback,
                             timestamp=timestamp)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self.poll(0.1)
        self.sent += 1
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


class TopicConsumer(DeserializingConsumer):
    """confluent-kafka's DeserializingConsumer subscribed to one topic; `records()` yields dicts."""

    def __init__(self, conf: dict[str, Any], topic: str) -> None:
        super().__init__(conf)
        self.topic = topic

    def messages(self, *, max_records: int | None = None, timeout: float | None = None,
                 idle: float | None = None) -> Iterator[Message]:
        """Messages until `max_records`, or `idle` seconds without one (None: forever)."""
        import time

        count, deadline = 0, (time.monotonic() + timeout) if timeout is not None else None
        last = time.monotonic()
        while max_records is None or count < max_records:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if idle is not None and now - last >= idle:
                return
            try:
                msg = self.poll(0.5)
            except ConsumeError as exc:
                raise _consume_error(exc, self.topic) from None
            except KeyDeserializationError as exc:
                raise LuleaError(f"a record of {self.topic} has a key that is not UTF-8: {exc}") from None
            if msg is None:
                continue
            last = time.monotonic()
            count += 1
            yield msg

    def records(self, *, max_records: int | None = None, timeout: float | None = None,
                idle: float | None = None) -> Iterator[dict[str, Any]]:
        for msg in self.messages(max_records=max_records, timeout=timeout, idle=idle):
            value = msg.value()
            yield value if isinstance(value, dict) else {"value": value}

    def __enter__(self) -> TopicConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
