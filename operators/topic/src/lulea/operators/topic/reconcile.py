"""One Topic brought in line with its spec: a short list of named, idempotent steps.

Unidirectional, as Strimzi's topic operator: the Topic is the truth and Kafka follows; a
change made in Kafka behind its back (a config, an ACL) is reverted on the next pass. A
Kafka topic is this Topic's only if its topic id is the one recorded in status, or the
status records that this Topic was about to create it (a reconcile killed between the
creation and the status write adopts its own topic on the next pass). Anything else of the
same name is a ResourceConflict and is left untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import Histogram

from lulea.core.crds.topic import Topic
from lulea.core.events import EventType, Publication
from lulea.core.kube import Kube, KubeError, condition
from lulea.operators.topic import status as st
from lulea.operators.topic.access import kafka_topic
from lulea.operators.topic.kafka import KafkaRefused, KafkaUnavailable, TopicAdmin, TopicState
from lulea.operators.topic.registry import (
    RegistryUnavailable,
    SchemaIncompatible,
    SchemaInvalid,
    SchemaRegistry,
    subject,
)

log = logging.getLogger("lulea.operators.topic")
ORPHAN_ANNOTATION = "lulea.io/deletion-policy"
STEP_SECONDS = Histogram("lulea_topic_step_seconds", "Wall time of one step of a Topic reconcile, "
                         "mostly waiting on a service (describe, intent, create, metadata, schema, "
                         "acls, status, reconcile: the whole; queued: from the creation to the first "
                         "reconcile, 1 s resolution)", ["step"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80))


@asynccontextmanager
async def timed(step: str) -> AsyncIterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        STEP_SECONDS.labels(step).observe(time.monotonic() - start)
Obj = dict[str, Any]


class Grants(Protocol):
    def note(self, body: Obj) -> None: ...

    async def poke(self, wait: float = 120.0, topic: str | None = None) -> None: ...


class Events(Protocol):
    async def publish_many(self, publications: list[Publication]) -> Any: ...


def status_path(namespace: str, name: str) -> str:
    return f"/apis/lulea.io/v1alpha1/namespaces/{namespace}/topics/{name}/status"


@dataclass
class Reconciler:
    kube: Kube
    admin: TopicAdmin
    registry: SchemaRegistry | None
    grants: Grants
    events: Events | None
    # kopf's handlers and the resync pass never work on the same Topic at once
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def _lock(self, meta: Obj) -> asyncio.Lock:
        return self._locks.setdefault(str(meta.get("uid") or f"{meta['namespace']}/{meta['name']}"),
                                      asyncio.Lock())

    async def reconcile(self, body: Obj) -> st.Verdict:
        """Read, act, write the status; returns the Ready verdict (NotReady is written too)."""
        async with self._lock(body["metadata"]), timed("reconcile"):
            return await self._reconcile(body)

    async def _reconcile(self, body: Obj) -> st.Verdict:
        self.grants.note(body)  # the ACL pass works from this copy (see grants.py)
        meta = body["metadata"]
        old = dict(body.get("status") or {})
        fields: Obj = {}
        if not old and meta.get("creationTimestamp"):  # first reconcile: how long it waited
            with contextlib.suppress(ValueError):      # for kopf (its queue, the finalizer)
                created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
                STEP_SECONDS.labels("queued").observe((datetime.now(UTC) - created).total_seconds())
        try:
            topic = Topic.model_validate(body)
            verdict = await self._converge(topic, old, fields)
        except st.NotReady as stop:
            if stop.reason != st.GONE:  # deleted: no status to write
                await self.write(body, {**fields, "observedGeneration": meta.get("generation")},
                                 stop.verdict)
            raise
        except ValueError as err:  # pydantic's ValidationError
            bad = st.invalid(str(err).splitlines()[0])
            await self.write(body, {"observedGeneration": meta.get("generation")}, bad.verdict)
            raise bad from err
        await self.write(body, fields, verdict)
        if not old.get("conditions") or not _was_ready(old, meta.get("generation")):
            await self._announce_ready(topic, fields)
        return verdict

    async def _converge(self, topic: Topic, old: Obj, fields: Obj) -> st.Verdict:
        """The Kafka topic, then its schema and its ACLs. The three wait on different services
        (the broker's metadata, the registry, the ACL pass), so the schema and the ACL pass
        run while the topic is created rather than after it: a reconcile waits for the
        slowest of them, not their sum. The ACL pass is asked first (it grants every Topic it
        has been told of, Ready or not); the schema once the Kafka topic is known to be this
        Topic's or absent (a ResourceConflict registers nothing, as before)."""
        name = kafka_topic(str(topic.metadata.namespace), topic.metadata.name)
        acls: asyncio.Future[None] = asyncio.ensure_future(
            self._poke(f"{topic.metadata.namespace}/{topic.metadata.name}"))
        schema: asyncio.Future[tuple[int, int] | None] | None = None
        try:
            try:
                state = await self.existing_topic(topic, name, old, fields)
                schema = asyncio.ensure_future(self.ensure_schema(topic, name, old, fields))
                if state is None:
                    state = await self.create_topic(topic, name, old, fields)
                fields["partitions"] = await self.ensure_partitions(topic, name, state)
                if not state.created:  # a topic created just now has the spec's configs
                    await self.ensure_configs(topic, name)
            except KafkaUnavailable as err:
                raise st.kafka_unavailable(err) from err
            except KafkaRefused as refused:  # describing it was refused
                raise st.kafka_refused(name, "describe", refused.code, refused.message) from refused
            registered = await schema
            try:
                await acls
            except Exception as err:
                raise st.acls_unavailable(err) from err
        finally:
            pending = [t for t in (schema, acls) if t is not None and not t.done()]
            for task in pending:  # the reconcile failed: what it started ends with it
                task.cancel()
            await asyncio.gather(*(t for t in (schema, acls) if t is not None), return_exceptions=True)
        fields["observedGeneration"] = topic.metadata.generation
        return st.ready(name, fields["partitions"], topic.spec.partitions, registered)

    async def _poke(self, key: str) -> None:
        async with timed("acls"):
            await self.grants.poke(topic=key)

    # --- steps ----------------------------------------------------------------------------------
    async def ensure_topic(self, topic: Topic, name: str, old: Obj, fields: Obj) -> TopicState:
        state = await self.existing_topic(topic, name, old, fields)
        return state if state is not None else await self.create_topic(topic, name, old, fields)

    async def existing_topic(self, topic: Topic, name: str, old: Obj, fields: Obj) -> TopicState | None:
        """The Kafka topic if it exists and is this Topic's; None if absent; a conflict else."""
        async with timed("describe"):
            state = (await self.admin.describe([name]))[name]
        if state is None:
            return None
        if not self._ours(state, name, old):
            # kopf's copy may be older than our last status write: ask the API server
            fresh = await self._get_status(topic)
            if not self._ours(state, name, fresh.get("status") or {}):
                raise st.conflict(name, state.topic_id)
        fields.update(kafkaTopic=name, topicId=state.topic_id, partitions=state.partitions)
        return state

    async def _get_status(self, topic: Topic) -> Obj:
        try:
            return await self.kube.request("GET", status_path(str(topic.metadata.namespace),
                                                              topic.metadata.name))
        except KubeError as err:
            if err.status == 404:
                raise st.gone() from err
            raise

    async def create_topic(self, topic: Topic, name: str, old: Obj, fields: Obj) -> TopicState:
        # Not there: record the intent first, then create (a crash in between adopts it).
        if old.get("kafkaTopic") != name or old.get("topicId"):
            try:
                async with timed("intent"):
                    await self.kube.patch(status_path(str(topic.metadata.namespace), topic.metadata.name),
                                          {"status": {"kafkaTopic": name, "topicId": None}})
            except KubeError as err:
                if err.status == 404:  # deleted meanwhile: nothing to create it for
                    raise st.gone() from err
                raise
        spec = topic.spec
        made_now = True
        try:
            async with timed("create"):
                await self.admin.create(name, spec.partitions, spec.replication_factor, spec.config)
        except KafkaRefused as refused:
            if refused.code != "TOPIC_ALREADY_EXISTS":
                raise st.kafka_refused(name, "create", refused.code, refused.message) from refused
            made_now = False  # ours from before a crash (the intent): its configs are checked
        created = None
        delay = 0.1
        metadata = time.monotonic()
        for _ in range(12):  # a new topic's metadata reaches the broker's cache soon after, or
            created = (await self.admin.describe([name]))[name]  # seconds later under load
            if created is not None:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        STEP_SECONDS.labels("metadata").observe(time.monotonic() - metadata)
        if created is None:
            raise st.kafka_unavailable(RuntimeError(f"topic {name} created but not described yet"))
        fields.update(kafkaTopic=name, topicId=created.topic_id, partitions=created.partitions)
        return dataclasses.replace(created, created=made_now)

    @staticmethod
    def _ours(state: TopicState, name: str, status: Obj) -> bool:
        """The recorded id, or the recorded intent to create it (a crash in between)."""
        adopting = not status.get("topicId") and status.get("kafkaTopic") == name
        return state.topic_id == status.get("topicId") or adopting

    async def ensure_partitions(self, topic: Topic, name: str, state: TopicState) -> int:
        """Grow to the spec's count; returns the count the topic has now."""
        if topic.spec.partitions <= state.partitions:
            return state.partitions
        try:
            await self.admin.grow(name, topic.spec.partitions)
        except KafkaRefused as refused:
            raise st.kafka_refused(name, "add partitions to", refused.code, refused.message) from refused
        return topic.spec.partitions

    async def ensure_configs(self, topic: Topic, name: str) -> None:
        """Allow-listed configs as the spec says; any other config set on the topic (by hand)
        goes back to the broker's default."""
        have = await self.admin.dynamic_configs(name)
        want = topic.spec.config
        to_set = {k: v for k, v in want.items() if have.get(k) != v}
        to_delete = sorted(set(have) - set(want))
        if to_set or to_delete:
            log.info("topic %s: configs set %s, reverted %s", name, to_set, to_delete)
            try:
                await self.admin.alter_configs(name, to_set, to_delete)
            except KafkaRefused as refused:
                raise st.kafka_refused(name, "configure", refused.code, refused.message) from refused

    async def ensure_schema(self, topic: Topic, name: str, old: Obj, fields: Obj) -> tuple[int, int] | None:
        """Register avroSchema; on refusal the version in force stays in status and in force.
        No avroSchema: the subject and its history are left alone."""
        previous = (old.get("schemaId"), old.get("schemaVersion"))
        if previous[0] is not None:
            fields.update(schemaId=previous[0], schemaVersion=previous[1])
        if topic.spec.avro_schema is None or self.registry is None:
            return None
        try:
            async with timed("schema"):
                registered = await self.registry.register(name, topic.spec.avro_schema,
                                                          topic.spec.compatibility.value)
        except SchemaIncompatible as err:
            raise st.schema_incompatible(subject(name), str(err)) from err
        except SchemaInvalid as err:
            raise st.schema_invalid(subject(name), str(err)) from err
        except RegistryUnavailable as err:
            raise st.registry_unavailable(err) from err
        fields.update(schemaId=registered.schema_id, schemaVersion=registered.version)
        return registered.schema_id, registered.version

    async def write(self, body: Obj, fields: Obj, verdict: st.Verdict) -> None:
        meta, old = body["metadata"], body.get("status") or {}
        ready = condition("Ready", verdict.ok, verdict.reason, verdict.message,
                          generation=meta.get("generation"), old=old.get("conditions"))
        new = {**fields, "conditions": [ready]}
        unchanged = all(old.get(k) == v for k, v in fields.items()) and old.get("conditions") == [ready]
        if unchanged:
            return
        try:
            async with timed("status"):
                await self.kube.patch(status_path(meta["namespace"], meta["name"]), {"status": new})
        except KubeError as err:
            if err.status == 404:  # deleted meanwhile: nothing left to report on
                return
            raise
        body["status"] = {**old, **new}

    async def _announce_ready(self, topic: Topic, fields: Obj) -> None:
        if self.events is None or not fields.get("topicId"):
            return
        ns = str(topic.metadata.namespace)
        data = {"project": ns, "topic": topic.metadata.name, "kafkaTopic": fields["kafkaTopic"],
                "topicId": fields["topicId"], "partitions": int(fields["partitions"]),
                "schemaId": fields.get("schemaId"), "generation": int(topic.metadata.generation or 0)}
        await self._publish([Publication(EventType.TOPIC_READY, f"{ns}/{topic.metadata.name}", ns, data,
                                         (str(topic.metadata.uid), str(topic.metadata.generation), "ready"))])

    async def _publish(self, publications: list[Publication]) -> None:
        if self.events is None:
            return
        try:
            await self.events.publish_many(publications)
        except Exception as err:  # the status is the record; a lost event is only logged
            log.warning("events not published (%s): %s", [p.type.value for p in publications], err)

    async def announce_shares(self, body: Obj, old_shares: list[Obj], new_shares: list[Obj]) -> None:
        meta = body["metadata"]
        ns, name = meta["namespace"], meta["name"]
        before = {s["project"]: s.get("access", "Read") for s in old_shares}
        after = {s["project"]: s.get("access", "Read") for s in new_shares}
        base = {"project": ns, "topic": name, "kafkaTopic": kafka_topic(ns, name)}
        out = []
        for project, level in sorted(after.items()):
            if before.get(project) != level:
                out.append(Publication(EventType.TOPIC_SHARED, f"{ns}/{name}", ns,
                                       {**base, "sharedWith": project, "access": level},
                                       (meta["uid"], str(meta.get("generation")), project, "shared")))
        for project in sorted(before.keys() - after.keys()):
            out.append(Publication(EventType.TOPIC_UNSHARED, f"{ns}/{name}", ns,
                                   {**base, "sharedWith": project},
                                   (meta["uid"], str(meta.get("generation")), project, "unshared")))
        if out:
            await self._publish(out)

    async def _fresh_status(self, meta: Obj, known: Obj) -> Obj:
        """The status as the API server has it now: kopf's copy of the object can predate the
        operator's own last status write (a kill between two writes, or a deletion queued
        while a reconcile ran)."""
        try:
            fresh = await self.kube.request("GET", status_path(meta["namespace"], meta["name"]))
        except KubeError as err:
            if err.status == 404:
                return known
            raise
        return dict(fresh.get("status") or {})

    async def delete(self, body: Obj) -> bool:
        """ACLs removed, the topic deleted, the subject soft-deleted; False when orphaned."""
        async with self._lock(body["metadata"]):
            done = await self._delete(body)
        self._locks.pop(str(body["metadata"].get("uid")), None)
        return done

    async def _delete(self, body: Obj) -> bool:
        self.grants.note(body)  # being deleted: it grants nothing from the next pass on
        meta = body["metadata"]
        name = kafka_topic(meta["namespace"], meta["name"])
        orphan = (meta.get("annotations") or {}).get(ORPHAN_ANNOTATION) == "Orphan"
        await self.grants.poke()  # a Topic being deleted grants nothing
        status = await self._fresh_status(meta, body.get("status") or {})
        if not orphan and status.get("kafkaTopic") == name:
            state = (await self.admin.describe([name]))[name]
            # Ours: the recorded id, or the recorded intent to create it (an operator killed
            # between the creation and the status write leaves only the intent; a deletion
            # that skipped it left the Kafka topic behind)
            if state is not None and self._ours(state, name, status):
                log.info("topic %s: deleting the Kafka topic (id %s)", name, state.topic_id)
                await self.admin.delete(name)
            if self.registry is not None and (body.get("spec") or {}).get("avroSchema"):
                await self.registry.soft_delete(name)
        await self._publish([Publication(EventType.TOPIC_DELETED, f"{meta['namespace']}/{meta['name']}",
                                         meta["namespace"], {"project": meta["namespace"],
                                                             "topic": meta["name"], "kafkaTopic": name,
                                                             "orphaned": orphan},
                                         (meta["uid"], "deleted"))])
        return not orphan


def _was_ready(old: Obj, generation: int | None) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               and c.get("observedGeneration") == generation for c in old.get("conditions") or [])
