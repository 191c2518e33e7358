"""Topic CRs to Ready, next to raw `create_topics` of the same count (the ceiling), same run.

    LULEA_BENCH_STACK=/tmp/topic-stack uv run --no-sync python bench/topics/run.py \
        [--count 1000] [--rounds 3]

Needs a running stack with the Topic operator (`lulea-stack up`). Each round:
  1. ceiling: `create_topics` of `count` topics through one AdminClient on the platform
     listener (the Kafka administrator's certificate), in calls of 100 issued at once;
     the topics are deleted afterwards;
  2. a fresh project (alice) and a second one to share with; `count` Topic CRs created through
     the API server, each with an Avro schema and one share; time from the first create to
     every Topic Ready; per Topic, time from its create call to the first time it is seen
     Ready (a watch on the Topics); the operator's RSS (peak, sampled every 0.5 s); the rate
     at which the API server accepted the creates (an upper bound for any operator);
  3. the projects deleted (their Topics' finalizers run).
Prints per round and min/median/max of: ceiling topics/s, CRs Ready/s, ratio, p50/p99 to
Ready, operator RSS. Issue target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.exceptions import ApiException

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from e2e.projects import create_project, delete_project, wait_ready  # noqa: E402
from lulea.devstack.endpoints import Stack  # noqa: E402
from lulea.devstack.layout import PORT_OFFSETS  # noqa: E402

SCHEMA = json.dumps({"type": "record", "name": "Reading", "namespace": "io.lulea.bench",
                     "fields": [{"name": "sensor", "type": "string"}, {"name": "value", "type": "double"}]})


def ceiling(stack: Stack, count: int, tag: str) -> float:
    admin = AdminClient(stack.kafka_admin.confluent())
    names = [f"bench-raw-{tag}-{i}" for i in range(count)]
    start = time.monotonic()
    futures = []
    for i in range(0, count, 100):
        futures += admin.create_topics([NewTopic(n, num_partitions=1, replication_factor=1)
                                        for n in names[i:i + 100]], request_timeout=120).values()
    for f in futures:
        f.result(120)
    rate = count / (time.monotonic() - start)
    for i in range(0, count, 100):
        for f in admin.delete_topics(names[i:i + 100], request_timeout=120).values():
            f.result(120)
    return rate


def operator_process(stack: Stack) -> psutil.Process | None:
    port = stack.layout.port_base + PORT_OFFSETS["operator-topic"]
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


def is_ready(topic: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (topic.get("status") or {}).get("conditions") or [])


async def watch_ready(objects: k8s.CustomObjectsApi, namespace: str, count: int,
                      ready: dict[str, float]) -> None:
    """Each Topic's first Ready, as the API server's watch reports it (a listing of every
    Topic every half second cost the API server and this process more CPU than the operator
    at 1,000 Topics, on the machine being measured); relists when the watch expires."""
    version: str | None = None
    while len(ready) < count:
        w = watch.Watch()
        kwargs: dict[str, Any] = {"timeout_seconds": 120, "allow_watch_bookmarks": False}
        if version:
            kwargs["resource_version"] = version
        try:
            async for event in w.stream(objects.list_namespaced_custom_object, "lulea.io", "v1alpha1",
                                        namespace, "topics", **kwargs):
                topic = event["object"]
                if event["type"] == "ERROR":  # 410 Gone: start again from a fresh listing
                    version = None
                    break
                version = topic["metadata"]["resourceVersion"]
                name = topic["metadata"]["name"]
                if name not in ready and is_ready(topic):
                    ready[name] = time.monotonic()
                    if len(ready) >= count:
                        return
        except ApiException as err:
            if err.status != 410:
                raise
            version = None
        finally:
            w.stop()


async def crs(api: k8s.ApiClient, stack: Stack, count: int) -> dict[str, float]:
    owner, other = f"bt{uuid.uuid4().hex[:5]}", f"bs{uuid.uuid4().hex[:5]}"
    await create_project(api, owner, [("alice", "DataOwner")])
    await create_project(api, other, [("dave", "DataOwner")])
    await wait_ready(api, owner)
    await wait_ready(api, other)
    objects = k8s.CustomObjectsApi(api)
    created: dict[str, float] = {}
    ready: dict[str, float] = {}
    accepted: dict[str, float] = {}
    proc = operator_process(stack)
    rss = 0
    limit = asyncio.Semaphore(32)

    async def sample_rss() -> None:
        nonlocal rss
        while proc is not None:
            rss = max(rss, proc.memory_info().rss)
            await asyncio.sleep(0.5)

    async def create(i: int) -> None:
        name = f"t{i}"
        body = {"apiVersion": "lulea.io/v1alpha1", "kind": "Topic", "metadata": {"name": name},
                "spec": {"avroSchema": SCHEMA, "shares": [{"project": other, "access": "Read"}]}}
        async with limit:
            created[name] = time.monotonic()
            await objects.create_namespaced_custom_object("lulea.io", "v1alpha1", owner, "topics", body)
            accepted[name] = time.monotonic()

    try:
        start = time.monotonic()
        creating = asyncio.gather(*(create(i) for i in range(count)))
        sampling = asyncio.create_task(sample_rss())
        try:
            await asyncio.wait_for(watch_ready(objects, owner, count, ready), 1800)
        except TimeoutError:
            raise RuntimeError(f"only {len(ready)}/{count} Ready after 30 minutes") from None
        finally:
            sampling.cancel()
        await creating
        elapsed = max(ready.values()) - start
        latencies = sorted(ready[n] - created[n] for n in ready)
        return {"rate": count / elapsed, "p50": statistics.median(latencies),
                "p99": latencies[int(0.99 * (len(latencies) - 1))], "rss_mib": rss / 2**20,
                "creates": count / (max(accepted.values()) - start), "load_ready": os.getloadavg()[0]}
    finally:
        await delete_project(api, owner, timeout=1800)
        await delete_project(api, other, timeout=300)


async def main(stack: Stack) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = k8s.Configuration()
    config.host = stack.api_server
    config.ssl_ca_cert = str(stack.ca_file)
    config.api_key = {"BearerToken": f"Bearer {stack.tokens['admin']}"}
    api = k8s.ApiClient(config)
    rows: list[dict[str, float]] = []
    try:
        for r in range(args.rounds):
            before = os.getloadavg()[0]
            raw = await asyncio.to_thread(ceiling, stack, args.count, f"{r}{uuid.uuid4().hex[:4]}")
            result = await crs(api, stack, args.count)
            result |= {"ceiling": raw, "ratio": result["rate"] / raw, "load": os.getloadavg()[0],
                       "load_before": before}
            rows.append(result)
            print(f"round {r + 1}: ceiling {raw:.0f} topics/s | "
                  f"Topic CRs {result['rate']:.1f} Ready/s (ratio {result['ratio']:.3f}; the CRs themselves "
                  f"were accepted at {result['creates']:.0f}/s) | "
                  f"to Ready p50 {result['p50']:.2f}s p99 {result['p99']:.2f}s "
                  f"| operator RSS {result['rss_mib']:.0f} MiB "
                  f"| load average {result['load_before']:.1f} before, "
                  f"{result['load_ready']:.1f} at the last Ready, {result['load']:.1f} after the cleanup "
                  f"({os.cpu_count()} cores)", flush=True)
    finally:
        await api.close()
    print(f"\n{args.count} topics, {len(rows)} rounds (min / median / max):")
    for key, unit in [("ceiling", "topics/s (raw create_topics)"), ("rate", "Topic CRs Ready/s"),
                      ("ratio", "of the ceiling"),
                      ("creates", "Topic CRs accepted by the API server /s (same round)"),
                      ("p50", "s to Ready, p50"), ("p99", "s to Ready, p99"), ("rss_mib", "MiB operator RSS"),
                      ("load_before", "load average (1 min) before the round"),
                      ("load_ready", "load average (1 min) when the last Topic was Ready"),
                      ("load", "load average (1 min) after the round (cleanup included)")]:
        values = [row[key] for row in rows]
        print(f"  {min(values):10.3f} {statistics.median(values):10.3f} {max(values):10.3f}  {unit}")


if __name__ == "__main__":
    state = os.environ.get("LULEA_BENCH_STACK")
    if not state:
        sys.exit("set LULEA_BENCH_STACK to a running stack's state dir (lulea-stack up --state-dir ...)")
    asyncio.run(main(Stack.from_endpoints(Path(state).resolve())))
