"""A gang request: the pods of one GpuJob attempt, placed all together or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lulea.placement.domain.cluster import Node, Toleration, tolerated


@dataclass(frozen=True, slots=True)
class Gang:
    id: str  # namespace/gang label value
    namespace: str
    project: str
    pods: tuple[str, ...]  # pod names, sorted; each asks `gpus_per_pod`
    gpus_per_pod: int
    distinct_hosts: bool = False  # True for `hosts: k`: every pod on its own node
    node_selector: Mapping[str, str] = field(default_factory=dict)
    group_by: str | None = None  # all hosts share this node label's value (e.g. lulea.io/rack)
    tolerations: tuple[Toleration, ...] = ()
    priority: int = 0
    created: float = 0.0  # seconds since the epoch, the oldest pod's creation

    @property
    def size(self) -> int:
        return len(self.pods)

    @property
    def gpus(self) -> int:
        return self.size * self.gpus_per_pod

    @property
    def shape(self) -> tuple[object, ...]:
        """What decides fit, without the identity: equal shapes fit or fail together."""
        return (
            self.size,
            self.gpus_per_pod,
            self.distinct_hosts,
            tuple(sorted(self.node_selector.items())),
            self.group_by,
            self.tolerations,
        )

    @property
    def eligibility(self) -> tuple[object, ...]:
        """The part of the shape that decides which nodes are candidates at all."""
        return (tuple(sorted(self.node_selector.items())), self.group_by, self.tolerations)

    def describe(self) -> str:
        where = f"on {self.size} distinct hosts" if self.distinct_hosts else "on any hosts"
        text = f"{self.gpus} GPUs ({self.size} x {self.gpus_per_pod}) {where}"
        if self.node_selector:
            text += " with " + ",".join(f"{k}={v}" for k, v in sorted(self.node_selector.items()))
        if self.group_by:
            text += f" in one {self.group_by}"
        return text

    def admits(self, node: Node) -> bool:
        """Static eligibility: labels, taints, topology label present (capacity aside)."""
        labels = node.labels
        for key, value in self.node_selector.items():
            if labels.get(key) != value:
                return False
        if self.group_by is not None and self.group_by not in labels:
            return False
        return tolerated(node.taints, self.tolerations) is None
