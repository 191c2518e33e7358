"""Creating the platform's event topics and their ACLs, as the Kafka administrator.

Run once per install and again on every upgrade (`make up` runs it after Kafka starts; the
chart runs it as a pre-install/pre-upgrade hook Job): topics are created if missing with the
replication factor and `min.insync.replicas` given (RF 1 only on the one-broker local
stack), and the ACLs of the platform's principals are made exactly `platform_grants()`:
missing ones created, others of those principals deleted. Safe to run twice.

Uses confluent-kafka's AdminClient: aiokafka has no ACL administration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # not in the package's __all__
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from lulea.core.events.topics import PARTITIONS, PLATFORM, Component, Grant, platform_grants, platform_topics
from lulea.core.kafka import KafkaClient

log = logging.getLogger("lulea.events.setup")
TIMEOUT = 30.0


@dataclass(frozen=True)
class Durability:
    replication_factor: int = 3
    min_insync_replicas: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError("need 1 <= min.insync.replicas <= replication factor "
                             f"(got {self.min_insync_replicas} and {self.replication_factor})")


def binding(grant: Grant) -> AclBinding:
    return AclBinding(ResourceType[grant.resource], grant.name, ResourcePatternType[grant.pattern],
                      grant.principal, "*", AclOperation[grant.operation], AclPermissionType.ALLOW)


def grant_of(b: Any) -> Grant:
    """A Grant of an AclBinding read back from the broker (its enums are typed loosely)."""
    return Grant(b.principal, b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name)


def ensure_topics(admin: AdminClient, topics: Iterable[str], durability: Durability) -> list[str]:
    """Create the missing topics; returns those created."""
    existing = set(admin.list_topics(timeout=TIMEOUT).topics)
    wanted = [NewTopic(t, num_partitions=PARTITIONS.get(t, 1),
                       replication_factor=durability.replication_factor,
                       config={"min.insync.replicas": str(durability.min_insync_replicas)})
              for t in topics if t not in existing]
    created = []
    for topic, future in (admin.create_topics(wanted, request_timeout=TIMEOUT).items() if wanted else []):
        try:
            future.result()
            created.append(topic)
        except KafkaException as e:
            if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise RuntimeError(f"creating topic {topic}: {e.args[0].str()}") from e
    return created


def current_grants(admin: AdminClient, principals: Iterable[str]) -> set[Grant]:
    out: set[Grant] = set()
    for principal in principals:
        anything: Any = None  # a filter's "any name" and "any host"
        query = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, principal,
                                 anything, AclOperation.ANY, AclPermissionType.ANY)
        out |= {grant_of(b) for b in admin.describe_acls(query, request_timeout=TIMEOUT).result()}
    return out


def ensure_acls(admin: AdminClient, components: Iterable[Component]) -> tuple[set[Grant], set[Grant]]:
    """Make the components' ACLs exactly what they need; returns (created, deleted)."""
    components = list(components)
    wanted = platform_grants(components)
    have = current_grants(admin, {f"User:{c.principal}" for c in components})
    missing, extra = wanted - have, have - wanted
    if missing:
        for future in admin.create_acls([binding(g) for g in sorted(missing)],
                                        request_timeout=TIMEOUT).values():
            future.result()
    if extra:
        filters = [AclBindingFilter(ResourceType[g.resource], g.name, ResourcePatternType[g.pattern],
                                    g.principal, "*", AclOperation[g.operation], AclPermissionType.ALLOW)
                   for g in sorted(extra)]
        for future in admin.delete_acls(filters, request_timeout=TIMEOUT).values():
            future.result()
    return missing, extra


def run(kafka: KafkaClient, durability: Durability, components: Iterable[Component] = PLATFORM) -> None:
    components = list(components)
    admin = AdminClient(kafka.confluent())
    created = ensure_topics(admin, platform_topics(components), durability)
    added, removed = ensure_acls(admin, components)
    log.info("event topics: %d created; ACLs: %d created, %d deleted", len(created), len(added), len(removed))
