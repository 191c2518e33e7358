"""The Topic reconcile's decisions against fakes of Kafka and the API server: whose topic an
existing Kafka topic is, drift in configs put back, Kafka's refusals as conditions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lulea.operators.topic import status as st
from lulea.operators.topic.kafka import KafkaRefused, TopicState
from lulea.operators.topic.reconcile import Reconciler


class FakeAdmin:
    def __init__(self) -> None:
        self.topics: dict[str, TopicState] = {}
        self.configs: dict[str, dict[str, str]] = {}
        self.refuse: KafkaRefused | None = None

    async def describe(self, names: list[str]) -> dict[str, TopicState | None]:
        return {n: self.topics.get(n) for n in names}

    async def create(self, name: str, partitions: int, rf: int, config: dict[str, str]) -> None:
        if self.refuse:
            raise self.refuse
        self.topics[name] = TopicState(name, f"id-{name}", partitions)
        self.configs[name] = dict(config)

    async def grow(self, name: str, partitions: int) -> None:
        self.topics[name] = TopicState(name, self.topics[name].topic_id, partitions)

    async def dynamic_configs(self, name: str) -> dict[str, str]:
        return dict(self.configs.get(name, {}))

    async def alter_configs(self, name: str, set_: dict[str, str], delete: list[str]) -> None:
        self.configs[name] = {k: v for k, v in {**self.configs[name], **set_}.items() if k not in delete}

    async def delete(self, name: str) -> bool:
        return self.topics.pop(name, None) is not None


class FakeKube:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {}

    async def request(self, method: str, path: str) -> dict[str, Any]:
        return {"status": self.status}

    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(body)
        return body


class FakeGrants:
    pokes = 0

    def note(self, body: dict[str, Any]) -> None:
        pass

    async def poke(self, wait: float = 30.0, topic: str | None = None) -> None:
        self.pokes += 1


def body(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "lulea.io/v1alpha1", "kind": "Topic",
            "metadata": {"name": "clicks", "namespace": "p1", "uid": "u1", "generation": 2},
            "spec": spec, "status": status or {}}


def reconciler() -> tuple[Reconciler, FakeAdmin, FakeKube]:
    admin, kube = FakeAdmin(), FakeKube()
    return Reconciler(kube, admin, None, FakeGrants(), None), admin, kube  # type: ignore[arg-type]


async def test_creates_records_the_intent_first_then_the_id() -> None:
    r, admin, kube = reconciler()
    verdict = await r.reconcile(body(partitions=3, config={"retention.ms": "1000"}))
    assert verdict.ok and admin.topics["p1.clicks"].partitions == 3
    assert kube.patches[0] == {"status": {"kafkaTopic": "p1.clicks", "topicId": None}}
    final = kube.patches[-1]["status"]
    assert final["topicId"] == "id-p1.clicks" and final["observedGeneration"] == 2


async def test_a_topic_that_is_not_ours_is_a_conflict_and_untouched() -> None:
    r, admin, _ = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "someone-else", 1)
    with pytest.raises(st.NotReady) as stop:
        await r.reconcile(body(partitions=4))
    assert stop.value.reason == "ResourceConflict" and admin.topics["p1.clicks"].partitions == 1


async def test_a_crash_between_create_and_status_adopts_its_own_topic() -> None:
    r, admin, _ = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "mine", 1)
    admin.configs["p1.clicks"] = {}
    assert (await r.reconcile(body({"kafkaTopic": "p1.clicks"}))).ok


async def test_drift_is_reverted_and_partitions_grow() -> None:
    r, admin, _ = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "mine", 1)
    admin.configs["p1.clicks"] = {"retention.ms": "5", "segment.ms": "99"}
    verdict = await r.reconcile(body({"topicId": "mine", "kafkaTopic": "p1.clicks"}, partitions=2,
                                     config={"retention.ms": "1000"}))
    assert verdict.ok and admin.configs["p1.clicks"] == {"retention.ms": "1000"}
    assert admin.topics["p1.clicks"].partitions == 2 and "2 partitions" in verdict.message


async def test_kafka_refusal_is_a_condition_in_plain_words() -> None:
    r, admin, kube = reconciler()
    admin.refuse = KafkaRefused("INVALID_REPLICATION_FACTOR",
                                "Replication factor: 3 larger than available brokers: 1.")
    with pytest.raises(st.NotReady) as stop:
        await r.reconcile(body(replicationFactor=3))
    assert stop.value.reason == "KafkaRefused" and stop.value.retry_after is None
    ready = kube.patches[-1]["status"]["conditions"][0]
    assert ready["status"] == "False" and "larger than the number of brokers" in ready["message"]


async def test_deleting_after_a_kill_between_create_and_status_deletes_the_topic() -> None:
    """The chaos bug: the operator recorded its intent, created the Kafka topic and was killed
    before writing the id; the Topic was deleted meanwhile. The deletion must still go."""
    r, admin, kube = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "mine", 1)
    kube.status = {"kafkaTopic": "p1.clicks", "topicId": None}
    assert await r.delete(body({"kafkaTopic": "p1.clicks", "topicId": None}))
    assert "p1.clicks" not in admin.topics


async def test_deletion_reads_the_status_afresh() -> None:
    """kopf's copy predates the status write that recorded the id."""
    r, admin, kube = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "mine", 1)
    kube.status = {"kafkaTopic": "p1.clicks", "topicId": "mine"}
    await r.delete(body({}))
    assert "p1.clicks" not in admin.topics


