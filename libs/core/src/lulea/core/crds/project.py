"""Project: a cluster-scoped tenant. A Project named `p1` owns the namespace `p1`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from lulea.core.crds.meta import DNS_LABEL, CRModel, ObjectMeta, Rule, Status, cel, list_map
from lulea.core.crds.share import ACCEPTED_SHARE, MAX_ACCEPTED

#: Namespaces a project may not take over.
RESERVED_NAMES = ("default", "kube-system", "kube-public", "kube-node-lease", "lulea")
RESERVED_PREFIXES = ("kube-", "lulea-")
#: A member's user name: the Kubernetes user name and the `<project>__<user>` cert CN part.
USER_NAME = r"^[a-z0-9]([-a-z0-9._@]*[a-z0-9])?$"
MAX_MEMBERS = 256

UserName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=USER_NAME)]


class Role(StrEnum):
    DATA_OWNER = "DataOwner"
    DATA_SCIENTIST = "DataScientist"


class Member(CRModel):
    """A person in the project and what they may do."""

    user: UserName
    """Kubernetes user name (lowercase letters, digits, '-', '.', '_', '@')."""
    role: Role
    """`DataOwner` manages members, shares, topics; `DataScientist` uses data and runs jobs."""


class Quotas(CRModel):
    """Upper bounds for the whole project; absent means no limit."""

    gpus: int | None = Field(default=None, ge=0, le=100_000)
    """GPUs the project's running jobs may hold at once."""
    storage_bytes: int | None = Field(default=None, ge=0, json_schema_extra={"format": "int64"})
    """Bytes the project's datasets may store in total."""
    topics: int | None = Field(default=None, ge=0, le=10_000)
    """Number of Topics in the project."""
    jobs: int | None = Field(default=None, ge=0, le=100_000)
    """Number of GpuJobs that may exist in the project."""
    kafka_produce_bytes_per_second: int | None = Field(
        default=None, ge=1024, le=10 * 2**30, json_schema_extra={"format": "int64"})
    """Bytes per second each member may produce to Kafka (a Kafka client quota on the
    member's principal `<project>__<user>`, `producer_byte_rate`); absent: no limit."""
    kafka_consume_bytes_per_second: int | None = Field(
        default=None, ge=1024, le=10 * 2**30, json_schema_extra={"format": "int64"})
    """Bytes per second each member may fetch from Kafka (`consumer_byte_rate` on the same
    principal); absent: no limit."""


_DUPLICATE_USERS = "each user may appear only once in members"


class ProjectSpec(CRModel):
    """Who is in the project and how much it may use."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            Rule(
                "self.members.exists(m, m.role == 'DataOwner')",
                "a project needs at least one member with role DataOwner",
                reason="FieldValueRequired",
                field_path=".members",
            ),
        )
    )

    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    """What the project is for."""
    members: list[Member] = Field(min_length=1, max_length=MAX_MEMBERS, json_schema_extra=list_map("user"))
    """People in the project; at least one DataOwner, each user once."""
    quotas: Quotas | None = None
    """Resource limits for the project."""
    accepted_shares: list[
        Annotated[str, StringConstraints(max_length=127, pattern=ACCEPTED_SHARE)]
    ] = Field(default_factory=list, max_length=MAX_ACCEPTED,
              json_schema_extra={"x-kubernetes-list-type": "set"})
    """Shares this project's DataOwners accept: `<project>/<dataset>` for one dataset another
    project offers in its `shares`, `<project>/*` for all it offers. Nothing shared is usable
    here until accepted; removing the entry takes the access away."""

    @model_validator(mode="after")
    def _owners_and_unique_users(self) -> Self:
        users = [m.user for m in self.members]
        if len(users) != len(set(users)):
            raise ValueError(_DUPLICATE_USERS)
        if not any(m.role is Role.DATA_OWNER for m in self.members):
            raise ValueError("a project needs at least one member with role DataOwner")
        return self

    def role_of(self, user: str) -> Role | None:
        return next((m.role for m in self.members if m.user == user), None)


_Time = Annotated[str, StringConstraints(max_length=64)]


class KopfProgress(CRModel):
    """One handler's state between attempts, as kopf records it (`ProgressRecord`)."""

    started: _Time | None = None
    stopped: _Time | None = None
    delayed: _Time | None = None
    purpose: Annotated[str, StringConstraints(max_length=32)] | None = None
    retries: int | None = Field(default=None, ge=0)
    success: bool | None = None
    failure: bool | None = None
    message: Annotated[str, StringConstraints(max_length=1_000_000)] | None = None
    """The handler's last error, whole: a bound that kopf's writes cannot exceed short of the
    object's own size limit (a refused status patch would stall the operator)."""
    subrefs: list[Annotated[str, StringConstraints(max_length=253)]] | None = Field(
        default=None, max_length=64)


class KopfState(CRModel):
    """Where kopf keeps what it needs between events (`StatusDiffBaseStorage` and
    `StatusProgressStorage`, name `kopf`): in status, which members cannot write, and written in
    the same patch as the operator's own status."""

    last_handled_configuration: Annotated[str, StringConstraints(max_length=1_000_000)] | None = Field(
        default=None, alias="last-handled-configuration")
    """The spec (and labels, annotations) the operator last handled, as JSON."""
    progress: dict[str, KopfProgress] | None = Field(
        default=None, max_length=64)
    """Handlers in progress, by id."""
    dummy: _Time | None = None
    """Touched by kopf to wake itself with an event."""


class ProjectStatus(Status):
    """What the project operator has made real."""

    namespace: Annotated[str, StringConstraints(max_length=63)] | None = None
    """The namespace this project owns (same as its name)."""
    member_count: int | None = Field(default=None, ge=0, le=MAX_MEMBERS)
    """How many members the operator has reconciled (shown by `kubectl get proj`)."""
    kopf: KopfState | None = None
    """The operator's bookkeeping: the last spec it handled, its handlers in progress."""


class Project(CRModel):
    """A whole Project object as the API server returns it."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = "lulea.io/v1alpha1"
    kind: str = "Project"
    metadata: ObjectMeta
    spec: ProjectSpec
    status: ProjectStatus | None = None


_RESERVED = " || ".join(
    [f"self.metadata.name == '{n}'" for n in RESERVED_NAMES]
    + [f"self.metadata.name.startsWith('{p}')" for p in RESERVED_PREFIXES]
)

#: Rules on the whole object (only there can CEL see `metadata.name`).
ROOT_RULES = (
    Rule(
        f"size(self.metadata.name) <= 63 && self.metadata.name.matches('{DNS_LABEL}')",
        "a project name must be a DNS label (lowercase letters, digits and '-', starting and"
        " ending with a letter or digit, at most 63 characters): it becomes the namespace name",
    ),
    Rule(
        f"!({_RESERVED})",
        "a project name must not be 'default' or 'lulea' or start with 'kube-' or 'lulea-':"
        " those namespaces (and the Kafka topics lulea.*) belong to the cluster and the platform",
    ),
)
