"""MongoDB (FerretDB v1) storage through PyMongo's async API.

Only single-document operations, unique indexes, `distinct` and `findAndModify`: no
transactions, no aggregation stages FerretDB v1 lacks. Correctness under concurrency comes
from unique keys (content hash, schema id, subject+version, live schema per subject); id
allocation takes blocks with one `$inc`, so writers never queue on a global sequence.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lulea.schema_registry.store.base import (
    DuplicateError,
    Reference,
    SchemaRecord,
    VersionRecord,
    live_key,
    tombstone_key,
)


def _ref_key(subject: str, version: int) -> str:
    return f"{subject}\x00{version}"


class MongoStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[dict[str, Any]] = client[database]
        self.schemas = self.db["schemas"]
        self.version_docs = self.db["subject_versions"]
        self.settings = self.db["settings"]
        self.counters = self.db["counters"]

    async def create_indexes(self) -> None:
        await self.schemas.create_index("id", unique=True, name="schema_id_unique")
        await self.schemas.create_index("ref_keys", name="schema_ref_keys")
        await self.version_docs.create_index("live_key", unique=True, name="live_schema_unique")
        await self.version_docs.create_index("subject", name="versions_by_subject")
        await self.version_docs.create_index("schema_id", name="versions_by_schema")

    async def ping(self) -> None:
        await self.db.command("ping")

    @staticmethod
    def _schema(doc: dict[str, Any] | None) -> SchemaRecord | None:
        if doc is None:
            return None
        refs = tuple(Reference(r["name"], r["subject"], int(r["version"]))
                     for r in doc.get("references", []))
        return SchemaRecord(id=int(doc["id"]), hash=doc["_id"], schema=doc["schema"],
                            schema_type=doc.get("schemaType", "AVRO"), references=refs)

    @staticmethod
    def _version(doc: dict[str, Any]) -> VersionRecord:
        return VersionRecord(subject=doc["subject"], version=int(doc["version"]),
                             schema_id=int(doc["schema_id"]), schema_hash=doc["schema_hash"],
                             deleted=bool(doc.get("deleted")), purged=bool(doc.get("purged")))

    async def schema_by_hash(self, digest: str) -> SchemaRecord | None:
        return self._schema(await self.schemas.find_one({"_id": digest}))

    async def schema_by_id(self, schema_id: int) -> SchemaRecord | None:
        return self._schema(await self.schemas.find_one({"id": schema_id}))

    async def insert_schema(self, record: SchemaRecord) -> None:
        doc = {
            "_id": record.hash, "id": record.id, "schema": record.schema,
            "schemaType": record.schema_type,
            "references": [r.as_dict() for r in record.references],
            "ref_keys": [_ref_key(r.subject, r.version) for r in record.references],
        }
        try:
            await self.schemas.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(record.hash) from exc

    async def allocate_ids(self, count: int) -> range:
        doc = await self.counters.find_one_and_update(
            {"_id": "schema_id"}, {"$inc": {"next": count}},
            upsert=True, return_document=ReturnDocument.AFTER)
        end = int(doc["next"])
        return range(end - count + 1, end + 1)

    async def max_schema_id(self) -> int:
        doc = await self.schemas.find_one({}, sort=[("id", -1)], projection={"id": 1})
        return int(doc["id"]) if doc else 0

    async def versions(self, subject: str) -> list[VersionRecord]:
        rows = [self._version(d) async for d in self.version_docs.find({"subject": subject})]
        return sorted(rows, key=lambda v: v.version)

    async def versions_of_schema(self, schema_id: int) -> list[VersionRecord]:
        rows = [self._version(d) async for d in self.version_docs.find({"schema_id": schema_id})]
        return sorted(rows, key=lambda v: (v.subject, v.version))

    async def insert_version(self, record: VersionRecord) -> None:
        doc = {
            "_id": _ref_key(record.subject, record.version), "subject": record.subject,
            "version": record.version, "schema_id": record.schema_id,
            "schema_hash": record.schema_hash, "deleted": False, "purged": False,
            "live_key": live_key(record.subject, record.schema_id),
        }
        try:
            await self.version_docs.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateError(doc["_id"]) from exc

    async def _retire(self, subject: str, version: int, fields: dict[str, Any]) -> None:
        await self.version_docs.update_one(
            {"_id": _ref_key(subject, version)},
            {"$set": {**fields, "live_key": tombstone_key(subject, version)}})

    async def mark_deleted(self, subject: str, version: int) -> None:
        await self._retire(subject, version, {"deleted": True})

    async def mark_purged(self, subject: str, version: int) -> None:
        await self._retire(subject, version, {"deleted": True, "purged": True})

    async def subjects(self, *, include_deleted: bool) -> list[str]:
        query: dict[str, Any] = {"purged": False}
        if not include_deleted:
            query["deleted"] = False
        return sorted(await self.version_docs.distinct("subject", query))

    async def referencing(self, subject: str, version: int) -> list[int]:
        cursor = self.schemas.find({"ref_keys": _ref_key(subject, version)}, projection={"id": 1})
        return sorted([int(d["id"]) async for d in cursor])

    async def get_setting(self, kind: str, subject: str | None) -> dict[str, object] | None:
        doc = await self.settings.find_one({"_id": f"{kind}\x00{subject or ''}"})
        return None if doc is None else {k: v for k, v in doc.items() if k != "_id"}

    async def put_setting(self, kind: str, subject: str | None, value: dict[str, object]) -> None:
        await self.settings.replace_one({"_id": f"{kind}\x00{subject or ''}"}, dict(value),
                                        upsert=True)

    async def delete_setting(self, kind: str, subject: str | None) -> None:
        await self.settings.delete_one({"_id": f"{kind}\x00{subject or ''}"})

    async def is_empty(self) -> bool:
        return await self.schemas.find_one({}, projection={"_id": 1}) is None
