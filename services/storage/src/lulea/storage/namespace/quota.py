"""Quota accounting: usage counters on the dataset root and the project directory, moved only
by `$inc` under a condition that the limit still holds after the move, so concurrent writers
can never together pass a limit and the figures stay exact (no read-modify-write).

A reservation is taken before the bytes are acknowledged; a failed or interrupted write gives
it back (the reclaimer does so for a writer that died). The crash window between taking a
reservation and recording it errs on the safe side: usage a little high, never low; `fsck`
reports the difference and `fsck --repair` recomputes it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
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


async def reserve(inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                  nfiles: int) -> None:
    """Take `nbytes` and `nfiles` from the dataset's and the project's limits, or raise."""
    if nbytes == 0 and nfiles == 0:
        return
    async with _COUNTER_LOCKS[account.dataset or ""], _COUNTER_LOCKS[account.pdir or "-"]:
        await _reserve(inodes, account, nbytes, nfiles)


async def _reserve(inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                   nfiles: int) -> None:
    """Both counters at once (separate documents); if one refuses, the other is given back."""
    async def on_dataset() -> bool:
        if account.dataset is None:
            return True
        query = {"_id": account.dataset,
                 **_condition("usage.bytes", account.bytes_quota, nbytes),
                 **_condition("usage.files", account.files_quota, nfiles)}
        done = await inodes.update_one(query, {"$inc": {"usage.bytes": nbytes, "usage.files": nfiles}})
        return done.matched_count == 1

    async def on_project() -> bool:
        if account.pdir is None or not nbytes:
            return True
        query = {"_id": account.pdir, **_condition("usage.bytes", account.project_bytes_quota, nbytes)}
        done = await inodes.update_one(query, {"$inc": {"usage.bytes": nbytes}})
        return done.matched_count == 1

    dataset_ok, project_ok = await asyncio.gather(on_dataset(), on_project())
    if dataset_ok and project_ok:
        return
    if dataset_ok and account.dataset is not None:
        await inodes.update_one({"_id": account.dataset},
                                {"$inc": {"usage.bytes": -nbytes, "usage.files": -nfiles}})
    if project_ok and account.pdir is not None and nbytes:
        await inodes.update_one({"_id": account.pdir}, {"$inc": {"usage.bytes": -nbytes}})
    if not dataset_ok:
        raise await _exceeded(inodes, account, nbytes, nfiles)
    raise StorageError(Hadoop.DS_QUOTA,
                       f"The DiskSpace quota of {account.project_path} is exceeded:"
                       f" quota = {account.project_bytes_quota} B but {nbytes} B more were asked for")


async def release(inodes: AsyncCollection[dict[str, Any]], dataset: str | None, pdir: str | None,
                  nbytes: int, nfiles: int) -> None:
    """Give back what was reserved: the two counters are separate documents, moved at once."""
    async def on_dataset() -> None:
        if dataset is not None and (nbytes or nfiles):
            async with _COUNTER_LOCKS[dataset]:
                await inodes.update_one({"_id": dataset},
                                        {"$inc": {"usage.bytes": -nbytes, "usage.files": -nfiles}})

    async def on_project() -> None:
        if pdir is not None and nbytes:
            async with _COUNTER_LOCKS[pdir]:
                await inodes.update_one({"_id": pdir}, {"$inc": {"usage.bytes": -nbytes}})

    if nbytes or nfiles:
        await asyncio.gather(on_dataset(), on_project())


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
