"""Describes of concurrent reconciles go to Kafka as one DescribeTopics request, and each
caller gets its own answer (absent topics None, refusals raised to the caller that asked)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from lulea.operators.topic.kafka import KafkaRefused, TopicAdmin


class FakeAdminClient:
    """confluent-kafka's describe_topics shape: one concurrent future per topic."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    def describe_topics(self, topics: Any, request_timeout: float) -> dict[str, Future[Any]]:
        names = list(topics.topic_names)
        self.requests.append(names)
        out: dict[str, Future[Any]] = {}
        for name in names:
            f: Future[Any] = Future()
            if name.endswith("missing"):
                f.set_exception(KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)))
            elif name.endswith("secret"):
                f.set_exception(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
            else:
                f.set_result(SimpleNamespace(topic_id=f"id-{name}", partitions=[0, 1]))
            out[name] = f
        return out


def admin(batch: int = 100) -> tuple[TopicAdmin, FakeAdminClient]:
    a = TopicAdmin.__new__(TopicAdmin)
    fake = FakeAdminClient()
    a.admin, a.batch, a.linger = fake, batch, 0.02
    a._pending, a._flush, a._describing, a._describe_flush = [], None, {}, None
    return a, fake


async def test_concurrent_describes_are_one_request() -> None:
    a, fake = admin()
    got = await asyncio.gather(a.describe(["p1.a"]), a.describe(["p1.b", "p1.missing"]), a.describe(["p1.a"]))
    assert fake.requests == [["p1.a", "p1.b", "p1.missing"]]
    assert got[0]["p1.a"] is not None and got[0]["p1.a"].topic_id == "id-p1.a"
    assert got[1]["p1.missing"] is None and got[1]["p1.b"].partitions == 2  # type: ignore[union-attr]
    assert got[2]["p1.a"] == got[0]["p1.a"]


async def test_a_refusal_goes_to_the_caller_that_asked_only() -> None:
    a, fake = admin()
    ok, refused = await asyncio.gather(a.describe(["p1.a"]), a.describe(["p1.secret"]),
                                       return_exceptions=True)
    assert isinstance(refused, KafkaRefused) and refused.code == "TOPIC_AUTHORIZATION_FAILED"
    assert isinstance(ok, dict) and ok["p1.a"] is not None and len(fake.requests) == 1


async def test_a_full_batch_goes_at_once_and_large_asks_directly() -> None:
    a, fake = admin(batch=3)
    await asyncio.gather(*(a.describe([f"p1.t{i}"]) for i in range(3)))
    await a.describe([f"p1.u{i}" for i in range(5)])  # the resync pass: one request of its own
    assert [len(r) for r in fake.requests] == [3, 5]


async def test_nothing_asked_nothing_sent() -> None:
    a, fake = admin()
    assert await a.describe([]) == {} and fake.requests == []


@pytest.mark.parametrize("names", [["p1.a", "p1.a"]])
async def test_the_same_name_twice_in_one_ask(names: list[str]) -> None:
    a, fake = admin()
    assert list(await a.describe(names)) == ["p1.a"] and fake.requests == [["p1.a"]]
