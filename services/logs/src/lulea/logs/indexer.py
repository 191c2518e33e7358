"""`python -m lulea.logs indexer`: the logs topic -> VictoriaLogs, one tenant per project.

A consumer group (librdkafka) reads batches of messages; each message is already JSON lines
of one container (the collector wrote them for VictoriaLogs), with its project in a header.
The batch is grouped by project and POSTed to `/insert/jsonline` under that project's
tenant headers; only when every write of the batch succeeded are the offsets committed.
A crash between the write and the commit delivers the batch again: the same lines with the
same `lid`, which the gateway shows once (docs/logs.md, "Duplicates").
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaException

from lulea.core.platform import PlatformSettings, request_identity
from lulea.logs.probes import serve_probes
from lulea.logs.settings import IndexerSettings
from lulea.logs.tenancy import tenant_of

log = logging.getLogger("lulea.logs.indexer")
STREAM_FIELDS = "project,job,pod,container"
INSERT_PARAMS = {"_stream_fields": STREAM_FIELDS, "_msg_field": "msg", "_time_field": "time"}


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

    def write(self, project: str, values: list[bytes]) -> None:
        """One POST per project; retried until VictoriaLogs takes it (a restart of it waits here)."""
        body = b"".join(values)
        while True:
            try:
                answer = self.http.post("/insert/jsonline", params=INSERT_PARAMS, content=body,
                                        headers={**tenant_of(project).headers(),
                                                 "Content-Type": "application/stream+json"})
                if answer.status_code < 300:
                    return
                if 400 <= answer.status_code < 500:  # a bad line: VictoriaLogs logs and skips those
                    log.warning("VictoriaLogs refused a batch of %s: %s %s", project,
                                answer.status_code, answer.text[:200])
                    return
                log.warning("VictoriaLogs answered %s; retrying", answer.status_code)
            except httpx.HTTPError as err:
                log.warning("VictoriaLogs unreachable (%s); retrying", err)
            time.sleep(self.settings.retry_seconds)

    def step(self) -> int:
        messages = self.consumer.consume(self.settings.batch_messages, self.settings.batch_wait_seconds)
        self.ready = True
        if not messages:
            return 0
        for project, values in group_by_project(messages).items():
            self.write(project, values)
        for attempt in range(3):
            try:
                self.consumer.commit(asynchronous=False)
                break
            except KafkaException as err:
                if err.args[0].code() == -168:  # _NO_OFFSET: nothing new to commit
                    break
                # a rebalance took the partitions: their next owner reads the batch again,
                # which the read path shows once (lid); retrying a fenced commit cannot help
                log.warning("commit failed (%s), attempt %d", err, attempt + 1)
                time.sleep(self.settings.retry_seconds)
        self.written += len(messages)
        return len(messages)


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
    log.info("indexing %s into %s", settings.topic, settings.victorialogs_url)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a graceful stop ends after the current batch
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set() and not probes.done():
            # librdkafka and httpx block: run a step in a thread, keep the probes answering
            await asyncio.to_thread(indexer.step)
    finally:
        consumer.close()
        probes.cancel()
