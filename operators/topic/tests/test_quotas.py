"""Per-member Kafka client quotas as a function of the Projects, the diff against what the
broker has (only Lulea's `<project>__<user>` entities), and kafka-configs' output parsed."""

from __future__ import annotations

import asyncio
from typing import Any

from lulea.operators.topic.quotas import QuotaSync, changes, desired_quotas, parse_described


def project(name: str, users: list[str], deleting: bool = False, **quotas: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"members": [{"user": u, "role": "DataOwner"} for u in users],
                                        "quotas": quotas}}


def test_every_member_gets_the_project_s_rates() -> None:
    projects = [project("p1", ["alice", "bob"], kafkaProduceBytesPerSecond=2048,
                        kafkaConsumeBytesPerSecond=4096),
                project("p2", ["dave"], kafkaConsumeBytesPerSecond=8192),
                project("p3", ["carol"]),  # no Kafka quota: nothing
                project("p4", ["erin"], deleting=True, kafkaProduceBytesPerSecond=2048)]
    assert desired_quotas(projects) == {
        "p1__alice": {"producer_byte_rate": 2048.0, "consumer_byte_rate": 4096.0},
        "p1__bob": {"producer_byte_rate": 2048.0, "consumer_byte_rate": 4096.0},
        "p2__dave": {"consumer_byte_rate": 8192.0}}


def test_changes_touch_only_lulea_entities_that_differ() -> None:
    desired = {"p1__alice": {"producer_byte_rate": 2048.0}, "p1__bob": {"producer_byte_rate": 1024.0}}
    current = {"p1__alice": {"producer_byte_rate": 2048.0},        # right already
               "p1__bob": {"producer_byte_rate": 9.0, "consumer_byte_rate": 5.0},
               "p1__gone": {"consumer_byte_rate": 5.0},            # removed member
               "lulea-operator-topic": {"producer_byte_rate": 1.0},  # not ours: left alone
               "p1__carol": {"request_percentage": 50.0}}          # a key Lulea does not manage
    assert changes(desired, current) == {
        "p1__bob": ({"producer_byte_rate": 1024.0}, ["consumer_byte_rate"]),
        "p1__gone": ({}, ["consumer_byte_rate"])}


def test_kafka_configs_describe_output() -> None:
    out = ("Quota configs for user-principal 'p1__alice' are consumer_byte_rate=4096.0, "
           "producer_byte_rate=2048.0\n"
           "Quota configs for user-principal 'lulea-x' are request_percentage=10.0\n"
           "some warning line\n")
    assert parse_described(out) == {"p1__alice": {"consumer_byte_rate": 4096.0, "producer_byte_rate": 2048.0},
                                    "lulea-x": {}}


class FakeTool:
    def __init__(self, broker: dict[str, dict[str, float]]) -> None:
        self.broker, self.describes, self.alters = broker, 0, 0

    async def describe(self) -> dict[str, dict[str, float]]:
        self.describes += 1
        return {k: dict(v) for k, v in self.broker.items()}

    async def alter(self, user: str, to_set: dict[str, float], to_delete: list[str]) -> None:
        self.alters += 1
        entry = {k: v for k, v in self.broker.get(user, {}).items() if k not in to_delete} | to_set
        self.broker[user] = entry


class StaticProjects:
    """The informer's view, already synced."""

    def __init__(self, projects: list[dict[str, Any]]) -> None:
        self.projects = projects
        self.synced = asyncio.Event()
        self.synced.set()

    def items(self) -> list[dict[str, Any]]:
        return list(self.projects)

    def subscribe(self, listener: Any) -> None:
        pass


async def test_a_pass_with_nothing_to_change_runs_no_tool() -> None:
    kube = StaticProjects([project("p1", ["alice", "bob"], kafkaProduceBytesPerSecond=2048)])
    tool = FakeTool({})
    sync = QuotaSync(kube, tool, 10)  # type: ignore[arg-type]
    assert await sync.sync_once() == 2 and tool.describes == 1 and tool.alters == 2
    assert await sync.sync_once() == 0 and tool.describes == 1 and tool.alters == 2
    kube.projects = [project("p1", ["alice"], kafkaProduceBytesPerSecond=2048)]  # bob removed
    assert await sync.sync_once() == 1
    assert tool.broker["p1__bob"] == {} and tool.broker["p1__alice"] == {"producer_byte_rate": 2048.0}
