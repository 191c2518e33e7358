"""SDK Kafka throughput: records/s produced and consumed through lulea.sdk (dicts, Avro with the
registry's schema) next to raw confluent-kafka with the same configuration, measured in the
same run, on the same topic, against a running stack:

    uv run --no-sync python bench/sdk/run.py --stack /tmp/sdk-stack [--records 20000] [--runs 3]

Baselines, each with `project.kafka.config()` and the producer settings the SDK uses (idempotent,
acks=all, linger.ms=5):
  raw-bytes       confluent_kafka.Producer/Consumer moving pre-encoded Avro bytes (no encoding cost)
  raw-avro        the same, encoding/decoding each record by hand with fastavro and the Confluent
                  header: what code without the SDK would do to send the same dicts (poll() per
                  record when consuming)
  raw-avro-batch  consuming with consume(500) instead of poll(): librdkafka's batch API, which the
                  SDK's records() uses.
Rates are the records' own (first record to last); the clients' setup (the SDK's schema lookups,
joining the consumer group) is printed apart, in ms, and folded into an end-to-end rate.
It creates a project `bench-sdk-*` with alice and a Topic CR (the Topic operator makes topic, ACLs
and schema), and deletes the project at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Consumer, Producer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import lulea.sdk  # noqa: E402
from e2e.identities import member_files  # noqa: E402
from e2e.projects import create_project, delete_project, unique, wait_ready  # noqa: E402
from e2e.test_topics import create_topic_cr, wait_topic  # noqa: E402
from lulea.core.kube import connect  # noqa: E402
from lulea.devstack.endpoints import Stack  # noqa: E402

CLICK = {"type": "record", "name": "Click", "namespace": "bench", "fields": [
    {"name": "user", "type": "string"}, {"name": "url", "type": "string"}, {"name": "ms", "type": "long"}]}
PRODUCER = {"enable.idempotence": True, "acks": "all", "linger.ms": 5}


def records(n: int) -> list[dict[str, Any]]:
    return [{"user": f"user-{i % 997}", "url": f"/page/{i % 101}", "ms": 1_764_633_600_000 + i}
            for i in range(n)]


def confluent_bytes(parsed: Any, schema_id: int, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, parsed, record)
    return out.getvalue()


@dataclass
class Timing:
    """One client's run: setup (client made, schema fetched, group joined: until the first
    record moves) and the records' own rate (first record to the last one acknowledged/read)."""

    setup: float
    rate: float
    end_to_end: float


def sdk_produce(project: lulea.sdk.Project, data: list[dict[str, Any]]) -> Timing:
    t0 = time.perf_counter()
    producer = project.kafka.producer("clicks")
    t1 = time.perf_counter()
    with producer:
        for r in data:
            producer.send(r)
    t2 = time.perf_counter()
    return Timing(t1 - t0, len(data) / (t2 - t1), len(data) / (t2 - t0))


def raw_produce(conf: dict[str, Any], topic: str, encode: Callable[[dict[str, Any]], bytes] | None,
                data: list[dict[str, Any]], pre: list[bytes]) -> Timing:
    t0 = time.perf_counter()
    producer = Producer(conf | PRODUCER)
    t1 = time.perf_counter()
    values = pre if encode is None else None
    for i, r in enumerate(data):
        value = values[i] if values is not None else encode(r)  # type: ignore[misc]
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
    t2 = time.perf_counter()
    return Timing(t1 - t0, len(data) / (t2 - t1), len(data) / (t2 - t0))


def sdk_consume(project: lulea.sdk.Project, group: str, n: int) -> Timing:
    t0 = time.perf_counter()
    first, got = 0.0, 0
    with project.kafka.consumer("clicks", group=group) as consumer:
        for _ in consumer.records(max_records=n, timeout=120):
            if not got:
                first = time.perf_counter()
            got += 1
    t2 = time.perf_counter()
    assert got == n, f"consumed {got} of {n}"
    return Timing(first - t0, (n - 1) / (t2 - first), n / (t2 - t0))


