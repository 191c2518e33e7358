"""The namespace: every WebHDFS operation as a few single-document MongoDB operations.

No operation needs a multi-document transaction (FerretDB has none):
- a file is written under a pending inode (parent PENDING) and becomes visible by one update
  that moves it to its parent and name (the flip), after all its bytes are stored;
- a rename is one update of (parent, name), whatever the size of the subtree;
- a delete moves the subtree's root below TRASH in one update; the reclaimer then removes
  the subtree bottom-up, resumably, giving back its quota as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lulea.storage.namespace import quota
from lulea.storage.namespace.blocks import BlockStore, MongoBlockStore
from lulea.storage.namespace.busy import retrying
from lulea.storage.namespace.errors import Hadoop, StorageError, illegal, not_found
from lulea.storage.namespace.inodes import (
    INLINE_LIMIT,
    PENDING,
    PROJECTS_DIR,
    ROOT,
    STAT,
    TRASH,
    Doc,
    directory,
    new_id,
    now_ms,
)
from lulea.storage.namespace.paths import PROJECTS, Path

log = logging.getLogger("lulea.storage.namespace")
WRITER_DEAD_AFTER = timedelta(seconds=15)
TOP_CACHE_SECONDS = 2.0
TOP_DEPTH = 3  # `/Projects/<p>/<d>`: made and removed only by the platform
ProjectQuota = Callable[[str], int | None]


@dataclass(frozen=True)
class NewFile:
    owner: str
    group: str
    permission: str = "644"
    replication: int = 1
    block_size: int = 128 * 1024 * 1024


class Namespace:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, blocks: BlockStore | None = None,
                 project_quota: ProjectQuota = lambda _p: None, block_bytes: int = 4 * 1024 * 1024) -> None:
        self.db = db
        self.inodes = retrying(db["inodes"])
        self.writers = retrying(db["writers"])
        self.blocks: BlockStore = blocks if blocks is not None else MongoBlockStore(db)
        self.project_quota = project_quota
        self.block_bytes = block_bytes
        self.writer = uuid.uuid4().hex
        self.rounds = 0
        # the top of the tree (/, /Projects, projects, dataset roots) changes only when the
        # platform adds or removes a dataset: a short cache saves most lookups of a path
        self.top: dict[tuple[str, ...], tuple[float, Doc]] = {}

    # -- set-up ---------------------------------------------------------------------------
    async def create_indexes(self) -> None:
        await self.inodes.create_index([("parent", ASCENDING), ("name", ASCENDING)], unique=True)
        if isinstance(self.blocks, MongoBlockStore):
            await self.blocks.create_indexes()
        for doc in (directory(ROOT, -100, "", owner="lulea", group="lulea"),
                    directory(PROJECTS_DIR, ROOT, PROJECTS, owner="lulea", group="lulea")):
            with contextlib.suppress(DuplicateKeyError):
                await self.inodes.insert_one(doc)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        await self.writers.update_one({"_id": self.writer}, {"$set": {"seen": datetime.now(UTC)}},
                                      upsert=True)

    async def ping(self) -> None:
        await self.db.command("ping")

    # -- lookups --------------------------------------------------------------------------
    async def chain(self, path: Path) -> list[Doc]:
        """The inodes from `/` down to `path`, stopping at the first that is missing."""
        docs: list[Doc] = []
        now = time.monotonic()
        current = self._top((), now) or await self.inodes.find_one({"_id": ROOT}, STAT)
        if current is None:
            return docs
        docs.append(current)
        for depth, name in enumerate(path.parts, start=1):
            if current["type"] != "DIRECTORY":
                break
            key = path.parts[:depth]
            cached = self._top(key, now) if depth <= TOP_DEPTH else None
            current = cached or await self.inodes.find_one({"parent": current["_id"], "name": name}, STAT)
            if current is None:
                break
            if depth <= TOP_DEPTH and cached is None and current["type"] == "DIRECTORY":
                self.top[key] = (now + TOP_CACHE_SECONDS, current)
            docs.append(current)
        return docs

    def _top(self, key: tuple[str, ...], now: float) -> Doc | None:
        hit = self.top.get(key)
        if hit is None or hit[0] < now:
            return None
        return hit[1]

    def forget_top(self) -> None:
        self.top.clear()

    async def stat(self, path: Path) -> Doc:
        docs = await self.chain(path)
        if len(docs) != len(path.parts) + 1:
            raise not_found(str(path))
        return docs[-1]

    def account(self, docs: list[Doc], path: Path) -> quota.Account:
        """Where writes below the inodes `docs` (a chain from `/`) are counted."""
        if len(docs) < 3 or not path.in_projects:
            return quota.NOWHERE
        pdir = docs[2]
        project = str(pdir["name"])
        if len(docs) < 4:
            return quota.Account(None, pdir=pdir["_id"], project_path=f"/{PROJECTS}/{project}",
                                 project_bytes_quota=self.project_quota(project))
        root = docs[3]
        limits = root.get("quota") or {}
        return quota.Account(root["_id"], f"/{PROJECTS}/{project}/{root['name']}",
                             limits.get("bytes"), limits.get("files"), pdir["_id"],
                             f"/{PROJECTS}/{project}", self.project_quota(project))

    # -- directories ----------------------------------------------------------------------
    async def mkdirs(self, path: Path, *, owner: str, group: str, permission: str = "755") -> bool:
        docs = await self.chain(path)
        if docs and docs[-1]["type"] != "DIRECTORY":
            raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Parent path is not a directory: {path}")
        await self._make_missing(path, docs, owner=owner, group=group, permission=permission)
        return True

    async def _make_missing(self, path: Path, docs: list[Doc], *, owner: str, group: str,
                            permission: str = "755") -> list[Doc]:
        docs = list(docs)
        for depth in range(len(docs), len(path.parts) + 1):
            here = Path(path.parts[:depth])
            parent = docs[-1]
            account = self.account(docs, here)
            dataset = account.dataset if depth > 3 else None
            doc = directory(new_id(), parent["_id"], here.name, owner=owner, group=group,
                            permission=permission, dataset=dataset, pdir=account.pdir)
            if depth == 2 and here.in_projects:
                doc["usage"] = {"bytes": 0}
            if depth == 3 and here.in_projects:
                doc.update(usage={"bytes": 0, "files": 0}, quota={}, dataset=doc["_id"])
            await quota.reserve(self.inodes, account if depth > 3 else quota.NOWHERE, 0, 1)
            try:
                await self.inodes.insert_one(doc)
            except DuplicateKeyError:  # made meanwhile by someone else: use theirs
                await quota.release(self.inodes, dataset, None, 0, 1)
                found = await self.inodes.find_one({"parent": parent["_id"], "name": here.name}, STAT)
                if found is None or found["type"] != "DIRECTORY":
                    raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Not a directory: {here}") from None
                doc = found
            docs.append(doc)
        return docs

    async def listing(self, path: Path, *, start_after: str | None = None,
                   limit: int | None = None) -> tuple[Doc, list[Doc], int]:
        """The inode and its children by name after `start_after` (a range of the (parent, name)
        index), and how many remain after this page."""
        doc = await self.stat(path)
        if doc["type"] != "DIRECTORY":
            return doc, [doc], 0
        query: dict[str, Any] = {"parent": doc["_id"]}
        if start_after:
            query["name"] = {"$gt": start_after}
        cursor = self.inodes.find(query, STAT).sort("name", ASCENDING)
        if limit is not None:
            cursor = cursor.limit(limit)
        children = [c async for c in cursor]
        remaining = 0
        if limit is not None and len(children) == limit:
            remaining = await self.inodes.count_documents(
                {"parent": doc["_id"], "name": {"$gt": children[-1]["name"]}})
        return doc, children, remaining

    # -- writing files --------------------------------------------------------------------
    async def create(self, path: Path, body: AsyncIterator[bytes], new: NewFile, *,
                     overwrite: bool) -> Doc:
        """Write a whole file; visible only once complete (the flip), never partly."""
        docs = await self.chain(path.parent)
        if len(docs) == len(path.parts):
            existing = await self.inodes.find_one({"parent": docs[-1]["_id"], "name": path.name}, STAT)
            self._may_replace(existing, path, overwrite)
        parents = await self._make_missing(path.parent, docs, owner=new.owner, group=new.group)
        if parents[-1]["type"] != "DIRECTORY":
            raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Parent path is not a directory: {path.parent}")
        account = self.account(parents, path)
        id_ = new_id()
        pending = {"_id": id_, "parent": PENDING, "name": str(id_), "type": "FILE", "state": "pending",
                   "writer": self.writer, "size": 0, "owner": new.owner, "group": new.group,
                   "permission": new.permission, "replication": new.replication,
                   "blockSize": new.block_size, "dataset": account.dataset, "pdir": account.pdir,
                   "target": {"parent": parents[-1]["_id"], "name": path.name}}
        await quota.reserve(self.inodes, account, 0, 1)
        await self.inodes.insert_one(pending)
        try:
            size, data, blocks, digest, _ = await self._write_body(id_, body, account)
            t = now_ms()
            await self.inodes.update_one({"_id": id_}, {"$set": {
                "size": size, "data": data, "blocks": blocks, "checksum": digest, "mtime": t, "atime": t}})
            return await self._flip(id_, parents[-1]["_id"], path, overwrite)
        except BaseException:
            await asyncio.shield(self._discard_pending(id_))
            raise

    def _may_replace(self, existing: Doc | None, path: Path, overwrite: bool) -> None:
        if existing is None:
            return
        if existing["type"] == "DIRECTORY":
            raise StorageError(Hadoop.ALREADY_EXISTS, f"{path} already exists as a directory")
        if not overwrite:
            raise StorageError(Hadoop.ALREADY_EXISTS, f"{path} for client already exists")

    async def _flip(self, id_: int, parent: int, path: Path, overwrite: bool) -> Doc:
        for _ in range(5):
            existing = await self.inodes.find_one({"parent": parent, "name": path.name}, STAT)
            self._may_replace(existing, path, overwrite)
            if existing is not None:
                await self._trash(existing)
            try:
                done = await self.inodes.find_one_and_update(
                    {"_id": id_, "state": "pending"},
                    {"$set": {"parent": parent, "name": path.name, "state": "live"},
                     "$unset": {"target": "", "writer": ""}}, return_document=True)
            except DuplicateKeyError:
                continue  # someone created the same name between our check and the flip
            if done is None:
                raise StorageError(Hadoop.IO, f"the upload of {path} was reclaimed before it completed")
            return dict(done)
        raise StorageError(Hadoop.ALREADY_EXISTS, f"{path} is being created concurrently")

    async def _write_body(self, inode: int, body: AsyncIterator[bytes], account: quota.Account,
                          head: bytes = b"") -> tuple[int, bytes | None, list[dict[str, Any]], str, int]:
        """Store `head` (bytes already counted) and the body: inline when the whole file fits,
        else blocks, each reserved before it is written. Returns size, inline data, blocks,
        md5, and the bytes reserved for inline data (the caller gives them back on failure)."""
        md5 = hashlib.md5(usedforsecurity=False)
        buffer = bytearray(head)
        head_left = len(head)
        blocks: list[dict[str, Any]] = []
        size = 0

        async def flush(chunk: bytes) -> None:
            nonlocal head_left, size
            counted = min(len(chunk), head_left)
            head_left -= counted
            md5.update(chunk)
            size += len(chunk)
            await quota.reserve(self.inodes, account, len(chunk) - counted, 0)
            block = await self.blocks.put(chunk, inode=inode, writer=self.writer,
                                          reserved=len(chunk) - counted,
                                          dataset=account.dataset, pdir=account.pdir)
            blocks.append({"id": block, "size": len(chunk)})

        try:
            async for piece in body:
                buffer += piece
                while len(buffer) >= self.block_bytes and len(buffer) > INLINE_LIMIT:
                    chunk = bytes(buffer[: self.block_bytes])
                    del buffer[: self.block_bytes]
                    await flush(chunk)
            rest = bytes(buffer)
            if not blocks and len(rest) <= INLINE_LIMIT:
                await quota.reserve(self.inodes, account, len(rest) - head_left, 0)
                md5.update(rest)
                return len(rest), rest, [], md5.hexdigest(), len(rest) - head_left
            if rest:
                await flush(rest)
        except BaseException:  # refused by a quota, client gone: nothing of it stays counted
            await asyncio.shield(self._discard_blocks([b["id"] for b in blocks], quota.NOWHERE, 0))
            raise
        return size, None, blocks, md5.hexdigest(), 0

    async def append(self, path: Path, body: AsyncIterator[bytes]) -> Doc:
        docs = await self.chain(path)
        if len(docs) != len(path.parts) + 1:
            raise not_found(str(path))
        doc = await self.inodes.find_one({"_id": docs[-1]["_id"]})
        if doc is None or doc["type"] != "FILE":
            raise StorageError(Hadoop.FILE_NOT_FOUND, f"{path} is not a file")
        account = self.account(docs, path)
        old_size = int(doc.get("size") or 0)
        old_blocks = list(doc.get("blocks") or [])
        inline = doc.get("data") is not None and not old_blocks
        written: list[dict[str, Any]] = []
        inline_reserved = 0
        try:
            # an inline file that grows takes its bytes (already counted) along as the head
            head = bytes(doc["data"]) if inline else b""
            size, data, written, _, inline_reserved = await self._write_body(doc["_id"], body, account, head)
            if not inline and data:
                # a file in blocks stays in blocks: the tail becomes one more block
                block = await self.blocks.put(data, inode=doc["_id"], writer=self.writer,
                                              reserved=inline_reserved, dataset=account.dataset,
                                              pdir=account.pdir)
                written, inline_reserved, data = [{"id": block, "size": len(data)}], 0, None
            elif not inline:
                data = None
            total = size if inline else old_size + size
            t = now_ms()
            done = await self.inodes.update_one(
                {"_id": doc["_id"], "size": old_size, "state": "live"},
                {"$set": {"size": total, "data": data, "blocks": written if inline else old_blocks + written,
                          "checksum": None, "mtime": t}})
            if done.matched_count == 0:
                raise StorageError(Hadoop.IO, f"{path} changed during the append: retry it")
        except BaseException:
            await asyncio.shield(self._discard_blocks([b["id"] for b in written], account, inline_reserved))
            raise
        doc.update(size=total, mtime=t)
        doc.pop("data", None)
        return doc

    # -- reading --------------------------------------------------------------------------
    async def open(self, path: Path, offset: int, length: int | None) -> tuple[Doc, AsyncIterator[bytes]]:
        doc = await self.stat(path)
        if doc["type"] != "FILE":
            raise StorageError(Hadoop.FILE_NOT_FOUND, f"Path is not a file: {path}")
        full = await self.inodes.find_one({"_id": doc["_id"]})
        if full is None:
            raise not_found(str(path))
        size = int(full.get("size") or 0)
        end = size if length is None else min(size, offset + length)
        return full, self._read(full, offset, end)

    async def _read(self, doc: Doc, start: int, end: int) -> AsyncIterator[bytes]:
        if start >= end:
            return
        if doc.get("data") is not None:
            yield bytes(doc["data"])[start:end]
            return
        position = 0
        for block in doc.get("blocks") or []:
            block_end = position + int(block["size"])
            if block_end > start and position < end:
                data = await self.blocks.get(block["id"])
                if data is None:
                    raise StorageError(Hadoop.IO, f"block {block['id']} of inode {doc['_id']} is missing")
                yield data[max(0, start - position): min(len(data), end - position)]
            position = block_end
            if position >= end:
                return

    async def checksum(self, path: Path) -> dict[str, Any]:
        full, body = await self.open(path, 0, None)
        digest = full.get("checksum")
        if not digest:
            md5 = hashlib.md5(usedforsecurity=False)
            async for piece in body:
                md5.update(piece)
            digest = md5.hexdigest()
            await self.inodes.update_one({"_id": full["_id"], "mtime": full.get("mtime")},
                                         {"$set": {"checksum": digest}})
        return {"FileChecksum": {"algorithm": "MD5", "bytes": digest, "length": 16}}

    async def content_summary(self, path: Path) -> dict[str, Any]:
        doc = await self.stat(path)
        dirs = files = length = 0
        frontier = [doc]
        while frontier:
            ids = []
            for d in frontier:
                if d["type"] == "DIRECTORY":
                    dirs += 1
                    ids.append(d["_id"])
                else:
                    files += 1
                    length += int(d.get("size") or 0)
            frontier = []
            for i in range(0, len(ids), 500):
                frontier += [c async for c in self.inodes.find(
                    {"parent": {"$in": ids[i:i + 500]}}, {"type": 1, "size": 1})]
        limits = doc.get("quota") or {}
        if path.dataset is None and path.project is not None and len(path.parts) == 2:
            limits = {"bytes": self.project_quota(path.project)}
        def q(v: Any) -> int:
            return -1 if v is None else int(v)
        return {"ContentSummary": {"directoryCount": dirs, "fileCount": files, "length": length,
                                   "quota": q(limits.get("files")), "spaceConsumed": length,
                                   "spaceQuota": q(limits.get("bytes")), "typeQuota": {}}}

    # -- changing inodes ------------------------------------------------------------------
    async def set_fields(self, path: Path, fields: dict[str, Any]) -> None:
        doc = await self.stat(path)
        if fields:
            await self.inodes.update_one({"_id": doc["_id"]}, {"$set": fields})

    async def set_quota(self, path: Path, *, files: int | None, nbytes: int | None) -> None:
        if path.dataset is None or len(path.parts) != 3:
            raise StorageError(Hadoop.UNSUPPORTED, "quotas are set on dataset roots /Projects/<p>/<d>")
        doc = await self.stat(path)
        limits = {"files": files, "bytes": nbytes}
        await self.inodes.update_one({"_id": doc["_id"]}, {"$set": {"quota": limits}})
        self.forget_top()

    async def rename(self, src: Path, dst: Path) -> bool:
        source = await self.chain(src)
        if len(source) != len(src.parts) + 1 or not src.parts:
            return False
        moving = source[-1]
        target = await self.chain(dst)
        if len(target) == len(dst.parts) + 1:  # dst exists: into it when a directory, else refuse
            if target[-1]["type"] != "DIRECTORY" or target[-1]["_id"] == moving["_id"]:
                return False
            parent_chain, name = target, src.name
            final = dst.child(src.name)
        elif len(target) == len(dst.parts) and target[-1]["type"] == "DIRECTORY":
            parent_chain, name, final = target, dst.name, dst
        else:
            return False  # the destination's parent does not exist
        if any(d["_id"] == moving["_id"] for d in parent_chain):
            return False  # into its own subtree
        if self.account(source, src).dataset != self.account(parent_chain, final).dataset:
            raise StorageError(Hadoop.UNSUPPORTED, f"rename of {src} to {dst} crosses datasets: copy it")
        if moving["type"] == "DIRECTORY":
            self.forget_top()
        try:
            done = await self.inodes.update_one(
                {"_id": moving["_id"], "parent": moving["parent"], "name": moving["name"]},
                {"$set": {"parent": parent_chain[-1]["_id"], "name": name, "mtime": now_ms()}})
        except DuplicateKeyError:
            return False
        return done.modified_count == 1

    async def delete(self, path: Path, *, recursive: bool) -> bool:
        docs = await self.chain(path)
        if len(docs) != len(path.parts) + 1:
            return False
        doc = docs[-1]
        if (doc["type"] == "DIRECTORY" and not recursive
                and await self.inodes.find_one({"parent": doc["_id"]}, {"_id": 1}) is not None):
            raise StorageError(Hadoop.NOT_EMPTY, f"`{path} is non empty': Directory is not empty")
        if not await self._trash(doc):
            return False
        if doc["type"] == "FILE":
            await self.reclaim_subtree(doc["_id"])
        return True

    async def _trash(self, doc: Doc) -> bool:
        """Make a subtree invisible in one update; the reclaimer removes it."""
        if doc["type"] == "DIRECTORY":
            self.forget_top()
        done = await self.inodes.update_one(
            {"_id": doc["_id"], "parent": doc["parent"], "name": doc["name"]},
            {"$set": {"parent": TRASH, "name": str(doc["_id"]), "state": "deleting"}})
        return done.modified_count == 1

    # -- reclaiming -----------------------------------------------------------------------
    async def reclaim_subtree(self, root: int) -> int:
        """Remove a trashed subtree bottom-up (resumable: each step is idempotent)."""
        removed = 0
        stack = [root]
        while stack:
            top = stack[-1]
            children = [c async for c in self.inodes.find({"parent": top}, {"_id": 1, "type": 1}).limit(500)]
            if children:
                stack.extend(c["_id"] for c in children)
                continue
            stack.pop()
            removed += await self._remove_inode(top)
        return removed

    async def _remove_inode(self, id_: int) -> int:
        doc = await self.inodes.find_one({"_id": id_}, STAT)
        if doc is None:
            return 0
        refs = [b["id"] for b in doc.get("blocks") or []]
        async for info in self.blocks.of_inode(id_):
            refs.append(info.id)
        await self.blocks.delete(refs)
        done = await self.inodes.delete_one({"_id": id_})
        if done.deleted_count == 1 and id_ != doc.get("dataset"):
            size = int(doc.get("size") or 0)
            await quota.release(self.inodes, doc.get("dataset"), doc.get("pdir"), size, 1)
        return done.deleted_count

    async def _discard_pending(self, id_: int) -> None:
        """An upload failed: its blocks and reservations go back, nothing was visible."""
        released = 0
        ids: list[ObjectId] = []
        async for info in self.blocks.of_inode(id_):
            released += info.reserved
            ids.append(info.id)
        doc = await self.inodes.find_one_and_delete({"_id": id_, "state": "pending"})
        await self.blocks.delete(ids)
        if doc is not None:
            inline = int(doc.get("size") or 0) if not doc.get("blocks") else 0
            await quota.release(self.inodes, doc.get("dataset"), doc.get("pdir"), released + inline, 1)

    async def _discard_blocks(self, ids: list[ObjectId], account: quota.Account, inline: int) -> None:
        for id_ in ids:
            await self._release_block(id_)
        await quota.release(self.inodes, account.dataset, account.pdir, inline, 0)

    async def _release_block(self, block: ObjectId) -> None:
        info = await self.blocks.take(block)
        if info is not None:
            await quota.release(self.inodes, info.dataset, info.pdir, info.reserved, 0)

    async def dead_writers(self) -> set[str] | None:
        """Writers whose heartbeat stopped; None if this one's own is missing (skip a round)."""
        cutoff = datetime.now(UTC) - WRITER_DEAD_AFTER
        alive = {d["_id"] async for d in self.writers.find({"seen": {"$gte": cutoff}}, {"_id": 1})}
        if self.writer not in alive:
            return None
        return alive

    async def reclaim_once(self) -> int:
        """One round of the reclaimer: trashed subtrees, uploads and appends of dead writers."""
        await self.heartbeat()
        work = 0
        async for doc in self.inodes.find({"parent": TRASH}, {"_id": 1}):
            work += await self.reclaim_subtree(doc["_id"])
        alive = await self.dead_writers()
        if alive is None:
            return work
        async for doc in self.inodes.find({"parent": PENDING}, {"_id": 1, "writer": 1}):
            if doc.get("writer") not in alive:
                await self._discard_pending(doc["_id"])
                work += 1
        self.rounds += 1
        orphans = await self.orphan_blocks(alive) if self.rounds % 5 == 1 else []
        for block in orphans:
            await self._release_block(block)
        await self.writers.delete_many({"seen": {"$lt": datetime.now(UTC) - 10 * WRITER_DEAD_AFTER}})
        return work + len(orphans)

    async def orphan_blocks(self, alive: set[str]) -> list[ObjectId]:
        """Blocks no inode references, written by a writer that is gone."""
        by_inode: dict[int, list[ObjectId]] = {}
        async for info in self.blocks.scan():
            if info.writer not in alive:
                by_inode.setdefault(info.inode, []).append(info.id)
        orphans: list[ObjectId] = []
        for inode, ids in by_inode.items():
            doc = await self.inodes.find_one({"_id": inode}, {"blocks": 1, "state": 1})
            if doc is None:
                orphans += ids
                continue
            referenced = {b["id"] for b in doc.get("blocks") or []}
            orphans += [i for i in ids if i not in referenced and doc.get("state") != "pending"]
        return orphans

    async def reclaim_forever(self, interval: float = 2.0) -> None:
        while True:
            try:
                await self.reclaim_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: try again next round
                log.warning("reclaim round failed: %s", exc)
            await asyncio.sleep(interval)


def require_non_negative(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise illegal(f'Invalid value for webhdfs parameter "{name}": {value} is negative')
