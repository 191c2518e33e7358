"""Platform events on Kafka: CloudEvents headers, Avro single-object values, W3C trace context.

Each publishing component has its own topic (`topics`), which only its principal may write:

    pub = EventPublisher(kafka, source="lulea/operator-project", topic=PROJECT_EVENTS)
    await pub.start()
    await pub.publish(EventType.MEMBER_ADDED, subject="p1/alice", key="p1",
                      data={"project": "p1", "user": "alice", "role": "DataOwner"},
                      id_parts=(uid, str(generation), "alice"))
    consumer = EventConsumer(kafka, group_id="lulea-ca", handler=handle,
                             types={EventType.MEMBER_ADDED})   # read from PROJECT_EVENTS only
    await consumer.run()
"""

from lulea.core.events.bus import EventPublisher, LoggedPublisher, Publication, Publishing, create_topics
from lulea.core.events.codec import EventType, UndecodableEvent, decode, encode
from lulea.core.events.consumer import EventConsumer
from lulea.core.events.envelope import Event, event_id
from lulea.core.events.topics import (
    CA_EVENTS,
    DATASET_EVENTS,
    DEAD_LETTER_TOPIC,
    GPUJOB_EVENTS,
    PROJECT_EVENTS,
    TOPIC_EVENTS,
    sources_for,
    topic_of,
)

__all__ = [
    "CA_EVENTS",
    "DATASET_EVENTS",
    "DEAD_LETTER_TOPIC",
    "GPUJOB_EVENTS",
    "PROJECT_EVENTS",
    "TOPIC_EVENTS",
    "Event",
    "EventConsumer",
    "EventPublisher",
    "EventType",
    "LoggedPublisher",
    "Publication",
    "Publishing",
    "UndecodableEvent",
    "create_topics",
    "decode",
    "encode",
    "event_id",
    "sources_for",
    "topic_of",
]
