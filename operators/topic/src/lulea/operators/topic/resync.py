"""The periodic comparison of every Topic with Kafka, for the whole cluster at once.

kopf's per-object timers cost a full reconcile per Topic per period (two describes, the
schema registry, an ACL pass), which at a thousand Topics and a 10 s period is more work
than the operator can do, and it starved the creation of new Topics. Here one pass lists the
Topics once, describes all their Kafka topics and their configs in one request each, and
reconciles only the Topics that differ: a Kafka topic gone or of another id, fewer
partitions than asked, a config changed behind the operator's back, or a Topic that Kafka
or the registry refused (looked at again each period). ACL drift is the ACL
pass's (`grants`), which runs on the same period.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from lulea.core.kube import Kube, KubeError
from lulea.operators.topic import status as st
from lulea.operators.topic.access import kafka_topic
from lulea.operators.topic.kafka import TopicAdmin, TopicState
from lulea.operators.topic.reconcile import Reconciler, status_path

log = logging.getLogger("lulea.operators.topic.resync")
TOPICS = "/apis/lulea.io/v1alpha1/topics"
Obj = dict[str, Any]


def ready_at_generation(body: Obj) -> bool:
    meta, status = body["metadata"], body.get("status") or {}
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               and c.get("observedGeneration") == meta.get("generation")
               for c in status.get("conditions") or [])


# Ready=False reasons that kopf does not retry (a person must change something, or Kafka
# must change its mind): the resync looks at them again each period. Every other state that
# is not Ready at its generation is kopf's: a Topic it has not handled yet, or a temporary
# failure it retries with its own backoff; reconciling those here too only doubled the work.
SETTLED_REFUSALS = {"KafkaRefused", "ResourceConflict", "SchemaIncompatible", "SchemaInvalid",
                    "InvalidSpec"}


def _refused_at_generation(body: Obj) -> bool:
    meta, status = body["metadata"], body.get("status") or {}
    return any(c.get("type") == "Ready" and c.get("status") == "False"
               and c.get("reason") in SETTLED_REFUSALS
               and c.get("observedGeneration") == meta.get("generation")
               for c in status.get("conditions") or [])


def drifted(body: Obj, state: TopicState | None, configs: dict[str, str] | None) -> str | None:
    """Why this Topic needs a reconcile, or None when Kafka matches it (or it is kopf's)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if not ready_at_generation(body):
        return "refused at its generation: looking again" if _refused_at_generation(body) else None
    if state is None:
        return "the Kafka topic is gone"
    if state.topic_id != status.get("topicId"):
        return "the Kafka topic has another id"
    if state.partitions < int(spec.get("partitions", 1)):
        return "fewer partitions than asked"
    if configs is None or configs != {k: str(v) for k, v in (spec.get("config") or {}).items()}:
        return "configs differ"
    return None


class Listing(Protocol):
    listing: list[Obj]
    listed: asyncio.Event


class Resync:
    def __init__(self, kube: Kube, admin: TopicAdmin, reconciler: Reconciler, interval: float,
                 concurrency: int = 20, listing: Listing | None = None) -> None:
        self.kube, self.admin, self.reconciler, self.interval = kube, admin, reconciler, interval
        self.limit = asyncio.Semaphore(concurrency)
        self.passes = 0
        # the ACL pass lists every Topic on the same period: its listing is used rather than
        # a second one (listing a thousand Topics is most of what a quiet operator does)
        self.source = listing

    async def run(self) -> None:
        while True:
            items = None
            if self.source is None:
                await asyncio.sleep(self.interval)
            else:
                await self.source.listed.wait()
                self.source.listed.clear()
                items = self.source.listing
            try:
                repaired = await self.once(items)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Kafka or the API server away: the next period retries
                log.warning("resync pass failed: %s", err)
                continue
            if repaired:
                log.info("resync: %d Topics reconciled again", repaired)

    async def once(self, items: list[Obj] | None = None) -> int:
        if items is None:
            items, _ = await self.kube.list(TOPICS)
        live = {kafka_topic(t["metadata"]["namespace"], t["metadata"]["name"]): t for t in items
                if not t["metadata"].get("deletionTimestamp")}
        if not live:
            return 0
        states = await self.admin.describe(live)
        configs = await self.admin.dynamic_configs_many(n for n, s in states.items() if s is not None)
        todo = [(name, why) for name, body in live.items()
                if (why := drifted(body, states.get(name), configs.get(name))) is not None]
        outcomes = await asyncio.gather(*(self._repair(live[name], why) for name, why in todo),
                                        return_exceptions=True)
        for (name, _), outcome in zip(todo, outcomes, strict=True):
            if isinstance(outcome, Exception):  # one Topic's failure is not the pass's
                log.warning("resync: topic %s not repaired: %s", name, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        self.passes += 1
        return len(todo)

    async def _repair(self, listed: Obj, why: str) -> None:
        meta = listed["metadata"]
        async with self.limit:
            try:  # the listing may be older than a change kopf is handling right now
                body = await self.kube.request("GET", status_path(meta["namespace"], meta["name"]))
            except KubeError as err:
                if err.status == 404:
                    return
                raise
            if body["metadata"].get("deletionTimestamp"):
                return
            log.info("resync: topic %s/%s: %s", meta["namespace"], meta["name"], why)
            try:
                await self.reconciler.reconcile(body)
            except st.NotReady:  # written to the status (or gone); looked at next period
                return
            except KubeError as err:
                if err.status == 404:  # deleted between the listing and a write: gone, not an error
                    return
                raise
