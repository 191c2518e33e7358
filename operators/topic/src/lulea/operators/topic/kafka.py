"""The Kafka side of a Topic, through confluent-kafka's AdminClient on the platform listener.

librdkafka runs the requests on its own threads and answers with concurrent futures; each
method here awaits them without blocking the event loop. Creations are batched: the
requests of concurrent reconciles that arrive within `linger` seconds go out as one
CreateTopics call (Strimzi batches up to 100 with a 100 ms linger). A refusal from Kafka is
`KafkaRefused` with Kafka's error name and its message; a broker that does not answer is
`KafkaUnavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # not in the package's __all__
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from lulea.core.events.topics import Grant

TIMEOUT = 15.0
UNAVAILABLE = {"_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "REQUEST_TIMED_OUT", "_MSG_TIMED_OUT",
               "NOT_CONTROLLER", "LEADER_NOT_AVAILABLE", "COORDINATOR_NOT_AVAILABLE", "_RESOLVE",
               "NETWORK_EXCEPTION"}


class KafkaRefused(Exception):
    """Kafka refused a request: `code` is Kafka's error name (e.g. INVALID_REPLICATION_FACTOR)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class KafkaUnavailable(Exception):
    """The broker did not answer (down, unreachable, timed out)."""


@dataclass(frozen=True)
class TopicState:
    name: str
    topic_id: str
    partitions: int
    created: bool = False  # created just now by this reconcile, with the spec's configs


def _error(err: BaseException) -> Exception:
    if isinstance(err, KafkaException) and err.args and isinstance(err.args[0], KafkaError):
        k: KafkaError = err.args[0]
        if k.name() in UNAVAILABLE or k.retriable():
            return KafkaUnavailable(f"{k.name()}: {k.str()}")
        return KafkaRefused(k.name(), k.str())
    return err if isinstance(err, Exception) else RuntimeError(str(err))


async def _wait(future: Future[Any]) -> Any:
    try:
        return await asyncio.wrap_future(future)
    except Exception as err:
        raise _error(err) from err


def _settle(future: Future[Any], done: asyncio.Future[None]) -> None:
    if done.done():
        return
    err = future.exception()
    if err is not None:
        done.set_exception(_error(err))
    else:
        done.set_result(None)


def _topic_state(name: str, description: Any) -> TopicState:
    return TopicState(name, str(description.topic_id), len(description.partitions))


def _settle_describe(name: str, future: Future[Any],
                     waiters: list[asyncio.Future[TopicState | None]]) -> None:
    err = future.exception()
    result: TopicState | None = None
    failure: Exception | None = None
    if err is None:
        result = _topic_state(name, future.result())
    else:
        failure = _error(err)
        if isinstance(failure, KafkaRefused) and failure.code == "UNKNOWN_TOPIC_OR_PART":
            failure = None
    for w in waiters:
        if w.done():
            continue
        if failure is not None:
            w.set_exception(failure)
        else:
            w.set_result(result)


def _dynamic(entries: dict[str, Any]) -> dict[str, str]:
    return {k: e.value for k, e in entries.items()
            if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value and e.value is not None}


def binding(grant: Grant) -> AclBinding:
    return AclBinding(ResourceType[grant.resource], grant.name, ResourcePatternType[grant.pattern],
                      grant.principal, "*", AclOperation[grant.operation], AclPermissionType.ALLOW)


def grant_filter(grant: Grant, permission: Any = AclPermissionType.ALLOW) -> AclBindingFilter:
    return AclBindingFilter(ResourceType[grant.resource], grant.name, ResourcePatternType[grant.pattern],
                            grant.principal, "*", AclOperation[grant.operation], permission)


