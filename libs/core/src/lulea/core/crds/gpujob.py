"""GpuJob: a gang of pods holding `gpus` GPUs on `hosts` hosts (or anywhere), all-or-nothing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from lulea.core.crds.meta import (
    LABEL_KEY,
    CRModel,
    LabelKey,
    LabelValue,
    ObjectMeta,
    Rule,
    Status,
    cel,
    list_map,
)
from lulea.core.crds.share import name_rules
from lulea.core.crds.volumes import MAX_VOLUMES, Volume, VolumeMount

MAX_GPUS = 4096
MAX_HOSTS = 512
MAX_GPUS_PER_HOST = 16
#: Env var prefix the platform injects (endpoints, cert paths); users may not set it.
RESERVED_ENV_PREFIX = "LULEA_"

Arg = Annotated[str, StringConstraints(max_length=4096)]
EnvName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Phase(StrEnum):
    QUEUED = "Queued"
    PLACED = "Placed"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class EnvVar(CRModel):
    """An environment variable for every pod of the job."""

    name: EnvName
    """A C identifier; names starting with LULEA_ are the platform's."""
    value: Annotated[str, StringConstraints(max_length=32768)] = ""


class Topology(CRModel):
    """Where the gang's hosts must be relative to each other."""

    group_by: LabelKey
    """A node label key, e.g. `lulea.io/rack`: all hosts of the gang share its value."""


_FROZEN = "a GpuJob's spec is immutable except priority: delete the job and submit a new one"
#: Optional fields; a transition rule on a field runs only when old and new both have it.
_OPTIONAL_FROZEN = ("command", "args", "env", "hosts", "nodeSelector", "topology", "activeDeadlineSeconds",
                    "volumes", "volumeMounts")


def _frozen(**extra: Any) -> dict[str, Any]:
    """`json_schema_extra` for a field that may not change once the job exists."""
    rules = extra.pop("rules", ())
    return cel(*rules, Rule("self == oldSelf", _FROZEN), **extra)


_SPEC_RULES = cel(
    Rule(
        "!has(self.hosts) || self.hosts <= self.gpus",
        "hosts must not exceed gpus: every host runs at least one GPU",
        field_path=".hosts",
    ),
    Rule(
        "!has(self.hosts) || self.gpus % self.hosts == 0",
        "gpus must be divisible by hosts: every host gets gpus/hosts GPUs",
        field_path=".gpus",
    ),
    Rule(
        f"!has(self.hosts) || self.gpus / self.hosts <= {MAX_GPUS_PER_HOST}",
        f"gpus/hosts must be at most {MAX_GPUS_PER_HOST}: no host has more GPUs; use more hosts",
        field_path=".hosts",
    ),
    Rule(
        "!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes)"
        " && self.volumes.exists(v, v.name == m.name))",
        "every volumeMount must name one of spec.volumes",
        field_path=".volumeMounts",
    ),
    Rule(
        " && ".join(f"has(self.{f}) == has(oldSelf.{f})" for f in _OPTIONAL_FROZEN),
        f"{_FROZEN}: {', '.join(_OPTIONAL_FROZEN)} can be neither added nor removed",
    ),
)


