"""The default dev fleet (/tmp/shared-api.md) as domain objects, and a gang factory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lulea.placement.domain import ClusterState, Gang, Node, Taint, Toleration

KWOK_TAINT = Taint("kwok.x-k8s.io/node", "fake", "NoSchedule")
KWOK_TOLERATION = Toleration("kwok.x-k8s.io/node", "Exists", "", "NoSchedule")


def node(name: str, gpus: int, model: str, ic: str, rack: str) -> Node:
    labels = {
        "lulea.io/gpu-model": model,
        "lulea.io/interconnect": ic,
        "lulea.io/rack": rack,
        "type": "kwok",
    }
    return Node(name, gpus, labels, (KWOK_TAINT,))


def default_fleet() -> ClusterState:
    nodes = [node(f"a100-{i}", 10, "a100", "infiniband", "r1" if i < 6 else "r2") for i in range(12)]
    nodes += [node(f"p100-{i}", 10, "p100", "infiniband", "r3") for i in range(4)]
    nodes += [node(f"v100-{i}", 8, "v100", "ethernet", "r4") for i in range(8)]
    nodes += [node(f"t4-{i}", 4, "t4", "ethernet", "r5") for i in range(4)]
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
