"""The event envelope: CloudEvents attributes in Kafka headers (binary content mode) plus W3C
`traceparent`; the value is the Avro-encoded data (see codec)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from lulea.core.events.codec import EventType, UndecodableEvent, decode, encode

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"
_ID_NAMESPACE = uuid.UUID("6f1c2a52-5b0e-4b43-9d56-7c1e0d1f7a11")

Headers = list[tuple[str, bytes]]


def event_id(event_type: EventType, *id_parts: str) -> str:
    """Deterministic: the same resource (uid), generation and type give the same id, so a handler
    that is retried re-sends the same event and consumers drop the duplicate."""
    if not id_parts:
        raise ValueError("an event id needs at least one part (e.g. the resource uid)")
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join((event_type.value, *id_parts))))


@dataclass(frozen=True)
class Event:
    id: str
    type: EventType
    source: str
    subject: str
    data: dict[str, Any]
    time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    traceparent: str | None = None
    tracestate: str | None = None

    def headers(self) -> Headers:
        h = [
            ("ce_specversion", SPEC_VERSION), ("ce_id", self.id), ("ce_type", self.type.ce_type),
            ("ce_source", self.source), ("ce_subject", self.subject),
            ("ce_time", self.time.isoformat().replace("+00:00", "Z")),
            ("content-type", CONTENT_TYPE),
        ]
        if self.traceparent:
            h.append(("traceparent", self.traceparent))
        if self.tracestate:
            h.append(("tracestate", self.tracestate))
        return [(k, v.encode()) for k, v in h]

    def value(self) -> bytes:
        return encode(self.type, self.data)

    @classmethod
    def from_message(cls, headers: Headers | None, value: bytes | None) -> Event:
        h = {k: v.decode(errors="replace") for k, v in (headers or [])}
        for required in ("ce_id", "ce_type", "ce_source"):
            if required not in h:
                raise UndecodableEvent(f"missing CloudEvents header {required}")
        if h.get("ce_specversion") != SPEC_VERSION:
            raise UndecodableEvent(f"unsupported ce_specversion {h.get('ce_specversion')!r}")
        header_type = EventType.from_ce_type(h["ce_type"])
        body_type, data = decode(value)
        if body_type != header_type:
            raise UndecodableEvent(f"ce_type {h['ce_type']} but the body is a {body_type}")
        try:
            time = dt.datetime.fromisoformat(h.get("ce_time", "").replace("Z", "+00:00"))
        except ValueError:
            raise UndecodableEvent(f"bad ce_time {h.get('ce_time')!r}") from None
        return cls(id=h["ce_id"], type=header_type, source=h["ce_source"],
                   subject=h.get("ce_subject", ""), data=data, time=time,
                   traceparent=h.get("traceparent"), tracestate=h.get("tracestate"))
