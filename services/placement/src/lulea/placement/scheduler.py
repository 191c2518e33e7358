"""The scheduling loop: mirror the cluster, decide a cycle in memory, carry it out; only while
this replica leads (kube/lease.py), when leader election is on.

The RBAC it needs is checked against what it does: e2e/test_rbac_audit.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from lulea.core import gangs as c
from lulea.core.kube import LeaderLease
from lulea.core.kube.raw import Kube
from lulea.placement.binder import Binder
from lulea.placement.cache import SchedulerCache
from lulea.placement.domain import (
    CyclePlan,
    Gang,
    Reservation,
    expected_fragmentation,
    fragmentation,
    plan_cycle,
)
from lulea.placement.kube.mirror import Mirror
from lulea.placement.metrics import PlacementMetrics
from lulea.placement.settings import PlacementSettings

log = logging.getLogger(__name__)
PROJECTS = "/apis/lulea.io/v1alpha1/projects"


class Scheduler:
    def __init__(
        self,
        kube: Kube,
        settings: PlacementSettings,
        metrics: PlacementMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.metrics, self.clock = settings, metrics, clock
        self.cache = SchedulerCache(settings.scheduler_name)
        self.binder = Binder(
            kube,
            self.cache,
            metrics,
            scheduler=settings.scheduler_name,
            concurrency=settings.bind_concurrency,
            kube_events=settings.kube_events,
        )
        self.wake = asyncio.Event()
        self.lease: LeaderLease | None = None
        if settings.leader_elect:
            self.lease = LeaderLease(
                kube,
                settings.lease_namespace,
                settings.lease_name,
                settings.identity,
                settings.lease_timing,
                changed=self._leadership_changed,
            )
        self.reservation: Reservation | None = None
        self.marked: dict[str, str] = {}  # gang -> reason written on its first pod
        # binds and marks of earlier cycles still under way: the next cycle does not wait for
        # them (their pods are assumed, so no gang is placed twice)
        self.inflight: set[asyncio.Task[object]] = set()
        cache = self.cache
        self.mirrors = [
            Mirror(
                kube, "/api/v1/nodes", reset=cache.reset_nodes, event=cache.on_node, changed=self.wake.set
            ),
            Mirror(
                kube,
                "/api/v1/pods",
                reset=lambda items: cache.reset_pods(items, self.clock()),
                event=lambda kind, obj: cache.on_pod(kind, obj, self.clock()),
                changed=self.wake.set,
            ),
            Mirror(
                kube,
                PROJECTS,
                reset=cache.reset_projects,
                event=cache.on_project,
                changed=self.wake.set,
                optional=True,
            ),
        ]

    @property
    def ready(self) -> bool:
        return all(m.synced.is_set() for m in self.mirrors)

    @property
    def leader(self) -> bool:
        return self.lease is None or self.lease.is_leader

    def _leadership_changed(self) -> None:
        self.metrics.leader.set(1 if self.leader else 0)
        # binds a former leader assumed may never have happened: trust only what the API shows
        for task in self.inflight:  # a former leader's binds stop here
            task.cancel()
        self.cache.forget_assumed()
        self.reservation = None
        self.marked.clear()
        self.wake.set()

    async def run(self) -> None:
        tasks = [asyncio.create_task(m.run()) for m in self.mirrors]
        if self.lease is not None:
            tasks.append(asyncio.create_task(self.lease.run()))
        else:
            self.metrics.leader.set(1)
        try:
            for m in self.mirrors:
                await m.synced.wait()
            log.info("synced: %d nodes, %d GPUs", len(self.cache.state.nodes), self.cache.state.total_gpus())
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.settings.cycle_seconds)
                await asyncio.sleep(0.05)  # let a burst of events land: one cycle for all
                self.wake.clear()
                if self.leader:  # a standby mirrors the cluster but never binds
                    await self.cycle(wait=False)
        finally:
            for t in [*tasks, *self.inflight]:
                t.cancel()
            await asyncio.gather(*tasks, *self.inflight, return_exceptions=True)
            if self.lease is not None:
                await self.lease.release()

    async def cycle(self, wait: bool = True) -> None:
        """Decide, then carry the decisions out: awaited (`wait`), or left running while the
        next cycle decides, so a gang that arrives during a large cycle's binds is not held
        back by their slowest one."""
        now = self.clock()
        started = time.perf_counter()
        gangs, resumes = self.cache.queue()
        plan = plan_cycle(
            gangs,
            self.cache.state,
            quotas=self.cache.quotas,
            now=now,
            reserve_after=self.settings.reserve_after_seconds,
            reservation=self.reservation,
        )
        self.reservation = plan.reservation
        self.metrics.cycle.observe(time.perf_counter() - started)
        work: list[Coroutine[Any, Any, object]] = []
        for r in resumes:
            log.info("gang %s: finishing its plan after a restart (%d pods)", r.gang, len(r.pods))
            self.cache.assume(r.namespace, r.pods, r.gpus_per_pod, now)
            work.append(self.binder.bind(r.namespace, r.gang, r.pods))
        for gang, placement in plan.placed:
            pods = dict(placement.assignments)
            self.cache.assume(gang.namespace, pods, gang.gpus_per_pod, now)
            work.append(self.binder.place(gang, pods, gang.created, now))
            self.marked.pop(gang.id, None)
        verdicts = [(g, c.NEVER_FITS, reason) for g, reason in plan.never]
        verdicts += [(g, nofit.reason, nofit.message) for g, nofit in plan.waiting]
        for gang, reason, message in verdicts:
            if self.marked.get(gang.id) != reason:
                self.marked[gang.id] = reason
                work.append(self._mark(gang, reason, message))
        live = {g.id for g in gangs}
        self.marked = {g: r for g, r in self.marked.items() if g in live}
        self._gauges(plan)
        if wait:
            await asyncio.gather(*work)
            return
        for job in work:
            task: asyncio.Task[object] = asyncio.create_task(job)
            self.inflight.add(task)
            task.add_done_callback(self._carried_out)

    def _carried_out(self, task: asyncio.Task[object]) -> None:
        self.inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a bind or mark failed", exc_info=task.exception())
        self.wake.set()  # a failed bind gave GPUs back; a finished one may unblock a reservation

    async def _mark(self, gang: Gang, reason: str, message: str) -> None:
        if not await self.binder.mark(gang, reason, message):
            self.marked.pop(gang.id, None)  # write it again next cycle

    def _gauges(self, plan: CyclePlan) -> None:
        m, state = self.metrics, self.cache.state
        for reason in (c.UNSCHEDULABLE, c.QUOTA_EXCEEDED):
            m.queue.labels(reason).set(sum(1 for _, n in plan.waiting if n.reason == reason))
        m.queue.labels(c.NEVER_FITS).set(len(plan.never))
        m.gpus_total.set(state.total_gpus())
        m.gpus_free.set(state.free_gpus())
        waiting = [g for g, _ in plan.waiting]
        m.fragmentation.set(fragmentation(state, waiting))
        m.expected_fragmentation.set(expected_fragmentation(state, waiting))
