"""Topic operator settings: env prefix LULEA_TOPIC_, refused at start when wrong. What every
component shares (Kafka's platform listener, its certificate, LULEA_ENV) is
`lulea.core.platform`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube import LeaderElectionSettings


class TopicSettings(LeaderElectionSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_TOPIC_", extra="forbid")

    kubeconfig: str | None = None
    """Path to a kubeconfig; unset means $KUBECONFIG or the in-cluster service account."""
    schema_registry_url: str | None = Field(default=None, pattern=r"^https://")
    """The schema registry (https); unset: avroSchema is not registered."""
    resync_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How often every Topic is compared with Kafka, and all ACLs with the objects (drift)."""
    consumer_group: str = Field(default="lulea-operator-topic", pattern=r"^lulea-operator-topic")
    """The membership events' consumer group (its ACL is the prefix lulea-operator-topic)."""
    batch_size: int = Field(default=100, ge=1, le=1000)
    batch_linger_seconds: float = Field(default=0.1, ge=0, le=5)
    """Topic creations of concurrent reconciles go to Kafka together (one CreateTopics call)."""
    workers: int = Field(default=300, ge=1, le=1000)
    """How many Topics kopf reconciles at once."""
    give_up_deleting_after: int = Field(default=5, ge=0)
    """Attempts after which a Topic whose project is being deleted lets go of Kafka (its
    namespace must never stay Terminating); the Kafka topic may then be left behind."""
    kafka_libs: Path | None = None
    """The Kafka distribution's `libs` directory: per-member client quotas (Project
    `quotas.kafka*BytesPerSecond`) are applied with Kafka's own `kafka-configs` tool from it
    (docs/topics.md says why); unset: those quota fields are not applied (logged at start)."""
    java: str = "java"
    """The Java runtime that runs `kafka-configs`."""
    quota_describe_seconds: float = Field(default=300.0, gt=0, le=86400)
    """How often the broker's client quotas are described again (drift); in between, the
    last known state is compared with the Projects every RESYNC_SECONDS and on membership
    events, and the tool runs only for quotas that must change."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    """/healthz, /readyz and /metrics on host:port."""
    lease_name: str = Field(default="lulea-operator-topic", min_length=1)
