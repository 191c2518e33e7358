"""Answers for GET /schemas/ids/{id}, kept in memory.

A schema's text never changes once it has an id, so its rendered body is kept; the set of
subjects using it (for the access check) changes on register/delete, which drops the entry
in this process. After `ttl` seconds an entry is stale: it is still served, and one refresh
from the store runs behind it (stale-while-revalidate), so a hot id never stampedes the
store. Another replica's permanent delete is therefore seen within about `ttl` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CachedSchema:
    body: bytes
    subjects: frozenset[str]
    fresh_until: float

    @property
    def stale(self) -> bool:
        return self.fresh_until < time.monotonic()


class IdCache:
    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: dict[int, CachedSchema] = {}
        self.refreshing: set[int] = set()

    def get(self, schema_id: int) -> CachedSchema | None:
        return self.entries.get(schema_id)

    def put(self, schema_id: int, body: bytes, subjects: frozenset[str]) -> CachedSchema:
        entry = CachedSchema(body, subjects, time.monotonic() + self.ttl)
        if self.ttl > 0:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[schema_id] = entry
        return entry

    def invalidate(self, schema_ids: set[int]) -> None:
        for schema_id in schema_ids:
            self.entries.pop(schema_id, None)
