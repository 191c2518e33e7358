"""Where the bytes of files larger than the inline limit live: a small interface, with a
MongoDB collection of chunks as the embedded default (docs/storage.md designs the S3 one).

Each block is written before anything points at it and carries who wrote it (`writer`) and
how many quota bytes were reserved for it, so a block nobody references after its writer died
is an orphan that the reclaimer deletes and whose reservation it gives back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from lulea.storage.namespace.busy import retrying


@dataclass(frozen=True)
class BlockInfo:
    id: ObjectId
    inode: int
    writer: str
    size: int
    reserved: int
    dataset: int | None
    pdir: int | None


class BlockStore(Protocol):
    async def put(self, data: bytes, *, inode: int, writer: str, reserved: int,
                  dataset: int | None, pdir: int | None) -> ObjectId: ...

    async def get(self, block: ObjectId) -> bytes | None: ...

    async def delete(self, blocks: list[ObjectId]) -> None: ...

    async def take(self, block: ObjectId) -> BlockInfo | None:
        """Delete one block and say what it was (None if it was already gone)."""

    def of_inode(self, inode: int) -> AsyncIterator[BlockInfo]: ...

    def scan(self) -> AsyncIterator[BlockInfo]: ...


def _info(doc: dict[str, Any]) -> BlockInfo:
    return BlockInfo(doc["_id"], int(doc["inode"]), str(doc.get("writer") or ""), int(doc["size"]),
                     int(doc.get("reserved") or 0), doc.get("dataset"), doc.get("pdir"))


_META = {"data": 0}


class MongoBlockStore:
    """Blocks as documents `{_id, inode, writer, size, reserved, data}` in `blocks`."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.blocks = retrying(db["blocks"])

    async def create_indexes(self) -> None:
        await self.blocks.create_index([("inode", 1)])

    async def put(self, data: bytes, *, inode: int, writer: str, reserved: int,
                  dataset: int | None, pdir: int | None) -> ObjectId:
        block = ObjectId()
        await self.blocks.insert_one({"_id": block, "inode": inode, "writer": writer, "size": len(data),
                                      "reserved": reserved, "dataset": dataset, "pdir": pdir,
                                      "data": data})
        return block

    async def get(self, block: ObjectId) -> bytes | None:
        doc = await self.blocks.find_one({"_id": block}, {"data": 1})
        return bytes(doc["data"]) if doc is not None else None

    async def delete(self, blocks: list[ObjectId]) -> None:
        if blocks:
            await self.blocks.delete_many({"_id": {"$in": blocks}})

    async def take(self, block: ObjectId) -> BlockInfo | None:
        doc = await self.blocks.find_one_and_delete({"_id": block})
        return _info(doc) if doc is not None else None

    async def of_inode(self, inode: int) -> AsyncIterator[BlockInfo]:
        async for doc in self.blocks.find({"inode": inode}, _META):
            yield _info(doc)

    async def scan(self) -> AsyncIterator[BlockInfo]:
        async for doc in self.blocks.find({}, _META):
            yield _info(doc)
