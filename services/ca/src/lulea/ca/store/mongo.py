"""Certificate records in MongoDB (PyMongo async; FerretDB-compatible: no transactions,
no change streams, only plain indexes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument

from lulea.ca.store.base import CertificateRecord, Reason, Status


def _to_doc(r: CertificateRecord) -> dict[str, Any]:
    return {
        "_id": r.serial,
        "commonName": r.common_name,
        "profile": r.profile,
        "notBefore": r.not_before,
        "notAfter": r.not_after,
        "renewAt": r.renew_at,
        "status": str(r.status),
        "project": r.project,
        "user": r.user,
        "role": r.role,
        "revokedAt": r.revoked_at,
        "reason": None if r.reason is None else str(r.reason),
        "revokedBy": r.revoked_by,
        "announced": None if r.announced is None else str(r.announced),
    }


def _from_doc(d: dict[str, Any]) -> CertificateRecord:
    def utc(v: dt.datetime | None) -> dt.datetime | None:
        return None if v is None else v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v

    return CertificateRecord(
        serial=d["_id"],
        common_name=d["commonName"],
        profile=d["profile"],
        not_before=utc(d["notBefore"]),  # type: ignore[arg-type]
        not_after=utc(d["notAfter"]),  # type: ignore[arg-type]
        status=Status(d["status"]),
        project=d.get("project"),
        user=d.get("user"),
        role=d.get("role"),
        revoked_at=utc(d.get("revokedAt")),
        reason=None if d.get("reason") is None else Reason(d["reason"]),
        revoked_by=d.get("revokedBy"),
        announced=None if d.get("announced") is None else Status(d["announced"]),
    )


class MongoRecords:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        db = client[database]
        self._certs = db["certificates"]
        self._state = db["ca_state"]

    @classmethod
    def connect(cls, uri: str, database: str) -> MongoRecords:
        return cls(AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000), database)

    async def ensure_indexes(self) -> None:
        await self._certs.create_index([("project", ASCENDING), ("user", ASCENDING), ("status", ASCENDING)])
        await self._certs.create_index([("status", ASCENDING), ("renewAt", ASCENDING)])

    async def ping(self) -> None:
        await self._certs.database.command("ping")

    async def insert(self, record: CertificateRecord) -> None:
        await self._certs.insert_one(_to_doc(record))

    async def get(self, serial: str) -> CertificateRecord | None:
        doc = await self._certs.find_one({"_id": serial})
        return None if doc is None else _from_doc(doc)

    async def members(
        self, project: str, user: str | None = None, status: Status | None = None
    ) -> list[CertificateRecord]:
        query: dict[str, Any] = {"project": project}
        if user is not None:
            query["user"] = user
        if status is not None:
            query["status"] = str(status)
        return [_from_doc(d) async for d in self._certs.find(query)]

    async def set_status(
        self, record: CertificateRecord, status: Status, expect: Status = Status.ACTIVE
    ) -> bool:
        doc = _to_doc(record)
        doc["status"] = str(status)
        doc.pop("_id")
        result = await self._certs.update_one({"_id": record.serial, "status": str(expect)}, {"$set": doc})
        return result.modified_count == 1

    async def due_for_renewal(self, now: dt.datetime, limit: int) -> list[CertificateRecord]:
        cursor = self._certs.find(
            {"status": str(Status.ACTIVE), "profile": "member", "renewAt": {"$lte": now}}
        ).limit(limit)
        return [_from_doc(d) async for d in cursor]

    async def revoked(self) -> list[CertificateRecord]:
        return [_from_doc(d) async for d in self._certs.find({"status": str(Status.REVOKED)})]

    async def page(self, skip: int, limit: int) -> list[CertificateRecord]:
        cursor = self._certs.find({}).sort("notBefore", ASCENDING).skip(skip).limit(limit)
        return [_from_doc(d) async for d in cursor]

    async def mark_announced(self, record: CertificateRecord, status: Status) -> None:
        await self._certs.update_one({"_id": record.serial}, {"$set": {"announced": str(status)}})

    async def active_projects(self) -> set[str]:
        found = await self._certs.distinct("project", {"status": str(Status.ACTIVE)})
        return {str(p) for p in found if p}

    async def next_crl_number(self) -> int:
        doc = await self._state.find_one_and_update(
            {"_id": "crl"},
            {"$inc": {"number": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upsert with ReturnDocument.AFTER always returns the document
        return int(doc["number"])
