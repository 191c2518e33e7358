"""Which component publishes which events, on which topic, and what Kafka ACLs that means.

An event is a trigger, never proof: still, a consumer must know who published it. Each
publishing component writes one topic of its own, and the ACLs let only that component's
principal (its service certificate's CN) write it. A consumer accepts an event type only
from the topic of the component that owns that type, so a type read anywhere else is a
forgery and is parked on the dead-letter topic, never handled.

Members' principals (`<project>__<user>`) get no ACL on any `lulea.*` topic or `lulea-*`
group: with `allow.everyone.if.no.acl.found=false` the broker refuses them everything here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lulea.core.events.codec import EventType

PROJECT_EVENTS = "lulea.events.project"
CA_EVENTS = "lulea.events.ca"
GPUJOB_EVENTS = "lulea.events.gpujob"
TOPIC_EVENTS = "lulea.events.topic"
DATASET_EVENTS = "lulea.events.dataset"
DEAD_LETTER_TOPIC = "lulea.events.dlq"
LOGS_TOPIC = "lulea.logs"  # job log lines: the logs collector writes, the logs indexer reads
PLATFORM_PREFIX = "lulea."  # every platform topic; no project may own a name under it

TOPIC_OF: Mapping[EventType, str] = {
    EventType.PROJECT_CREATED: PROJECT_EVENTS,
    EventType.PROJECT_DELETED: PROJECT_EVENTS,
    EventType.MEMBER_ADDED: PROJECT_EVENTS,
    EventType.MEMBER_REMOVED: PROJECT_EVENTS,
    EventType.MEMBER_ROLE_CHANGED: PROJECT_EVENTS,
    EventType.CERTIFICATE_ISSUED: CA_EVENTS,
    EventType.CERTIFICATE_REVOKED: CA_EVENTS,
    EventType.JOB_SUBMITTED: GPUJOB_EVENTS,
    EventType.JOB_PLACED: GPUJOB_EVENTS,
    EventType.JOB_FINISHED: GPUJOB_EVENTS,
    EventType.TOPIC_READY: TOPIC_EVENTS,
    EventType.TOPIC_SHARED: TOPIC_EVENTS,
    EventType.TOPIC_UNSHARED: TOPIC_EVENTS,
    EventType.TOPIC_DELETED: TOPIC_EVENTS,
    EventType.DATASET_CREATED: DATASET_EVENTS,
    EventType.DATASET_SHARED: DATASET_EVENTS,
    EventType.DATASET_SHARE_ACCEPTED: DATASET_EVENTS,
    EventType.DATASET_UNSHARED: DATASET_EVENTS,
    EventType.DATASET_DELETED: DATASET_EVENTS,
}
PARTITIONS = {PROJECT_EVENTS: 6, CA_EVENTS: 6, GPUJOB_EVENTS: 6, TOPIC_EVENTS: 6, DATASET_EVENTS: 6,
              DEAD_LETTER_TOPIC: 1, LOGS_TOPIC: 6}


def topic_of(event_type: EventType) -> str:
    return TOPIC_OF[event_type]


def sources_for(types: Iterable[EventType]) -> dict[str, frozenset[EventType]]:
    """topic -> the types a consumer of `types` accepts from it (each from its owner's topic)."""
    out: dict[str, set[EventType]] = {}
    for t in types:
        out.setdefault(topic_of(t), set()).add(t)
    return {topic: frozenset(ts) for topic, ts in out.items()}


@dataclass(frozen=True)
class Component:
    """A platform component as Kafka sees it: its principal (service account name) and the
    event topics it writes and reads. Its consumer groups are named after it."""

    principal: str
    publishes: str | None = None
    consumes: tuple[str, ...] = ()
    parks: bool = field(default=False)  # a consumer writes what it cannot handle to the DLQ
    # Administers the projects' Kafka topics, their ACLs and client quotas (the Topic operator).
    # ALTER on the cluster (ACLs) is administrative power: only one component holds it.
    administers: bool = field(default=False)

    @property
    def group_prefix(self) -> str:
        return self.principal


PLATFORM: tuple[Component, ...] = (
    Component("lulea-operator-project", publishes=PROJECT_EVENTS),
    Component("lulea-ca", publishes=CA_EVENTS, consumes=(PROJECT_EVENTS,), parks=True),
    Component("lulea-operator-gpujob", publishes=GPUJOB_EVENTS),
    Component("lulea-operator-topic", publishes=TOPIC_EVENTS, consumes=(PROJECT_EVENTS,), parks=True,
              administers=True),
    Component("lulea-operator-dataset", publishes=DATASET_EVENTS),
    Component("lulea-logs-collector", publishes=LOGS_TOPIC),
    Component("lulea-logs-indexer", consumes=(LOGS_TOPIC,)),
)
CLUSTER = "kafka-cluster"  # the one resource name of Kafka's CLUSTER resource type
#: What administering the projects' topics takes: create topics, ACLs (ALTER/DESCRIBE on the
#: cluster) and client quotas (ALTER_CONFIGS/DESCRIBE_CONFIGS on the cluster); on topics,
#: grow, configure, describe and delete them.
# confluent-kafka names Kafka's CLUSTER resource type BROKER (librdkafka's RD_KAFKA_RESOURCE_BROKER).
ADMIN_OPERATIONS = {
    "BROKER": ("CREATE", "ALTER", "DESCRIBE", "ALTER_CONFIGS", "DESCRIBE_CONFIGS"),
    "TOPIC": ("ALTER", "DELETE", "DESCRIBE", "ALTER_CONFIGS", "DESCRIBE_CONFIGS"),
}


@dataclass(frozen=True, order=True)
class Grant:
    """One Kafka ACL binding: ALLOW `operation` on a resource for `principal` from any host."""

    principal: str  # "User:<cn>"
    resource: str  # "TOPIC" | "GROUP" | "TRANSACTIONAL_ID" | "BROKER" (the cluster)
    name: str
    pattern: str  # "LITERAL" | "PREFIXED"
    operation: str  # "READ" | "WRITE" | "DESCRIBE"


def platform_grants(components: Iterable[Component] = PLATFORM) -> set[Grant]:
    """The exact ACLs the platform's own components need on the event topics (READ and WRITE
    imply DESCRIBE in Kafka's authorizer, so no DESCRIBE grant is needed)."""
    grants: set[Grant] = set()
    for c in components:
        user = f"User:{c.principal}"
        if c.publishes:
            grants.add(Grant(user, "TOPIC", c.publishes, "LITERAL", "WRITE"))
        grants |= {Grant(user, "TOPIC", topic, "LITERAL", "READ") for topic in c.consumes}
        if c.consumes:
            grants.add(Grant(user, "GROUP", c.group_prefix, "PREFIXED", "READ"))
        if c.parks:
            grants.add(Grant(user, "TOPIC", DEAD_LETTER_TOPIC, "LITERAL", "WRITE"))
        if c.administers:
            grants |= {Grant(user, "BROKER", CLUSTER, "LITERAL", op) for op in ADMIN_OPERATIONS["BROKER"]}
            grants |= {Grant(user, "TOPIC", "*", "LITERAL", op) for op in ADMIN_OPERATIONS["TOPIC"]}
    return grants


def platform_topics(components: Iterable[Component] = PLATFORM) -> list[str]:
    names = {t for c in components for t in (c.publishes, *c.consumes) if t}
    if any(c.parks for c in components):
        names.add(DEAD_LETTER_TOPIC)
    return sorted(names)
