"""Nodes, Pods and Projects as JSON from the API server, turned into placement terms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lulea.core import gangs as c
from lulea.placement.domain import BoundPod, Node, Taint, Toleration

Obj = dict[str, Any]
TERMINAL = frozenset({"Succeeded", "Failed"})


def quantity(value: object) -> int:
    """Whole GPUs from a resource quantity ("8", 8, "8000m")."""
    text = str(value).strip()
    if text.endswith("m"):
        return int(text[:-1]) // 1000
    try:
        return int(text)
    except ValueError:
        return int(float(text))


def node_from(obj: Obj) -> Node:
    meta, spec = obj.get("metadata", {}), obj.get("spec", {})
    alloc = (obj.get("status") or {}).get("allocatable") or {}
    taints = tuple(
        Taint(t.get("key", ""), t.get("value", "") or "", t.get("effect", "NoSchedule"))
        for t in spec.get("taints") or ()
    )
    return Node(
        name=meta["name"],
        gpus=quantity(alloc.get(c.GPU, 0)),
        labels=dict(meta.get("labels") or {}),
        taints=taints,
        schedulable=not spec.get("unschedulable", False),
    )


def pod_gpus(spec: Obj) -> int:
    total = 0
    for ctr in spec.get("containers") or ():
        res = ctr.get("resources") or {}
        value = (res.get("requests") or {}).get(c.GPU, (res.get("limits") or {}).get(c.GPU, 0))
        total += quantity(value)
    return total


def pod_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def timestamp(value: str | None) -> float:
    if not value:
        return 0.0
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class GangPod:
    """One pod of a lulea-placement gang, bound or not."""

    namespace: str
    name: str
    gang: str  # namespace/gang label
    size: int
    gpus: int
    node: str | None
    created: float
    project: str
    distinct_hosts: bool
    group_by: str | None
    priority: int
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    plan: dict[str, str] | None = None


def bound_from(obj: Obj) -> BoundPod | None:
    """The GPUs a pod holds on a node: bound and not finished (any scheduler's pod)."""
    spec = obj.get("spec") or {}
    node = spec.get("nodeName")
    if not node or (obj.get("status") or {}).get("phase") in TERMINAL:
        return None
    return BoundPod(node, pod_gpus(spec), obj["metadata"]["namespace"])


def gang_pod_from(obj: Obj, scheduler: str = c.SCHEDULER_NAME) -> GangPod | None:
    """A pod of ours with a gang label, not finished and not being deleted; else None."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    if spec.get("schedulerName") != scheduler or c.GANG not in labels:
        return None
    if meta.get("deletionTimestamp") or (obj.get("status") or {}).get("phase") in TERMINAL:
        return None
    try:
        size = int(labels.get(c.GANG_SIZE, "1"))
        priority = int(notes.get(c.PRIORITY, "0"))
        plan = json.loads(notes[c.PLAN]) if c.PLAN in notes else None
    except ValueError:
        return None
    tolerations = tuple(
        Toleration(
            t.get("key", "") or "",
            t.get("operator", "Equal") or "Equal",
            t.get("value", "") or "",
            t.get("effect", "") or "",
        )
        for t in spec.get("tolerations") or ()
    )
    ns = meta["namespace"]
    return GangPod(
        namespace=ns,
        name=meta["name"],
        gang=f"{ns}/{labels[c.GANG]}",
        size=max(size, 1),
        gpus=pod_gpus(spec),
        node=spec.get("nodeName") or None,
        created=timestamp(meta.get("creationTimestamp")),
        project=labels.get(c.PROJECT, ns),
        distinct_hosts=c.GANG_HOSTS in notes,
        group_by=notes.get(c.GROUP_BY) or None,
        priority=priority,
        node_selector=dict(spec.get("nodeSelector") or {}),
        tolerations=tolerations,
        plan=plan if isinstance(plan, dict) else None,
    )


def quota_from(obj: Obj) -> tuple[str, int | None]:
    """(project name, GPU quota or None when unlimited) from a Project."""
    quotas = (obj.get("spec") or {}).get("quotas") or {}
    gpus = quotas.get("gpus")
    return obj["metadata"]["name"], (int(gpus) if gpus is not None else None)
