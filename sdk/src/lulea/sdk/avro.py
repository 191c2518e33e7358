"""Avro in Confluent's wire format (magic byte 0, the 4-byte schema id, Avro binary), with the
schemas from the registry and fastavro doing the encoding.

confluent-kafka's AvroSerializer/AvroDeserializer do the same plus data-contract rules,
subject strategies and per-record registry bookkeeping; measured here (bench/sdk) they cost
two to fifteen times the encoding itself. These keep only what a topic's records need, with the
per-record work cut to fastavro's own: the header packed once per schema id, the parsed schema
kept (per id for reading, shared by every consumer of one `Kafka`), no copies of the record."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import SerializationContext, SerializationError

MAGIC = 0
HEADER = struct.Struct(">bI")
_WRITE_ERRORS = (TypeError, ValueError, KeyError, AttributeError)
_READ_ERRORS = (EOFError, IndexError, ValueError, UnicodeDecodeError, OverflowError)


class AvroWriter:
    """A value serializer: dict -> Confluent-framed Avro with one schema id."""

    def __init__(self, schema_id: int, schema_str: str) -> None:
        self.schema_id = schema_id
        self.parsed = fastavro.parse_schema(json.loads(schema_str))
        self._header = HEADER.pack(MAGIC, schema_id)

    def encode(self, value: Any) -> bytes:
        """The framed record; SerializationError if it does not fit the schema."""
        out = io.BytesIO(self._header)
        out.seek(HEADER.size)
        try:
            fastavro.schemaless_writer(out, self.parsed, value)
        except _WRITE_ERRORS as exc:
            raise SerializationError(str(exc)) from None
        return out.getvalue()

    def __call__(self, value: Any, ctx: SerializationContext | None = None) -> bytes | None:
        return None if value is None else self.encode(value)


class AvroReader:
    """A value deserializer: Confluent-framed Avro -> dict, in the writer's schema (fetched from
    the registry once per id)."""

    def __init__(self, registry: SchemaRegistryClient) -> None:
        self.registry = registry
        self._schemas: dict[int, Any] = {}

    def schema(self, schema_id: int) -> Any:
        schema = self._schemas.get(schema_id)
        if schema is None:
            text = self.registry.get_schema(schema_id).schema_str
            schema = self._schemas[schema_id] = fastavro.parse_schema(json.loads(text or "null"))
        return schema

    def decode(self, data: bytes) -> Any:
        if len(data) < HEADER.size or data[0] != MAGIC:
            raise SerializationError("not a Confluent Avro record (magic byte 0 + schema id expected)")
        schema_id = int.from_bytes(data[1:HEADER.size], "big")
        schema = self._schemas.get(schema_id) or self.schema(schema_id)
        buffer = io.BytesIO(data)
        buffer.seek(HEADER.size)
        try:
            return fastavro.schemaless_reader(buffer, schema, None)
        except _READ_ERRORS as exc:  # truncated or not of this schema
            raise SerializationError(f"{type(exc).__name__}: {exc}") from None

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        return None if data is None else self.decode(data)
