"""Inode documents and what WebHDFS shows of them.

    {_id: int, parent: int, name: str, type: FILE|DIRECTORY, state: live|pending|deleting,
     size, owner: "<project>__<user>", group: "<project>", permission: "644", mtime, atime (ms),
     replication, blockSize, data: bytes (a file of at most 64 KiB, inline), blocks: [{id, size}],
     checksum: md5 hex | None, dataset: root inode id | None, pdir: project dir id | None,
     quota: {bytes, files} and usage: {bytes, files} on dataset roots, usage on project dirs}

A child is found by the unique index (parent, name); a listing is a range of that index.
Live inodes hang below the root; pending uploads below PENDING and deleted subtrees below
TRASH, each named by its own id, so neither is ever reachable from a path.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

ROOT = 0
PROJECTS_DIR = 1
PENDING = -1
TRASH = -2
INLINE_LIMIT = 64 * 1024
DEFAULT_BLOCK_SIZE = 128 * 1024 * 1024  # what FileStatus reports (HDFS's default)

Doc = dict[str, Any]
STAT = {"data": 0}  # never read the inline bytes to answer a stat or a listing


def new_id() -> int:
    """A random positive 63-bit id: no counter document every create would contend on."""
    return secrets.randbits(62) + 2


def now_ms() -> int:
    return int(time.time() * 1000)


def directory(id_: int, parent: int, name: str, *, owner: str, group: str, permission: str = "755",
              dataset: int | None = None, pdir: int | None = None) -> Doc:
    t = now_ms()
    return {"_id": id_, "parent": parent, "name": name, "type": "DIRECTORY", "state": "live",
            "size": 0, "owner": owner, "group": group, "permission": permission, "mtime": t,
            "atime": t, "replication": 0, "blockSize": 0, "dataset": dataset, "pdir": pdir}


def file_status(doc: Doc, suffix: str) -> dict[str, Any]:
    """A FileStatus JSON object, as WebHDFS.md shows it."""
    is_dir = doc["type"] == "DIRECTORY"
    status: dict[str, Any] = {
        "accessTime": 0 if is_dir else int(doc.get("atime") or 0),
        "blockSize": 0 if is_dir else int(doc.get("blockSize") or DEFAULT_BLOCK_SIZE),
        "fileId": int(doc["_id"]),
        "group": str(doc.get("group") or ""),
        "length": 0 if is_dir else int(doc.get("size") or 0),
        "modificationTime": int(doc.get("mtime") or 0),
        "owner": str(doc.get("owner") or ""),
        "pathSuffix": suffix,
        "permission": str(doc.get("permission") or ("755" if is_dir else "644")),
        "replication": 0 if is_dir else int(doc.get("replication") or 1),
        "storagePolicy": 0,
        "type": doc["type"],
    }
    return status
