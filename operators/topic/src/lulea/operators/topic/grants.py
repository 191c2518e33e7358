"""The broker's ACLs made equal to `access.desired_grants` of the objects in the API server.

One loop does it for the whole cluster: it reads every Project and every Topic afresh (an
event is a trigger, never proof), asks the broker for its bindings once, and creates and
deletes the difference in batches. It runs when poked (a Topic reconciled, a membership
event, a share edited) and at least every `interval` seconds (drift: an ACL deleted or
added by hand). Pokes that arrive while a pass runs are served by the next pass, so a
burst of a thousand Topics costs a few passes, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from confluent_kafka.admin import AclPermissionType  # type: ignore[attr-defined]

from lulea.core.kube import Kube
from lulea.operators.topic import access
from lulea.operators.topic.kafka import TopicAdmin

log = logging.getLogger("lulea.operators.topic.grants")
PROJECTS = "/apis/lulea.io/v1alpha1/projects"
TOPICS = "/apis/lulea.io/v1alpha1/topics"


def members_of(projects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """project -> its members, for the projects that exist and are not being deleted."""
    return {p["metadata"]["name"]: [m["user"] for m in (p.get("spec") or {}).get("members") or []]
            for p in projects if not p["metadata"].get("deletionTimestamp")}


def topics_of(topics: list[dict[str, Any]]) -> list[access.TopicAccess]:
    """The Topics whose grants stand: not those being deleted."""
    return [access.TopicAccess(t["metadata"]["namespace"], t["metadata"]["name"],
                               tuple((s["project"], s.get("access", "Read"))
                                     for s in (t.get("spec") or {}).get("shares") or []))
            for t in topics if not t["metadata"].get("deletionTimestamp")]


class GrantSync:
    def __init__(self, kube: Kube, admin: TopicAdmin, interval: float) -> None:
        self.kube, self.admin, self.interval = kube, admin, interval
        self.requested = 0
        self.completed = 0
        self.error: BaseException | None = None
        self._wake = asyncio.Event()
        self._done = asyncio.Condition()
        self.passes = 0

    async def poke(self, wait: float = 30.0) -> None:
        """Ask for a pass and wait until one that started after this call has finished."""
        self.requested += 1
        mine = self.requested
        self._wake.set()
        async with self._done:
            try:
                await asyncio.wait_for(self._done.wait_for(lambda: self.completed >= mine), wait)
            except TimeoutError:
                raise RuntimeError(f"no ACL pass finished in {wait:.0f}s: {self.error}") from None

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            upto = self.requested
            try:
                created, deleted = await self.sync_once()
                self.error = None
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Kafka or the API server away: the next pass retries
                self.error = err
                log.warning("ACL pass failed: %s", err)
                await asyncio.sleep(1.0)
                self._wake.set()
                continue
            if created or deleted:
                log.info("ACLs: %d created, %d deleted", created, deleted)
            async with self._done:
                self.completed = max(self.completed, upto)
                self._done.notify_all()

    async def sync_once(self) -> tuple[int, int]:
        started = time.monotonic()
        (projects, _), (topics, _) = await asyncio.gather(self.kube.list(PROJECTS), self.kube.list(TOPICS))
        desired = access.desired_grants(members_of(projects), topics_of(topics))
        allow, deny = await self.admin.acls()
        missing, extra = access.difference(desired, allow)
        denied = {g for g in deny if access.ours(g)}  # nobody writes a DENY on our patterns by hand
        if missing:
            await self.admin.create_acls(missing)
        if extra:
            await self.admin.delete_acls(extra)
        if denied:
            await self.admin.delete_acls(denied, AclPermissionType.DENY)
        self.passes += 1
        log.debug("ACL pass %d in %.3fs", self.passes, time.monotonic() - started)
        return len(missing), len(extra) + len(denied)
