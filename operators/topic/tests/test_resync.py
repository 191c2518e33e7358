"""The cluster-wide resync pass: which Topics it reconciles again, and that it describes all
topics and configs in one request each (not one reconcile per Topic per period)."""

from __future__ import annotations

from typing import Any

from lulea.operators.topic.kafka import TopicState
from lulea.operators.topic.resync import Resync, drifted


def topic(name: str, generation: int = 1, ready_at: int | None = 1, **spec: Any) -> dict[str, Any]:
    conditions = [] if ready_at is None else [
        {"type": "Ready", "status": "True", "observedGeneration": ready_at}]
    return {"metadata": {"name": name, "namespace": "p1", "uid": f"u-{name}", "generation": generation},
            "spec": spec, "status": {"topicId": f"id-{name}", "conditions": conditions}}


def test_what_counts_as_drift() -> None:
    state = TopicState("p1.a", "id-a", 2)
    same = {"retention.ms": "5"}
    assert drifted(topic("a", partitions=2, config=same), state, same) is None
    assert drifted(topic("a", partitions=2), state, {"retention.ms": "5"}) == "configs differ"
    assert drifted(topic("a", partitions=3), state, {}) == "fewer partitions than asked"
    assert drifted(topic("a"), None, None) == "the Kafka topic is gone"
    assert drifted(topic("a"), TopicState("p1.a", "other", 1), {}) == "the Kafka topic has another id"
    # not handled yet, or a temporary failure: kopf's, not the pass's
    assert drifted(topic("a", generation=2), state, {}) is None
    assert drifted(topic("a", ready_at=None), state, {}) is None
    refused = topic("a", ready_at=None)
    refused["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "KafkaRefused",
                                        "observedGeneration": 1}]
    assert drifted(refused, None, None) == "refused at its generation: looking again"
    refused["status"]["conditions"][0]["reason"] = "KafkaUnavailable"
    assert drifted(refused, None, None) is None


class FakeKube:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.gets = 0

    async def list(self, path: str) -> tuple[list[dict[str, Any]], str]:
        return self.items, "1"

    async def request(self, method: str, path: str) -> dict[str, Any]:
        self.gets += 1
        name = path.split("/")[-2]
        return next(t for t in self.items if t["metadata"]["name"] == name)


class FakeAdmin:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def describe(self, names: Any) -> dict[str, TopicState | None]:
        names = list(names)
        self.calls.append(("describe", len(names)))
        return {n: (TopicState(n, "id-" + n.split(".")[1], 1) if n != "p1.gone" else None) for n in names}

    async def dynamic_configs_many(self, names: Any) -> dict[str, dict[str, str] | None]:
        names = list(names)
        self.calls.append(("configs", len(names)))
        return {n: {} for n in names}


class FakeReconciler:
    def __init__(self) -> None:
        self.done: list[str] = []

    async def reconcile(self, body: dict[str, Any]) -> None:
        self.done.append(body["metadata"]["name"])


async def test_one_pass_describes_once_and_repairs_only_the_drifted() -> None:
    items = [topic(f"t{i}") for i in range(50)] + [topic("gone")]
    deleting = topic("leaving")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    kube, admin, rec = FakeKube([*items, deleting]), FakeAdmin(), FakeReconciler()
    resync = Resync(kube, admin, rec, 10)  # type: ignore[arg-type]
    assert await resync.once() == 1
    assert rec.done == ["gone"] and kube.gets == 1
    assert admin.calls == [("describe", 51), ("configs", 50)]


class DeletedMeanwhile:
    """A Topic deleted between the pass's fresh read and the reconcile's status write."""

    async def reconcile(self, body: dict[str, Any]) -> None:
        from lulea.core.kube import KubeError

        raise KubeError(404, '{"reason": "NotFound"}')


async def test_a_topic_deleted_during_the_pass_is_gone_not_an_error(caplog: Any) -> None:
    kube = FakeKube([topic("gone"), topic("t1")])
    resync = Resync(kube, FakeAdmin(), DeletedMeanwhile(), 10)  # type: ignore[arg-type]
    assert await resync.once() == 1  # no exception, no traceback, the pass completes
    assert resync.passes == 1 and not [r for r in caplog.records if r.exc_info]


class Failing:
    def __init__(self) -> None:
        self.done: list[str] = []

    async def reconcile(self, body: dict[str, Any]) -> None:
        if body["metadata"]["name"] == "gone":
            raise RuntimeError("the API server is away")
        self.done.append(body["metadata"]["name"])


async def test_one_topics_failure_does_not_stop_the_others() -> None:
    rec = Failing()  # two drifted Topics (one gone from Kafka, one of another id); one fails
    kube = FakeKube([topic("gone"), {**topic("t1"), "status": {"topicId": "x", "conditions": [
        {"type": "Ready", "status": "True", "observedGeneration": 1}]}}])
    resync = Resync(kube, FakeAdmin(), rec, 10)  # type: ignore[arg-type]
    assert await resync.once() == 2 and rec.done == ["t1"] and resync.passes == 1
