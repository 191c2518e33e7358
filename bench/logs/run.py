"""The log path's throughput and latency, next to its stages measured alone in the same run.

    uv run --no-sync python bench/logs/run.py --stack /tmp/logs-stack [--mib 32] [--rounds 3]

Against a running stack (`lulea-stack up`, its collector, indexer and VictoriaLogs), each round:
  1. collector read rate alone: the collector's own code (tail, parse, join, enrich, encode)
     over a CRI file of --mib MiB, into a producer that only acknowledges;
  2. raw produce rate: the same encoded messages (512 KiB batches of JSON lines) produced to a
     bench topic with confluent-kafka (the collector's client) and with aiokafka; and one
     message per line with both (what a per-line design would need);
  3. VictoriaLogs' own ingestion rate: the same JSON lines POSTed to /insert/jsonline directly;
  4. end to end: the CRI file written (as fast as the disk takes it) into the collector's root
     for a pod of a bench project, until VictoriaLogs counts every line: MiB/s, lines/s; and
     the written->searchable latency of marker lines written every 50 ms during that run.
Prints min/median/max over the rounds, and end-to-end / slowest raw stage.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench._common import loadavg  # noqa: E402
from lulea.core.kafka import KafkaClient  # noqa: E402
from lulea.devstack.endpoints import Stack  # noqa: E402
from lulea.logs.collector import Collector, producer_config  # noqa: E402
from lulea.logs.indexer import INSERT_PARAMS  # noqa: E402
from lulea.logs.settings import CollectorSettings  # noqa: E402
from lulea.logs.tenancy import tenant_of  # noqa: E402

WORDS = ("epoch", "loss", "step", "lr", "grad", "batch", "accuracy", "warmup", "cuda", "node",
         "rank", "allreduce", "checkpoint", "shard", "token", "eval", "throughput")


def cri_time(ns: int | None = None) -> str:
    t = time.time_ns() if ns is None else ns
    return dt.datetime.fromtimestamp(t // 10**9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{t % 10**9:09d}Z"


def cri_file(token: str, mib: int) -> tuple[bytes, int]:
    """About `mib` MiB of CRI lines (~200 bytes of text each, one in 20 split in P pieces)."""
    rng = random.Random(7)
    out: list[bytes] = []
    size = lines = 0
    base = time.time_ns()
    while size < mib * 1_048_576:
        words = " ".join(rng.choice(WORDS) + f"={rng.random():.5f}" for _ in range(11))
        text = f"{token} seq={lines} {words}"
        ts = cri_time(base + lines * 1000)
        if lines % 20 == 0:
            half = len(text) // 2
            chunk = f"{ts} stdout P {text[:half]}\n{ts} stdout F {text[half:]}\n".encode()
        else:
            chunk = f"{ts} stdout F {text}\n".encode()
        out.append(chunk)
        size += len(chunk)
        lines += 1
    return b"".join(out), lines


class AckingProducer:
    """A producer that acknowledges at once: the collector's own cost, no Kafka."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.bytes = 0

    def produce(self, _topic: str, value: bytes, _key: bytes, headers: Any = None,
                on_delivery: Any = None) -> None:
        self.bytes += len(value)
        if len(self.messages) < 400:
            self.messages.append(value)
        on_delivery(None, None)

    def poll(self, _t: float = 0) -> int:
        return 0

    def flush(self, _t: float = 0) -> int:
        return 0

    def __len__(self) -> int:
        return 0


class Everything:
    def get(self, _key: str) -> dict[str, Any]:
        return {"metadata": {"uid": "0b5e2d6a-beef", "labels": {"lulea.io/job": "bench"}},
                "spec": {"nodeName": "n"}}


def collector_alone(data: bytes, lines: int, workdir: Path) -> tuple[float, list[bytes], int]:
    root = workdir / "root"
    d = root / "bench_pod_0b5e2d6a-beef" / "main"
    d.mkdir(parents=True, exist_ok=True)
    (d / "0.log").write_bytes(data)
    settings = CollectorSettings(root=root, checkpoint_file=workdir / "cp.json")
    producer = AckingProducer()
    c = Collector(settings, producer, Everything(), Everything())
    start = time.perf_counter()
    c.scan()
    if not c.tails:
        raise RuntimeError("the collector found no file to read")
    while c.lines < lines:
        c.step()
    elapsed = time.perf_counter() - start
    c.save()
    for t in c.tails.values():
        t.close()
    return elapsed, producer.messages, producer.bytes


def produce_confluent(kafka: KafkaClient, topic: str, messages: list[bytes], total: int) -> float:
    from confluent_kafka import Producer

    p = Producer(producer_config(CollectorSettings(), kafka.confluent()))
    start = time.perf_counter()
    sent = 0
    i = 0
    while sent < total:
        m = messages[i % len(messages)]
        while True:
            try:
                p.produce(topic, m, b"k%d" % (i % 4))
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
        sent += len(m)
        i += 1
    p.flush(60)
    return time.perf_counter() - start


