"""The local pod runtime: the kubelet of every fleet node at once, for pods kwok does not play.

It watches all Pods and the fleet's Nodes (those kwok fakes, `kwok.x-k8s.io/node: fake`), and
runs a PodWorker for each pod bound to one of them that carries no `sim.lulea.io/*`
annotation (kwok's stages play those, and only those: dev/kwok/stages.yaml). A pod the
runtime takes is never touched by kwok, and the reverse, so neither fights over a status.

Restart: the records under the pods directory say what was started; every recorded container
whose pod still exists is adopted (its shim is alive, or its exit file says how it ended),
and every one whose pod is gone is stopped and removed. Nothing runs that no pod explains.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from pathlib import Path
from typing import Any

from lulea.core.kube import Kube
from lulea.core.kube.informer import Informer
from lulea.devstack.runtime import spec as S
from lulea.devstack.runtime.pods import Host, PodWorker

log = logging.getLogger("lulea.runtime")
Obj = dict[str, Any]
FLEET_ANNOTATION = "kwok.x-k8s.io/node"


class Runtime:
    def __init__(self, kube: Kube, host: Host) -> None:
        self.kube, self.host = kube, host
        self.pods = Informer(kube, "/api/v1/pods", changed=self._changed)
        self.nodes = Informer(kube, "/api/v1/nodes", changed=lambda _k: None)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.uid_of: dict[str, str] = {}  # "namespace/name" -> uid of the pod we run under it
        self.gpus_taken: dict[str, dict[int, str]] = {}  # node -> device index -> pod uid
        self.ready = False

    # --- which pods are ours --------------------------------------------------------------
    def fleet_node(self, name: str) -> Obj | None:
        node = self.nodes.get(name) if name else None
        if node is None:
            return None
        return node if (node["metadata"].get("annotations") or {}).get(FLEET_ANNOTATION) == "fake" else None

    def ours(self, pod: Obj) -> bool:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        return bool(node) and self.fleet_node(node) is not None and not S.simulated(pod)

    def node_ip(self, name: str) -> str:
        node = self.fleet_node(name) or {}
        for a in (node.get("status") or {}).get("addresses") or ():
            if a.get("type") == "InternalIP":
                return str(a["address"])
        return S.POD_IP

    # --- GPUs -----------------------------------------------------------------------------
    def assign(self, pod: Obj, container: str, want: int) -> list[int] | None:
        uid, node = pod["metadata"]["uid"], str(pod["spec"].get("nodeName") or "")
        worker = self.workers.get(uid)
        recorded = ((worker.record() or {}).get("gpus") or {}).get(container) if worker else None
        if recorded is not None:
            return list(recorded)
        if want == 0:
            return []
        allocatable = ((self.fleet_node(node) or {}).get("status") or {}).get("allocatable") or {}
        capacity = int(allocatable.get(S.GPU) or 0)
        taken = self.gpus_taken.setdefault(node, {})
        devices = S.assign_gpus(capacity, set(taken), want)
        for d in devices or ():
            taken[d] = uid
        return devices

    def release(self, uid: str) -> None:
        for taken in self.gpus_taken.values():
            for d in [d for d, owner in taken.items() if owner == uid]:
                del taken[d]

    # --- workers --------------------------------------------------------------------------
    def _worker(self, uid: str, key: str) -> PodWorker:
        if uid not in self.workers:
            def current() -> Obj | None:
                pod = self.pods.get(key)
                return pod if pod is not None and pod["metadata"].get("uid") == uid else None

            worker = PodWorker(self.kube, self.host, uid, key, current, self.assign, self.release,
                               self.node_ip)
            self.workers[uid] = worker
            self.uid_of[key] = uid
            record = worker.record() or {}
            for name, devices in (record.get("gpus") or {}).items():
                del name
                if devices and record.get("node"):
                    for d in devices:
                        self.gpus_taken.setdefault(str(record["node"]), {})[int(d)] = uid
            task = asyncio.create_task(worker.run(), name=f"pod-{key}")
            self.tasks[uid] = task
            task.add_done_callback(functools.partial(self._ended_task, uid))
        return self.workers[uid]

    def _ended_task(self, uid: str, _task: asyncio.Task[None]) -> None:
        self._ended(uid)

    def _ended(self, uid: str) -> None:
        worker = self.workers.pop(uid, None)
        self.tasks.pop(uid, None)
        if worker is not None and self.uid_of.get(worker.key) == uid:
            del self.uid_of[worker.key]
        if worker is not None and self.ready:
            self._changed(worker.key)  # a failed worker, or a new pod under the same name

    def _changed(self, key: str) -> None:
        if not self.ready:
            return
        pod = self.pods.get(key)
        old = self.uid_of.get(key)
        if old is not None and old in self.workers:
            self.workers[old].poke()  # it sees for itself whether its pod is still there
        if pod is not None and self.ours(pod) and pod["metadata"]["uid"] != old:
            self._worker(pod["metadata"]["uid"], key).poke()

    def adopt(self) -> None:
        """A worker for every recorded pod (adopt or reap), then for every pod of ours."""
        self.host.pods_dir.mkdir(parents=True, exist_ok=True)
        for record_file in sorted(self.host.pods_dir.glob("*/pod.json")):
            try:
                record = json.loads(record_file.read_text())
            except (OSError, ValueError):
                continue
            self._worker(record["uid"], f"{record['namespace']}/{record['name']}")
        for key in self.pods.names():
            pod = self.pods.get(key)
            if pod is not None and self.ours(pod):
                self._worker(pod["metadata"]["uid"], key)

    async def run(self) -> None:
        informers = [asyncio.create_task(i.run()) for i in (self.nodes, self.pods)]
        try:
            await self.nodes.synced.wait()
            await self.pods.synced.wait()
            self.ready = True
            self.adopt()
            log.info("runtime ready: %d pods adopted or started", len(self.workers))
            while True:  # a node that appears late makes its pods ours: look again now and then
                await asyncio.sleep(5)
                for key in self.pods.names():
                    if key not in self.uid_of:
                        self._changed(key)
        finally:
            for t in [*informers, *self.tasks.values()]:
                t.cancel()
            await asyncio.gather(*informers, *self.tasks.values(), return_exceptions=True)


def layout_dirs(state: Path) -> tuple[Path, Path]:
    return state / "pods", state / "pod-logs"
