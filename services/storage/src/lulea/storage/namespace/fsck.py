"""`python -m lulea.storage fsck`: what a crash may have left, reported (and with --repair,
usage counters recomputed). Clean means: no upload of a dead writer still pending, no deleted
subtree still waiting for the reclaimer, no block nobody references, no inode pointing at a
missing block or parent, and every dataset's usage equal to what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lulea.storage.namespace.inodes import PENDING, PROJECTS_DIR, ROOT, TRASH
from lulea.storage.namespace.store import Namespace


@dataclass
class Report:
    pending_uploads: list[int] = field(default_factory=list)
    deletes_in_progress: list[int] = field(default_factory=list)
    orphan_blocks: list[str] = field(default_factory=list)
    dangling_blocks: list[tuple[int, str]] = field(default_factory=list)
    dangling_parents: list[int] = field(default_factory=list)
    usage_drift: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any((self.pending_uploads, self.deletes_in_progress, self.orphan_blocks,
                        self.dangling_blocks, self.dangling_parents, self.usage_drift))

    def as_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "pendingUploads": self.pending_uploads,
                "deletesInProgress": self.deletes_in_progress, "orphanBlocks": self.orphan_blocks,
                "danglingBlocks": [list(x) for x in self.dangling_blocks],
                "danglingParents": self.dangling_parents, "usageDrift": self.usage_drift}


async def fsck(namespace: Namespace, *, repair: bool = False) -> Report:
    report = Report()
    inodes: dict[int, dict[str, Any]] = {}
    async for doc in namespace.inodes.find({}, {"data": 0}):
        inodes[int(doc["_id"])] = doc
    blocks: dict[Any, Any] = {}
    async for info in namespace.blocks.scan():
        blocks[info.id] = info
    alive = await namespace.dead_writers() or {namespace.writer}
    referenced: set[Any] = set()
    usage: dict[int, list[int]] = {}
    for id_, doc in inodes.items():
        parent = int(doc["parent"])
        if parent == PENDING:
            if doc.get("writer") not in alive:
                report.pending_uploads.append(id_)
            continue
        if parent == TRASH:
            report.deletes_in_progress.append(id_)
            continue
        if id_ != ROOT and parent not in inodes:
            report.dangling_parents.append(id_)
        for ref in doc.get("blocks") or []:
            referenced.add(ref["id"])
            if ref["id"] not in blocks:
                report.dangling_blocks.append((id_, str(ref["id"])))
        dataset = doc.get("dataset")
        if dataset is not None and dataset != id_ and id_ not in (ROOT, PROJECTS_DIR):
            counted = usage.setdefault(int(dataset), [0, 0])
            counted[0] += int(doc.get("size") or 0)
            counted[1] += 1
    pending_ids = {i for i, d in inodes.items() if d["parent"] == PENDING}
    for block_id, info in blocks.items():
        if block_id in referenced or (info.inode in pending_ids and info.writer in alive):
            continue
        if info.writer in alive and info.inode in inodes:
            continue  # an append in progress
        if info.inode in inodes and inodes[info.inode]["parent"] == TRASH:
            continue  # counted as a delete in progress
        report.orphan_blocks.append(str(block_id))
    if not report.pending_uploads and not report.deletes_in_progress and not pending_ids:
        for id_, doc in inodes.items():
            if doc.get("dataset") != id_ or "usage" not in doc:
                continue
            want = usage.get(id_, [0, 0])
            have = doc.get("usage") or {}
            if [int(have.get("bytes") or 0), int(have.get("files") or 0)] != want:
                report.usage_drift.append({"dataset": id_, "name": doc.get("name"),
                                           "usage": have, "actual": {"bytes": want[0], "files": want[1]}})
                if repair:
                    await namespace.inodes.update_one(
                        {"_id": id_}, {"$set": {"usage": {"bytes": want[0], "files": want[1]}}})
    return report
