"""What every Lulea custom resource shares: the model base, CEL rules, conditions, status.

The pydantic models in this package are the one source of truth for the CRDs: the
OpenAPI schemas under `crds/` are generated from them (`python -m lulea.core.crds generate`),
and the operators use the same models to read specs and write statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

GROUP = "lulea.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: An RFC 1123 label: what a project (and so its namespace) may be called.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: A Kubernetes qualified name with an optional DNS-subdomain prefix (label keys).
LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
#: A label value (may be empty).
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

ProjectName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=317, pattern=LABEL_KEY)]
LabelValue = Annotated[str, StringConstraints(max_length=63, pattern=LABEL_VALUE)]

# Field-error reasons the API server understands in x-kubernetes-validations.
Reason = Literal["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"]


@dataclass(frozen=True)
class Rule:
    """One CEL `x-kubernetes-validations` rule, declared next to the model it guards."""

    rule: str
    message: str
    reason: Reason | None = None
    field_path: str | None = None

    def to_schema(self) -> dict[str, str]:
        out = {"rule": self.rule, "message": self.message}
        if self.reason:
            out["reason"] = self.reason
        if self.field_path:
            out["fieldPath"] = self.field_path
        return out


def cel(*rules: Rule, **extra: Any) -> dict[str, Any]:
    """`json_schema_extra` for a field or model: its CEL rules plus any other `x-kubernetes-*`."""
    return {"x-kubernetes-validations": [r.to_schema() for r in rules], **extra}


def list_map(*keys: str) -> dict[str, Any]:
    """`json_schema_extra` for a list keyed by `keys` (the API server refuses duplicates)."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


class CRModel(BaseModel):
    """Base of every spec/status model: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(CRModel):
    """One observation of the object's state (the shape of metav1.Condition)."""

    type: Annotated[
        str,
        StringConstraints(
            min_length=1,
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """Condition type in CamelCase, e.g. `Ready`."""
    status: ConditionStatus
    """`True`, `False` or `Unknown`."""
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ]
    """A CamelCase word machines can switch on, e.g. `NamespaceCreated`."""
    message: Annotated[str, StringConstraints(max_length=32768)] = ""
    """What a person should know, e.g. what to fix."""
    last_transition_time: datetime
    """When `status` last changed."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` this condition was computed from."""


class Status(CRModel):
    """Fields every Lulea status carries."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` the operator last reconciled."""
    conditions: list[Condition] = Field(
        default_factory=list, max_length=16, json_schema_extra=list_map("type")
    )
    """Current conditions; `Ready` is always present once the operator has seen the object."""

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def is_ready(self) -> bool:
        ready = self.condition("Ready")
        return ready is not None and ready.status is ConditionStatus.TRUE


class ObjectMeta(BaseModel):
    """The parts of metadata the platform reads; everything else is kept as given."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

    name: str
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = Field(default=None, alias="resourceVersion")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
