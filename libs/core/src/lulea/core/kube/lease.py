"""Leader election on a coordination.k8s.io Lease, the way kube-scheduler does it.

Only the holder of the Lease schedules; a standby replica mirrors the cluster too (so it takes
over warm) and tries to acquire the Lease every `retry_seconds`. A holder that cannot renew
within `renew_deadline_seconds` stops scheduling at once and stands by (it may be cut off from
the API server; another replica takes over once `lease_seconds` pass without a renewal).

Expiry is judged by *our* clock from when we last saw the record change, never by comparing
our clock with the holder's `renewTime` (clocks on two hosts need not agree): client-go's rule.
A holder that stops cleanly gives the Lease up, so a standby takes over at its next retry.

The RBAC it needs is checked against what it does: e2e/test_rbac_audit.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from pydantic import BaseModel, Field, model_validator

from lulea.core.kube.raw import Kube, KubeError, Obj

log = logging.getLogger(__name__)


def _micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    lease_seconds: float = 15.0
    renew_deadline_seconds: float = 10.0
    retry_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_seconds < self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError(
                "leader election needs 0 < retry_seconds < renew_deadline_seconds < lease_seconds "
                f"(got {self.retry_seconds}, {self.renew_deadline_seconds}, {self.lease_seconds})"
            )


class LeaderElectionSettings(BaseModel):
    """The settings every leader-elected component shares (mixed into its settings class)."""

    leader_elect: bool = True
    """Work only while holding the Lease; other replicas stand by to take over."""
    lease_namespace: str = Field(default="lulea-system", min_length=1)
    identity: str = Field(default_factory=lambda: f"{socket.gethostname()}_{os.getpid()}", min_length=1)
    """This replica's name in the Lease (the pod name in a cluster)."""
    lease_seconds: float = Field(default=15.0, ge=2)
    renew_deadline_seconds: float = Field(default=10.0, gt=0)
    retry_seconds: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _lease_timing(self) -> Self:
        self.lease_timing  # noqa: B018 - refuses timings out of order at start
        return self

    @property
    def lease_timing(self) -> LeaseTiming:
        return LeaseTiming(self.lease_seconds, self.renew_deadline_seconds, self.retry_seconds)


class LeaderLease:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        identity: str,
        timing: LeaseTiming = LeaseTiming(),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.kube, self.identity, self.timing = kube, identity, timing
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.name = name
        self.clock, self.wall, self.changed = clock, wall, changed
        self.leading = asyncio.Event()
        self._seen: tuple[str, str, int] | None = None  # (holder, renewTime, transitions)
        self._seen_at = 0.0
        self._renewed_at = 0.0

    @property
    def is_leader(self) -> bool:
        """Leader right now: set, and renewed within the renew deadline."""
        fresh = self.clock() - self._renewed_at < self.timing.renew_deadline_seconds
        return self.leading.is_set() and fresh

    async def run(self) -> None:
        """Forever: acquire, renew until a renewal fails past the deadline, step down, retry."""
        while True:
            await self.acquire()
            await self.hold()

    async def acquire(self) -> None:
        """Return once this replica holds the Lease."""
        while not await self.try_acquire_or_renew():  # noqa: ASYNC110 (polling the API is the protocol)
            await asyncio.sleep(self.timing.retry_seconds)
        log.info("leader election: %s leads %s", self.identity, self.name)
        self.changed()

    async def hold(self) -> None:
        """Renew while we can; return once a renewal failed past the deadline (we stand down)."""
        while True:
            await asyncio.sleep(self.timing.retry_seconds)
            if await self.try_acquire_or_renew():
                continue
            if self.clock() - self._renewed_at >= self.timing.renew_deadline_seconds:
                break
        log.warning("leader election: %s could not renew %s in time; standing by",
                    self.identity, self.name)
        self.leading.clear()
        self.changed()

    async def try_acquire_or_renew(self) -> bool:
        now = self.clock()
        try:
            lease = await self.kube.request("GET", f"{self.path}/{self.name}")
        except KubeError as err:
            if err.status != 404:
                log.info("leader election: reading %s: %s", self.name, err)
                return False
            return await self._write("POST", self.path, self._body(None, transitions=0))
        except Exception as err:  # the API server is out of reach: not renewed
            log.info("leader election: reading %s: %s", self.name, err)
            return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        seen = (holder, str(spec.get("renewTime") or ""), int(spec.get("leaseTransitions") or 0))
        if seen != self._seen:
            self._seen, self._seen_at = seen, now
        duration = float(spec.get("leaseDurationSeconds") or self.timing.lease_seconds)
        if holder and holder != self.identity and now - self._seen_at < duration:
            self.leading.clear()
            return False  # someone else holds it and has renewed lately
        transitions = seen[2] + (0 if holder == self.identity else 1)
        body = self._body(lease, transitions=transitions)
        if holder == self.identity:
            body["spec"]["acquireTime"] = spec.get("acquireTime") or body["spec"]["acquireTime"]
        return await self._write("PUT", f"{self.path}/{self.name}", body)

    async def release(self) -> None:
        """Give the Lease up on a clean stop, so a standby need not wait for it to expire."""
        if not self.leading.is_set():
            return
        self.leading.clear()
        try:
            lease = await self.kube.request("GET", f"{self.path}/{self.name}")
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = ""
            lease["spec"]["leaseDurationSeconds"] = 1
            await self.kube.request("PUT", f"{self.path}/{self.name}", body=lease)
        except Exception as err:  # best effort: the Lease expires anyway
            log.info("leader election: releasing %s: %s", self.name, err)

    def _body(self, lease: Obj | None, *, transitions: int) -> Obj:
        stamp = _micro_time(self.wall())
        meta: Obj = {"name": self.name}
        if lease is not None:
            meta = {**lease["metadata"]}  # keeps resourceVersion: the write is a compare-and-set
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.timing.lease_seconds),
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": transitions,
            },
        }

    async def _write(self, method: str, path: str, body: Obj) -> bool:
        try:
            await self.kube.request(method, path, body=body)
        except KubeError as err:
            if err.status not in (409, 404):  # 409: someone else wrote first; try again later
                log.info("leader election: writing %s: %s", self.name, err)
            return False
        except Exception as err:
            log.info("leader election: writing %s: %s", self.name, err)
            return False
        self._renewed_at = self.clock()
        self._seen = None
        self.leading.set()
        return True


class LeadershipLost(Exception):
    """This replica can no longer renew its Lease: another one may be leading already."""


async def while_leading(lease: LeaderLease, work: Callable[[], Awaitable[object]]) -> None:
    """Wait for the Lease, run `work` while holding it, release it when `work` ends.

    An operator that cannot stop its handlers half way (kopf) runs this way: if the Lease is
    lost, `LeadershipLost` is raised and the process exits, to come back as a standby.
    """
    await lease.acquire()
    holding = asyncio.create_task(lease.hold())
    working: asyncio.Task[object] = asyncio.ensure_future(work())
    try:
        done, _ = await asyncio.wait({holding, working}, return_when=asyncio.FIRST_COMPLETED)
        if holding in done:
            raise LeadershipLost(f"{lease.identity} lost the Lease {lease.name}")
        working.result()
    finally:
        for task in (holding, working):
            task.cancel()
        await asyncio.gather(holding, working, return_exceptions=True)
        await lease.release()