async def produce_aiokafka(kafka: KafkaClient, topic: str, messages: list[bytes], total: int) -> float:
    from aiokafka import AIOKafkaProducer
    from aiokafka.codec import has_lz4

    # lz4 as the collector; without aiokafka's optional lz4 codec installed, uncompressed (said)
    p = AIOKafkaProducer(**kafka.aiokafka(), acks="all", enable_idempotence=True,
                         compression_type="lz4" if has_lz4() else None,
                         linger_ms=5, max_batch_size=1_000_000, max_request_size=1_048_576)
    await p.start()
    try:
        start = time.perf_counter()
        sent = 0
        i = 0
        pending = []
        while sent < total:
            m = messages[i % len(messages)]
            pending.append(await p.send(topic, m, key=b"k%d" % (i % 4)))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
            sent += len(m)
            i += 1
        await asyncio.gather(*pending)
        return time.perf_counter() - start
    finally:
        await p.stop()


def ingest_direct(vl: str, tenant_name: str, messages: list[bytes], total: int) -> float:
    headers = {**tenant_of(tenant_name).headers(), "Content-Type": "application/stream+json"}
    with httpx.Client(base_url=vl, timeout=60) as http:
        start = time.perf_counter()
        sent = 0
        i = 0
        while sent < total:
            body = b"".join(messages[(i + k) % len(messages)] for k in range(2))
            answer = http.post("/insert/jsonline", params=INSERT_PARAMS, content=body, headers=headers)
            answer.raise_for_status()
            sent += len(body)
            i += 2
        return time.perf_counter() - start


async def count(vl: httpx.AsyncClient, project: str, token: str) -> int:
    answer = await vl.get("/select/logsql/query", params={"query": f"{token} | count() as n"},
                          headers=tenant_of(project).headers())
    rows = [orjson.loads(x) for x in answer.content.splitlines() if x.strip()]
    return int(rows[0]["n"]) if rows else 0


async def end_to_end(stack: Stack, project: str, pod: dict[str, str], data: bytes, lines: int,
                     token: str) -> tuple[float, list[float]]:
    d = stack.state_dir / "pod-logs" / f"{project}_{pod['name']}_{pod['uid']}" / f"c{token[-6:]}"
    d.mkdir(parents=True, exist_ok=True)
    marks = d.parent / f"m{token[-6:]}"
    marks.mkdir()
    vl_url = f"http://127.0.0.1:{stack.layout.port('victorialogs')}"
    written: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = asyncio.Event()

    async def marker() -> None:
        k = 0
        with open(marks / "0.log", "ab", buffering=0) as f:
            while not done.is_set():
                written[k] = time.monotonic()
                f.write(f"{cri_time()} stdout F mark{token} k={k}\n".encode())
                k += 1
                await asyncio.sleep(0.05)

    async def poll_marks(vl: httpx.AsyncClient) -> None:
        while not done.is_set() or len(seen) < len(written):
            answer = await vl.get("/select/logsql/query", params={"query": f"mark{token}"},
                                  headers=tenant_of(project).headers())
            for line in answer.content.splitlines():
                if line.strip():
                    k = int(orjson.loads(line)["_msg"].rsplit("k=", 1)[1])
                    seen.setdefault(k, time.monotonic())
            if done.is_set() and time.monotonic() - finished[0] > 15:
                break
            await asyncio.sleep(0.05)

    finished = [0.0]
    async with httpx.AsyncClient(base_url=vl_url, timeout=60) as vl:
        tasks = [asyncio.create_task(marker()), asyncio.create_task(poll_marks(vl))]
        await asyncio.sleep(0.5)
        start = time.monotonic()
        with open(d / "0.log", "ab") as f:
            for i in range(0, len(data), 1 << 20):
                f.write(data[i:i + (1 << 20)])
                f.flush()
                await asyncio.sleep(0)
        while await count(vl, project, token) < lines:
            if time.monotonic() - start > 600:
                raise RuntimeError("end to end did not complete in 10 minutes")
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - start
        done.set()
        finished[0] = time.monotonic()
        await asyncio.gather(*tasks)
    latencies = sorted(seen[k] - written[k] for k in seen)
    return elapsed, latencies


