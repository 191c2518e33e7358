"""Smoke tests: each component of the local platform is the real thing."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from pymongo import AsyncMongoClient

from lulea.core.kafka import KafkaClient
from lulea.devstack import fleet, postgres
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import DEV, read_versions


async def test_api_server_reports_its_real_version(admin_api: k8s.ApiClient) -> None:
    info = await k8s.VersionApi(admin_api).get_code()
    assert info.git_version == f"v{read_versions()['K8S_VERSION']}"


async def test_rbac_denies_a_person_without_a_binding(
    user_api: Callable[[str], k8s.ApiClient], admin_api: k8s.ApiClient
) -> None:
    # The admin can list pods; carol, who has no binding at all, is refused with 403.
    await k8s.CoreV1Api(admin_api).list_namespaced_pod("default")
    with pytest.raises(ApiException) as refused:
        await k8s.CoreV1Api(user_api("carol")).list_namespaced_pod("default")
    assert refused.value.status == 403
    assert "carol" in refused.value.body


async def test_fleet_nodes_carry_gpu_capacity_and_labels(
    admin_api: k8s.ApiClient, stack: Stack
) -> None:
    groups = fleet.load(DEV / "fleet.yaml")
    nodes = (await k8s.CoreV1Api(admin_api).list_node(label_selector="type=kwok")).items
    assert len(nodes) == sum(g["count"] for g in groups)
    gpus = sum(int(n.status.allocatable["nvidia.com/gpu"]) for n in nodes)
    assert gpus == fleet.total_gpus(groups)
    ib = [n for n in nodes if n.metadata.labels.get("lulea.io/interconnect") == "infiniband"]
    assert ib and all("lulea.io/rack" in n.metadata.labels for n in ib)


def _pod(name: str, annotations: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        # any sim.lulea.io/* annotation: kwok plays the pod (the local runtime runs the others)
        "metadata": {"name": name, "annotations": annotations or {"sim.lulea.io/simulated": "true"}},
        "spec": {
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"limits": {"nvidia.com/gpu": "2"}}}],
            "nodeSelector": {"type": "kwok", "lulea.io/gpu-model": "t4"},
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists",
                             "effect": "NoSchedule"}],
        },
    }


async def _wait_phase(core: k8s.CoreV1Api, ns: str, name: str, phase: str) -> k8s.V1Pod:
    for _ in range(240):
        pod = await core.read_namespaced_pod(name, ns)
        if pod.status.phase == phase:
            return pod
        await asyncio.sleep(0.25)
    raise AssertionError(f"pod {name} stuck in {pod.status.phase}, wanted {phase}")


async def test_pod_is_scheduled_onto_a_gpu_node_and_runs(admin_api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(admin_api)
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    await core.create_namespaced_pod("default", _pod(name))
    try:
        pod = await _wait_phase(core, "default", name, "Running")
        node = await core.read_node(pod.spec.node_name)
        assert node.metadata.labels["lulea.io/gpu-model"] == "t4"
        assert pod.status.pod_ip
    finally:
        await core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed"])
async def test_pod_finishes_as_asked(admin_api: k8s.ApiClient, outcome: str) -> None:
    core = k8s.CoreV1Api(admin_api)
    name = f"finish-{outcome.lower()}-{uuid.uuid4().hex[:6]}"
    annotations = {"sim.lulea.io/outcome": outcome, "sim.lulea.io/duration": "500ms"}
    await core.create_namespaced_pod("default", _pod(name, annotations))
    try:
        pod = await _wait_phase(core, "default", name, outcome)
        exit_code = pod.status.container_statuses[0].state.terminated.exit_code
        assert (exit_code == 0) == (outcome == "Succeeded")
    finally:
        await core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


async def test_kafka_round_trip(kafka: KafkaClient) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**kafka.aiokafka())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**kafka.aiokafka(), enable_idempotence=True)
    await producer.start()
    try:
        sent = [f"message-{i}".encode() for i in range(20)]
        for i, value in enumerate(sent):
            await producer.send_and_wait(topic, value, key=str(i % 4).encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, **kafka.aiokafka(),
                                auto_offset_reset="earliest", group_id=f"g-{topic}")
    await consumer.start()
    received: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                batch = await consumer.getmany(timeout_ms=500)
                received += [m.value for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(sent)


async def test_mongo_insert_and_find(mongo_uri: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri)
    db = client[f"smoke_{uuid.uuid4().hex[:8]}"]
    try:
        await db.items.insert_many([{"_id": i, "project": f"p{i % 2}"} for i in range(10)])
        found = await db.items.find({"project": "p1"}).sort("_id").to_list()
        assert [d["_id"] for d in found] == [1, 3, 5, 7, 9]
        info = await client.server_info()
        assert "ferretdb" in str(info).lower()
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_ferretdb_keeps_its_data_in_the_stacks_postgresql(stack: Stack, mongo_uri: str) -> None:
    """Where PostgreSQL is installed, `make up` runs FerretDB on it (SQLite only as the fallback):
    a database written through the MongoDB wire protocol is a schema of the stack's cluster."""
    layout = stack.layout
    why = postgres.unavailable(layout)
    if why is not None:
        pytest.skip(f"FerretDB runs on SQLite here: {why}")
    name = f"smoke_pg_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri)
    try:
        await client[name].items.insert_one({"_id": 1})
        bins = postgres.bin_dir()
        assert bins is not None
        found = subprocess.run(
            [str(bins / "psql"), "-h", "127.0.0.1", "-p", str(layout.port("postgres")), "-U",
             postgres.SUPERUSER, "-d", postgres.DATABASE, "-tAc",
             f"SELECT count(*) FROM pg_namespace WHERE nspname = '{name}'"],
            capture_output=True, text=True, check=True).stdout.strip()
        assert found == "1"
    finally:
        await client.drop_database(name)
        await client.close()
