"""The four CRDs: names, scope, printer columns, and the schema assembled from the models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from lulea.core.crds import dataset, gpujob, project, topic
from lulea.core.crds.meta import GROUP, VERSION, Rule
from lulea.core.crds.schema import ordered, structural_schema

READY = {
    "name": "Ready",
    "type": "string",
    "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    "description": "Whether the operator has made the spec real",
}
REASON = {
    "name": "Reason",
    "type": "string",
    "priority": 1,
    "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
    "description": "Why the object is (not) ready",
}
AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


@dataclass(frozen=True)
class Kind:
    """One custom resource kind and everything its CRD says about it."""

    kind: str
    description: str
    plural: str
    short_names: tuple[str, ...]
    scope: str
    spec: type[BaseModel]
    status: type[BaseModel]
    root_rules: tuple[Rule, ...]
    columns: tuple[dict[str, Any], ...]
    spec_required: bool = True
    selectable: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.plural}.{GROUP}"

    def openapi_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "description": self.description,
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": structural_schema(self.spec),
                "status": structural_schema(self.status),
            },
        }
        if self.spec_required:
            schema["required"] = ["spec"]
        if self.root_rules:
            schema["x-kubernetes-validations"] = [r.to_schema() for r in self.root_rules]
        return ordered(schema)

    def manifest(self) -> dict[str, Any]:
        version: dict[str, Any] = {
            "name": VERSION,
            "served": True,
            "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [*self.columns, READY, REASON, AGE],
            "schema": {"openAPIV3Schema": self.openapi_schema()},
        }
        if self.selectable:
            version["selectableFields"] = [{"jsonPath": p} for p in self.selectable]
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": self.name, "labels": {"app.kubernetes.io/part-of": "lulea"}},
            "spec": {
                "group": GROUP,
                "names": {
                    "kind": self.kind,
                    "listKind": f"{self.kind}List",
                    "plural": self.plural,
                    "singular": self.kind.lower(),
                    "shortNames": list(self.short_names),
                    "categories": ["lulea"],
                },
                "scope": self.scope,
                "versions": [version],
            },
        }


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0]


KINDS = (
    Kind(
        kind="Project",
        description=_first_line(project.__doc__),
        plural="projects",
        short_names=("proj",),
        scope="Cluster",
        spec=project.ProjectSpec,
        status=project.ProjectStatus,
        root_rules=project.ROOT_RULES,
        columns=(
            {
                "name": "Members",
                "type": "integer",
                "jsonPath": ".status.memberCount",
                "description": "Members the operator has reconciled",
            },
        ),
    ),
    Kind(
        kind="Dataset",
        description=_first_line(dataset.__doc__),
        plural="datasets",
        short_names=("ds",),
        scope="Namespaced",
        spec=dataset.DatasetSpec,
        status=dataset.DatasetStatus,
        root_rules=dataset.ROOT_RULES,
        columns=({"name": "Path", "type": "string", "priority": 1, "jsonPath": ".status.path"},),
        spec_required=False,
    ),
    Kind(
        kind="Topic",
        description=_first_line(topic.__doc__),
        plural="topics",
        short_names=("kt",),
        scope="Namespaced",
        spec=topic.TopicSpec,
        status=topic.TopicStatus,
        root_rules=topic.ROOT_RULES,
        columns=(
            {"name": "Partitions", "type": "integer", "jsonPath": ".spec.partitions"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicationFactor"},
            {
                "name": "Compatibility",
                "type": "string",
                "priority": 1,
                "jsonPath": ".spec.compatibility",
            },
            {
                "name": "Kafka-Topic",
                "type": "string",
                "priority": 1,
                "jsonPath": ".status.kafkaTopic",
            },
        ),
        spec_required=False,
    ),
    Kind(
        kind="GpuJob",
        description=_first_line(gpujob.__doc__),
        plural="gpujobs",
        short_names=("gj",),
        scope="Namespaced",
        spec=gpujob.GpuJobSpec,
        status=gpujob.GpuJobStatus,
        root_rules=gpujob.ROOT_RULES,
        columns=(
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "GPUs", "type": "integer", "jsonPath": ".spec.gpus"},
            {"name": "Hosts", "type": "integer", "jsonPath": ".spec.hosts"},
            {"name": "Nodes", "type": "string", "jsonPath": ".status.nodes",
             "description": "Where the gang was placed"},
            {"name": "Priority", "type": "integer", "priority": 1, "jsonPath": ".spec.priority"},
            {"name": "Attempts", "type": "integer", "priority": 1, "jsonPath": ".status.attempts"},
        ),
        selectable=(".status.phase",),
    ),
)
