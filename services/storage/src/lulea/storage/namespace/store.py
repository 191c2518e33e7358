"""The namespace: every WebHDFS operation as a few single-document MongoDB operations, each
addressed by an exact `_id` (the only lookup FerretDB 1.24 answers from an index).

No operation needs a multi-document transaction (FerretDB has none):
- a small file (at most 64 KiB) is one insert of its complete entry: visible only when whole;
- a larger file's blocks are written first, under an `up:<ino>` journal entry, and the file
  becomes visible by one insert of its entry after the last byte is stored;
- a rename, a delete and an overwrite are journalled: the journal entry `mv:`/`rm:<ino>` is
  written, the entry is marked with it (`tx`), and one update of the journal entry (`phase:
  committed`) is the instant the change happens for every reader: a reader that meets a marked
  entry asks the journal entry. Afterwards the step is finished (the old key removed, the
  subtree reclaimed) by whoever gets there first, idempotently;
- an append writes its blocks past the end, holding the entry (`ap:<ino>`), and commits them by
  one conditional update of the entry.
The journal is small (one entry per operation in flight), so the reclaimer reads it whole every
round: a dead writer's entries are rolled back (uncommitted) or forward (committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lulea.storage.namespace import quota
from lulea.storage.namespace.blocks import BlockStore, MongoBlockStore
from lulea.storage.namespace.busy import retrying
from lulea.storage.namespace.errors import Hadoop, StorageError, illegal, not_found
from lulea.storage.namespace.inodes import (
    INLINE_LIMIT,
    PROJECTS_DIR,
    ROOT,
    ROOT_KEY,
    STAT,
    Doc,
    block_key,
    directory,
    key,
    new_id,
    now_ms,
)
from lulea.storage.namespace.paths import PROJECTS, Path
from lulea.storage.namespace.quota import Hold

log = logging.getLogger("lulea.storage.namespace")
WRITER_DEAD_AFTER = timedelta(seconds=15)
TOP_CACHE_SECONDS = 2.0
TOP_DEPTH = 3  # `/Projects/<p>/<d>`: made and removed only by the platform
RECLAIM_CONCURRENCY = 16
RECLAIM_BATCH = 200  # entries given back by one move of the counters (their names ride on it)
ProjectQuota = Callable[[str], int | None]
FREE = {"tx": {"$exists": False}}  # an entry no journalled operation holds


@dataclass(frozen=True)
class NewFile:
    owner: str
    group: str
    permission: str = "644"
    replication: int = 1
    block_size: int = 128 * 1024 * 1024


def busy(path: Path | str) -> StorageError:
    return StorageError(Hadoop.RETRIABLE, f"{path} is being changed by another operation: retry")


def _summary(doc: Doc) -> Doc:
    """What the journal keeps of an entry it removes (the entry may be gone when it is used)."""
    return {"type": doc["type"], "size": int(doc.get("size") or 0), "nblk": int(doc.get("nblk") or 0),
            "dataset": doc.get("dataset"), "pdir": doc.get("pdir")}


def _gone(doc: Doc) -> Hold:
    """The name of an entry's give-back while a subtree is reclaimed."""
    return Hold(f"t{int(doc['ino'])}", str(doc["_id"]), int(doc["ino"]))


def _own_holds(ino: int) -> tuple[str, ...]:
    """The names an entry's own creation may have left (stale once the entry is gone)."""
    return (f"s{ino}", f"u{ino}", f"a{ino}")