async def bench_project(stack: Stack) -> tuple[str, dict[str, str]]:
    from kubernetes_asyncio import client as k8s

    cfg = k8s.Configuration(host=stack.api_server)
    cfg.ssl_ca_cert = str(stack.ca_file)
    cfg.api_key = {"BearerToken": stack.tokens["admin"]}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    api = k8s.ApiClient(cfg)
    name = f"bench-logs-{uuid.uuid4().hex[:5]}"
    await k8s.CustomObjectsApi(api).create_cluster_custom_object("lulea.io", "v1alpha1", "projects", {
        "apiVersion": "lulea.io/v1alpha1", "kind": "Project", "metadata": {"name": name},
        "spec": {"members": [{"user": "alice", "role": "DataOwner"}]}})
    core = k8s.CoreV1Api(api)
    deadline = time.monotonic() + 60
    while True:
        try:
            await core.read_namespace(name)
            break
        except k8s.ApiException:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)
    pod = None
    while pod is None:
        try:
            pod = await core.create_namespaced_pod(name, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "writer", "labels": {"lulea.io/job": "bench"}},
                "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{"name": "main", "image": "x", "securityContext": {
                             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}})
        except k8s.ApiException:  # the namespace's service account is not there yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)
    await api.close()
    await asyncio.sleep(1.0)  # the collector's informers see the project and the pod
    return name, {"name": "writer", "uid": pod.metadata.uid}


def summary(label: str, values: list[float], unit: str) -> str:
    return (f"{label:<46} min {min(values):8.2f}  median {statistics.median(values):8.2f}  "
            f"max {max(values):8.2f} {unit}")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", default=os.environ.get("LULEA_BENCH_STACK", str(REPO / ".lulea")))
    ap.add_argument("--mib", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    stack = Stack.from_endpoints(Path(args.stack).absolute())  # noqa: ASYNC240
    kafka = stack.kafka_admin
    topic = f"bench.logs.{uuid.uuid4().hex[:6]}"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(kafka.confluent())
    for f in admin.create_topics([NewTopic(topic, num_partitions=6)]).values():
        f.result()
    project, pod = await bench_project(stack)
    vl_url = f"http://127.0.0.1:{stack.layout.port('victorialogs')}"
    results: dict[str, list[float]] = {}
    mib = args.mib
    from aiokafka.codec import has_lz4

    if not has_lz4():
        print("aiokafka: its optional lz4 codec is not installed; its figures are uncompressed")
    print(f"bench/logs: {mib} MiB per round, {args.rounds} rounds, project {project}; "
          f"{os.cpu_count()} cores shared, load average {loadavg()}")

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    for r in range(args.rounds):
        token = f"b{uuid.uuid4().hex[:10]}"
        data, lines = cri_file(token, mib)
        size = len(data) / 1_048_576
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, messages, encoded = collector_alone(data, lines, Path(tmp))
        record("collector read alone MiB/s (CRI bytes)", size / elapsed)
        record("collector read alone lines/s", lines / elapsed)
        enc_mib = encoded / 1_048_576
        t = produce_confluent(kafka, topic, messages, encoded)
        record("raw produce confluent-kafka MiB/s (JSON)", enc_mib / t)
        t = await produce_aiokafka(kafka, topic, messages, encoded)
        record("raw produce aiokafka MiB/s (JSON)", enc_mib / t)
        per_line = [x for m in messages[:20] for x in m.splitlines()]
        n = min(lines, 100_000)
        t = produce_confluent(kafka, topic, per_line, sum(len(x) for x in per_line) * n // len(per_line))
        record("raw produce confluent-kafka lines/s (1 msg/line)", n / t)
        budget = sum(len(x) for x in per_line) * (n // 5) // len(per_line)
        t = await produce_aiokafka(kafka, topic, per_line, budget)
        record("raw produce aiokafka lines/s (1 msg/line)", (n // 5) / t)
        t = ingest_direct(vl_url, f"bench-direct-{r}", messages, encoded)
        record("VictoriaLogs ingestion direct MiB/s (JSON)", enc_mib / t)
        elapsed, latencies = await end_to_end(stack, project, pod, data, lines, token)
        record("end to end files->searchable MiB/s (CRI bytes)", size / elapsed)
        record("end to end files->searchable lines/s", lines / elapsed)
        record("end to end JSON MiB/s (as produced)", enc_mib / elapsed)
        if latencies:
            record("written->searchable p50 s (under load)", latencies[len(latencies) // 2])
            record("written->searchable p99 s (under load)", latencies[min(len(latencies) - 1,
                                                                          int(len(latencies) * 0.99))])
        print(f"round {r + 1}: " + json.dumps({k: round(v[-1], 3) for k, v in results.items()}))
    print(f"\nload average after: {loadavg()}")
    for name, values in results.items():
        print(summary(name, values, ""))
    e2e = statistics.median(results["end to end JSON MiB/s (as produced)"])
    slowest = min(statistics.median(results["raw produce confluent-kafka MiB/s (JSON)"]),
                  statistics.median(results["VictoriaLogs ingestion direct MiB/s (JSON)"]),
                  statistics.median(results["collector read alone MiB/s (CRI bytes)"]) * enc_mib / size)
    print(f"\nend to end / slowest raw stage (JSON MiB/s, medians): {e2e:.2f} / {slowest:.2f} "
          f"= {e2e / slowest:.0%}")
    print(f"(CRI bytes are {size:.1f} MiB per round, {enc_mib:.1f} MiB as JSON lines with the enrichment)")


if __name__ == "__main__":
    asyncio.run(main())
