"""Inode documents and what WebHDFS shows of them.

    {_id: "<parent ino>/<name>" (the entry's key), ino: int (stable, the FileStatus fileId),
     parent: "<parent ino>", name, type: FILE|DIRECTORY, state: "live", size,
     owner: "<project>__<user>", group: "<project>", permission: "644", mtime, atime (ms),
     replication, blockSize, data: bytes (a file of at most 64 KiB, inline),
     blocks: [{id: "<ino>#<n>", size}], nblk, checksum: md5 hex | None,
     dataset: key of the dataset root | None, pdir: key of the project directory | None,
     quota: {bytes, files} and usage: {bytes, files} on dataset roots, usage on project dirs,
     tx: {id, role} while a journalled operation (rename, delete, replace, append) holds it}

Keyed so that the hot path is an exact `_id` lookup, the one filter FerretDB 1.24 answers
from an index on every backend (FerretDB#4646: other filters scan): resolving a path component
is `find_one({_id: "<parent ino>/<name>"})`. Children are keyed by their parent's `ino`, which
never changes, so renaming a directory re-keys only the renamed entry, whatever its size.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

ROOT = 0  # the root's ino
PROJECTS_DIR = 1  # /Projects's ino
ROOT_KEY = "/"
INLINE_LIMIT = 64 * 1024
DEFAULT_BLOCK_SIZE = 128 * 1024 * 1024  # what FileStatus reports (HDFS's default)

Doc = dict[str, Any]
STAT = {"data": 0}  # never read the inline bytes to answer a stat or a listing


def new_id() -> int:
    """A random positive 63-bit ino: no counter document every create would contend on."""
    return secrets.randbits(62) + 2


def key(parent: int, name: str) -> str:
    """An entry's `_id`: names hold no `/` (paths.check_name), so the key is unambiguous."""
    return f"{parent}/{name}"


def block_key(ino: int, index: int) -> str:
    return f"{ino}#{index}"


PROJECTS_KEY = key(ROOT, "Projects")


def now_ms() -> int:
    return int(time.time() * 1000)


def directory(ino: int, parent: int, name: str, *, owner: str, group: str, permission: str = "755",
              dataset: str | None = None, pdir: str | None = None) -> Doc:
    t = now_ms()
    id_ = ROOT_KEY if ino == ROOT else key(parent, name)
    return {"_id": id_, "ino": ino, "parent": str(parent), "name": name, "type": "DIRECTORY", "state": "live",
            "size": 0, "owner": owner, "group": group, "permission": permission, "mtime": t,
            "atime": t, "replication": 0, "blockSize": 0, "dataset": dataset, "pdir": pdir}


def file_status(doc: Doc, suffix: str) -> dict[str, Any]:
    """A FileStatus JSON object, as WebHDFS.md shows it."""
    is_dir = doc["type"] == "DIRECTORY"
    status: dict[str, Any] = {
        "accessTime": 0 if is_dir else int(doc.get("atime") or 0),
        "blockSize": 0 if is_dir else int(doc.get("blockSize") or DEFAULT_BLOCK_SIZE),
        "fileId": int(doc["ino"]),
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
