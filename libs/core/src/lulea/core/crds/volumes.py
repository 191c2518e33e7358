"""The volumes a GpuJob may mount: configMap, secret (of the job's namespace) and emptyDir.

A GpuJob's pods are created by the operator with its own rights, not the submitter's, so what a
job may mount is decided here, at the door, and checked again by the operator (gang.py):
- `configMap` and `emptyDir` as in a Pod;
- `secret` of the job's own namespace, except the platform's (`lulea-*`: the members'
  certificates, which the CA writes there): a DataScientist who could mount
  `lulea-cert-<someone else>` would act as that member. The job's own member certificate is
  mounted by the platform at LULEA_CERT_DIR;
- nothing that reaches the node (hostPath), another namespace or a cluster volume.
The shapes are Kubernetes' own (`items` of `key`/`path`/`mode`, `defaultMode`, `optional`,
`mountPath`, `subPath`, `readOnly`), so a Pod's volumes section copies over unchanged.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from lulea.core.crds.meta import DNS_LABEL, CRModel, Rule, cel

MAX_VOLUMES = 16
#: Volume names the platform uses in job pods.
RESERVED_VOLUMES = ("member-cert",)
#: Where the platform mounts the member certificate; no user mount may sit on or under it.
PLATFORM_MOUNT_ROOT = "/var/run/lulea"
#: Secrets whose names start with this are the platform's (`lulea-cert-<user>`).
PLATFORM_SECRET_PREFIX = "lulea-"

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_NO_DOTDOT = Rule("!self.matches('(^|/)[.][.](/|$)')", "may not contain a '..' path segment")
_RELATIVE = Rule("!self.startsWith('/')", "must be a relative path")

_DOTDOT = re.compile(r"(^|/)\.\.(/|$)")


def _relative(path: str) -> str:
    if path.startswith("/") or _DOTDOT.search(path):
        raise ValueError("must be a relative path without a '..' segment")
    return path


def _mount_path(path: str) -> str:
    if _DOTDOT.search(path):
        raise ValueError("may not contain a '..' path segment")
    if path.rstrip("/") == PLATFORM_MOUNT_ROOT or path.startswith(PLATFORM_MOUNT_ROOT + "/"):
        raise ValueError(f"{PLATFORM_MOUNT_ROOT} is where the platform mounts the member certificate")
    return path


_QUANTITY = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"
Quantity = Annotated[str, StringConstraints(max_length=32, pattern=_QUANTITY)]
ObjectName = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=_DNS_SUBDOMAIN)]
Mode = Annotated[int, Field(ge=0, le=0o777)]
RelativePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253),
    Field(json_schema_extra=cel(_RELATIVE, _NO_DOTDOT)),
    AfterValidator(_relative),
]


class KeyToPath(CRModel):
    """One key of the ConfigMap or Secret as a file."""

    key: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
    """The key in the object's data."""
    path: RelativePath
    """The file's path inside the volume."""
    mode: Mode | None = None
    """The file's mode bits (octal 0644 is 420); the volume's defaultMode when absent."""


class ConfigMapSource(CRModel):
    """A ConfigMap of the job's namespace, its keys as files (e.g. the job's script)."""

    name: ObjectName
    items: list[KeyToPath] = Field(default_factory=list, max_length=64)
    """Only these keys, at these paths; all keys under their own names when empty."""
    default_mode: Mode | None = None
    optional: bool = False
    """Start the job even when the ConfigMap (or a key) is missing."""


class SecretSource(CRModel):
    """A Secret of the job's namespace, not one of the platform's `lulea-*` Secrets."""

    model_config = ConfigDict(json_schema_extra=cel(Rule(
        f"!self.secretName.startsWith('{PLATFORM_SECRET_PREFIX}')",
        f"Secrets named {PLATFORM_SECRET_PREFIX}* are the platform's (members' certificates) and"
        " cannot be mounted; the job's own member certificate is at LULEA_CERT_DIR",
        reason="FieldValueForbidden", field_path=".secretName")))

    secret_name: ObjectName
    items: list[KeyToPath] = Field(default_factory=list, max_length=64)
    default_mode: Mode | None = None
    optional: bool = False

    @model_validator(mode="after")
    def _not_the_platforms(self) -> Self:
        if self.secret_name.startswith(PLATFORM_SECRET_PREFIX):
            raise ValueError(f"Secrets named {PLATFORM_SECRET_PREFIX}* are the platform's and"
                             " cannot be mounted")
        return self


class EmptyDirSource(CRModel):
    """A scratch directory that lives as long as the pod."""

    medium: Literal["", "Memory"] = ""
    size_limit: Quantity | None = None
    """At most this much (a quantity such as `1Gi`); not enforced by the local runtime."""


_ONE_SOURCE = Rule(
    "[has(self.configMap), has(self.secret), has(self.emptyDir)].filter(x, x).size() == 1",
    "a GpuJob volume is exactly one of configMap, secret or emptyDir (hostPath and other"
    " kinds are not allowed)",
)
_NOT_RESERVED = Rule(
    " && ".join(f"self.name != '{n}'" for n in RESERVED_VOLUMES),
    f"volume names {', '.join(RESERVED_VOLUMES)} are the platform's; choose another name",
    reason="FieldValueForbidden", field_path=".name",
)


class Volume(CRModel):
    """A volume every pod of the job gets."""

    model_config = ConfigDict(json_schema_extra=cel(_ONE_SOURCE, _NOT_RESERVED))

    name: Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
    config_map: ConfigMapSource | None = None
    secret: SecretSource | None = None
    empty_dir: EmptyDirSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if sum(x is not None for x in (self.config_map, self.secret, self.empty_dir)) != 1:
            raise ValueError("a GpuJob volume is exactly one of configMap, secret or emptyDir")
        if self.name in RESERVED_VOLUMES:
            raise ValueError(f"volume name {self.name} is the platform's")
        return self

    def pod_volume(self) -> dict[str, object]:
        """The volume as it goes into the pod spec (the same shape)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


_UNDER_PLATFORM = Rule(
    f"self != '{PLATFORM_MOUNT_ROOT}' && !self.startsWith('{PLATFORM_MOUNT_ROOT}/')",
    f"{PLATFORM_MOUNT_ROOT} is where the platform mounts the member certificate; mount elsewhere",
    reason="FieldValueForbidden",
)


class VolumeMount(CRModel):
    """Where a volume appears in the job's container."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
    """The name of one of spec.volumes."""
    mount_path: Annotated[
        str,
        StringConstraints(min_length=2, max_length=512, pattern=r"^/"),
        Field(json_schema_extra=cel(_NO_DOTDOT, _UNDER_PLATFORM)),
        AfterValidator(_mount_path),
    ]
    """An absolute path, e.g. `/opt/job`."""
    sub_path: RelativePath | None = None
    """Mount only this path of the volume."""
    read_only: bool = False

