"""Platform events on Kafka: CloudEvents headers, Avro single-object values, W3C trace context.

    pub = EventPublisher(bootstrap, source="lulea/operator-project")
    await pub.start()
    await pub.publish(EventType.MEMBER_ADDED, subject="p1/alice", key="p1",
                      data={"project": "p1", "user": "alice", "role": "DataOwner"},
                      id_parts=(uid, str(generation), "alice"))
    consumer = EventConsumer(bootstrap, group_id="lulea-ca", handler=handle,
                             types={EventType.MEMBER_ADDED})
    await consumer.run()
"""

from lulea.core.events.bus import EVENT_TOPICS, EventPublisher, Publication, ensure_topics
from lulea.core.events.codec import EventType, UndecodableEvent, decode, encode
from lulea.core.events.consumer import EventConsumer
from lulea.core.events.envelope import DEAD_LETTER_TOPIC, EVENTS_TOPIC, Event, event_id

__all__ = [
    "DEAD_LETTER_TOPIC",
    "EVENTS_TOPIC",
    "EVENT_TOPICS",
    "Event",
    "EventConsumer",
    "EventPublisher",
    "EventType",
    "Publication",
    "UndecodableEvent",
    "decode",
    "encode",
    "ensure_topics",
    "event_id",
]
