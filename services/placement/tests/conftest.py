"""The default dev fleet (/tmp/shared-api.md) as domain objects, and a gang factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lulea.core import gangs as c
from lulea.placement.domain import ClusterState, Gang, Node, Taint, Toleration

KWOK_TAINT = Taint("kwok.x-k8s.io/node", "fake", "NoSchedule")
KWOK_TOLERATION = Toleration("kwok.x-k8s.io/node", "Exists", "", "NoSchedule")


def fleet_node(name: str, gpus: int, model: str, ic: str, rack: str) -> Node:
    labels = {
        "lulea.io/gpu-model": model,
        "lulea.io/interconnect": ic,
        "lulea.io/rack": rack,
        "type": "kwok",
    }
    return Node(name, gpus, labels, (KWOK_TAINT,))


def default_fleet() -> ClusterState:
    nodes = [fleet_node(f"a100-{i}", 10, "a100", "infiniband", "r1" if i < 6 else "r2") for i in range(12)]
    nodes += [fleet_node(f"p100-{i}", 10, "p100", "infiniband", "r3") for i in range(4)]
    nodes += [fleet_node(f"v100-{i}", 8, "v100", "ethernet", "r4") for i in range(8)]
    nodes += [fleet_node(f"t4-{i}", 4, "t4", "ethernet", "r5") for i in range(4)]
    return ClusterState(nodes)


def gang(
    gpus: int,
    hosts: int | None = None,
    *,
    id: str = "ns/g",
    selector: dict[str, str] | None = None,
    group_by: str | None = None,
    priority: int = 0,
    created: float = 0.0,
    project: str = "ns",
    tolerate: bool = True,
) -> Gang:
    size = hosts or gpus
    namespace = id.split("/")[0]
    return Gang(
        id=id,
        namespace=namespace,
        project=project,
        pods=tuple(f"{id.split('/')[1]}-{i}" for i in range(size)),
        gpus_per_pod=gpus // size,
        distinct_hosts=hosts is not None,
        node_selector=selector or {},
        group_by=group_by,
        tolerations=(KWOK_TOLERATION,) if tolerate else (),
        priority=priority,
        created=created,
    )


@pytest.fixture
def fleet() -> ClusterState:
    return default_fleet()


@pytest.fixture
def mk() -> Callable[..., Gang]:
    return gang


# --- API JSON builders (Nodes and Pods as the API server returns them) ----------------------
API_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}


def api_node(name: str, gpus: int, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": [API_TAINT]},
        "status": {"allocatable": {c.GPU: str(gpus), "cpu": "32"}},
    }


def api_pod(
    name: str,
    gpus: int,
    *,
    ns: str = "p1",
    gang: str | None = "g1",
    size: int = 2,
    node_name: str | None = None,
    scheduler: str = c.SCHEDULER_NAME,
    phase: str = "Pending",
    notes: dict[str, str] | None = None,
    created: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    labels = {c.GANG: gang, c.GANG_SIZE: str(size), c.PROJECT: ns} if gang else {}
    spec: dict[str, Any] = {
        "schedulerName": scheduler,
        "containers": [{"name": "main", "resources": {"limits": {c.GPU: str(gpus)}}}],
        "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    }
    if node_name:
        spec["nodeName"] = node_name
    meta = {
        "name": name,
        "namespace": ns,
        "labels": labels,
        "annotations": notes or {},
        "creationTimestamp": created,
    }
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


@pytest.fixture
def node() -> Callable[..., dict[str, Any]]:
    return api_node


@pytest.fixture
def pod() -> Callable[..., dict[str, Any]]:
    return api_pod
