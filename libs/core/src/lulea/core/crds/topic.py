"""Topic: a Kafka topic `<project>.<name>`, its Avro schema and compatibility, and shares."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from lulea.core.compatibility import Compatibility
from lulea.core.crds.meta import CRModel, ObjectMeta, ProjectName, Rule, Status, cel, list_map
from lulea.core.crds.share import MAX_SHARES, check_unique_projects, name_rules

MAX_PARTITIONS = 1024
MAX_REPLICATION = 5
MAX_SCHEMA_BYTES = 65536
#: Topic-level Kafka configs a project may set; the rest are the platform's.
NUMERIC_CONFIG = (
    "delete.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
)
CLEANUP_POLICIES = ("delete", "compact", "compact,delete", "delete,compact")
COMPRESSION_TYPES = ("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")
ALLOWED_CONFIG = tuple(sorted((*NUMERIC_CONFIG, "cleanup.policy", "compression.type")))


def _cel_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{i}'" for i in items) + "]"


class TopicAccess(StrEnum):
    READ = "Read"
    READ_WRITE = "ReadWrite"


class TopicShare(CRModel):
    """Another project whose members may use this topic."""

    project: ProjectName
    """The project the topic is shared with (not the owning project)."""
    access: TopicAccess = TopicAccess.READ
    """`Read` (consume, default) or `ReadWrite` (consume and produce)."""


ConfigValue = Annotated[str, StringConstraints(max_length=256)]

_CONFIG_RULES = cel(
    Rule(
        f"self.all(k, k in {_cel_list(ALLOWED_CONFIG)})",
        "config keys must be one of: " + ", ".join(ALLOWED_CONFIG),
        reason="FieldValueForbidden",
    ),
    Rule(
        f"self.all(k, !(k in {_cel_list(NUMERIC_CONFIG)}) || self[k].matches('^-?[0-9]{{1,19}}$'))",
        "config values for " + ", ".join(NUMERIC_CONFIG) + " must be whole numbers (as strings)",
    ),
    Rule(
        f"!('cleanup.policy' in self) || self['cleanup.policy'] in {_cel_list(CLEANUP_POLICIES)}",
        "config cleanup.policy must be one of: " + " | ".join(CLEANUP_POLICIES),
    ),
    Rule(
        f"!('compression.type' in self) || self['compression.type'] in {_cel_list(COMPRESSION_TYPES)}",
        "config compression.type must be one of: " + ", ".join(COMPRESSION_TYPES),
    ),
)


class TopicSpec(CRModel):
    """A Kafka topic a project owns."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            Rule(
                "!has(self.config) || !('min.insync.replicas' in self.config)"
                " || !self.config['min.insync.replicas'].matches('^[0-9]{1,4}$')"
                " || int(self.config['min.insync.replicas']) <= self.replicationFactor",
                "config min.insync.replicas must not exceed replicationFactor:"
                " producers with acks=all could never write",
                field_path=".config",
            ),
        )
    )

    partitions: int = Field(
        default=1,
        ge=1,
        le=MAX_PARTITIONS,
        json_schema_extra=cel(
            Rule(
                "self >= oldSelf",
                "partitions can only grow: Kafka cannot take partitions away from a topic",
            )
        ),
    )
    """Number of partitions (default 1); may be raised later, never lowered."""
    replication_factor: int = Field(
        default=1,
        ge=1,
        le=MAX_REPLICATION,
        json_schema_extra=cel(
            Rule(
                "self == oldSelf",
                "replicationFactor is immutable: create a new topic to change it",
            )
        ),
    )
    """Copies of each partition (default 1); at most the number of brokers."""
    config: dict[str, ConfigValue] = Field(
        default_factory=dict, max_length=len(ALLOWED_CONFIG), json_schema_extra=_CONFIG_RULES
    )
    """Kafka topic configs, only the allow-listed keys (e.g. `retention.ms`)."""
    avro_schema: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SCHEMA_BYTES)] | None = Field(
        default=None,
        json_schema_extra=cel(
            Rule(
                "self.trim().startsWith('{') || self.trim().startsWith('[') || self.trim().startsWith('\"')",
                "avroSchema must be an Avro schema in JSON: a record {...}, a union [...]"
                " or a quoted primitive type name",
            )
        ),
    )
    """The value schema (Avro, as JSON text), registered under subject `<project>.<topic>-value`."""
    compatibility: Compatibility = Compatibility.BACKWARD
    """How new schema versions must relate to earlier ones (default BACKWARD)."""
    shares: list[TopicShare] = Field(
        default_factory=list, max_length=MAX_SHARES, json_schema_extra=list_map("project")
    )
    """Projects this topic is shared with, each at most once."""

    @field_validator("config")
    @classmethod
    def _allowed_config(cls, config: dict[str, str]) -> dict[str, str]:
        bad = sorted(set(config) - set(ALLOWED_CONFIG))
        if bad:
            raise ValueError(f"config keys must be one of: {', '.join(ALLOWED_CONFIG)} (got {bad})")
        for key in NUMERIC_CONFIG:
            if key in config and not re.fullmatch(r"-?[0-9]{1,19}", config[key]):
                raise ValueError(f"config values for {key} must be whole numbers (as strings)")
        if config.get("cleanup.policy", "delete") not in CLEANUP_POLICIES:
            raise ValueError("config cleanup.policy must be one of: " + " | ".join(CLEANUP_POLICIES))
        if config.get("compression.type", "producer") not in COMPRESSION_TYPES:
            raise ValueError("config compression.type must be one of: " + ", ".join(COMPRESSION_TYPES))
        return config

    @field_validator("avro_schema")
    @classmethod
    def _schema_is_json(cls, schema: str | None) -> str | None:
        if schema is not None:
            try:
                json.loads(schema)
            except ValueError as err:
                raise ValueError(f"avroSchema must be JSON: {err}") from err
        return schema

    @model_validator(mode="after")
    def _shares_and_replicas(self) -> Self:
        check_unique_projects([s.project for s in self.shares])
        if int(self.config.get("min.insync.replicas", "1")) > self.replication_factor:
            raise ValueError("config min.insync.replicas must not exceed replicationFactor")
        return self


class TopicStatus(Status):
    """What the topic operator has made real."""

    kafka_topic: Annotated[str, StringConstraints(max_length=249)] | None = None
    """The Kafka topic name, `<project>.<topic>`."""
    topic_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    """Kafka's id of the topic this Topic created: a topic of the same name with another id
    is not this Topic's (ResourceConflict)."""
    partitions: int | None = Field(default=None, ge=0)
    """Partitions the Kafka topic has now."""
    schema_id: int | None = Field(default=None, ge=0)
    """Schema-registry id of the registered value schema."""
    schema_version: int | None = Field(default=None, ge=0)
    """Version of the value schema under its subject."""


class Topic(CRModel):
    """A whole Topic object as the API server returns it."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = "lulea.io/v1alpha1"
    kind: str = "Topic"
    metadata: ObjectMeta
    spec: TopicSpec = Field(default_factory=TopicSpec)
    status: TopicStatus | None = None


ROOT_RULES = name_rules("topic", why=": the Kafka topic is named <project>.<name>")