async def test_deletion_never_deletes_someone_elses_topic() -> None:
    r, admin, kube = reconciler()
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "someone-else", 1)
    kube.status = {"kafkaTopic": "p1.clicks", "topicId": "mine"}
    await r.delete(body(kube.status))
    assert "p1.clicks" in admin.topics
    kube.status = {}  # a conflict never recorded the name: nothing of Kafka's is touched
    await r.delete(body({}))
    assert "p1.clicks" in admin.topics


class SlowRegistry:
    """Records when it is asked, relative to the Kafka side."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def register(self, name: str, schema: str, compatibility: str) -> Any:
        from lulea.operators.topic.registry import Registered

        self.log.append("registry asked")
        await asyncio.sleep(0.05)
        self.log.append("registry answered")
        return Registered(7, 1)


class CreateLogs(FakeAdmin):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def create(self, name: str, partitions: int, rf: int, config: dict[str, str]) -> None:
        self.log.append("create")
        await asyncio.sleep(0.05)
        await super().create(name, partitions, rf, config)
        self.log.append("created")


SCHEMA = '{"type":"record","name":"R","fields":[]}'


async def test_schema_is_registered_while_the_topic_is_created() -> None:
    """Waits overlap: the registry is asked before the Kafka creation has finished."""
    log: list[str] = []
    kube = FakeKube()
    r = Reconciler(kube, CreateLogs(log), SlowRegistry(log), FakeGrants(), None)  # type: ignore[arg-type]
    verdict = await r.reconcile(body(avroSchema=SCHEMA))
    assert verdict.ok and "schema id 7, version 1" in verdict.message
    assert log.index("registry asked") < log.index("created")
    assert kube.patches[-1]["status"]["schemaId"] == 7


async def test_a_conflict_registers_no_schema() -> None:
    log: list[str] = []
    admin = CreateLogs(log)
    admin.topics["p1.clicks"] = TopicState("p1.clicks", "someone-else", 1)
    r = Reconciler(FakeKube(), admin, SlowRegistry(log), FakeGrants(), None)  # type: ignore[arg-type]
    with pytest.raises(st.NotReady) as stop:
        await r.reconcile(body(avroSchema=SCHEMA))
    assert stop.value.reason == "ResourceConflict" and log == []


class FailingAcls(FakeGrants):
    async def poke(self, wait: float = 30.0, topic: str | None = None) -> None:
        raise RuntimeError("no ACL pass finished")


async def test_acls_not_applied_is_a_condition_after_kafka_and_schema() -> None:
    kube = FakeKube()
    r = Reconciler(kube, FakeAdmin(), None, FailingAcls(), None)  # type: ignore[arg-type]
    with pytest.raises(st.NotReady) as stop:
        await r.reconcile(body())
    assert stop.value.reason == "AclsNotApplied"
    assert kube.patches[-1]["status"]["topicId"] == "id-p1.clicks"  # the topic was made anyway


class DeletedKube(FakeKube):
    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        from lulea.core.kube import KubeError

        raise KubeError(404, "not found")


async def test_a_topic_deleted_before_its_intent_is_written_is_gone() -> None:
    admin = FakeAdmin()
    r = Reconciler(DeletedKube(), admin, None, FakeGrants(), None)  # type: ignore[arg-type]
    with pytest.raises(st.NotReady) as stop:
        await r.reconcile(body())
    assert stop.value.reason == st.GONE and admin.topics == {}  # nothing created for it
