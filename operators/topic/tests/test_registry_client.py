"""The operator's registry calls: compatibility, then registration; the version is taken from
the registration's answer when the registry gives it (Lulea's does), else looked up."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lulea.operators.topic.registry import SchemaIncompatible, SchemaRegistry

SCHEMA = '{"type":"record","name":"R","fields":[]}'


def client(answer_version: bool, calls: list[tuple[str, str]], status: int = 200) -> SchemaRegistry:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path))
        if request.url.path.startswith("/config/"):
            return httpx.Response(200, json=json.loads(request.content))
        if request.url.path.startswith("/compatibility/"):
            return httpx.Response(200, json={"is_compatible": False, "messages": ["field a: why"]})
        if request.url.path.endswith("/versions") and request.method == "POST":
            if status != 200:
                return httpx.Response(status, json={"error_code": status, "message": "no"})
            body: dict[str, Any] = {"id": 5, "version": 2} if answer_version else {"id": 5}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"subject": "p1.t-value", "id": 5, "version": 2,
                                         "schema": SCHEMA})

    registry = SchemaRegistry("https://registry.test", lambda: "token", None)
    registry.http = httpx.AsyncClient(base_url="https://registry.test",
                                      transport=httpx.MockTransport(handle))
    return registry


async def test_two_calls_when_the_answer_carries_the_version() -> None:
    calls: list[tuple[str, str]] = []
    registered = await client(True, calls).register("p1.t", SCHEMA, "BACKWARD")
    assert (registered.schema_id, registered.version) == (5, 2)
    assert calls == [("PUT", "/config/p1.t-value"), ("POST", "/subjects/p1.t-value/versions")]


async def test_a_registry_answering_the_id_only_is_asked_for_the_version() -> None:
    calls: list[tuple[str, str]] = []
    registered = await client(False, calls).register("p1.t", SCHEMA, "BACKWARD")
    assert (registered.schema_id, registered.version) == (5, 2)
    assert calls[-1] == ("POST", "/subjects/p1.t-value") and len(calls) == 3


async def test_an_answer_is_remembered_and_incompatibility_explained() -> None:
    calls: list[tuple[str, str]] = []
    registry = client(True, calls)
    await registry.register("p1.t", SCHEMA, "BACKWARD")
    await registry.register("p1.t", SCHEMA, "BACKWARD")
    assert len(calls) == 2
    with pytest.raises(SchemaIncompatible, match="field a: why"):
        await client(True, [], status=409).register("p1.t", SCHEMA, "BACKWARD")