class Namespace:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, blocks: BlockStore | None = None,
                 project_quota: ProjectQuota = lambda _p: None, block_bytes: int = 4 * 1024 * 1024) -> None:
        self.db = db
        self.inodes = retrying(db["inodes"])
        self.writers = retrying(db["writers"])
        self.journal = retrying(db["journal"])
        self.blocks: BlockStore = blocks if blocks is not None else MongoBlockStore(db)
        self.project_quota = project_quota
        self.block_bytes = block_bytes
        self.writer = uuid.uuid4().hex
        self.active: set[str] = set()  # journal entries this process is working on right now
        self.holds = quota.Holds(self.writer)
        self._alive_seen: set[str] | None = None  # the writers alive at the last look at holds
        self._holds_again = False
        # the top of the tree (/, /Projects, projects, dataset roots) changes only when the
        # platform adds or removes a dataset: a short cache saves most lookups of a path
        self.top: dict[tuple[str, ...], tuple[float, Doc]] = {}

    # -- set-up ---------------------------------------------------------------------------
    async def create_indexes(self) -> None:
        """No secondary index: every lookup is by `_id` (FerretDB 1.24 would not use one)."""
        if isinstance(self.blocks, MongoBlockStore):
            await self.blocks.create_indexes()
        for doc in (directory(ROOT, -1, "", owner="lulea", group="lulea"),
                    directory(PROJECTS_DIR, ROOT, PROJECTS, owner="lulea", group="lulea")):
            with contextlib.suppress(DuplicateKeyError):
                await self.inodes.insert_one(doc)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        await self.writers.update_one({"_id": self.writer}, {"$set": {"seen": datetime.now(UTC)}},
                                      upsert=True)

    async def ping(self) -> None:
        await self.db.command("ping")

    # -- visibility -----------------------------------------------------------------------
    async def _committed(self, jid: str) -> bool:
        entry = await self.journal.find_one({"_id": jid}, {"phase": 1})
        return entry is not None and entry.get("phase") == "committed"

    async def visible(self, doc: Doc | None) -> Doc | None:
        """`doc` as a reader sees it: an entry a journalled operation marked is there or not
        according to whether that operation committed."""
        if doc is None or doc.get("state") != "live":
            return None
        tx = doc.get("tx")
        if tx is None or tx.get("role") == "hold":
            return doc
        committed = await self._committed(str(tx["id"]))
        if tx.get("role") == "dst":
            return doc if committed else None
        return None if committed else doc

    async def get(self, key_: str, projection: dict[str, int] | None = STAT) -> Doc | None:
        return await self.visible(await self.inodes.find_one({"_id": key_}, projection))

    # -- lookups --------------------------------------------------------------------------
    async def chain(self, path: Path, *, full: bool = False) -> list[Doc]:
        """The inodes from `/` down to `path`, stopping at the first that is missing: one
        lookup by `_id` per component below the cached top (`/` and the TOP_DEPTH levels under it),
        the last with its data if `full`."""
        docs: list[Doc] = []
        now = time.monotonic()
        current = self._top((), now)
        if current is None:  # `/` too is the platform's: cached like the levels below it
            current = await self.get(ROOT_KEY)
            if current is None:
                return docs
            self.top[()] = (now + TOP_CACHE_SECONDS, current)
        docs.append(current)
        for depth, name in enumerate(path.parts, start=1):
            if current["type"] != "DIRECTORY":
                break
            key_ = path.parts[:depth]
            cached = self._top(key_, now) if depth <= TOP_DEPTH else None
            projection = None if full and depth == len(path.parts) else STAT
            found = cached or await self.get(key(int(current["ino"]), name), projection)
            if found is None:
                break
            current = found
            if depth <= TOP_DEPTH and cached is None and current["type"] == "DIRECTORY":
                self.top[key_] = (now + TOP_CACHE_SECONDS, current)
            docs.append(current)
        return docs

    def _top(self, key_: tuple[str, ...], now: float) -> Doc | None:
        hit = self.top.get(key_)
        if hit is None or hit[0] < now:
            return None
        return hit[1]

    def forget_top(self) -> None:
        self.top.clear()

    async def stat(self, path: Path, *, full: bool = False) -> Doc:
        docs = await self.chain(path, full=full)
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

    async def children(self, ino: int, projection: dict[str, int] | None = STAT) -> list[Doc]:
        """The visible entries of a directory, by name. FerretDB 1.24 answers no range of `_id`
        from its index, so this is `find({parent})`: the filter runs inside PostgreSQL (pushed
        down), over the table; see docs/storage.md."""
        found = [d async for d in self.inodes.find({"parent": str(ino)}, projection)]
        shown = [d for d in found if d.get("state") == "live" and "tx" not in d]
        for doc in found:
            if "tx" in doc and await self.visible(doc) is not None:
                shown.append(doc)
        shown.sort(key=lambda d: str(d["name"]))
        return shown

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
            if parent["type"] != "DIRECTORY":
                raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Parent path is not a directory: {here.parent}")
            account = self.account(docs, here)
            dataset = account.dataset if depth > 3 else None
            doc = directory(new_id(), int(parent["ino"]), here.name, owner=owner, group=group,
                            permission=permission, dataset=dataset, pdir=account.pdir)
            if depth == 2 and here.in_projects:
                doc["usage"] = {"bytes": 0}
            if depth == 3 and here.in_projects:
                doc.update(usage={"bytes": 0, "files": 0}, quota={}, dataset=doc["_id"])
            hold = Hold(f"s{doc['ino']}", doc["_id"], int(doc["ino"]))
            await self.holds.reserve(self.inodes, account if depth > 3 else quota.NOWHERE, 0, 1, hold)
            try:
                await self.inodes.insert_one(doc)
            except DuplicateKeyError:  # made meanwhile by someone else: use theirs
                await self.holds.release(self.inodes, dataset, None, 0, 1, unset=(hold.name,))
                found = await self.get(doc["_id"])
                if found is None:
                    raise busy(here) from None
                if found["type"] != "DIRECTORY":
                    raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Not a directory: {here}") from None
                doc = found
            except BaseException:
                self.holds.abandon(dataset, None, hold.name)
                raise
            else:
                self.holds.settle(dataset, None, hold.name)
            docs.append(doc)
        return docs

    async def listing(self, path: Path, *, start_after: str | None = None,
                      limit: int | None = None) -> tuple[Doc, list[Doc], int]:
        """The inode and its children by name after `start_after`, and how many remain after
        this page."""
        doc = await self.stat(path)
        if doc["type"] != "DIRECTORY":
            return doc, [doc], 0
        children = await self.children(int(doc["ino"]))
        if start_after:
            children = [c for c in children if str(c["name"]) > start_after]
        remaining = 0
        if limit is not None and len(children) > limit:
            remaining = len(children) - limit
            children = children[:limit]
        return doc, children, remaining

    # -- writing files --------------------------------------------------------------------
    async def create(self, path: Path, body: AsyncIterator[bytes], new: NewFile, *,
                     overwrite: bool) -> Doc:
        """Write a whole file; visible only once complete, never partly."""
        docs = await self.chain(path.parent)
        stream = aiter(body)
        head = bytearray()
        ended = False
        while len(head) <= INLINE_LIMIT:
            try:
                head += await anext(stream)
            except StopAsyncIteration:
                ended = True
                break
        if not ended and len(docs) == len(path.parts) and docs[-1]["type"] == "DIRECTORY":
            # before streaming a large body: fail early if it could not be published (a small
            # file's insert finds out by itself, with no lookup first)
            self._may_replace(await self.get(key(int(docs[-1]["ino"]), path.name)), path, overwrite)
        parents = await self._make_missing(path.parent, docs, owner=new.owner, group=new.group)
        parent = parents[-1]
        if parent["type"] != "DIRECTORY":
            raise StorageError(Hadoop.NOT_A_DIRECTORY, f"Parent path is not a directory: {path.parent}")
        account = self.account(parents, path)
        ino = new_id()
        t = now_ms()
        doc: Doc = {"_id": key(int(parent["ino"]), path.name), "ino": ino, "parent": str(parent["ino"]),
                    "name": path.name, "type": "FILE", "state": "live", "owner": new.owner,
                    "group": new.group, "permission": new.permission, "replication": new.replication,
                    "blockSize": new.block_size, "dataset": account.dataset, "pdir": account.pdir,
                    "mtime": t, "atime": t}
        if ended:  # a small file: one insert of the whole entry, its bytes inside it
            data = bytes(head)
            doc.update(size=len(data), data=data, blocks=[], nblk=0,
                       checksum=hashlib.md5(data, usedforsecurity=False).hexdigest())
            hold = Hold(f"s{ino}", doc["_id"], ino)
            await self.holds.reserve(self.inodes, account, len(data), 1, hold)
            try:
                published = await self._publish(doc, path, overwrite)
            except StorageError:  # not published (it exists, or stays busy)
                await asyncio.shield(self.holds.release(self.inodes, account.dataset, account.pdir,
                                                        len(data), 1, unset=(hold.name,)))
                raise
            except BaseException:  # published or not, nobody knows: the reclaimer looks
                self.holds.abandon(account.dataset, account.pdir, hold.name)
                raise
            self.holds.settle(account.dataset, account.pdir, hold.name)
            return published
        jid = f"up:{ino}"
        hold = Hold(f"u{ino}", doc["_id"], ino)
        self.active.add(jid)
        try:
            await self.journal.insert_one({"_id": jid, "kind": "upload", "phase": "open",
                                           "writer": self.writer, "key": doc["_id"], "ino": ino,
                                           "dataset": account.dataset, "pdir": account.pdir, "holds": 1})
            try:
                await self.holds.reserve(self.inodes, account, 0, 1, hold)
                size, blocks, digest = await self._write_blocks(ino, 0, bytes(head), stream, account, hold)
                doc.update(size=size, data=None, blocks=blocks, nblk=len(blocks), checksum=digest,
                           mtime=now_ms())
                done = await self._publish(doc, path, overwrite)
            except BaseException:
                await asyncio.shield(self._discard_upload(jid, ino))
                raise
            self.holds.settle(account.dataset, account.pdir, hold.name)
            await self.journal.delete_one({"_id": jid})
            return done
        finally:
            self.active.discard(jid)

    def _may_replace(self, existing: Doc | None, path: Path, overwrite: bool) -> None:
        if existing is None:
            return
        if existing["type"] == "DIRECTORY":
            raise StorageError(Hadoop.ALREADY_EXISTS, f"{path} already exists as a directory")
        if not overwrite:
            raise StorageError(Hadoop.ALREADY_EXISTS, f"{path} for client already exists")

    async def _publish(self, doc: Doc, path: Path, overwrite: bool) -> Doc:
        """Make a complete file visible: insert its entry, or replace the file there."""
        for attempt in range(20):
            try:
                await self.inodes.insert_one(doc)
                return doc
            except DuplicateKeyError:
                pass
            existing = await self.get(doc["_id"])
            if existing is not None:
                self._may_replace(existing, path, overwrite)
                if await self._replace(existing, doc):
                    return doc
            await asyncio.sleep(0.01 * (attempt + 1))  # a rename or delete of that name finishing
        raise busy(path)

    async def _replace(self, old: Doc, new: Doc) -> bool:
        """Overwrite: the entry takes the new file in one update; the old file's bytes go."""
        ino = int(old["ino"])
        jid = f"rm:{ino}"
        entry = {"_id": jid, "kind": "replace", "phase": "open", "writer": self.writer, "key": old["_id"],
                 "ino": ino, "new": new["ino"], **_summary(old)}
        self.active.add(jid)
        try:
            if not await self._journal_and_hold(entry, old, "hold"):
                return False  # someone else is removing it, or it changed
            replaced = await self.inodes.replace_one({"_id": old["_id"], "tx.id": jid}, new)
            if replaced.matched_count == 0:  # not ours after all: leave it as it was
                await self.journal.delete_one({"_id": jid})
                return False
            await self.journal.update_one({"_id": jid}, {"$set": {"phase": "committed"}})
            await self._after_commit(self._finish_removal({**entry, "phase": "committed"}))
            return True
        finally:
            self.active.discard(jid)

    async def _write_blocks(self, ino: int, start: int, first: bytes, rest: AsyncIterator[bytes],
                            account: quota.Account, hold: Hold,
                            counted: int = 0) -> tuple[int, list[Doc], str]:
        """`first` then `rest` as blocks `<ino>#<start>...` of block_bytes each, every block's
        bytes reserved under `hold` before it is stored (`counted` bytes at the front are
        already counted: an inline file's bytes moving into its first block). On failure the
        blocks written go at once; the hold (what they reserved) is the caller's to give back."""
        md5 = hashlib.md5(usedforsecurity=False)
        blocks: list[Doc] = []
        buffer = bytearray(first)
        credit = counted
        size = 0

        async def flush(chunk: bytes) -> None:
            nonlocal credit, size
            free = min(credit, len(chunk))
            credit -= free
            need = len(chunk) - free
            await self.holds.reserve(self.inodes, account, need, 0, hold)
            block = await self.blocks.put(chunk, inode=ino, index=start + len(blocks), writer=self.writer,
                                          reserved=need, dataset=account.dataset, pdir=account.pdir)
            blocks.append({"id": block, "size": len(chunk)})
            size += len(chunk)
            md5.update(chunk)

        try:
            while True:
                while len(buffer) >= self.block_bytes:
                    chunk = bytes(buffer[: self.block_bytes])
                    del buffer[: self.block_bytes]
                    await flush(chunk)
                try:
                    buffer += await anext(rest)
                except StopAsyncIteration:
                    break
            if buffer:
                await flush(bytes(buffer))
        except BaseException:  # refused by a quota, client gone: none of it stays
            await asyncio.shield(self._drop_blocks(ino, start, start + len(blocks) + 1))
            raise
        return size, blocks, md5.hexdigest()

    async def _drop_blocks(self, ino: int, start: int, end: int | None = None) -> int:
        """Remove blocks `start..end-1` of `ino` (to the first missing one if `end` is None),
        last first so an interrupted drop leaves them without a hole. What they reserved is
        given back with their operation's hold, not here."""
        if end is None:
            end = start
            while await self.blocks.exists(block_key(ino, end)):
                end += 1
        dropped = 0
        for index in reversed(range(start, end)):
            if await self.blocks.delete(block_key(ino, index)):
                dropped += 1
        return dropped

    async def _discard_upload(self, jid: str, ino: int) -> None:
        """An upload that will never be published: its blocks go, and its hold (the file and
        the blocks' bytes) is given back. One that was published after all (its insert's answer
        lost) is left as it is."""
        claimed = await self.journal.find_one_and_update(
            {"_id": jid, "phase": {"$in": ["open", "discarding"]}}, {"$set": {"phase": "discarding"}},
            return_document=True)
        if claimed is None:
            return  # published and since removed or renamed: not ours to take
        dataset, pdir, name = claimed.get("dataset"), claimed.get("pdir"), f"u{ino}"
        current = await self.inodes.find_one({"_id": claimed["key"]}, {"ino": 1})
        if current is not None and current.get("ino") == ino:
            self.holds.settle(dataset, pdir, name)
            self._holds_again = True  # a marker another writer left is removed by recover_holds
        elif claimed.get("holds"):
            await self._drop_blocks(ino, 0)
            await self.holds.release_holds(self.inodes, dataset, pdir, name)
        else:  # written by a version before holds (a rolling upgrade): each block says what it reserved
            await self._take_blocks(ino, 0)
            done = await self.journal.delete_one({"_id": jid})
            if done.deleted_count == 1:
                await self.holds.release(self.inodes, dataset, pdir, 0, 1)
            return
        await self.journal.delete_one({"_id": jid})

    async def _take_blocks(self, ino: int, start: int) -> None:
        """Blocks `start...` of `ino` removed last first, each giving back what it says it
        reserved: for an operation journalled by a version before holds."""
        end = start
        while await self.blocks.exists(block_key(ino, end)):
            end += 1
        for index in reversed(range(start, end)):
            info = await self.blocks.take(block_key(ino, index))
            if info is not None:
                await self.holds.release(self.inodes, info.dataset, info.pdir, info.reserved, 0)

    async def append(self, path: Path, body: AsyncIterator[bytes]) -> Doc:
        docs = await self.chain(path, full=True)
        if len(docs) != len(path.parts) + 1:
            raise not_found(str(path))
        doc = docs[-1]
        if doc["type"] != "FILE":
            raise StorageError(Hadoop.FILE_NOT_FOUND, f"{path} is not a file")
        if "tx" in doc:
            raise busy(path)
        account = self.account(docs, path)
        ino, entry_key = int(doc["ino"]), str(doc["_id"])
        old_size = int(doc.get("size") or 0)
        old_blocks = list(doc.get("blocks") or [])
        nblk = int(doc.get("nblk") or 0)
        head = bytes(doc["data"]) if doc.get("data") is not None and not old_blocks else None
        jid = f"ap:{ino}"
        hold = Hold(f"a{ino}", entry_key, ino)
        self.active.add(jid)
        try:
            try:
                await self.journal.insert_one({"_id": jid, "kind": "append", "phase": "open",
                                               "writer": self.writer, "key": entry_key, "ino": ino,
                                               "from": nblk, "dataset": account.dataset,
                                               "pdir": account.pdir, "holds": 1})
            except DuplicateKeyError:
                raise busy(path) from None
            held = await self.inodes.update_one({"_id": entry_key, "ino": ino, "size": old_size, **FREE},
                                                {"$set": {"tx": {"id": jid, "role": "hold"}}})
            if held.modified_count == 0:
                await self.journal.delete_one({"_id": jid})
                raise busy(path)
            try:
                update = await self._append_body(ino, head, nblk, body, account, hold)
                total = old_size + int(update.pop("added"))
                if head is None:
                    update["blocks"] = old_blocks + update["blocks"]
                    update["nblk"] = nblk + int(update["nblk"])
                t = now_ms()
                update.update(size=total, checksum=None, mtime=t)
                done = await self.inodes.update_one({"_id": entry_key, "tx.id": jid},
                                                    {"$set": update, "$unset": {"tx": ""}})
                if done.matched_count == 0:
                    raise busy(path)
            except BaseException:
                await asyncio.shield(self._abort_append(jid, entry_key, ino, nblk, account.dataset,
                                                        account.pdir))
                raise
            self.holds.settle(account.dataset, account.pdir, hold.name)
            await self.journal.delete_one({"_id": jid})
        finally:
            self.active.discard(jid)
        doc.update(size=total, mtime=t)
        doc.pop("data", None)
        return doc

    async def _append_body(self, ino: int, head: bytes | None, nblk: int, body: AsyncIterator[bytes],
                           account: quota.Account, hold: Hold) -> Doc:
        """The appended bytes stored; returns the fields the commit sets (and `added`)."""
        stream = aiter(body)
        if head is not None:  # an inline file: stays inline while it fits, else moves into blocks
            grown = bytearray(head)
            while len(grown) <= INLINE_LIMIT:
                try:
                    grown += await anext(stream)
                except StopAsyncIteration:
                    added = len(grown) - len(head)
                    await self.holds.reserve(self.inodes, account, added, 0, hold)
                    return {"data": bytes(grown), "blocks": [], "nblk": 0, "added": added}
            size, blocks, _ = await self._write_blocks(ino, 0, bytes(grown), stream, account, hold,
                                                       counted=len(head))
            return {"data": None, "blocks": blocks, "nblk": len(blocks), "added": size - len(head)}
        size, blocks, _ = await self._write_blocks(ino, nblk, b"", stream, account, hold)
        return {"blocks": blocks, "nblk": len(blocks), "added": size}

    async def _abort_append(self, jid: str, entry_key: str, ino: int, start: int,
                            dataset: str | None, pdir: str | None, legacy: bool = False) -> None:
        """An append that did not commit: its blocks (past the committed ones) go, its hold is
        given back, and the entry is let go. One that committed (its answer lost) keeps all:
        its hold is only a name now."""
        name = f"a{ino}"
        entry = await self.inodes.find_one({"_id": entry_key}, STAT)
        if entry is not None and (entry.get("tx") or {}).get("id") == jid:
            if legacy:  # journalled before holds: each block says what it reserved
                await self._take_blocks(ino, int(entry.get("nblk") or 0))
            else:
                await self._drop_blocks(ino, int(entry.get("nblk") or 0))
                await self.holds.release_holds(self.inodes, dataset, pdir, name)
            await self.inodes.update_one({"_id": entry_key, "tx.id": jid}, {"$unset": {"tx": ""}})
        else:
            if entry is None or int(entry.get("ino") or -1) != ino:
                await self._drop_blocks(ino, start)  # removed meanwhile: its blocks past `start` are ours
            self.holds.settle(dataset, pdir, name)
            self._holds_again = True
        await self.journal.delete_one({"_id": jid})

    # -- reading --------------------------------------------------------------------------
    async def open(self, path: Path, offset: int, length: int | None) -> tuple[Doc, AsyncIterator[bytes]]:
        doc = await self.stat(path, full=True)
        if doc["type"] != "FILE":
            raise StorageError(Hadoop.FILE_NOT_FOUND, f"Path is not a file: {path}")
        size = int(doc.get("size") or 0)
        end = size if length is None else min(size, offset + length)
        return doc, self._read(doc, offset, end)

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
                data = await self.blocks.get(str(block["id"]))
                if data is None:
                    raise StorageError(Hadoop.IO, f"block {block['id']} of inode {doc['ino']} is missing")
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
            await self.inodes.update_one({"_id": full["_id"], "ino": full["ino"], "mtime": full.get("mtime"),
                                          **FREE}, {"$set": {"checksum": digest}})
        return {"FileChecksum": {"algorithm": "MD5", "bytes": digest, "length": 16}}

    async def content_summary(self, path: Path) -> dict[str, Any]:
        doc = await self.stat(path)
        dirs = files = length = 0
        frontier = [doc]
        while frontier:
            below: list[Doc] = []
            for d in frontier:
                if d["type"] == "DIRECTORY":
                    dirs += 1
                    below += await self.children(int(d["ino"]))
                else:
                    files += 1
                    length += int(d.get("size") or 0)
            frontier = below
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
            # a dataset root or project directory carries usage counters: FerretDB 1.x writes
            # the whole document back, so no counter may move meanwhile (quota.counter_lock)
            async with quota.counter_lock(str(doc["_id"])) if "usage" in doc else contextlib.nullcontext():
                done = await self.inodes.update_one({"_id": doc["_id"], "ino": doc["ino"], **FREE},
                                                    {"$set": fields})
            if done.matched_count == 0:
                raise busy(path)
            if doc["type"] == "DIRECTORY":
                self.forget_top()

    async def set_quota(self, path: Path, *, files: int | None, nbytes: int | None) -> None:
        if path.dataset is None or len(path.parts) != 3:
            raise StorageError(Hadoop.UNSUPPORTED, "quotas are set on dataset roots /Projects/<p>/<d>")
        doc = await self.stat(path)
        limits = {"files": files, "bytes": nbytes}
        # the root's usage counters are in the same document, which FerretDB 1.x writes back
        # whole: under the counters' lock, and not at all when the limits are already these
        # (the dataset operator sets them again at every resync)
        async with quota.counter_lock(str(doc["_id"])):
            current = await self.inodes.find_one({"_id": doc["_id"]}, {"quota": 1})
            if current is not None and current.get("quota") == limits:
                return
            await self.inodes.update_one({"_id": doc["_id"]}, {"$set": {"quota": limits}})
        self.forget_top()

    async def rename(self, src: Path, dst: Path) -> bool:
        source = await self.chain(src)
        if len(source) != len(src.parts) + 1 or not src.parts:
            return False
        moving = source[-1]
        target = await self.chain(dst)
        if len(target) == len(dst.parts) + 1:  # dst exists: into it when a directory, else refuse
            if target[-1]["type"] != "DIRECTORY" or target[-1]["ino"] == moving["ino"]:
                return False
            parent_chain, name = target, src.name
            final = dst.child(src.name)
        elif len(target) == len(dst.parts) and target[-1]["type"] == "DIRECTORY":
            parent_chain, name, final = target, dst.name, dst
        else:
            return False  # the destination's parent does not exist
        if any(d["ino"] == moving["ino"] for d in parent_chain):
            return False  # into its own subtree
        if self.account(source, src).dataset != self.account(parent_chain, final).dataset:
            raise StorageError(Hadoop.UNSUPPORTED, f"rename of {src} to {dst} crosses datasets: copy it")
        parent_ino = int(parent_chain[-1]["ino"])
        dst_key = key(parent_ino, name)
        if dst_key == moving["_id"]:
            return False
        ino = int(moving["ino"])
        jid = f"mv:{ino}"
        self.active.add(jid)
        try:
            try:
                await self.journal.insert_one({"_id": jid, "kind": "rename", "phase": "open",
                                               "writer": self.writer, "key": moving["_id"], "dst": dst_key,
                                               "ino": ino})
            except DuplicateKeyError:
                return False  # being renamed by someone else
            await self.journal.delete_one({"_id": f"up:{ino}"})
            held = await self.inodes.update_one({"_id": moving["_id"], "ino": ino, **FREE},
                                                {"$set": {"tx": {"id": jid, "role": "src"}}})
            if held.modified_count == 0:
                await self.journal.delete_one({"_id": jid})
                return False
            full = await self.inodes.find_one({"_id": moving["_id"], "tx.id": jid})
            if full is None:
                await self._abort_rename(jid, str(moving["_id"]), dst_key)
                return False
            full.update({"_id": dst_key, "parent": str(parent_ino), "name": name, "mtime": now_ms(),
                         "tx": {"id": jid, "role": "dst"}})
            try:
                await self.inodes.insert_one(full)
            except DuplicateKeyError:
                await self._abort_rename(jid, str(moving["_id"]), dst_key)
                return False
            if moving["type"] == "DIRECTORY":
                self.forget_top()
            await self.journal.update_one({"_id": jid}, {"$set": {"phase": "committed"}})  # renamed now
            await self._after_commit(self._finish_rename(jid, str(moving["_id"]), dst_key))
            return True
        finally:
            self.active.discard(jid)

    async def _finish_rename(self, jid: str, src: str, dst: str) -> None:
        await self.inodes.update_one({"_id": dst, "tx.id": jid}, {"$unset": {"tx": ""}})
        await self.inodes.delete_one({"_id": src, "tx.id": jid})
        await self.journal.delete_one({"_id": jid})

    async def _abort_rename(self, jid: str, src: str, dst: str) -> None:
        await self.inodes.delete_one({"_id": dst, "tx.id": jid})
        await self.inodes.update_one({"_id": src, "tx.id": jid}, {"$unset": {"tx": ""}})
        await self.journal.delete_one({"_id": jid})

    async def delete(self, path: Path, *, recursive: bool) -> bool:
        docs = await self.chain(path)
        if len(docs) != len(path.parts) + 1:
            return False
        doc = docs[-1]
        if (doc["type"] == "DIRECTORY" and not recursive
                and await self.inodes.find_one({"parent": str(doc["ino"])}, {"_id": 1}) is not None):
            raise StorageError(Hadoop.NOT_EMPTY, f"`{path} is non empty': Directory is not empty")
        return await self._remove(doc)

    async def _remove(self, doc: Doc) -> bool:
        """A delete: invisible to every reader at the journal's commit, reclaimed after (a
        directory's subtree by the reclaimer, resumably)."""
        ino = int(doc["ino"])
        jid = f"rm:{ino}"
        entry = {"_id": jid, "kind": "delete", "phase": "open", "writer": self.writer, "key": doc["_id"],
                 "ino": ino, **_summary(doc)}
        self.active.add(jid)
        try:
            if not await self._journal_and_hold(entry, doc, "src"):
                return False  # being removed already, or it changed
            if doc["type"] == "DIRECTORY":
                self.forget_top()
            await self.journal.update_one({"_id": jid}, {"$set": {"phase": "committed"}})  # deleted now
            if doc["type"] == "FILE":
                await self._after_commit(self._finish_removal({**entry, "phase": "committed"}))
            else:  # the subtree is the reclaimer's
                await self._after_commit(self.inodes.delete_one({"_id": doc["_id"], "tx.id": jid}))
            return True
        finally:
            self.active.discard(jid)

    async def _journal_and_hold(self, entry: Doc, doc: Doc, role: str) -> bool:
        """Open `entry` in the journal, drop a finished upload's leftover entry of the same
        inode, and mark `doc` as held by it, unchanged since it was read; False (and the entry
        taken back) when someone else journalled it first or `doc` changed meanwhile."""
        jid, ino = entry["_id"], entry["ino"]
        try:
            await self.journal.insert_one(entry)
        except DuplicateKeyError:
            return False
        await self.journal.delete_one({"_id": f"up:{ino}"})
        held = await self.inodes.update_one(
            {"_id": doc["_id"], "ino": ino, "size": doc.get("size"), **FREE},
            {"$set": {"tx": {"id": jid, "role": role}}})
        if held.modified_count == 0:
            await self.journal.delete_one({"_id": jid})
            return False
        return True

    # -- reclaiming -----------------------------------------------------------------------
    async def _after_commit(self, step: Awaitable[Any]) -> None:
        """A step after an operation's commit: the operation has happened whatever becomes of
        it, so a failure is left to the reclaimer (which finishes committed entries) instead of
        being answered as the operation's failure."""
        try:
            await step
        except Exception as exc:
            log.warning("finishing a committed operation failed (the reclaimer finishes it): %s", exc)

    async def _finish_removal(self, entry: Doc) -> int:
        """Roll a committed delete or replace forward: every step is idempotent, and the quota
        goes back once, with the deletion of the journal entry (named on the counters first, so
        that a kill between the two is seen: recover_holds)."""
        jid, ino = str(entry["_id"]), int(entry["ino"])
        if entry["kind"] == "delete":
            await self.inodes.delete_one({"_id": entry["key"], "tx.id": jid})
        removed = 0
        if entry["type"] == "DIRECTORY":
            removed = await self.reclaim_subtree(ino)
        else:
            await self._delete_blocks(ino, int(entry.get("nblk") or 0))
        counted = entry["key"] != entry.get("dataset")
        dataset, pdir, size = entry.get("dataset"), entry.get("pdir"), int(entry.get("size") or 0)
        hold = Hold(f"r{ino}", str(entry["key"]), ino)
        if not counted:
            await self.journal.delete_one({"_id": jid})
            return removed + 1
        await self.holds.mark(self.inodes, dataset, pdir, [(hold, size, 1)])
        try:
            done = await self.journal.delete_one({"_id": jid})
            if done.deleted_count == 1:
                await self.holds.release(self.inodes, dataset, pdir, size, 1,
                                         unset=(hold.name, *_own_holds(ino)))
            else:  # someone else gave it back
                await asyncio.gather(self.holds.forget(self.inodes, dataset, [hold.name]),
                                     self.holds.forget(self.inodes, pdir, [hold.name]))
        except BaseException:
            self.holds.abandon(dataset, pdir, hold.name)
            raise
        return removed + 1

    async def _delete_blocks(self, ino: int, count: int) -> None:
        for index in reversed(range(count)):
            await self.blocks.delete(block_key(ino, index))

    async def reclaim_subtree(self, root: int) -> int:
        """Remove the entries below directory `root` bottom-up, a directory's files in batches
        (resumable: each step is idempotent, a batch's quota goes back with the deletion of its
        entries)."""
        removed = 0
        stack: list[tuple[int, Doc | None]] = [(root, None)]
        while stack:
            ino, entry = stack[-1]
            below = [d async for d in self.inodes.find({"parent": str(ino)}, STAT)]
            subdirs = [d for d in below if d["type"] == "DIRECTORY"]
            files = [d for d in below if d["type"] != "DIRECTORY"]
            for i in range(0, len(files), RECLAIM_BATCH):
                removed += await self._remove_entries(files[i:i + RECLAIM_BATCH])
            if subdirs:
                stack.extend((int(d["ino"]), d) for d in subdirs)
                continue
            stack.pop()
            if entry is not None:
                removed += await self._remove_entries([entry])
        return removed

    async def _remove_entries(self, docs: list[Doc]) -> int:
        """Entries of one directory (a subtree already invisible) removed, and what they held
        given back in one move per counter: the give-back is named on the counters first
        (`t<ino>`), so a kill between the deletes and the move is seen (recover_holds)."""
        files = [d for d in docs if d["type"] == "FILE"]
        if files:  # a finished upload's leftover entry must not be taken for an unfinished one
            await self.journal.delete_many({"_id": {"$in": [f"up:{int(d['ino'])}" for d in files]}})
        for doc in files:
            await self._delete_blocks(int(doc["ino"]), int(doc.get("nblk") or 0))
        groups: dict[tuple[str | None, str | None], list[Doc]] = {}
        for doc in docs:
            if doc["_id"] != doc.get("dataset"):
                groups.setdefault((doc.get("dataset"), doc.get("pdir")), []).append(doc)
        for (dataset, pdir), counted in groups.items():
            await self.holds.mark(self.inodes, dataset, pdir,
                                  [(_gone(d), int(d.get("size") or 0), 1) for d in counted])
        limit = asyncio.Semaphore(RECLAIM_CONCURRENCY)

        async def delete(doc: Doc) -> bool:
            async with limit:
                done = await self.inodes.delete_one({"_id": doc["_id"], "ino": int(doc["ino"])})
                return done.deleted_count == 1
        try:
            outcomes = await asyncio.gather(*(delete(d) for d in docs))
            deleted = dict(zip((d["_id"] for d in docs), outcomes, strict=True))
            for (dataset, pdir), counted in groups.items():
                ours = [d for d in counted if deleted[d["_id"]]]
                names = tuple(n for d in counted for n in (_gone(d).name, *_own_holds(int(d["ino"]))))
                await self.holds.release(self.inodes, dataset, pdir,
                                         sum(int(d.get("size") or 0) for d in ours), len(ours), unset=names,
                                         project_marked=any(int(d.get("size") or 0) for d in counted))
        except BaseException:  # what was deleted is for recover_holds to give back
            for (dataset, pdir), counted in groups.items():
                self.holds.abandon_all(dataset, pdir, [_gone(d).name for d in counted])
            raise
        return sum(deleted.values())

    async def dead_writers(self) -> set[str] | None:
        """Writers whose heartbeat is recent; None if this one's own is missing (skip a round)."""
        cutoff = datetime.now(UTC) - WRITER_DEAD_AFTER
        alive = {d["_id"] async for d in self.writers.find({"seen": {"$gte": cutoff}}, {"_id": 1})}
        if self.writer not in alive:
            return None
        return alive

    def _abandoned(self, entry: Doc, alive: set[str] | None) -> bool:
        writer = entry.get("writer")
        if writer == self.writer:
            return entry["_id"] not in self.active
        return alive is not None and writer not in alive

    async def recover(self, entry: Doc) -> int:
        """Finish one journal entry whose writer is gone: forward if it committed, else back."""
        jid, kind, phase = str(entry["_id"]), entry.get("kind"), entry.get("phase")
        ino = int(entry["ino"])
        if kind == "rename":
            if phase == "committed":
                await self._finish_rename(jid, entry["key"], entry["dst"])
            else:
                await self._abort_rename(jid, entry["key"], entry["dst"])
            return 1
        if kind in ("delete", "replace"):
            if phase == "committed":
                return await self._finish_removal(entry)
            current = await self.inodes.find_one({"_id": entry["key"]}, STAT)
            if kind == "replace" and current is not None and current.get("ino") == entry.get("new"):
                await self.journal.update_one({"_id": jid}, {"$set": {"phase": "committed"}})
                return await self._finish_removal({**entry, "phase": "committed"})
            if current is not None and (current.get("tx") or {}).get("id") == jid:
                await self.inodes.update_one({"_id": entry["key"], "tx.id": jid}, {"$unset": {"tx": ""}})
            await self.journal.delete_one({"_id": jid})
            return 1
        if kind == "append":
            await self._abort_append(jid, entry["key"], ino, int(entry.get("from") or 0),
                                     entry.get("dataset"), entry.get("pdir"), legacy=not entry.get("holds"))
            return 1
        if kind == "upload":
            current = await self.inodes.find_one({"_id": entry["key"]}, {"ino": 1})
            if phase == "open" and current is not None and current.get("ino") == ino:
                await self.journal.delete_one({"_id": jid})  # published: only the entry was left
            else:
                await self._discard_upload(jid, ino)
            return 1
        log.warning("unknown journal entry %s", jid)
        return 0

    async def reclaim_once(self) -> int:
        """One round of the reclaimer: a dead writer's operations undone (uncommitted) or
        finished (committed), this writer's own left behind finished, then the holds on the
        counters that no live operation owns resolved (recover_holds). Another live writer's
        committed operations are its own to finish: two reclaimers of one subtree would give
        its quota back twice, were one of them killed between a batch's deletes and its move."""
        await self.heartbeat()
        await self.holds.flush(self.inodes)
        alive = await self.dead_writers()
        work = 0
        for listed in [e async for e in self.journal.find({})]:
            if not self._abandoned(listed, alive):
                continue
            # read again: the listing may be older than the operation's end (this writer's
            # delete committed while an earlier entry was recovered); recovering its "open"
            # copy would roll back a delete whose root entry is gone, leaving its subtree
            entry = await self.journal.find_one({"_id": listed["_id"]})
            if entry is not None:
                work += await self.recover(entry)
        if alive is not None:
            lost = self._alive_seen is None or bool(self._alive_seen - alive)
            if lost or work or self._holds_again or self.holds.doubtful:
                self._holds_again = self.holds.doubtful = False
                left, resolved = await self.recover_holds(alive)
                self._holds_again = left > 0
                work += resolved
            self._alive_seen = alive
        await self.writers.delete_many({"seen": {"$lt": datetime.now(UTC) - 10 * WRITER_DEAD_AFTER}})
        return work

    async def _counter_documents(self) -> list[Doc]:
        """The project directories and dataset roots that carry holds (two levels of listing)."""
        found: list[Doc] = []
        projects = [d async for d in self.inodes.find({"parent": str(PROJECTS_DIR)}, {"ino": 1, "held": 1})]
        for project in projects:
            found.append(project)
            below = self.inodes.find({"parent": str(project["ino"])}, {"ino": 1, "held": 1})
            found += [d async for d in below]
        return [d for d in found if d.get("held")]

    async def _recorded(self, marker: Doc) -> bool:
        """Whether the entry a hold was taken for exists (at its key, or renamed since)."""
        ino = int(marker.get("i") or -1)
        at = await self.inodes.find_one({"_id": marker.get("k")}, {"ino": 1})
        if at is not None and int(at.get("ino") or -1) == ino:
            return True
        return await self.inodes.find_one({"ino": ino}, {"_id": 1}) is not None

    async def recover_holds(self, alive: set[str]) -> tuple[int, int]:
        """The holds no live operation owns: a dead writer's, and this writer's own that an
        operation let go without knowing its outcome. For each, from its kind and its record:
        - `s` (a small file or directory created), `t` (an entry of a subtree being
          reclaimed): the entry exists → only the name goes (recorded, or still to be
          removed by the reclaim that names it again); gone → given back (never written, or
          deleted without its give-back);
        - `u`, `a` (upload, append): left to their journal entry while it is there (its
          recovery gives back or keeps); without one, the operation ended: only the name goes;
        - `r` (a removal's give-back): while the `rm:` entry is there, the removal's; without
          it, the removal passed the point of giving back and did not: given back.
        Returns (how many were left for a journal entry, how many were resolved)."""
        journal = {str(e["_id"]) async for e in self.journal.find({}, {"_id": 1})}
        prefixes = {"u": "up", "a": "ap", "r": "rm"}
        left = resolved = 0
        for doc in await self._counter_documents():
            doc_key = str(doc["_id"])
            stale: list[str] = []
            for name, marker in (doc.get("held") or {}).items():
                writer = marker.get("w")
                if writer == self.writer:
                    if (doc_key, name) in self.holds.open or name in self.holds.done.get(doc_key, ()):
                        continue
                elif writer in alive:
                    continue
                kind = name[:1]
                if kind in prefixes and f"{prefixes[kind]}:{name[1:]}" in journal:
                    left += 1
                    continue
                resolved += 1
                if kind in ("s", "t") and await self._recorded(marker):
                    stale.append(name)
                elif kind in ("s", "t", "r"):
                    await self.holds.release_hold(self.inodes, doc_key, name, writer)
                else:
                    stale.append(name)
            await self.holds.forget(self.inodes, doc_key, stale)
        return left, resolved

    async def heartbeat_forever(self, interval: float = 2.0) -> None:
        """Apart from the reclaimer, whose round may take long (a large subtree): a writer that
        is working must never look dead to another replica or to fsck. Each beat also takes
        the names of recorded operations off the counters that no move has taken."""
        while True:
            try:
                await self.heartbeat()
                await self.holds.flush(self.inodes)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(interval)

    async def reclaim_forever(self, interval: float = 2.0) -> None:
        every = min(interval, WRITER_DEAD_AFTER.total_seconds() / 4)
        beat = asyncio.create_task(self.heartbeat_forever(every))
        try:
            while True:
                try:
                    await self.reclaim_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database restarted: try again next round
                    log.warning("reclaim round failed: %s", exc)
                await asyncio.sleep(interval)
        finally:
            beat.cancel()


def require_non_negative(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise illegal(f'Invalid value for webhdfs parameter "{name}": {value} is negative')
