"""An in-process Store with the same unique-key rules as MongoStore (unit tests, fuzzing)."""

from __future__ import annotations

from dataclasses import replace

from lulea.schema_registry.store.base import (
    DuplicateError,
    Reference,
    SchemaRecord,
    VersionRecord,
    live_key,
)


class MemoryStore:
    def __init__(self) -> None:
        self.by_hash: dict[str, SchemaRecord] = {}
        self.by_id: dict[int, SchemaRecord] = {}
        self.version_rows: dict[tuple[str, int], VersionRecord] = {}
        self.live_keys: set[str] = set()
        self.settings: dict[tuple[str, str], dict[str, object]] = {}
        self.next_id = 0

    async def ping(self) -> None:
        return None

    async def schema_id_by_hash(self, digest: str) -> int | None:
        found = self.by_hash.get(digest)
        return None if found is None else found.id

    async def schema_by_id(self, schema_id: int) -> SchemaRecord | None:
        return self.by_id.get(schema_id)

    async def insert_schema(self, record: SchemaRecord, subject: str | None = None) -> None:
        if record.hash in self.by_hash or record.id in self.by_id:
            raise DuplicateError(record.hash)
        self.by_hash[record.hash] = record
        self.by_id[record.id] = record

    async def allocate_ids(self, count: int) -> range:
        start = self.next_id + 1
        self.next_id += count
        return range(start, start + count)

    async def max_schema_id(self) -> int:
        return max(self.by_id, default=0)

    async def versions(self, subject: str) -> list[VersionRecord]:
        rows = [v for (s, _), v in self.version_rows.items() if s == subject]
        return sorted(rows, key=lambda v: v.version)

    async def versions_of_schema(self, schema_id: int) -> list[VersionRecord]:
        rows = [v for v in self.version_rows.values() if v.schema_id == schema_id]
        return sorted(rows, key=lambda v: (v.subject, v.version))

    async def insert_version(self, record: VersionRecord, *, new_schema: bool = False) -> None:
        key = (record.subject, record.version)
        lk = live_key(record.subject, record.schema_id)
        if key in self.version_rows or lk in self.live_keys:
            raise DuplicateError(key)
        self.version_rows[key] = record
        self.live_keys.add(lk)

    async def mark_deleted(self, subject: str, version: int) -> None:
        row = self.version_rows[(subject, version)]
        self.live_keys.discard(live_key(subject, row.schema_id))
        self.version_rows[(subject, version)] = replace(row, deleted=True)

    async def mark_purged(self, subject: str, version: int) -> None:
        row = self.version_rows[(subject, version)]
        self.live_keys.discard(live_key(subject, row.schema_id))
        self.version_rows[(subject, version)] = replace(row, deleted=True, purged=True)

    async def subjects(self, *, include_deleted: bool) -> list[str]:
        return sorted({
            v.subject for v in self.version_rows.values()
            if not v.purged and (include_deleted or not v.deleted)
        })

    async def referencing(self, subject: str, version: int) -> list[int]:
        ref_ids = []
        for rec in self.by_id.values():
            if any(r.subject == subject and r.version == version for r in rec.references):
                ref_ids.append(rec.id)
        return sorted(ref_ids)

    async def get_setting(self, kind: str, subject: str | None) -> dict[str, object] | None:
        return self.settings.get((kind, subject or ""))

    async def get_settings(self, subject: str) -> dict[tuple[str, str], dict[str, object]]:
        wanted = {(k, s) for k in ("config", "mode") for s in (subject, "")}
        return {key: dict(v) for key, v in self.settings.items() if key in wanted}

    async def put_setting(self, kind: str, subject: str | None, value: dict[str, object]) -> None:
        self.settings[(kind, subject or "")] = dict(value)

    async def delete_setting(self, kind: str, subject: str | None) -> None:
        self.settings.pop((kind, subject or ""), None)

    async def is_empty(self) -> bool:
        return not self.by_id


__all__ = ["MemoryStore", "Reference"]