class GpuJobSpec(CRModel):
    """What to run and the GPU shape it needs."""

    model_config = ConfigDict(json_schema_extra=_SPEC_RULES)

    image: Annotated[
        str,
        StringConstraints(min_length=1, max_length=512, pattern=r"^\S+$"),
        Field(json_schema_extra=_frozen()),
    ]
    """Container image, e.g. `registry.example/train:1.4`."""
    command: list[Arg] = Field(default_factory=list, max_length=64, json_schema_extra=_frozen())
    """Entrypoint; the image's when empty."""
    args: list[Arg] = Field(default_factory=list, max_length=256, json_schema_extra=_frozen())
    """Arguments to the entrypoint."""
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=64,
        json_schema_extra=_frozen(
            rules=[
                Rule(
                    f"self.all(e, !e.name.startsWith('{RESERVED_ENV_PREFIX}'))",
                    f"env names starting with {RESERVED_ENV_PREFIX} are set by the platform;"
                    " choose another name",
                    reason="FieldValueForbidden",
                )
            ],
            **list_map("name"),
        ),
    )
    """Environment variables, each name once."""
    gpus: int = Field(ge=1, le=MAX_GPUS, json_schema_extra=_frozen())
    """GPUs in total across the gang."""
    hosts: int | None = Field(default=None, ge=1, le=MAX_HOSTS, json_schema_extra=_frozen())
    """Exactly this many hosts with gpus/hosts GPUs each; absent = any hosts, one pod per GPU."""
    node_selector: dict[str, LabelValue] = Field(
        default_factory=dict,
        max_length=16,
        json_schema_extra=_frozen(
            rules=[
                Rule(
                    f"self.all(k, size(k) <= 317 && k.matches(r'{LABEL_KEY}'))",
                    "nodeSelector keys must be label keys such as lulea.io/gpu-model",
                )
            ]
        ),
    )
    """Node labels every host must have, e.g. `lulea.io/interconnect: infiniband`."""
    topology: Topology | None = Field(default=None, json_schema_extra=_frozen())
    """Keep all hosts in one topology domain (e.g. the same rack)."""
    priority: int = Field(default=0, ge=0, le=1000)
    """Queue priority; higher goes first (default 0). The only field that may change later."""
    max_retries: int = Field(default=0, ge=0, le=10, json_schema_extra=_frozen())
    """How often a failed gang is placed again (default 0)."""
    volumes: list[Volume] = Field(
        default_factory=list, max_length=MAX_VOLUMES, json_schema_extra=_frozen(**list_map("name"))
    )
    """Volumes for every pod: configMap, secret (not the platform's `lulea-*`) or emptyDir."""
    volume_mounts: list[VolumeMount] = Field(
        default_factory=list, max_length=MAX_VOLUMES, json_schema_extra=_frozen(**list_map("mountPath"))
    )
    """Where the volumes appear in the container, e.g. a ConfigMap with the script at /opt/job."""
    active_deadline_seconds: int | None = Field(
        default=None, ge=1, le=30 * 24 * 3600, json_schema_extra=_frozen()
    )
    """Fail the job when it has run this long."""

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.hosts is not None:
            if self.hosts > self.gpus:
                raise ValueError("hosts must not exceed gpus: every host runs at least one GPU")
            if self.gpus % self.hosts:
                raise ValueError("gpus must be divisible by hosts: every host gets gpus/hosts GPUs")
            if self.gpus // self.hosts > MAX_GPUS_PER_HOST:
                raise ValueError(f"gpus/hosts must be at most {MAX_GPUS_PER_HOST}")
        names = [e.name for e in self.env]
        if len(names) != len(set(names)):
            raise ValueError("each env name may appear only once")
        if any(n.startswith(RESERVED_ENV_PREFIX) for n in names):
            raise ValueError(f"env names starting with {RESERVED_ENV_PREFIX} are set by the platform")
        volumes = [v.name for v in self.volumes]
        if len(volumes) != len(set(volumes)):
            raise ValueError("each volume name may appear only once")
        paths = [m.mount_path for m in self.volume_mounts]
        if len(paths) != len(set(paths)):
            raise ValueError("each mountPath may appear only once")
        if unknown := sorted({m.name for m in self.volume_mounts} - set(volumes)):
            raise ValueError(f"every volumeMount must name one of spec.volumes: {', '.join(unknown)}")
        return self

    @property
    def gpus_per_host(self) -> int | None:
        """GPUs on each host when `hosts` is set; None when the gang may spread freely."""
        return None if self.hosts is None else self.gpus // self.hosts


class GpuJobStatus(Status):
    """Where the job is in its life."""

    phase: Phase | None = None
    """Queued, Placed, Running, Succeeded or Failed."""
    nodes: list[Annotated[str, StringConstraints(max_length=253)]] = Field(
        default_factory=list, max_length=MAX_GPUS
    )
    """Nodes the current attempt's gang is placed on."""
    attempts: int | None = Field(default=None, ge=0)
    """Placements so far (1 for the first run)."""
    gang_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    """Id of the current attempt's gang (pods carry it as a label)."""
    message: Annotated[str, StringConstraints(max_length=32768)] | None = None
    """A short human summary, e.g. why the job waits."""
    start_time: datetime | None = None
    """When the current attempt started running."""
    completion_time: datetime | None = None
    """When the job succeeded or finally failed."""
    logs_query: Annotated[str, StringConstraints(max_length=1024)] | None = None
    """The LogsQL stream filter that shows this job's logs through the logs gateway
    (`/projects/<project>/select/logsql/query?query=...`, docs/logs.md)."""


class GpuJob(CRModel):
    """A whole GpuJob object as the API server returns it."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = "lulea.io/v1alpha1"
    kind: str = "GpuJob"
    metadata: ObjectMeta
    spec: GpuJobSpec
    status: GpuJobStatus | None = None


ROOT_RULES = name_rules("GpuJob", max_length=50, why=": its pods are named after it with a suffix")