def raw_consume(conf: dict[str, Any], topic: str, group: str, decode: Callable[[bytes], Any] | None,
                n: int, batch: int = 0) -> Timing:
    """poll() per record (batch 0), or consume(batch) as librdkafka's batch API offers."""
    t0 = time.perf_counter()
    consumer = Consumer(conf | {"group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got, first, deadline = 0, 0.0, time.monotonic() + 120
    try:
        while got < n and time.monotonic() < deadline:
            msgs = consumer.consume(min(batch, n - got), 0.5) if batch else [consumer.poll(0.5)]
            for msg in msgs:
                if msg is None or msg.error() is not None:
                    continue
                if not got:
                    first = time.perf_counter()
                if decode is not None:
                    decode(msg.value())  # type: ignore[arg-type]
                got += 1
    finally:
        consumer.close()
    t2 = time.perf_counter()
    assert got == n, f"consumed {got} of {n}"
    return Timing(first - t0, (n - 1) / (t2 - first), n / (t2 - t0))


def line(name: str, rates: list[float], baseline: list[float] | None = None, unit: str = "records/s") -> str:
    text = (f"    {name:<24} min {min(rates):>9.0f}  median {statistics.median(rates):>9.0f}  "
            f"max {max(rates):>9.0f} {unit}")
    if baseline:
        text += f"   ({statistics.median(rates) / statistics.median(baseline):.0%} of its median)"
    return text


async def setup(stack: Stack, directory: Path) -> tuple[str, dict[str, str]]:
    api = await connect(str(stack.kubeconfig))
    project = unique("bench-sdk")
    await create_project(api, project, [("alice", "DataOwner")])
    await wait_ready(api, project)
    alice = await member_files(api, project, "alice", directory)
    # the Topic as a DataOwner declares it: the Topic operator makes the topic, the ACLs (it
    # removes hand-made ones in Lulea's patterns) and the schema
    await create_topic_cr(api, project, "clicks", {"partitions": 1, "avroSchema": json.dumps(CLICK)})
    await wait_topic(api, project, "clicks")
    await api.close()
    return project, {"LULEA_PROJECT": project, "LULEA_USER": "alice",
                     "LULEA_CERT_DIR": str(alice.cert.parent),
                     "LULEA_KAFKA_BOOTSTRAP": stack.kafka_member_bootstrap,
                     "LULEA_SCHEMA_REGISTRY_URL": stack.schema_registry_url}


async def teardown(stack: Stack, project: str) -> None:
    api = await connect(str(stack.kubeconfig))
    await delete_project(api, project, wait=False)
    await api.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", type=Path, default=REPO / ".lulea")
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one SDK produce + consume")
    args = parser.parse_args()
    stack = Stack.from_endpoints(args.stack.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        name, env = asyncio.run(setup(stack, Path(tmp)))
        try:
            run(name, env, args.records, args.runs, args.profile)
        finally:
            asyncio.run(teardown(stack, name))


def run(name: str, env: dict[str, str], n: int, runs: int, profile: bool) -> None:
    project = lulea.sdk.login(environ=env)
    conf, topic = project.kafka.config(), project.kafka.topic("clicks")
    schema_id = project.kafka.registry.get_latest_version(project.kafka.subject("clicks")).schema_id
    parsed = fastavro.parse_schema(CLICK)
    data = records(n)
    pre = [confluent_bytes(parsed, schema_id, r) for r in data]

    def encode(r: dict[str, Any]) -> bytes:
        return confluent_bytes(parsed, schema_id, r)

    def decode(value: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(value[5:]), parsed, parsed)

    produce: dict[str, list[Timing]] = {k: [] for k in ("raw-bytes", "raw-avro", "sdk")}
    consume: dict[str, list[Timing]] = {k: [] for k in ("raw-bytes", "raw-avro", "raw-avro-batch", "sdk")}
    loads = [os.getloadavg()[0]]
    for i in range(runs):  # interleaved, so drift on the shared machine hits all alike
        produce["raw-bytes"].append(raw_produce(conf, topic, None, data, pre))
        produce["raw-avro"].append(raw_produce(conf, topic, encode, data, pre))
        produce["sdk"].append(sdk_produce(project, data))
        # each consumer group reads the topic from the start: the first n records
        consume["raw-bytes"].append(raw_consume(conf, topic, f"{name}.rb{i}", None, n))
        consume["raw-avro"].append(raw_consume(conf, topic, f"{name}.ra{i}", decode, n))
        consume["raw-avro-batch"].append(raw_consume(conf, topic, f"{name}.rc{i}", decode, n, batch=500))
        consume["sdk"].append(sdk_consume(project, f"s{i}", n))
        loads.append(os.getloadavg()[0])
        print(f"  run {i + 1}: produce sdk {produce['sdk'][-1].rate:.0f}/s raw-avro "
              f"{produce['raw-avro'][-1].rate:.0f}/s; consume sdk {consume['sdk'][-1].rate:.0f}/s raw-avro "
              f"{consume['raw-avro'][-1].rate:.0f}/s (load {loads[-1]:.1f})", flush=True)
    print(f"lulea.sdk vs raw confluent-kafka, {n} records of ~{len(pre[0])} bytes, {runs} interleaved "
          f"runs, one partition, member listener (mTLS); load average (1 min) during the runs "
          f"{min(loads):.1f}-{max(loads):.1f}")
    print("records/s: first record to the last acknowledged (produce) or read (consume); setup: making "
          "the client (the SDK: its schema lookups) and, for consumers, joining the group until the "
          "first record")
    for what, table, base in (("produce", produce, ("raw-avro", "raw-bytes")),
                              ("consume", consume, ("raw-avro", "raw-avro-batch", "raw-bytes"))):
        print(what)
        for k in table:
            if k != "sdk":
                print(line(f"{k} (baseline)", [t.rate for t in table[k]]))
        for b in base:
            print(line(f"sdk vs {b}", [t.rate for t in table["sdk"]], [t.rate for t in table[b]]))
        for k in table:
            print(line(f"{k} setup", [t.setup * 1000 for t in table[k]], unit="ms"))
        print(line("sdk end-to-end vs raw-avro", [t.end_to_end for t in table["sdk"]],
                   [t.end_to_end for t in table["raw-avro"]]))
    if profile:
        where = cProfile.Profile()
        where.enable()
        sdk_produce(project, data)
        sdk_consume(project, "prof", n)
        where.disable()
        pstats.Stats(where).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
