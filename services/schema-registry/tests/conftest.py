"""API tests run the real app on an in-memory store (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lulea.schema_registry.main import create_app
from lulea.schema_registry.settings import Settings
from lulea.schema_registry.store.memory import MemoryStore

TOKENS = {
    "alice-token": "p1__alice",
    "bob-token": "p2__bob",
    "sa-p1-token": "system:serviceaccount:p1:jobs",
    "platform-token": "system:serviceaccount:lulea-system:topic-operator",
    "admin-token": "root",
    "stranger-token": "carol",
}


class FakeReviewer:
    def __init__(self) -> None:
        self.calls = 0

    async def review(self, token: str) -> str | None:
        self.calls += 1
        return TOKENS.get(token)


def schema(*fields: tuple[str, Any], name: str = "R") -> dict[str, str]:
    out = []
    for fname, ftype, *default in fields:
        f: dict[str, Any] = {"name": fname, "type": ftype}
        if default:
            f["default"] = default[0]
        out.append(f)
    return {"schema": json.dumps({"type": "record", "name": name, "fields": out})}


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(Settings(every_caller_is_platform=True, max_schema_bytes=64 * 1024), store=MemoryStore())
    with TestClient(app) as c:
        yield c


@pytest.fixture
def reviewer() -> FakeReviewer:
    return FakeReviewer()


@pytest.fixture
def secured(reviewer: FakeReviewer) -> Iterator[TestClient]:
    settings = Settings(admin_principals="root", xfcc_proxies=["127.0.0.0/8"])
    app = create_app(settings, store=MemoryStore(), reviewer=reviewer)
    with TestClient(app, client=("127.0.0.1", 50000)) as c:  # calls from the trusted proxy
        yield c
