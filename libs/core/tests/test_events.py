"""Unit tests of the event envelope and codec (no broker)."""

from __future__ import annotations

import datetime as dt

import pytest

from lulea.core.events import Event, EventType, UndecodableEvent, decode, encode, event_id
from lulea.core.events.bus import _SeenIds
from lulea.core.events.codec import MAGIC, latest

SAMPLES = {
    EventType.PROJECT_CREATED: {"project": "p1", "namespace": "p1",
                                "members": [{"user": "alice", "role": "DataOwner"}]},
    EventType.PROJECT_DELETED: {"project": "p1"},
    EventType.MEMBER_ADDED: {"project": "p1", "user": "bob", "role": "DataScientist"},
    EventType.MEMBER_REMOVED: {"project": "p1", "user": "bob", "role": "DataScientist"},
    EventType.MEMBER_ROLE_CHANGED: {"project": "p1", "user": "bob", "role": "DataOwner",
                                    "previousRole": "DataScientist"},
    EventType.CERTIFICATE_ISSUED: {"project": "p1", "user": "bob", "serial": "0a1b",
                                   "notAfter": "2026-12-01T00:00:00Z"},
    EventType.CERTIFICATE_REVOKED: {"project": "p1", "user": "bob", "serial": "0a1b",
                                    "reason": "MemberRemoved"},
    EventType.JOB_SUBMITTED: {"project": "p1", "job": "train", "gpus": 8, "hosts": 2},
    EventType.JOB_PLACED: {"project": "p1", "job": "train", "nodes": ["n1", "n2"], "attempt": 1},
    EventType.JOB_FINISHED: {"project": "p1", "job": "train", "phase": "Succeeded",
                             "reason": "", "attempt": 1},
    EventType.TOPIC_READY: {"project": "p1", "topic": "clicks", "kafkaTopic": "p1.clicks",
                            "topicId": "nXq1rZ2WQ7mV0aLh4r3b8g", "partitions": 3, "schemaId": 7,
                            "generation": 2},
    EventType.TOPIC_SHARED: {"project": "p1", "topic": "clicks", "kafkaTopic": "p1.clicks",
                             "sharedWith": "p2", "access": "Read"},
    EventType.TOPIC_UNSHARED: {"project": "p1", "topic": "clicks", "kafkaTopic": "p1.clicks",
                               "sharedWith": "p2"},
    EventType.TOPIC_DELETED: {"project": "p1", "topic": "clicks", "kafkaTopic": "p1.clicks",
                              "orphaned": False},
    EventType.DATASET_CREATED: {"project": "p1", "dataset": "raw", "path": "/Projects/p1/raw"},
    EventType.DATASET_SHARED: {"project": "p1", "dataset": "raw", "target": "p2", "access": "ReadOnly"},
    EventType.DATASET_SHARE_ACCEPTED: {"project": "p1", "dataset": "raw", "target": "p2",
                                       "access": "ReadOnly"},
    EventType.DATASET_UNSHARED: {"project": "p1", "dataset": "raw", "target": "p2"},
    EventType.DATASET_DELETED: {"project": "p1", "dataset": "raw", "retained": False},
}


def test_every_event_type_has_a_schema_and_a_sample() -> None:
    assert set(SAMPLES) == set(EventType)


@pytest.mark.parametrize("event_type", list(EventType))
def test_single_object_encoding_round_trips(event_type: EventType) -> None:
    value = encode(event_type, SAMPLES[event_type])
    assert value[:2] == MAGIC and value[2:10] == latest(event_type).fingerprint
    assert decode(value) == (event_type, SAMPLES[event_type])


def test_fingerprints_are_distinct() -> None:
    prints = [latest(t).fingerprint for t in EventType]
    assert len(set(prints)) == len(prints)


def test_data_that_breaks_the_schema_is_refused_at_publish_time() -> None:
    with pytest.raises(ValueError, match="MemberAdded data does not match"):
        encode(EventType.MEMBER_ADDED, {"project": "p1", "user": "bob"})


@pytest.mark.parametrize("value, message", [
    (None, "bad magic"),
    (b"{\"json\": true}", "bad magic"),
    (MAGIC + b"\x00" * 8 + b"\x02", "unknown schema fingerprint"),
    (MAGIC + latest(EventType.MEMBER_ADDED).fingerprint + b"\xff\xff\xff", "corrupt MemberAdded"),
])
def test_undecodable_values(value: bytes | None, message: str) -> None:
    with pytest.raises(UndecodableEvent, match=message):
        decode(value)


def test_event_ids_are_deterministic_per_resource_generation_and_type() -> None:
    a = event_id(EventType.MEMBER_ADDED, "uid-1", "3", "bob")
    assert a == event_id(EventType.MEMBER_ADDED, "uid-1", "3", "bob")
    assert a != event_id(EventType.MEMBER_ADDED, "uid-1", "4", "bob")
    assert a != event_id(EventType.MEMBER_REMOVED, "uid-1", "3", "bob")
    with pytest.raises(ValueError):
        event_id(EventType.MEMBER_ADDED)


def _event() -> Event:
    return Event(id="e1", type=EventType.MEMBER_ADDED, source="lulea/test", subject="p1/bob",
                 data=SAMPLES[EventType.MEMBER_ADDED],
                 time=dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
                 traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


def test_cloudevents_binary_mode_headers_round_trip() -> None:
    event = _event()
    headers = dict(event.headers())
    assert headers["ce_type"] == b"io.lulea.MemberAdded.v1"
    assert headers["ce_specversion"] == b"1.0" and headers["ce_time"] == b"2026-11-23T12:00:00Z"
    assert Event.from_message(event.headers(), event.value()) == event


@pytest.mark.parametrize("mutate, message", [
    (lambda h: [x for x in h if x[0] != "ce_id"], "missing CloudEvents header ce_id"),
    (lambda h: [(k, b"0.3" if k == "ce_specversion" else v) for k, v in h], "ce_specversion"),
    (lambda h: [(k, b"io.lulea.Nope.v1" if k == "ce_type" else v) for k, v in h], "unknown event"),
    (lambda h: [(k, b"io.lulea.ProjectDeleted.v1" if k == "ce_type" else v) for k, v in h],
     "but the body is a MemberAdded"),
    (lambda h: [(k, b"yesterday" if k == "ce_time" else v) for k, v in h], "bad ce_time"),
])
def test_bad_envelopes_are_undecodable(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    event = _event()
    with pytest.raises(UndecodableEvent, match=message):
        Event.from_message(mutate(event.headers()), event.value())


def test_seen_ids_forget_the_oldest_beyond_capacity() -> None:
    seen = _SeenIds(capacity=3)
    for i in range(5):
        seen.add(f"e{i}")
    assert "e0" not in seen and "e1" not in seen and "e4" in seen
