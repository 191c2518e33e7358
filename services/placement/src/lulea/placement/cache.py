"""What the scheduler knows, rebuilt from LIST + WATCH of Nodes, Pods and Projects.

Pure bookkeeping (no I/O), so a restarted scheduler that re-lists ends in the same state:
GPUs in use come from bound pods (any scheduler's), gangs from our pending pods, and a gang
that was half bound when the scheduler stopped is finished from the plan it wrote first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lulea.placement.domain import BoundPod, ClusterState, Gang
from lulea.placement.domain.fit import Placement
from lulea.placement.kube.objects import (
    GangPod,
    Obj,
    bound_from,
    gang_pod_from,
    node_from,
    pod_key,
    quota_from,
)

ASSUME_SECONDS = 30.0  # how long our own bind outranks a stale "still pending" watch event


@dataclass(frozen=True, slots=True)
class Resume:
    """A gang some of whose pods are bound: bind the rest where its plan says."""

    gang: str
    namespace: str
    pods: dict[str, str]  # pending pod -> planned node
    gpus_per_pod: int


class SchedulerCache:
    def __init__(self, scheduler: str) -> None:
        self.scheduler = scheduler
        self.state = ClusterState()
        self.pods: dict[str, dict[str, GangPod]] = {}  # gang -> pod name -> pod (ours, live)
        self.gang_of: dict[str, str] = {}  # pod key -> gang
        self.quotas: dict[str, int | None] = {}
        self.assumed: dict[str, tuple[BoundPod, float]] = {}  # pod key -> (binding, until)

    # --- feeding -----------------------------------------------------------------------------
    def reset_nodes(self, objs: Iterable[Obj]) -> None:
        nodes = {o["metadata"]["name"]: node_from(o) for o in objs}
        for name in list(self.state.nodes):
            if name not in nodes:
                self.state.remove_node(name)
        for node in nodes.values():
            self.state.upsert_node(node)

    def on_node(self, kind: str, obj: Obj) -> bool:
        """True when scheduling must look again (not for a heartbeat)."""
        if kind == "DELETED":
            self.state.remove_node(obj["metadata"]["name"])
            return True
        return self.state.upsert_node(node_from(obj))

    def reset_pods(self, objs: Iterable[Obj], now: float) -> None:
        self.state = ClusterState(self.state.nodes.values())
        self.pods = {}
        self.gang_of = {}
        for obj in objs:
            self.on_pod("ADDED", obj, now)
        for key, (bound, until) in list(self.assumed.items()):  # binds still in flight
            if until > now and key not in self.state.pods:
                self.state.bind(key, bound)

    def on_pod(self, kind: str, obj: Obj, now: float) -> bool:
        """Apply a pod event; True when it changed used GPUs or our queue."""
        key = pod_key(obj)
        name = key.split("/", 1)[1]
        gone = kind == "DELETED"
        bound = None if gone else bound_from(obj)
        ours = None if gone else gang_pod_from(obj, self.scheduler)
        assumed = self.assumed.get(key)
        if assumed and not gone and bound is None and ours is not None and assumed[1] > now:
            return False  # a stale event from before our bind: keep what we assumed
        self.assumed.pop(key, None)
        before = self.state.pods.get(key)
        if bound is None:
            self.state.release(key)
        else:
            self.state.bind(key, bound)
        matters = before != self.state.pods.get(key) or ours is not None
        previous = self.gang_of.pop(key, None)
        if previous is not None and (ours is None or ours.gang != previous):
            members = self.pods.get(previous, {})
            members.pop(name, None)
            if not members:
                self.pods.pop(previous, None)
        if ours is not None:
            self.pods.setdefault(ours.gang, {})[name] = ours
            self.gang_of[key] = ours.gang
        return matters or previous is not None

    def reset_projects(self, objs: Iterable[Obj]) -> None:
        self.quotas = dict(quota_from(o) for o in objs)

    def on_project(self, kind: str, obj: Obj) -> bool:
        name, quota = quota_from(obj)
        if kind == "DELETED":
            self.quotas.pop(name, None)
        else:
            self.quotas[name] = quota
        return True

    # --- our own decisions -------------------------------------------------------------------
    def assume(self, namespace: str, pods: dict[str, str], gpus: int, now: float) -> None:
        """Count a gang's GPUs as soon as we decide, before the watch shows the bindings."""
        for name, node in pods.items():
            key = f"{namespace}/{name}"
            bound = BoundPod(node, gpus, namespace)
            self.assumed[key] = (bound, now + ASSUME_SECONDS)
            self.state.bind(key, bound)

    def forget_assumed(self) -> None:
        """Drop every bind we assumed but have not seen yet (leadership changed hands)."""
        for key in list(self.assumed):
            self.assumed.pop(key)
            self.state.release(key)

    def forget(self, namespace: str, name: str) -> None:
        """A bind that failed: give its GPUs back."""
        key = f"{namespace}/{name}"
        self.assumed.pop(key, None)
        self.state.release(key)

    # --- reading -----------------------------------------------------------------------------
    def queue(self) -> tuple[list[Gang], list[Resume]]:
        """Complete gangs none of whose pods is bound (to place), and half-bound gangs with
        a plan (to finish). Gangs still being created wait for their last pod."""
        gangs: list[Gang] = []
        resumes: list[Resume] = []
        for gang_id, members in self.pods.items():
            first = members[min(members)]
            pending = sorted(n for n, p in members.items() if p.node is None and not self._assumed(p))
            if not pending:
                continue
            if len(pending) < len(members):
                plan = next((p.plan for p in members.values() if p.plan), None)
                if plan and all(n in plan for n in pending):
                    resumes.append(
                        Resume(gang_id, first.namespace, {n: plan[n] for n in pending}, first.gpus)
                    )
                continue
            if len(pending) < first.size:
                continue
            gangs.append(self._gang(gang_id, members, pending))
        return gangs, resumes

    def _assumed(self, pod: GangPod) -> bool:
        return f"{pod.namespace}/{pod.name}" in self.assumed

    @staticmethod
    def _gang(gang_id: str, members: dict[str, GangPod], names: list[str]) -> Gang:
        first = members[names[0]]
        return Gang(
            id=gang_id,
            namespace=first.namespace,
            project=first.project,
            pods=tuple(names),
            gpus_per_pod=max(p.gpus for p in members.values()),
            distinct_hosts=first.distinct_hosts,
            node_selector=first.node_selector,
            group_by=first.group_by,
            tolerations=first.tolerations,
            priority=first.priority,
            created=min(p.created for p in members.values()),
        )


def placement_pods(placement: Placement) -> dict[str, str]:
    return dict(placement.assignments)
