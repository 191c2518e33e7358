"""Quota accounting: usage counters on the dataset root and the project directory, moved only
by `$inc` under a condition that the limit still holds after the move, so concurrent writers
can never together pass a limit and the figures stay exact (no read-modify-write).

A reservation is taken before the bytes are acknowledged; a failed or interrupted write gives
it back. Without multi-document transactions, a crash between moving a counter and writing
the record that accounts for the move (a block, an entry, a deleted entry) would leave the
counter wrong with nothing to tell. So every such move names itself on the counter document,
in the same update (`Hold`): the reclaimer looks at a dead writer's names and, from whether
the record exists, gives the reservation back or only removes the name (store.recover_holds).
A name costs no call of its own on the hot path: it is set by the move itself and removed
with the next move of the same counter."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from lulea.storage.namespace.errors import Hadoop, StorageError


@dataclass(frozen=True)
class Account:
    """Where a write is counted: its dataset root (with its limits) and its project directory."""

    dataset: str | None  # the key (`_id`) of the dataset root
    dataset_path: str = ""
    bytes_quota: int | None = None
    files_quota: int | None = None
    pdir: str | None = None  # the key of the project directory
    project_path: str = ""
    project_bytes_quota: int | None = None


NOWHERE = Account(None)
# FerretDB 1.x applies an update as read, modify, write (the filter and the operators run in
# FerretDB, then the whole document is written back by `_id`), so two concurrent $inc on one
# counter can lose one. Within a process, one counter move at a time keeps the figures exact;
# MongoDB (or FerretDB 2) makes $inc atomic across replicas by itself.
# The same holds for every other update of a document that carries counters (a dataset root,
# a project directory): SETQUOTA, SETPERMISSION... write the whole document back, counters
# included, so they take the counter's lock too (`counter_lock`), or a reservation made
# meanwhile is lost (the dataset operator re-sets each quota every few seconds).
_COUNTER_LOCKS: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


def counter_lock(key: str) -> asyncio.Lock:
    """The lock of the counters on the document `key`: hold it for any update of that document."""
    return _COUNTER_LOCKS[key]


def _condition(field: str, limit: int | None, amount: int) -> dict[str, Any]:
    if limit is None or amount <= 0:
        return {}
    return {field: {"$lte": limit - amount}}


@dataclass(frozen=True)
class Hold:
    """A reservation named on the counter documents it moves, in the same update (`held.<name>`:
    writer, entry key, ino, bytes, files), so that after a crash anyone can tell a reservation
    whose operation never recorded it (given back) from one whose record exists (only the name
    goes). Names: `s<ino>` a small file or directory created, `u<ino>` an upload, `a<ino>` an
    append, `r<ino>` a removal's give-back, `t<ino>` an entry of a subtree being reclaimed."""

    name: str
    key: str
    ino: int


def _fields(doc: str, nbytes: int, nfiles: int) -> tuple[int, int]:
    """What a move does on one counter document: bytes on both, files on the dataset only."""
    return nbytes, nfiles if doc == "dataset" else 0


