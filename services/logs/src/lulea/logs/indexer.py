"""`python -m lulea.logs indexer`: the logs topic -> VictoriaLogs, one tenant per project.

A consumer group (librdkafka) reads batches of messages; each message is already JSON lines
of one container (the collector wrote them for VictoriaLogs), with its project in a header.
The batch is grouped by project and POSTed to `/insert/jsonline` under that project's
tenant headers; only when every write of the batch succeeded, and VictoriaLogs has had the time
to make it durable (`commit_lag_seconds`), are its offsets committed.
A crash between the write and the commit delivers the batch again: the same lines with the
same `lid`, which the gateway shows once (docs/logs.md, "Duplicates").

Visibility: VictoriaLogs keeps what it was sent in an in-memory buffer that becomes searchable
within a second (a fixed timer in 1.52.1). The indexer asks for it sooner through VictoriaLogs'
`/internal/force_flush` at most once every `visibility_seconds` while it has written something
since the last one (0: never; VictoriaLogs' own second then applies). One flush every 200 ms
costs little (bench/logs measures both); one per write would be what its docs warn against.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import deque
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaException, TopicPartition

from lulea.core.platform import Identity, PlatformSettings, renew_forever, request_identity
from lulea.logs.probes import serve_probes
from lulea.logs.settings import IndexerSettings
from lulea.logs.tenancy import tenant_of

log = logging.getLogger("lulea.logs.indexer")
STREAM_FIELDS = "project,job,pod,container"
INSERT_PARAMS = {"_stream_fields": STREAM_FIELDS, "_msg_field": "msg", "_time_field": "time"}


def last_offsets(messages: list[Any]) -> dict[tuple[str, int], int]:
    """The offset to commit per partition after `messages`: the last one's plus one."""
    out: dict[tuple[str, int], int] = {}
    for m in messages:
        if m.error() is None:
            out[(m.topic(), m.partition())] = max(out.get((m.topic(), m.partition()), 0), m.offset() + 1)
    return out


