"""The fake GPU fleet: node groups from a fleet file, turned into kwok-managed Node objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
TAINT = {"key": KWOK_ANNOTATION, "value": "fake", "effect": "NoSchedule"}


class FleetError(ValueError):
    pass


def load(path: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text()) or {}
    groups = doc.get("nodeGroups")
    if not isinstance(groups, list) or not groups:
        raise FleetError(f"{path}: expected a non-empty `nodeGroups` list")
    return groups


def nodes(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Node manifests for every group, named <group>-<index>, racks round-robin."""
    out: list[dict[str, Any]] = []
    for group in groups:
        name, count, gpus = group.get("name"), group.get("count"), group.get("gpus", 0)
        if not isinstance(name, str) or not isinstance(count, int) or count < 1:
            raise FleetError(f"node group {group!r}: needs a `name` and a `count` >= 1")
        if not isinstance(gpus, int) or gpus < 0:
            raise FleetError(f"node group {name}: `gpus` must be an integer >= 0")
        racks = group.get("racks") or []
        for i in range(count):
            labels = {
                "type": "kwok",
                "kubernetes.io/hostname": f"{name}-{i:04d}",
                "kubernetes.io/os": "linux",
                "lulea.io/node-group": name,
                **{k: str(v) for k, v in (group.get("labels") or {}).items()},
            }
            if racks:
                labels["lulea.io/rack"] = str(racks[i % len(racks)])
            resources = {
                "cpu": str(group.get("cpu", "32")),
                "memory": str(group.get("memory", "256Gi")),
                "pods": str(group.get("pods", 110)),
                "nvidia.com/gpu": str(gpus),
            }
            out.append({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": f"{name}-{i:04d}",
                    "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": labels,
                },
                "spec": {"taints": [TAINT]},
                "status": {"allocatable": resources, "capacity": resources},
            })
    return out


def total_gpus(groups: list[dict[str, Any]]) -> int:
    return sum(int(g.get("gpus", 0)) * int(g["count"]) for g in groups)
