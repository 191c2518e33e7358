"""Answers for GET /schemas/ids/{id}, kept in memory for a short time.

A schema's text never changes once it has an id, so its rendered body is cached; the set of
subjects using it (for authorization) changes on register/delete, which invalidates the entry
in this process. Other replicas see such a change within `ttl` seconds (a permanent delete
done elsewhere may be served from cache until then).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CachedSchema:
    body: bytes
    subjects: frozenset[str]
    expires: float


class IdCache:
    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: dict[int, CachedSchema] = {}

    def get(self, schema_id: int) -> CachedSchema | None:
        entry = self.entries.get(schema_id)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            del self.entries[schema_id]
            return None
        return entry

    def put(self, schema_id: int, body: bytes, subjects: frozenset[str]) -> None:
        if self.ttl <= 0:
            return
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[schema_id] = CachedSchema(body, subjects, time.monotonic() + self.ttl)

    def invalidate(self, schema_ids: set[int]) -> None:
        for schema_id in schema_ids:
            self.entries.pop(schema_id, None)
        schema_ids.clear()