class TopicAdmin:
    def __init__(self, conf: dict[str, Any], *, batch: int = 100, linger: float = 0.1) -> None:
        self.admin = AdminClient(conf)
        self.batch, self.linger = batch, linger
        self._pending: list[tuple[NewTopic, asyncio.Future[None]]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._describing: dict[str, list[asyncio.Future[TopicState | None]]] = {}
        self._describe_flush: asyncio.TimerHandle | None = None

    # --- topics ---------------------------------------------------------------------------
    async def describe(self, names: Iterable[str]) -> dict[str, TopicState | None]:
        """Each topic's id and partition count, None where it does not exist. Small requests
        of concurrent reconciles are batched like creations: one DescribeTopics for all the
        names asked within `linger` seconds (a burst asked one per topic, twice per new one)."""
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        if len(names) >= self.batch:
            return await self._describe_now(names)
        loop = asyncio.get_running_loop()
        mine: dict[str, asyncio.Future[TopicState | None]] = {}
        for name in names:
            mine[name] = loop.create_future()
            self._describing.setdefault(name, []).append(mine[name])
        if len(self._describing) >= self.batch:
            self._send_describes()
        elif self._describe_flush is None:
            self._describe_flush = loop.call_later(self.linger, self._send_describes)
        answers = await asyncio.gather(*mine.values(), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return dict(zip(mine, answers, strict=True))  # type: ignore[arg-type]

    async def _describe_now(self, names: list[str]) -> dict[str, TopicState | None]:
        futures = self.admin.describe_topics(TopicCollection(names), request_timeout=TIMEOUT)
        out: dict[str, TopicState | None] = {}
        for name, future in futures.items():
            try:
                out[name] = _topic_state(name, await _wait(future))
            except KafkaRefused as refused:
                if refused.code != "UNKNOWN_TOPIC_OR_PART":
                    raise
                out[name] = None
        return out

    def _send_describes(self) -> None:
        if self._describe_flush is not None:
            self._describe_flush.cancel()
            self._describe_flush = None
        waiting, self._describing = self._describing, {}
        if not waiting:
            return
        try:
            futures = self.admin.describe_topics(TopicCollection(list(waiting)), request_timeout=TIMEOUT)
        except Exception as err:
            for waiters in waiting.values():
                for w in waiters:
                    if not w.done():
                        w.set_exception(_error(err))
            return
        loop = asyncio.get_running_loop()
        for name, future in futures.items():
            future.add_done_callback(lambda f, n=name, ws=waiting[name]: loop.call_soon_threadsafe(  # type: ignore[misc]
                _settle_describe, n, f, ws))

    async def list_names(self) -> set[str]:
        loop = asyncio.get_running_loop()
        try:
            metadata = await loop.run_in_executor(None, lambda: self.admin.list_topics(timeout=TIMEOUT))
        except Exception as err:
            raise _error(err) from err
        return set(metadata.topics)

    async def create(self, name: str, partitions: int, replication_factor: int,
                     config: dict[str, str]) -> None:
        """Create one topic, batched with other creations; TOPIC_ALREADY_EXISTS is refused
        like anything else (the caller decides whose the existing topic is)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((NewTopic(name, num_partitions=partitions,
                                       replication_factor=replication_factor, config=dict(config)), done))
        if len(self._pending) >= self.batch:
            self._send()
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(self.linger, self._send)
        await done

    def _send(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            futures = self.admin.create_topics([t for t, _ in pending], request_timeout=TIMEOUT,
                                               operation_timeout=TIMEOUT)
        except Exception as err:
            for _, done in pending:
                done.set_exception(_error(err))
            return
        loop = asyncio.get_running_loop()
        for topic, done in pending:
            futures[topic.topic].add_done_callback(
                lambda f, d=done: loop.call_soon_threadsafe(_settle, f, d))  # type: ignore[misc]

    async def grow(self, name: str, partitions: int) -> None:
        futures = self.admin.create_partitions([NewPartitions(name, partitions)], request_timeout=TIMEOUT)
        await _wait(futures[name])

    async def delete(self, name: str) -> bool:
        """True if deleted; a topic already gone is success (False)."""
        futures = self.admin.delete_topics([name], request_timeout=TIMEOUT, operation_timeout=TIMEOUT)
        try:
            await _wait(futures[name])
        except KafkaRefused as refused:
            if refused.code == "UNKNOWN_TOPIC_OR_PART":
                return False
            raise
        return True

    # --- configs ----------------------------------------------------------------------------
    async def dynamic_configs(self, name: str) -> dict[str, str]:
        """The topic's configs set on the topic itself (not broker defaults)."""
        resource = ConfigResource(ResourceType.TOPIC, name)
        futures = self.admin.describe_configs([resource], request_timeout=TIMEOUT)
        return _dynamic(await _wait(next(iter(futures.values()))))

    async def dynamic_configs_many(self, names: Iterable[str]) -> dict[str, dict[str, str] | None]:
        """`dynamic_configs` of many topics in one DescribeConfigs request; None where the
        topic is gone (or could not be described: the caller reconciles it to find out)."""
        resources = [ConfigResource(ResourceType.TOPIC, n) for n in names]
        if not resources:
            return {}
        futures = self.admin.describe_configs(resources, request_timeout=TIMEOUT)
        out: dict[str, dict[str, str] | None] = {}
        for resource, future in futures.items():
            try:
                entries = await _wait(future)
            except KafkaRefused:
                out[resource.name] = None
                continue
            out[resource.name] = _dynamic(entries)
        return out

    async def alter_configs(self, name: str, set_: dict[str, str], delete: Iterable[str]) -> None:
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in set_.items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in delete]
        if not entries:
            return
        resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
        futures = self.admin.incremental_alter_configs([resource], request_timeout=TIMEOUT)
        await _wait(next(iter(futures.values())))

    # --- ACLs ---------------------------------------------------------------------------------
    async def acls(self) -> tuple[set[Grant], set[Grant]]:
        """Every binding on the broker: (ALLOW ones, DENY ones)."""
        anything: Any = None
        query = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything,
                                 anything, AclOperation.ANY, AclPermissionType.ANY)
        bindings = await _wait(self.admin.describe_acls(query, request_timeout=TIMEOUT))
        allow: set[Grant] = set()
        deny: set[Grant] = set()
        for b in bindings:
            g = Grant(b.principal, b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name)
            (allow if b.permission_type == AclPermissionType.ALLOW else deny).add(g)
        return allow, deny

    async def create_acls(self, grants: Iterable[Grant]) -> None:
        grants = sorted(grants)
        for i in range(0, len(grants), 1000):
            futures = self.admin.create_acls([binding(g) for g in grants[i:i + 1000]],
                                             request_timeout=TIMEOUT)
            for f in futures.values():
                await _wait(f)

    async def delete_acls(self, grants: Iterable[Grant], permission: Any = AclPermissionType.ALLOW) -> None:
        grants = sorted(grants)
        for i in range(0, len(grants), 1000):
            futures = self.admin.delete_acls([grant_filter(g, permission) for g in grants[i:i + 1000]],
                                             request_timeout=TIMEOUT)
            for f in futures.values():
                await _wait(f)
