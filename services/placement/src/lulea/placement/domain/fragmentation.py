"""Fragmentation: the share of free GPUs that no queued gang could use where they are."""

from __future__ import annotations

from collections.abc import Iterable

from lulea.placement.domain.cluster import ClusterState
from lulea.placement.domain.gang import Gang


def fragmentation(state: ClusterState, queued: Iterable[Gang]) -> float:
    """Free GPUs sit on nodes; a queued gang could use a node's free GPUs if the node admits
    it and holds at least one of its pods. 0 when nothing is free or nothing waits."""
    free = {name: state.free(name) for name, n in state.nodes.items() if n.schedulable}
    total = sum(free.values())
    shapes = {(g.eligibility, g.gpus_per_pod): g for g in queued}
    if total == 0 or not shapes:
        return 0.0
    usable = 0
    for name, f in free.items():
        if f == 0:
            continue
        node = state.nodes[name]
        if any(f >= g.gpus_per_pod and g.admits(node) for g in shapes.values()):
            usable += f
    return (total - usable) / total
