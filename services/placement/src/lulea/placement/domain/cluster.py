"""The cluster's GPU state as the scheduler sees it: nodes, their labels and taints, GPUs in use.

Pure data, no I/O: the watch loop feeds it, the fit functions read it. Everything here can be
rebuilt from a LIST of Nodes and Pods, so a restarted scheduler loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Taint effects a pod must tolerate to land on a node (PreferNoSchedule is only a preference).
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # "" tolerates every effect

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            return not self.key or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


def tolerated(taints: Iterable[Taint], tolerations: Iterable[Toleration]) -> Taint | None:
    """The first blocking taint no toleration covers, or None when the pod may land."""
    tols = tuple(tolerations)
    for taint in taints:
        if taint.effect in BLOCKING_EFFECTS and not any(t.tolerates(taint) for t in tols):
            return taint
    return None


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    gpus: int  # allocatable nvidia.com/gpu
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    schedulable: bool = True  # False when cordoned (spec.unschedulable)


@dataclass(frozen=True, slots=True)
class BoundPod:
    node: str
    gpus: int
    namespace: str


class ClusterState:
    """Nodes plus the GPUs that bound, unfinished pods hold on them (any scheduler's pods)."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self.nodes: dict[str, Node] = {n.name: n for n in nodes}
        self.pods: dict[str, BoundPod] = {}
        self.used: dict[str, int] = {}
        self.version = 0  # bumps when the node set changes
        # eligibility key -> nodes admitted; shared by copies, dropped when the node set changes
        self.eligible: dict[tuple[object, ...], dict[str, list[Node]]] = {}

    # --- nodes -------------------------------------------------------------------------------
    def upsert_node(self, node: Node) -> bool:
        """Add or update a node; False when nothing that scheduling reads has changed."""
        if self.nodes.get(node.name) == node:
            return False
        self.nodes[node.name] = node
        self.version += 1
        self.eligible.clear()
        return True

    def remove_node(self, name: str) -> None:
        if self.nodes.pop(name, None) is not None:
            self.version += 1
            self.eligible.clear()

    # --- pods --------------------------------------------------------------------------------
    def bind(self, pod_key: str, pod: BoundPod) -> None:
        """Count a pod's GPUs on its node; idempotent, a re-bind moves the count."""
        self.release(pod_key)
        if pod.gpus <= 0:
            return
        self.pods[pod_key] = pod
        self.used[pod.node] = self.used.get(pod.node, 0) + pod.gpus

    def release(self, pod_key: str) -> None:
        old = self.pods.pop(pod_key, None)
        if old is not None:
            left = self.used.get(old.node, 0) - old.gpus
            if left > 0:
                self.used[old.node] = left
            else:
                self.used.pop(old.node, None)

    # --- reading -----------------------------------------------------------------------------
    def free(self, name: str) -> int:
        node = self.nodes.get(name)
        if node is None:
            return 0
        return max(0, node.gpus - self.used.get(name, 0))

    def total_gpus(self) -> int:
        return sum(n.gpus for n in self.nodes.values())

    def free_gpus(self) -> int:
        return sum(self.free(n) for n in self.nodes)

    def usage_by_namespace(self) -> dict[str, int]:
        usage: dict[str, int] = {}
        for pod in self.pods.values():
            usage[pod.namespace] = usage.get(pod.namespace, 0) + pod.gpus
        return usage

    def copy(self) -> ClusterState:
        """A scratch copy for one scheduling cycle (nodes shared, usage copied)."""
        other = ClusterState()
        other.nodes = self.nodes
        other.pods = dict(self.pods)
        other.used = dict(self.used)
        other.version = self.version
        other.eligible = self.eligible
        return other

    def emptied(self) -> ClusterState:
        """The same nodes with nothing running: what `never_fits` judges against."""
        other = ClusterState()
        other.nodes = self.nodes
        other.version = self.version
        other.eligible = self.eligible
        return other
