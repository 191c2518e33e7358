"""SDK Kafka throughput: records/s produced and consumed through lulea.sdk (dicts, Avro with the
registry's schema) next to raw confluent-kafka with the same configuration, measured in the
same run, on the same topic, against a running stack:

    uv run --no-sync python bench/sdk/run.py --stack /tmp/sdk-stack [--records 20000] [--runs 3]

Baselines, each with `project.kafka.config()` and the producer settings the SDK uses (idempotent,
acks=all, linger.ms=5):
  raw-bytes   confluent_kafka.Producer/Consumer moving pre-encoded Avro bytes (no encoding cost)
  raw-avro    the same, encoding/decoding each record by hand with fastavro and the Confluent
              header: what code without the SDK would do to send the same dicts.
It creates a project `bench-sdk-*` with alice, her topic, ACLs and schema (as the Topic operator
will), and deletes the project at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import lulea.sdk  # noqa: E402
from e2e.identities import create_topic, grant, member_files  # noqa: E402
from e2e.projects import create_project, delete_project, unique, wait_ready  # noqa: E402
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


def timed(action: Callable[[], int]) -> float:
    start = time.perf_counter()
    n = action()
    return n / (time.perf_counter() - start)


def sdk_produce(project: lulea.sdk.Project, data: list[dict[str, Any]]) -> int:
    with project.kafka.producer("clicks") as producer:
        for r in data:
            producer.send(r)
    return len(data)


def raw_produce(conf: dict[str, Any], topic: str, encode: Callable[[dict[str, Any]], bytes] | None,
                data: list[dict[str, Any]], pre: list[bytes]) -> int:
    producer = Producer(conf | PRODUCER)
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
    return len(data)


def sdk_consume(project: lulea.sdk.Project, group: str, n: int) -> int:
    with project.kafka.consumer("clicks", group=group) as consumer:
        got = sum(1 for _ in consumer.records(max_records=n, timeout=120))
    assert got == n, f"consumed {got} of {n}"
    return n


def raw_consume(conf: dict[str, Any], topic: str, group: str, decode: Callable[[bytes], Any] | None,
                n: int) -> int:
    consumer = Consumer(conf | {"group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got, deadline = 0, time.monotonic() + 120
    try:
        while got < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            if decode is not None:
                decode(msg.value())  # type: ignore[arg-type]
            got += 1
    finally:
        consumer.close()
    assert got == n, f"consumed {got} of {n}"
    return n


def line(name: str, rates: list[float], baseline: list[float] | None = None) -> str:
    text = (f"  {name:<22} min {min(rates):>9.0f}  median {statistics.median(rates):>9.0f}  "
            f"max {max(rates):>9.0f} records/s")
    if baseline:
        text += f"   ({statistics.median(rates) / statistics.median(baseline):.0%} of the baseline's median)"
    return text


async def setup(stack: Stack, directory: Path) -> tuple[str, dict[str, str]]:
    api = await connect(str(stack.kubeconfig))
    project = unique("bench-sdk")
    await create_project(api, project, [("alice", "DataOwner")])
    await wait_ready(api, project)
    alice = await member_files(api, project, "alice", directory)
    await api.close()
    create_topic(stack.kafka_admin, f"{project}.clicks", partitions=1)
    grant(stack.kafka_admin, f"User:{project}__alice", topic=f"{project}.clicks")
    grant(stack.kafka_admin, f"User:{project}__alice", group=f"{project}.")
    SchemaRegistryClient(alice.registry(stack)).register_schema(f"{project}.clicks-value",
                                                                Schema(json.dumps(CLICK), "AVRO"))
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
    args = parser.parse_args()
    stack = Stack.from_endpoints(args.stack.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        name, env = asyncio.run(setup(stack, Path(tmp)))
        try:
            run(name, env, args.records, args.runs)
        finally:
            asyncio.run(teardown(stack, name))


def run(name: str, env: dict[str, str], n: int, runs: int) -> None:
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

    produce: dict[str, list[float]] = {"sdk": [], "raw-bytes": [], "raw-avro": []}
    consume: dict[str, list[float]] = {"sdk": [], "raw-bytes": [], "raw-avro": []}
    for i in range(runs):  # interleaved, so drift on the shared machine hits all alike
        produce["raw-bytes"].append(timed(lambda: raw_produce(conf, topic, None, data, pre)))
        produce["raw-avro"].append(timed(lambda: raw_produce(conf, topic, encode, data, pre)))
        produce["sdk"].append(timed(lambda: sdk_produce(project, data)))
        # each consumer group reads the topic from the start: the first n records
        consume["raw-bytes"].append(timed(lambda i=i: raw_consume(conf, topic, f"{name}.rb{i}", None, n)))
        consume["raw-avro"].append(timed(lambda i=i: raw_consume(conf, topic, f"{name}.ra{i}", decode, n)))
        consume["sdk"].append(timed(lambda i=i: sdk_consume(project, f"s{i}", n)))
    print(f"lulea.sdk vs raw confluent-kafka, {n} records of ~{len(pre[0])} bytes, {runs} runs, "
          f"one partition, member listener (mTLS)")
    for what, table in (("produce", produce), ("consume", consume)):
        print(what)
        print(line("raw-bytes (baseline)", table["raw-bytes"]))
        print(line("raw-avro (baseline)", table["raw-avro"]))
        print(line("sdk vs raw-avro", table["sdk"], table["raw-avro"]))
        print(line("sdk vs raw-bytes", table["sdk"], table["raw-bytes"]))


if __name__ == "__main__":
    main()
