"""`python -m lulea.logs collector`: CRI files -> the logs topic.

One loop: every `scan_seconds` it looks for files (pods of namespaces that are Projects),
then reads what each open file gained, joins partial lines, and produces one Kafka message
per batch of a container's lines (JSON lines, ready for VictoriaLogs), keyed by the pod's
uid and container so that container's lines stay in order on one partition. The producer
is librdkafka's (confluent-kafka): idempotent, acks=all, compressed, never giving up on a
message (message.timeout.ms=0). A file's offset is checkpointed only once Kafka has
acknowledged the messages up to it. When the producer's queue is full the loop stops
reading (backpressure): the files are the buffer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer

from lulea.core import gangs
from lulea.core.kube import Kube, connect
from lulea.core.kube.informer import Informer
from lulea.core.platform import Identity, PlatformSettings, renew_forever, request_identity
from lulea.logs.checkpoint import Checkpoints, Position
from lulea.logs.cri import Joined, PodDir, pod_dir
from lulea.logs.probes import serve_probes
from lulea.logs.settings import CollectorSettings
from lulea.logs.tailer import Tail, file_id
from lulea.logs.tenancy import file_key

log = logging.getLogger("lulea.logs.collector")
PODS = "/api/v1/pods"
PROJECTS = "/apis/lulea.io/v1alpha1/projects"


def is_current(name: str) -> bool:
    """`0.log`, the file the runtime writes; `0.log.20261202-004656` is rotated, `.gz` ignored."""
    return name.endswith(".log") and name[:-4].isdigit()


def is_rotated(name: str) -> bool:
    return ".log." in name and not name.endswith(".gz") and not name.endswith(".tmp")


class Collector:
    def __init__(self, settings: CollectorSettings, producer: Any, pods: Any, projects: Any) -> None:
        self.settings, self.producer = settings, producer
        self.pods, self.projects = pods, projects
        self.checkpoints = Checkpoints(settings.checkpoint_file)
        self.tails: dict[str, Tail] = {}
        self.meta: dict[str, dict[str, str]] = {}  # fid -> the fields every line of the file carries
        self.first_seen: dict[str, float] = {}
        self.failed: str | None = None
        self.lines = 0
        self.next_producer: Any = None  # set by a certificate renewal, taken by `run`

    # ---- discovery ------------------------------------------------------------------
    def _pod_fields(self, pd: PodDir, container: str) -> dict[str, str] | None:
        pod = self.pods.get(f"{pd.namespace}/{pd.pod}")
        if pod is not None and pod["metadata"].get("uid") != pd.uid:
            pod = None  # a newer pod of the same name: not this directory's
        key = f"{pd.namespace}/{pd.pod}/{pd.uid}"
        if pod is None:
            first = self.first_seen.setdefault(key, time.monotonic())
            if time.monotonic() - first < self.settings.pod_wait_seconds:
                return None
            labels: dict[str, str] = {}
            node = self.settings.node_name
        else:
            labels = pod["metadata"].get("labels") or {}
            node = (pod.get("spec") or {}).get("nodeName") or self.settings.node_name
        return {"project": pd.namespace, "job": labels.get(gangs.JOB, ""), "pod": pd.pod,
                "container": container, "node": node, "uid": pd.uid}

    def scan(self) -> None:
        seen: set[str] = set()
        root = self.settings.root
        for entry in os.scandir(root) if root.is_dir() else ():
            pd = pod_dir(entry.name)
            if pd is None or not entry.is_dir() or self.projects.get(pd.namespace) is None:
                continue
            for cdir in os.scandir(entry.path):
                if not cdir.is_dir():
                    continue
                for f in os.scandir(cdir.path):
                    if is_current(f.name) or is_rotated(f.name):
                        self._consider(pd, cdir.name, Path(f.path), f.name, seen)
        for fid in [fid for fid in self.tails if fid not in seen]:
            self._maybe_close(fid, gone=True)
        for fid, position in list(self.checkpoints.positions.items()):
            if fid not in self.tails and not os.path.exists(position.path):
                self.checkpoints.forget(fid)  # a rotated file we had finished is gone now

    def _consider(self, pd: PodDir, container: str, path: Path, name: str, seen: set[str]) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        fid = file_id(st)
        tail = self.tails.get(fid)
        if tail is not None:
            seen.add(fid)
            tail.path = path
            if not is_current(name):
                self._maybe_close(fid, gone=False)  # rotated away: close once read and acknowledged
            return
        known = self.checkpoints.get(fid)
        if known is not None and Path(known.path).parent != path.parent:
            known = None  # the inode was reused by another container's file
        if not is_current(name) and (known is None or known.offset >= st.st_size):
            return  # a rotated file we never read (shipped before it rotated) or read to its end
        fields = self._pod_fields(pd, container)
        if fields is None:
            return
        try:
            tail = Tail.open(path, known.offset if known else 0, known.generation if known else 0)
        except FileNotFoundError:
            return
        self.tails[tail.fid] = tail
        self.meta[tail.fid] = fields
        self.checkpoints.set(tail.fid, Position(str(path), tail.acked, tail.generation))
        seen.add(tail.fid)
        log.info("tailing %s from offset %d (generation %d)", path, tail.offset, tail.generation)

    def _maybe_close(self, fid: str, *, gone: bool) -> None:
        tail = self.tails[fid]
        if not tail.drained or tail.acked < tail.sent:
            return
        tail.close()
        del self.tails[fid], self.meta[fid]
        if gone:
            self.checkpoints.forget(fid)
        else:  # rotated: keep where we are, in case a restart finds it before it is compressed
            self.checkpoints.set(fid, Position(str(tail.path), tail.acked, tail.generation))
        log.info("closed %s (%s)", tail.path, "deleted" if gone else "rotated")

    # ---- shipping -------------------------------------------------------------------
    def _delivered(self, tail: Tail, generation: int, end: int, err: KafkaError | None,
                   _msg: Message) -> None:
        if err is not None:
            # idempotent, unlimited retries: an error here is fatal (fenced, unauthorized, ...)
            self.failed = f"delivery failed: {err}"
            return
        if generation == tail.generation and end > tail.acked:
            tail.acked = end

    def ship(self, tail: Tail, lines: list[Joined]) -> None:
        """One JSON document per line, built from a prefix serialized once per file (the hot
        path: no dict per line), batched into messages of about `message_bytes`."""
        fields = self.meta[tail.fid]
        key = f"{fields['uid']}/{fields['container']}".encode()
        headers = [("project", fields["project"].encode())]
        prefix = orjson.dumps({k: v for k, v in fields.items() if k != "uid"})[:-1] + b',"time":"'
        lid = file_key(fields["uid"], fields["container"], tail.fid, tail.generation).encode() + b"-"
        dumps = orjson.dumps
        batch: list[bytes] = []
        size = 0
        limit = self.settings.message_bytes
        for j in lines:
            encoded = b"".join((
                prefix, j.time.encode(), b'","stream":"', j.stream.encode(), b'","msg":',
                dumps(j.text.decode("utf-8", "replace")), b',"lid":"', lid, b"%x" % j.start,
                b'","truncated":"true"}\n' if j.truncated else b'"}\n'))
            batch.append(encoded)
            size += len(encoded)
            if size >= limit:
                self._produce(tail, key, headers, batch, j.end)
                batch, size = [], 0
        if batch:
            self._produce(tail, key, headers, batch, lines[-1].end)
        self.lines += len(lines)

    def _produce(self, tail: Tail, key: bytes, headers: list[tuple[str, bytes]], batch: list[bytes],
                 end: int) -> None:
        callback = functools.partial(self._delivered, tail, tail.generation, end)
        while True:
            try:
                self.producer.produce(self.settings.topic, b"".join(batch), key, headers=headers,
                                      on_delivery=callback)
                break
            except BufferError:
                self.producer.poll(0.05)
        tail.sent = end

    def renew(self, producer: Any) -> None:
        """A renewed certificate: librdkafka reads its files at creation only, so a new
        producer takes over between two steps (`swap`)."""
        self.next_producer = producer

    async def swap(self) -> None:
        """The old producer delivers everything it holds before the new one sends anything, so
        a container's lines keep their order; checkpoints follow its callbacks. While Kafka is
        away this waits (the files are the buffer), with the probes still answering."""
        new, self.next_producer = self.next_producer, None
        if new is None:
            return
        old = self.producer
        while (left := await asyncio.to_thread(old.flush, 5)) > 0:
            log.warning("%d messages of the old certificate's producer still undelivered", left)
        self.producer = new
        log.info("producer replaced after a certificate renewal")

    def save(self) -> None:
        for fid, tail in self.tails.items():
            pending = tail.joiner.pending_start
            offset = tail.acked if pending is None else min(tail.acked, pending)
            known = self.checkpoints.get(fid)
            if known is None or known.offset != offset or known.generation != tail.generation:
                self.checkpoints.set(fid, Position(str(tail.path), offset, tail.generation))
        self.checkpoints.save()

    def step(self) -> bool:
        """Read and ship what every file gained; False when there was nothing to do."""
        busy = False
        for tail in list(self.tails.values()):
            if len(self.producer) >= self.settings.max_queued_messages:
                self.producer.poll(0.01)
                return True
            tail.check_truncated()
            lines = tail.read()
            if lines:
                self.ship(tail, lines)
                busy = True
        self.producer.poll(0)
        return busy

    async def run(self, stop: asyncio.Event) -> None:
        last_scan = last_save = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now - last_scan >= self.settings.scan_seconds:
                self.scan()
                last_scan = now
            if self.next_producer is not None:
                await self.swap()
            busy = self.step()
            if self.failed:
                raise RuntimeError(self.failed)
            if now - last_save >= self.settings.checkpoint_seconds:
                self.save()
                last_save = now
            await asyncio.sleep(0 if busy else 0.01)
        self.producer.flush(10)
        self.save()


def producer_config(settings: CollectorSettings, kafka: dict[str, Any]) -> dict[str, Any]:
    return kafka | {
        "enable.idempotence": True, "acks": "all", "message.timeout.ms": 0,
        "compression.type": settings.compression, "linger.ms": settings.linger_ms,
        "batch.size": 1_000_000, "message.max.bytes": 1_000_000,
        "queue.buffering.max.kbytes": 262_144, "client.id": "lulea-logs-collector",
    }


async def main() -> None:
    settings, platform = CollectorSettings(), PlatformSettings()
    from lulea.core.logs import setup_json_logging

    setup_json_logging(settings.log_level)
    identity = await request_identity(platform)
    producer = Producer(producer_config(settings, platform.kafka(identity).confluent()))
    kube = Kube(await connect(settings.kubeconfig))
    pods, projects = Informer(kube, PODS), Informer(kube, PROJECTS)
    tasks = [asyncio.create_task(i.run()) for i in (pods, projects)]
    collector = Collector(settings, producer, pods, projects)

    def renewed(new: Identity) -> None:
        collector.renew(Producer(producer_config(settings, platform.kafka(new).confluent())))

    tasks.append(asyncio.create_task(renew_forever(platform, identity, renewed)))
    ready = lambda: (pods.synced.is_set() and projects.synced.is_set(), "collector")  # noqa: E731
    probes = asyncio.create_task(serve_probes(settings.host, settings.port, ready))
    await pods.synced.wait()
    await projects.synced.wait()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a graceful stop: flush, checkpoint, end
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    log.info("collector reading %s (checkpoints %s)", settings.root, settings.checkpoint_file)
    try:
        await collector.run(stop)
    finally:
        for t in [*tasks, probes]:
            t.cancel()
