"""Avro in Confluent's wire format (magic byte 0, the 4-byte schema id, Avro binary), with the
schemas from the registry and fastavro doing the encoding.

confluent-kafka's AvroSerializer/AvroDeserializer do the same plus data-contract rules,
subject strategies and per-record registry bookkeeping; measured here (bench/sdk) they cost
two to fifteen times the encoding itself. These keep only what a topic's records need: the
writer's schema by id (fetched once per id), the topic's current schema for writing."""

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


class AvroWriter:
    """A value serializer: dict -> Confluent-framed Avro with one schema id."""

    def __init__(self, schema_id: int, schema_str: str) -> None:
        self.schema_id = schema_id
        self.parsed = fastavro.parse_schema(json.loads(schema_str))
        self._header = HEADER.pack(MAGIC, schema_id)

    def __call__(self, value: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if value is None:
            return None
        out = io.BytesIO()
        out.write(self._header)
        try:
            fastavro.schemaless_writer(out, self.parsed, value)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SerializationError(str(exc)) from None
        return out.getvalue()


class AvroReader:
    """A value deserializer: Confluent-framed Avro -> dict, in the writer's schema."""

    def __init__(self, registry: SchemaRegistryClient) -> None:
        self.registry = registry
        self._schemas: dict[int, Any] = {}

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        if len(data) < HEADER.size or data[0] != MAGIC:
            raise SerializationError("not a Confluent Avro record (magic byte 0 + schema id expected)")
        _, schema_id = HEADER.unpack_from(data)
        schema = self._schemas.get(schema_id)
        if schema is None:
            text = self.registry.get_schema(schema_id).schema_str
            schema = self._schemas[schema_id] = fastavro.parse_schema(json.loads(text or "null"))
        return fastavro.schemaless_reader(io.BytesIO(data[HEADER.size:]), schema, None)
