"""`python -m lulea.storage fsck`: what a crash may have left, reported (and with --repair,
usage counters recomputed). Clean means: no journalled operation left behind by a dead writer
(an upload, append or rename never finished, a delete whose subtree still waits for the
reclaimer), no block nobody references, no entry pointing at a missing block or under a missing
directory, no entry still marked by a finished operation, no reservation of a dead writer left
on the counters, and every dataset's and project's usage equal to what it holds. fsck reads
everything (the one place that scans)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lulea.storage.namespace.inodes import PROJECTS_DIR, ROOT
from lulea.storage.namespace.store import Namespace


@dataclass
class Report:
    pending_uploads: list[int] = field(default_factory=list)
    deletes_in_progress: list[int] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    orphan_blocks: list[str] = field(default_factory=list)
    dangling_blocks: list[tuple[int, str]] = field(default_factory=list)
    dangling_parents: list[int] = field(default_factory=list)
    stale_marks: list[str] = field(default_factory=list)
    stale_holds: list[str] = field(default_factory=list)
    """Names on the counters (`held.<name>`) of a writer that is gone: a reservation nobody
    has resolved yet (store.recover_holds does, once the writer is seen dead)."""
    usage_drift: list[dict[str, Any]] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    """Operations of writers still alive (not a fault: they may finish or be recovered)."""

    @property
    def clean(self) -> bool:
        return not any((self.pending_uploads, self.deletes_in_progress, self.unfinished, self.orphan_blocks,
                        self.dangling_blocks, self.dangling_parents, self.stale_marks, self.stale_holds,
                        self.usage_drift))

    def as_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "pendingUploads": self.pending_uploads,
                "deletesInProgress": self.deletes_in_progress, "unfinishedOperations": self.unfinished,
                "orphanBlocks": self.orphan_blocks,
                "danglingBlocks": [list(x) for x in self.dangling_blocks],
                "danglingParents": self.dangling_parents, "staleMarks": self.stale_marks,
                "staleHolds": self.stale_holds,
                "usageDrift": self.usage_drift, "inProgress": self.in_progress}


async def fsck(namespace: Namespace, *, repair: bool = False) -> Report:
    report = Report()
    journal = [e async for e in namespace.journal.find({})]
    inodes: dict[str, dict[str, Any]] = {}
    async for doc in namespace.inodes.find({}, {"data": 0}):
        inodes[str(doc["_id"])] = doc
    blocks = {info.id: info async for info in namespace.blocks.scan()}
    alive = await namespace.dead_writers() or {namespace.writer}
    busy_inos: set[int] = set()  # inodes a live writer is working on: their blocks may be unreferenced
    for entry in journal:
        ino = int(entry["ino"])
        live = entry.get("writer") in alive and entry.get("phase") != "committed"
        if live:
            busy_inos.add(ino)
            report.in_progress.append(str(entry["_id"]))
            continue
        if entry.get("kind") == "upload":
            report.pending_uploads.append(ino)
        elif entry.get("kind") == "delete" or entry.get("phase") == "committed":
            report.deletes_in_progress.append(ino)
            busy_inos.add(ino)
        else:
            report.unfinished.append(str(entry["_id"]))
    journal_ids = {str(e["_id"]) for e in journal}
    inos = {int(d["ino"]) for d in inodes.values()}
    referenced: set[str] = set()
    usage: dict[str, list[int]] = {}
    project_usage: dict[str, int] = {}
    busy_counters: set[str] = set()  # a live writer's reservation is on them: usage in motion
    for key, doc in inodes.items():
        ino = int(doc["ino"])
        for name, marker in (doc.get("held") or {}).items():
            if marker.get("w") in alive:
                busy_counters.add(key)
                report.in_progress.append(f"hold:{key}:{name}")
            else:
                report.stale_holds.append(f"{key}:{name}")
        tx = doc.get("tx")
        if tx is not None and str(tx.get("id")) not in journal_ids:
            report.stale_marks.append(key)
        if ino != ROOT and int(doc["parent"]) not in inos and not journal:
            report.dangling_parents.append(ino)
        for ref in doc.get("blocks") or []:
            referenced.add(str(ref["id"]))
            if str(ref["id"]) not in blocks:
                report.dangling_blocks.append((ino, str(ref["id"])))
        dataset = doc.get("dataset")
        if dataset is not None and dataset != key and ino not in (ROOT, PROJECTS_DIR):
            counted = usage.setdefault(str(dataset), [0, 0])
            counted[0] += int(doc.get("size") or 0)
            counted[1] += 1
            if doc.get("pdir") is not None:
                pdir = str(doc["pdir"])
                project_usage[pdir] = project_usage.get(pdir, 0) + int(doc.get("size") or 0)
    for block_id, info in blocks.items():
        if block_id not in referenced and info.inode not in busy_inos:
            report.orphan_blocks.append(block_id)
    if not journal:
        for key, doc in inodes.items():
            if "usage" not in doc or key in busy_counters:
                continue
            if doc.get("dataset") != key:  # a project directory: the bytes of all its datasets
                has = int((doc.get("usage") or {}).get("bytes") or 0)
                if has != project_usage.get(key, 0):
                    report.usage_drift.append({"project": key, "name": doc.get("name"),
                                               "usage": {"bytes": has},
                                               "actual": {"bytes": project_usage.get(key, 0)}})
                    if repair:
                        await namespace.inodes.update_one(
                            {"_id": key}, {"$set": {"usage.bytes": project_usage.get(key, 0)}})
                continue
            want = usage.get(key, [0, 0])
            have = doc.get("usage") or {}
            if [int(have.get("bytes") or 0), int(have.get("files") or 0)] != want:
                report.usage_drift.append({"dataset": key, "name": doc.get("name"),
                                           "usage": have, "actual": {"bytes": want[0], "files": want[1]}})
                if repair:
                    await namespace.inodes.update_one(
                        {"_id": key}, {"$set": {"usage": {"bytes": want[0], "files": want[1]}}})
    return report
