"""Carrying out a cycle's decisions: plan first, then bind every pod; conditions and events.

Order matters for restarts: the gang's first pod is bound first, its Binding carrying the plan
annotation (the API server writes a Binding's annotations on the pod with its node), so a
scheduler that stops mid-gang finds the plan on restart and binds the rest to the same nodes;
a pod already bound is never bound again (it is not pending).

The RBAC it needs is checked against what it does: e2e/test_rbac_audit.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from lulea.core import gangs as c
from lulea.core.kube.raw import Kube, KubeError
from lulea.placement.cache import SchedulerCache
from lulea.placement.domain import Gang
from lulea.placement.metrics import PlacementMetrics

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Binder:
    def __init__(
        self,
        kube: Kube,
        cache: SchedulerCache,
        metrics: PlacementMetrics,
        *,
        scheduler: str,
        concurrency: int,
        kube_events: bool,
    ) -> None:
        self.kube, self.cache, self.metrics = kube, cache, metrics
        self.scheduler = scheduler
        self.slots = asyncio.Semaphore(concurrency)
        self.kube_events = kube_events

    async def place(self, gang: Gang, pods: dict[str, str], created: float, now: float) -> bool:
        """Bind all pods, the gang's first pod first with the plan (gangs of 2+) in its Binding;
        True when every pod is bound. The Binding's annotations land on the pod in the same
        write as its node, so whenever any pod of the gang is bound the plan is on record, and
        a scheduler that stops mid-gang finishes it on the same nodes: no separate write."""
        first = min(pods)
        rest = {n: node for n, node in pods.items() if n != first}
        plan = {c.PLAN: json.dumps(pods, sort_keys=True)} if rest else {}
        ok = await self.bind(gang.namespace, gang.id, {first: pods[first]}, plan)
        if not ok:  # the gang is being torn down, or the API server refuses: decide again
            for name in rest:
                self.cache.forget(gang.namespace, name)
            return False
        if rest:
            ok = await self.bind(gang.namespace, gang.id, rest)
        if ok:
            self.metrics.gangs.labels("placed").inc()
            self.metrics.wait.observe(max(0.0, now - created))
            nodes = sorted(set(pods.values()))
            log.info("gang %s placed on %s", gang.id, ",".join(nodes))
            await self.event(
                gang.namespace,
                first,
                "GangPlaced",
                f"gang {gang.id} ({gang.describe()}) placed on {','.join(nodes)}",
            )
        return ok

    async def bind(self, namespace: str, gang: str, pods: dict[str, str],
                   annotations: dict[str, str] | None = None) -> bool:
        stamp = {c.PLACED_AT: _now(), **(annotations or {})}

        async def one(name: str, node: str) -> bool:
            async with self.slots:
                for attempt in range(3):
                    try:
                        await self.kube.bind(namespace, name, node, stamp)
                        self.metrics.pods_bound.inc()
                        return True
                    except KubeError as err:
                        if err.status == 409:  # already bound (by us, before a restart)
                            return True
                        if err.status == 404 or attempt == 2:
                            log.warning("gang %s: bind %s -> %s failed: %s", gang, name, node, err)
                            break
                    except Exception as err:  # connection trouble: try again
                        log.warning("gang %s: bind %s retry: %s", gang, name, err)
                    await asyncio.sleep(0.2 * (attempt + 1))
            self.metrics.bind_failures.inc()
            self.cache.forget(namespace, name)
            return False

        results = await asyncio.gather(*(one(n, node) for n, node in sorted(pods.items())))
        return all(results)

    async def mark(self, gang: Gang, reason: str, message: str) -> bool:
        """Tell the operator (and `kubectl describe`) why the gang is not placed."""
        first = gang.pods[0]
        cond = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastTransitionTime": _now(),
        }
        try:
            await self.kube.patch(
                f"/api/v1/namespaces/{gang.namespace}/pods/{first}/status",
                {"status": {"conditions": [cond]}},
                kind="strategic",
            )
        except KubeError as err:
            log.info("gang %s: condition %s not written: %s", gang.id, reason, err)
            return False
        if reason == c.NEVER_FITS:
            self.metrics.gangs.labels("never_fits").inc()
            log.info("gang %s never fits: %s", gang.id, message)
            await self.event(gang.namespace, first, c.NEVER_FITS, message, warning=True)
        return True

    async def event(self, namespace: str, pod: str, reason: str, message: str, warning: bool = False) -> None:
        if not self.kube_events:
            return
        now = _now()
        body = {
            "metadata": {"generateName": f"{pod}.", "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": pod},
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": self.scheduler},
            "reportingComponent": self.scheduler,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.kube.request("POST", f"/api/v1/namespaces/{namespace}/events", body=body)
        except Exception as err:  # an event is best effort
            log.debug("event %s not recorded: %s", reason, err)
