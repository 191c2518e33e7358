"""Event values in Avro's single-object encoding: 0xC3 0x01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary body.

The schemas ship with lulea.core (`schemas/<Name>.v<N>.avsc`), so decoding never waits for the
schema registry: a reader finds the writer schema by fingerprint among the ones it knows and
resolves it to the newest version of the same event it knows (Avro schema resolution).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"


class EventType(StrEnum):
    PROJECT_CREATED = "ProjectCreated"
    PROJECT_DELETED = "ProjectDeleted"
    MEMBER_ADDED = "MemberAdded"
    MEMBER_REMOVED = "MemberRemoved"
    MEMBER_ROLE_CHANGED = "MemberRoleChanged"
    CERTIFICATE_ISSUED = "CertificateIssued"
    CERTIFICATE_REVOKED = "CertificateRevoked"
    JOB_SUBMITTED = "JobSubmitted"
    JOB_PLACED = "JobPlaced"
    JOB_FINISHED = "JobFinished"
    TOPIC_READY = "TopicReady"
    TOPIC_SHARED = "TopicShared"
    TOPIC_UNSHARED = "TopicUnshared"
    TOPIC_DELETED = "TopicDeleted"
    DATASET_CREATED = "DatasetCreated"
    DATASET_SHARED = "DatasetShared"
    DATASET_SHARE_ACCEPTED = "DatasetShareAccepted"
    DATASET_UNSHARED = "DatasetUnshared"
    DATASET_DELETED = "DatasetDeleted"

    @property
    def ce_type(self) -> str:
        """The CloudEvents `type` attribute: reverse-DNS, with the schema version."""
        return f"io.lulea.{self.value}.v{latest(self).version}"

    @classmethod
    def from_ce_type(cls, ce_type: str) -> EventType:
        parts = ce_type.split(".")
        if len(parts) != 4 or parts[:2] != ["io", "lulea"]:
            raise UndecodableEvent(f"not a Lulea event type: {ce_type!r}")
        try:
            return cls(parts[2])
        except ValueError:
            raise UndecodableEvent(f"unknown event type: {ce_type!r}") from None


class UndecodableEvent(ValueError):
    """A message that is not a Lulea event we can read: it goes to the dead-letter topic."""


@dataclass(frozen=True)
class EventSchema:
    type: EventType
    version: int
    parsed: Any
    fingerprint: bytes

    @property
    def prefix(self) -> bytes:
        return MAGIC + self.fingerprint


@cache
def _all() -> tuple[EventSchema, ...]:
    out = []
    for entry in resources.files("lulea.core.events").joinpath("schemas").iterdir():
        if not entry.name.endswith(".avsc"):
            continue
        name, version, _ = entry.name.split(".")
        raw = json.loads(entry.read_text())
        parsed = fastavro.parse_schema(raw)
        canonical = to_parsing_canonical_form(raw)
        fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))[::-1]  # little-endian on the wire
        out.append(EventSchema(EventType(name), int(version.removeprefix("v")), parsed, fp))
    return tuple(out)


def latest(event_type: EventType) -> EventSchema:
    return max((s for s in _all() if s.type == event_type), key=lambda s: s.version)


def _by_fingerprint(fp: bytes) -> EventSchema:
    for s in _all():
        if s.fingerprint == fp:
            return s
    raise UndecodableEvent(f"unknown schema fingerprint {fp.hex()}")


def encode(event_type: EventType, data: dict[str, Any]) -> bytes:
    schema = latest(event_type)
    buf = io.BytesIO()
    buf.write(schema.prefix)
    try:
        fastavro.schemaless_writer(buf, schema.parsed, data, strict=True)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"{event_type} data does not match its schema: {e}") from e
    return buf.getvalue()


def decode(value: bytes | None) -> tuple[EventType, dict[str, Any]]:
    if not value or len(value) < 10 or value[:2] != MAGIC:
        raise UndecodableEvent("not Avro single-object encoded (bad magic)")
    writer = _by_fingerprint(value[2:10])
    reader = latest(writer.type)
    try:
        data = fastavro.schemaless_reader(io.BytesIO(value[10:]), writer.parsed, reader.parsed)
    except Exception as e:  # fastavro raises many kinds on a corrupt body
        raise UndecodableEvent(f"corrupt {writer.type} body: {e}") from e
    if not isinstance(data, dict):
        raise UndecodableEvent(f"{writer.type} body is not a record")
    return writer.type, data