def group_by_project(messages: list[Any]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for m in messages:
        if m.error() is not None:
            continue
        project = dict(m.headers() or []).get("project")
        value = m.value()
        if not project or not value:
            continue  # not a collector's message: nothing to index
        out.setdefault(project.decode(), []).append(value)
    return out


class Indexer:
    def __init__(self, settings: IndexerSettings, consumer: Any, http: httpx.Client) -> None:
        self.settings, self.consumer, self.http = settings, consumer, http
        self.written = 0
        self.ready = False
        self.unflushed = False  # written since the last force_flush
        self.flushed_at = 0.0
        self.flushes = 0
        self.pending: deque[tuple[float, dict[tuple[str, int], int]]] = deque()  # written, not committed
        self.committed = 0

    def write(self, project: str, values: list[bytes]) -> None:
        """One POST per project; retried until VictoriaLogs takes it (a restart of it waits here)."""
        body = b"".join(values)
        while True:
            try:
                answer = self.http.post("/insert/jsonline", params=INSERT_PARAMS, content=body,
                                        headers={**tenant_of(project).headers(),
                                                 "Content-Type": "application/stream+json"})
                if answer.status_code < 300:
                    self.unflushed = True
                    return
                if 400 <= answer.status_code < 500:  # a bad line: VictoriaLogs logs and skips those
                    log.warning("VictoriaLogs refused a batch of %s: %s %s", project,
                                answer.status_code, answer.text[:200])
                    return
                log.warning("VictoriaLogs answered %s; retrying", answer.status_code)
            except httpx.HTTPError as err:
                log.warning("VictoriaLogs unreachable (%s); retrying", err)
            time.sleep(self.settings.retry_seconds)

    def renew(self, consumer: Any) -> None:
        """A renewed certificate: librdkafka reads its files at creation only. Between two
        steps (everything written is committed then) the old consumer leaves the group and the
        new one joins it; partitions resume at the committed offsets."""
        self.commit_due(everything=True)
        old, self.consumer = self.consumer, consumer
        old.close()
        log.info("consumer replaced after a certificate renewal")

    def flush(self, now: float | None = None) -> None:
        """Make what was written searchable now rather than within VictoriaLogs' second; a failed
        flush is only a later visibility, never a loss (the lines are stored)."""
        every = self.settings.visibility_seconds
        now = time.monotonic() if now is None else now
        if not self.unflushed or every <= 0 or now - self.flushed_at < every:
            return
        try:
            answer = self.http.get("/internal/force_flush", timeout=5)
            if answer.status_code >= 300:
                log.warning("VictoriaLogs refused force_flush: %s %s", answer.status_code, answer.text[:200])
        except httpx.HTTPError as err:
            log.warning("force_flush failed (%s); the lines show within VictoriaLogs' second", err)
        self.unflushed, self.flushed_at = False, now
        self.flushes += 1

    def step(self) -> int:
        wait, now, conf = self.settings.batch_wait_seconds, time.monotonic(), self.settings
        if self.unflushed and conf.visibility_seconds > 0:  # wake up in time to flush
            wait = min(wait, max(0.0, self.flushed_at + conf.visibility_seconds - now))
        if self.pending:  # and in time to commit what became durable
            wait = min(wait, max(0.0, self.pending[0][0] + conf.commit_lag_seconds - now))
        messages = self.consumer.consume(self.settings.batch_messages, wait)
        self.ready = True
        if not messages:
            self.flush()
            self.commit_due()
            return 0
        for project, values in group_by_project(messages).items():
            self.write(project, values)
        self.pending.append((time.monotonic(), last_offsets(messages)))
        self.written += len(messages)
        self.flush()
        self.commit_due()
        return len(messages)

    def commit_due(self, now: float | None = None, *, everything: bool = False) -> None:
        """Commit the offsets of batches VictoriaLogs has made durable: written more than
        `commit_lag_seconds` ago (its -inmemoryDataFlushInterval plus a margin). A SIGKILLed
        VictoriaLogs loses at most what it held in memory, and those lines are not committed
        yet: the next owner of their partitions writes them again (shown once, by lid)."""
        now = time.monotonic() if now is None else now
        if everything:  # a graceful stop or a renewal: wait until the last batch is durable
            if self.pending:
                time.sleep(max(0.0, self.pending[-1][0] + self.settings.commit_lag_seconds - now))
            now = time.monotonic()
        due: dict[tuple[str, int], int] = {}
        while self.pending and now - self.pending[0][0] >= self.settings.commit_lag_seconds:
            due.update(self.pending.popleft()[1])
        if not due:
            return
        offsets = [TopicPartition(t, part, off) for (t, part), off in due.items()]
        for attempt in range(3):
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
                self.committed += 1
                return
            except KafkaException as err:
                if err.args[0].code() == -168:  # _NO_OFFSET: nothing new to commit
                    return
                # a rebalance took the partitions: their next owner reads the batches again,
                # which the read path shows once (lid); retrying a fenced commit cannot help
                log.warning("commit failed (%s), attempt %d", err, attempt + 1)
                time.sleep(self.settings.retry_seconds)


def consumer_config(settings: IndexerSettings, kafka: dict[str, Any]) -> dict[str, Any]:
    return kafka | {
        "group.id": settings.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "enable.partition.eof": False, "client.id": "lulea-logs-indexer",
        "fetch.wait.max.ms": 20, "session.timeout.ms": 10_000, "heartbeat.interval.ms": 1000,
        "partition.assignment.strategy": "cooperative-sticky",
    }


async def main() -> None:
    settings, platform = IndexerSettings(), PlatformSettings()
    from lulea.core.logs import setup_json_logging

    setup_json_logging(settings.log_level)
    identity = await request_identity(platform)
    consumer = Consumer(consumer_config(settings, platform.kafka(identity).confluent()))
    consumer.subscribe([settings.topic])
    http = httpx.Client(base_url=settings.victorialogs_url, timeout=30)
    indexer = Indexer(settings, consumer, http)
    probes = asyncio.create_task(serve_probes(settings.host, settings.port,
                                              lambda: (indexer.ready, "indexer")))
    renewals: list[Identity] = []
    renewal = asyncio.create_task(renew_forever(platform, identity, renewals.append))
    log.info("indexing %s into %s", settings.topic, settings.victorialogs_url)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a graceful stop ends after the current batch
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set() and not probes.done():
            # librdkafka and httpx block: run a step in a thread, keep the probes answering
            await asyncio.to_thread(indexer.step)
            if renewals:
                new = Consumer(consumer_config(settings, platform.kafka(renewals.pop()).confluent()))
                new.subscribe([settings.topic])
                renewals.clear()
                indexer.renew(new)
    finally:
        indexer.commit_due(everything=True)
        indexer.consumer.close()
        probes.cancel()
        renewal.cancel()
