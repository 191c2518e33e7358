"""MongoDB (FerretDB v1) storage through PyMongo's async API.

FerretDB v1 on SQLite answers a query on any field other than `_id` by scanning the whole
collection (measured: 270 ms at 3,000 documents), so every hot read here is an `_id` lookup:

- `schemas`        {_id: schema id, hash, schema, schemaType, references, ref_keys, used_by}
- `schema_hashes`  {_id: content hash, id}: the dedup key; inserting it decides races
- `subjects`       {_id: subject, rev, versions: [{v, id, h, d, p}]}: one document per
                   subject, changed by compare-and-set on `rev` (no transactions needed)
- `settings`, `counters` by `_id`; ids come in blocks from one `$inc`.

Write order keeps crashes harmless: a schema doc without its hash doc is an unused id; a
`used_by` entry without a version is ignored on read; a version is only ever added by the
subject CAS, which a retry redoes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lulea.schema_registry.store.base import (
    SEP,
    DuplicateError,
    Reference,
    SchemaRecord,
    VersionRecord,
)

CAS_ATTEMPTS = 32
SEEN_MAX = 10_000
_UNSEEN: Any = object()


async def _known(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    return doc


def _ref_key(subject: str, version: int) -> str:
    return f"{subject}{SEP}{version}"


class MongoStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[dict[str, Any]] = client[database]
        self.schemas = self.db["schemas"]
        self.hashes = self.db["schema_hashes"]
        self.subject_docs = self.db["subjects"]
        self.settings = self.db["settings"]
        self.counters = self.db["counters"]
        self._seen: dict[str, dict[str, Any] | None] = {}

    async def create_indexes(self) -> None:
        return None  # every lookup is by _id; FerretDB v1 would not use other indexes

    async def ping(self) -> None:
        await self.db.command("ping")

    @staticmethod
    def _schema(doc: dict[str, Any] | None) -> SchemaRecord | None:
        if doc is None:
            return None
        refs = tuple(Reference(r["name"], r["subject"], int(r["version"]))
                     for r in doc.get("references", []))
        return SchemaRecord(id=int(doc["_id"]), hash=doc["hash"], schema=doc["schema"],
                            schema_type=doc.get("schemaType", "AVRO"), references=refs)

    @staticmethod
    def _versions(subject: str, doc: dict[str, Any] | None) -> list[VersionRecord]:
        if doc is None:
            return []
        rows = [VersionRecord(subject, int(v["v"]), int(v["id"]), v["h"], bool(v["d"]),
                              bool(v["p"])) for v in doc.get("versions", [])]
        return sorted(rows, key=lambda r: r.version)

    async def schema_id_by_hash(self, digest: str) -> int | None:
        found = await self.hashes.find_one({"_id": digest})
        return None if found is None else int(found["id"])

    async def schema_by_id(self, schema_id: int) -> SchemaRecord | None:
        return self._schema(await self.schemas.find_one({"_id": schema_id}))

    async def insert_schema(self, record: SchemaRecord, subject: str | None = None) -> None:
        doc = {
            "_id": record.id, "hash": record.hash, "schema": record.schema,
            "schemaType": record.schema_type,
            "references": [r.as_dict() for r in record.references],
            "ref_keys": [_ref_key(r.subject, r.version) for r in record.references],
            "used_by": [subject] if subject else [],
        }
        try:
            await self.schemas.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(f"id {record.id}") from exc
        try:
            await self.hashes.insert_one({"_id": record.hash, "id": record.id})
        except DuplicateKeyError as exc:  # another writer stored this schema first
            await self.schemas.delete_one({"_id": record.id})  # our id, never published
            raise DuplicateError(record.hash) from exc

    async def allocate_ids(self, count: int) -> range:
        doc = await self.counters.find_one_and_update(
            {"_id": "schema_id"}, {"$inc": {"next": count}},
            upsert=True, return_document=ReturnDocument.AFTER)
        assert doc is not None  # upsert=True with AFTER always returns the document
        end = int(doc["next"])
        return range(end - count + 1, end + 1)

    async def max_schema_id(self) -> int:
        doc = await self.schemas.find_one({"used_by": {"$ne": []}}, sort=[("_id", -1)],
                                          projection={"_id": 1})
        return int(doc["_id"]) if doc else 0

    async def versions(self, subject: str) -> list[VersionRecord]:
        doc = await self.subject_docs.find_one({"_id": subject})
        self._remember(subject, doc)
        return self._versions(subject, doc)

    def _remember(self, subject: str, doc: dict[str, Any] | None) -> None:
        """The subject's document as last read, for the registration that follows the read
        (a hint, never the truth: the write is a compare-and-set on `rev`, or an insert that
        a unique `_id` refuses, so a stale copy only costs a retry)."""
        if len(self._seen) >= SEEN_MAX:
            self._seen.clear()
        self._seen[subject] = doc

    async def versions_of_schema(self, schema_id: int) -> list[VersionRecord]:
        doc = await self.schemas.find_one({"_id": schema_id}, projection={"used_by": 1})
        if doc is None or not doc.get("used_by"):
            return []
        rows: list[VersionRecord] = []
        for subject in doc["used_by"]:  # usually one or two: one _id lookup each
            rows += [v for v in await self.versions(subject) if v.schema_id == schema_id]
        return sorted(rows, key=lambda v: (v.subject, v.version))

    async def insert_version(self, record: VersionRecord, *, new_schema: bool = False) -> None:
        seen = self._seen.pop(record.subject, _UNSEEN)
        read = (self.subject_docs.find_one({"_id": record.subject}) if seen is _UNSEEN
                else _known(seen))
        if new_schema:  # stored with used_by=[subject] already
            doc = await read
        else:
            _, doc = await asyncio.gather(  # independent: one write, one read, in parallel
                self.schemas.update_one({"_id": record.schema_id},
                                        {"$addToSet": {"used_by": record.subject}}),
                read)
        for row in self._versions(record.subject, doc):
            if row.version == record.version or (row.live and row.schema_id == record.schema_id):
                raise DuplicateError(f"{record.subject} v{record.version}")
        entry = {"v": record.version, "id": record.schema_id, "h": record.schema_hash,
                 "d": False, "p": False}
        if doc is None:
            try:
                await self.subject_docs.insert_one({"_id": record.subject, "rev": 1,
                                                    "versions": [entry]})
            except DuplicateKeyError as exc:
                raise DuplicateError(record.subject) from exc
            return
        result = await self.subject_docs.update_one(
            {"_id": record.subject, "rev": doc["rev"]},
            {"$set": {"versions": [*doc["versions"], entry], "rev": doc["rev"] + 1}})
        if result.modified_count != 1:
            raise DuplicateError(f"{record.subject} changed concurrently")

    async def _retire(self, subject: str, version: int, fields: dict[str, bool]) -> None:
        for _ in range(CAS_ATTEMPTS):
            doc = await self.subject_docs.find_one({"_id": subject})
            if doc is None:
                return
            versions = [{**v, **fields} if int(v["v"]) == version else v for v in doc["versions"]]
            result = await self.subject_docs.update_one(
                {"_id": subject, "rev": doc["rev"]},
                {"$set": {"versions": versions, "rev": doc["rev"] + 1}})
            if result.modified_count == 1:
                return
        raise DuplicateError(f"{subject} kept changing")

    async def mark_deleted(self, subject: str, version: int) -> None:
        await self._retire(subject, version, {"d": True})

    async def mark_purged(self, subject: str, version: int) -> None:
        await self._retire(subject, version, {"d": True, "p": True})

    async def subjects(self, *, include_deleted: bool) -> list[str]:
        names = []
        async for doc in self.subject_docs.find({}):
            rows = [v for v in self._versions(doc["_id"], doc) if not v.purged]
            if any(include_deleted or not v.deleted for v in rows):
                names.append(doc["_id"])
        return sorted(names)

    async def referencing(self, subject: str, version: int) -> list[int]:
        cursor = self.schemas.find({"ref_keys": _ref_key(subject, version)}, projection={"_id": 1})
        return sorted([int(d["_id"]) async for d in cursor])

    async def get_setting(self, kind: str, subject: str | None) -> dict[str, object] | None:
        doc = await self.settings.find_one({"_id": f"{kind}{SEP}{subject or ''}"})
        return None if doc is None else {k: v for k, v in doc.items() if k != "_id"}

    async def get_settings(self, subject: str) -> dict[tuple[str, str], dict[str, object]]:
        # four lookups by _id in parallel, not one `{_id: {$in: [...]}}`: FerretDB v1 pushes
        # only `{_id: value}` down to the database and answers `$in` by reading every setting
        # (one per subject the operator configured: thousands), on every registration
        keys = [(k, s) for k in ("config", "mode") for s in (subject, "")]
        docs = await asyncio.gather(*(self.settings.find_one({"_id": f"{k}{SEP}{s}"})
                                      for k, s in keys))
        return {key: {k: v for k, v in doc.items() if k != "_id"}
                for key, doc in zip(keys, docs, strict=True) if doc is not None}

    async def put_setting(self, kind: str, subject: str | None, value: dict[str, object]) -> None:
        await self.settings.replace_one({"_id": f"{kind}{SEP}{subject or ''}"}, dict(value),
                                        upsert=True)

    async def delete_setting(self, kind: str, subject: str | None) -> None:
        await self.settings.delete_one({"_id": f"{kind}{SEP}{subject or ''}"})

    async def is_empty(self) -> bool:
        return await self.hashes.find_one({}, projection={"_id": 1}) is None