class Holds:
    """One writer's holds: those open (their operation still running) and those whose
    operation is recorded, whose names go with the next move of that counter (or `flush`)."""

    def __init__(self, writer: str) -> None:
        self.writer = writer
        self.open: set[tuple[str, str]] = set()
        self.done: defaultdict[str, set[str]] = defaultdict(set)
        self.doubtful = False  # a hold was let go without knowing if its record exists

    def abandon(self, dataset: str | None, pdir: str | None, name: str) -> None:
        """The operation holding `name` failed without knowing whether its record was written
        (a connection lost in the middle of the write): the reclaimer decides from the record."""
        for doc in (dataset, pdir):
            if doc is not None and (doc, name) in self.open:
                self.open.discard((doc, name))
                self.doubtful = True

    def _marker(self, hold: Hold, nbytes: int, nfiles: int) -> dict[str, Any]:
        return {"w": self.writer, "k": hold.key, "i": hold.ino, "b": nbytes, "f": nfiles}

    def abandon_all(self, dataset: str | None, pdir: str | None, names: Iterable[str]) -> None:
        for name in names:
            self.abandon(dataset, pdir, name)

    def _take_done(self, doc: str) -> set[str]:
        return self.done.pop(doc, set())

    async def _move(self, inodes: AsyncCollection[dict[str, Any]], doc: str, query: dict[str, Any],
                    inc: dict[str, int], hold: Hold | None = None, nbytes: int = 0, nfiles: int = 0,
                    unset: tuple[str, ...] = ()) -> bool:
        """One update of counter document `doc` (its lock held by the caller): the `$inc`, the
        hold's bytes and files (a fresh marker the first time), the names of recorded
        operations still waiting, and `unset`."""
        update: dict[str, Any] = {}
        moves = {k: v for k, v in inc.items() if v}
        taken = self.done.pop(doc, set())
        names = taken | set(unset)
        fresh = False
        if hold is not None:
            names.discard(hold.name)
            if (doc, hold.name) in self.open:
                moves.update({f"held.{hold.name}.b": nbytes, f"held.{hold.name}.f": nfiles})
            else:  # a fresh marker (one left by an earlier operation of the same name is replaced)
                update["$set"] = {f"held.{hold.name}": self._marker(hold, nbytes, nfiles)}
                fresh = True
                self.open.add((doc, hold.name))  # open before it can be seen: recover_holds skips it
        if moves:
            update["$inc"] = moves
        if names:
            update["$unset"] = {f"held.{n}": "" for n in names}
        if not update:
            return True
        try:
            done = await inodes.update_one({"_id": doc, **query}, update)
        except BaseException:  # applied or not: a marker no operation holds is recover_holds'
            self.done[doc] |= taken
            if fresh and hold is not None:
                self.open.discard((doc, hold.name))
                self.doubtful = True
            raise
        if done.matched_count != 1:
            self.done[doc] |= taken  # not applied: they go with a later move
            if fresh and hold is not None:
                self.open.discard((doc, hold.name))
            return False
        return True

    async def reserve(self, inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                      nfiles: int, hold: Hold | None = None) -> None:
        """Take `nbytes` and `nfiles` from the dataset's and the project's limits, or raise."""
        if nbytes == 0 and nfiles == 0:
            return
        async with _COUNTER_LOCKS[account.dataset or ""], _COUNTER_LOCKS[account.pdir or "-"]:
            await self._reserve(inodes, account, nbytes, nfiles, hold)

    async def _reserve(self, inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                       nfiles: int, hold: Hold | None) -> None:
        """Both counters at once (separate documents); if one refuses, the other is given back."""
        fresh = {doc: hold is not None and (doc, hold.name) not in self.open
                 for doc in (account.dataset, account.pdir) if doc is not None}

        async def on_dataset() -> bool:
            if account.dataset is None:
                return True
            query = {**_condition("usage.bytes", account.bytes_quota, nbytes),
                     **_condition("usage.files", account.files_quota, nfiles)}
            return await self._move(inodes, account.dataset, query,
                                    {"usage.bytes": nbytes, "usage.files": nfiles}, hold, nbytes, nfiles)

        async def on_project() -> bool:
            if account.pdir is None or not nbytes:
                return True
            query = _condition("usage.bytes", account.project_bytes_quota, nbytes)
            return await self._move(inodes, account.pdir, query, {"usage.bytes": nbytes}, hold, nbytes, 0)

        dataset_ok, project_ok = await asyncio.gather(on_dataset(), on_project())
        if dataset_ok and project_ok:
            return
        undo = []
        if dataset_ok and account.dataset is not None:
            undo.append((account.dataset, nbytes, nfiles))
        if project_ok and account.pdir is not None and nbytes:
            undo.append((account.pdir, nbytes, 0))
        for doc, b, f in undo:
            moves = {"usage.bytes": -b, "usage.files": -f}
            update: dict[str, Any] = {"$inc": {k: v for k, v in moves.items() if v}}
            if hold is not None and fresh[doc]:
                update["$unset"] = {f"held.{hold.name}": ""}
                self.open.discard((doc, hold.name))
            elif hold is not None:
                update["$inc"].update({f"held.{hold.name}.b": -b, f"held.{hold.name}.f": -f})
            await inodes.update_one({"_id": doc}, update)
        if not dataset_ok:
            raise await _exceeded(inodes, account, nbytes, nfiles)
        raise StorageError(Hadoop.DS_QUOTA,
                           f"The DiskSpace quota of {account.project_path} is exceeded:"
                           f" quota = {account.project_bytes_quota} B but {nbytes} B more were asked for")

    async def release(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None, pdir: str | None,
                      nbytes: int, nfiles: int, unset: tuple[str, ...] = (),
                      project_marked: bool | None = None) -> None:
        """Give back what a record held, and remove the names `unset` in the same update (the
        record's own holds, which are stale once it is gone). A project directory carries
        names only for bytes: it is moved when `nbytes` or `project_marked` (default: bytes)."""
        for name in unset:
            self.open.discard((dataset or "", name))
            self.open.discard((pdir or "", name))
        marked = bool(nbytes) if project_marked is None else project_marked

        async def on(doc: str | None, b: int, f: int, names: tuple[str, ...]) -> None:
            if doc is not None and (b or f or names or self.done.get(doc)):
                async with _COUNTER_LOCKS[doc]:
                    await self._move(inodes, doc, {}, {"usage.bytes": -b, "usage.files": -f}, unset=names)
        await asyncio.gather(on(dataset, nbytes, nfiles, unset),
                             on(pdir, nbytes, 0, unset if marked else ()))

    async def mark(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None, pdir: str | None,
                   holds: list[tuple[Hold, int, int]]) -> None:
        """Name give-backs about to happen (`r`/`t` holds) without moving the counters: if the
        writer dies after its record is gone and before the give-back, the name says so."""
        async def on(doc: str | None, which: str) -> None:
            markers = {}
            for hold, nbytes, nfiles in holds:
                b, f = _fields(which, nbytes, nfiles)
                if b or f:
                    markers[f"held.{hold.name}"] = self._marker(hold, b, f)
            if doc is None or not markers:
                return
            fresh = {k[5:] for k in markers}
            self.open.update((doc, n) for n in fresh)  # ours while the removal runs
            async with _COUNTER_LOCKS[doc]:
                update: dict[str, Any] = {"$set": markers}
                taken = self.done.pop(doc, set())
                if taken - fresh:
                    update["$unset"] = {f"held.{n}": "" for n in taken - fresh}
                try:
                    await inodes.update_one({"_id": doc}, update)
                except BaseException:
                    self.done[doc] |= taken - fresh
                    self.abandon_all(doc, None, fresh)
                    raise
        await asyncio.gather(on(dataset, "dataset"), on(pdir, "project"))

    async def release_hold(self, inodes: AsyncCollection[dict[str, Any]], doc: str | None, name: str,
                           writer: str | None = None) -> bool:
        """Give back all that the hold `name` on `doc` holds, and remove it, once: the update is
        conditioned on the marker as read (of `writer`, if given). False if there was none."""
        if doc is None:
            return False
        self.open.discard((doc, name))
        async with _COUNTER_LOCKS[doc]:
            found = await inodes.find_one({"_id": doc}, {f"held.{name}": 1})
            marker = ((found or {}).get("held") or {}).get(name)
            if marker is None or (writer is not None and marker.get("w") != writer):
                return False
            b, f = int(marker.get("b") or 0), int(marker.get("f") or 0)
            inc = {k: -v for k, v in {"usage.bytes": b, "usage.files": f}.items() if v}
            update: dict[str, Any] = {"$unset": {f"held.{name}": ""}}
            if inc:
                update["$inc"] = inc
            query = {f"held.{name}.{k}": marker.get(k) for k in ("w", "b", "f")}
            done = await inodes.update_one({"_id": doc, **query}, update)
            return done.modified_count == 1

    async def release_holds(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None,
                            pdir: str | None, name: str) -> None:
        """`release_hold` on both counter documents of an operation."""
        await asyncio.gather(self.release_hold(inodes, dataset, name), self.release_hold(inodes, pdir, name))

    def settle(self, dataset: str | None, pdir: str | None, name: str) -> None:
        """The operation holding `name` is recorded: the name goes with the next move of each
        counter (no call of its own on the hot path), or at the next `flush`."""
        for doc in (dataset, pdir):
            if doc is not None and (doc, name) in self.open:
                self.open.discard((doc, name))
                self.done[doc].add(name)

    async def forget(self, inodes: AsyncCollection[dict[str, Any]], doc: str | None,
                     names: list[str]) -> None:
        """Remove stale names now, without moving the counters."""
        if doc is None or not names:
            return
        for name in names:
            self.open.discard((doc, name))
        async with _COUNTER_LOCKS[doc]:
            await inodes.update_one({"_id": doc}, {"$unset": {f"held.{n}": "" for n in names}})

    async def flush(self, inodes: AsyncCollection[dict[str, Any]]) -> None:
        """Remove the names of recorded operations that no move has taken yet."""
        for doc in list(self.done):
            async with _COUNTER_LOCKS[doc]:
                names = self._take_done(doc)
                if not names:
                    continue
                try:
                    await inodes.update_one({"_id": doc}, {"$unset": {f"held.{n}": "" for n in names}})
                except BaseException:
                    self.done[doc] |= names
                    raise


async def _exceeded(inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                    nfiles: int) -> StorageError:
    root = await inodes.find_one({"_id": account.dataset}, {"usage": 1})
    if root is None:
        return StorageError(Hadoop.FILE_NOT_FOUND, f"File does not exist: {account.dataset_path}")
    usage = root.get("usage") or {}
    files = int(usage.get("files") or 0)
    if nfiles and account.files_quota is not None and files + nfiles > account.files_quota:
        return StorageError(Hadoop.NS_QUOTA,
                            f"The NameSpace quota (directories and files) of directory {account.dataset_path}"
                            f" is exceeded: quota={account.files_quota} file count={files + nfiles}")
    used = int(usage.get("bytes") or 0)
    return StorageError(Hadoop.DS_QUOTA,
                        f"The DiskSpace quota of {account.dataset_path} is exceeded: quota = "
                        f"{account.bytes_quota} B but diskspace consumed = {used + nbytes} B")
