"""Where the bytes of files larger than the inline limit live: a small interface, with a
MongoDB collection of chunks as the embedded default (docs/storage.md designs the S3 one).

Block `n` of inode `ino` has the key `"<ino>#<n>"` (an exact `_id`, the lookup FerretDB 1.24
answers from an index; an object key in S3). An inode's blocks are numbered without holes:
writes add at the end, reclaiming takes them from the end, so probing `#0, #1, ...` until the
first miss finds them all, with no query on another field. Each block carries how many quota
bytes were reserved for it, which whoever takes (deletes) it gives back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from lulea.storage.namespace.busy import retrying
from lulea.storage.namespace.inodes import block_key


@dataclass(frozen=True)
class BlockInfo:
    id: str
    inode: int
    writer: str
    size: int
    reserved: int
    dataset: str | None
    pdir: str | None


class BlockStore(Protocol):
    async def put(self, data: bytes, *, inode: int, index: int, writer: str, reserved: int,
                  dataset: str | None, pdir: str | None) -> str: ...

    async def get(self, block: str) -> bytes | None: ...

    async def exists(self, block: str) -> bool: ...

    async def delete(self, block: str) -> bool: ...

    async def take(self, block: str) -> BlockInfo | None:
        """Delete one block and say what it was (None if it was already gone)."""

    def scan(self) -> AsyncIterator[BlockInfo]:
        """Every block (fsck only: a full read)."""


def _info(doc: dict[str, Any]) -> BlockInfo:
    return BlockInfo(str(doc["_id"]), int(doc["inode"]), str(doc.get("writer") or ""), int(doc["size"]),
                     int(doc.get("reserved") or 0), doc.get("dataset"), doc.get("pdir"))


_META = {"data": 0}


class MongoBlockStore:
    """Blocks as documents `{_id: "<ino>#<n>", inode, writer, size, reserved, data}` in `blocks`."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.blocks = retrying(db["blocks"])

    async def create_indexes(self) -> None:
        return None  # only `_id` is ever looked up

    async def put(self, data: bytes, *, inode: int, index: int, writer: str, reserved: int,
                  dataset: str | None, pdir: str | None) -> str:
        block = block_key(inode, index)
        doc = {"_id": block, "inode": inode, "writer": writer, "size": len(data), "reserved": reserved,
               "dataset": dataset, "pdir": pdir, "data": data}
        await self.blocks.insert_one(doc)
        return block

    async def get(self, block: str) -> bytes | None:
        doc = await self.blocks.find_one({"_id": block}, {"data": 1})
        return bytes(doc["data"]) if doc is not None else None

    async def exists(self, block: str) -> bool:
        return await self.blocks.find_one({"_id": block}, {"_id": 1}) is not None

    async def delete(self, block: str) -> bool:
        done = await self.blocks.delete_one({"_id": block})
        return bool(done.deleted_count)

    async def take(self, block: str) -> BlockInfo | None:
        doc = await self.blocks.find_one_and_delete({"_id": block})  # FerretDB: no projection here
        return _info(doc) if doc is not None else None

    async def scan(self) -> AsyncIterator[BlockInfo]:
        async for doc in self.blocks.find({}, _META):
            yield _info(doc)
