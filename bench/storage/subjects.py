"""What bench/storage measures, each behind the same small interface so that every phase runs
the same workload on each of them, run by run, interleaved:

- `WebHdfsSubject`: a WebHDFS endpoint (Lulea's storage service or Apache HDFS) through the one
  client in webhdfs_client.py.
- `MongoSubject`: the raw MongoDB operations the namespace rests on, through PyMongo's
  AsyncMongoClient against FerretDB: insert_one of a 4 KiB inode holding its data, find_one by
  the key (as a key-encoded _id, and as (parent, name) fields), find by parent (a listing), and
  1 MiB chunk insert_one / find_one by _id for streaming.
- `DiskSubject`: the same stream written to and read from local disk (write + fsync; the read
  after dropping the file from the page cache).

Every operation checks what it got back (a status of the right length, a listing of the right
size, every byte of a stream), so a broken target fails the run instead of looking fast.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webhdfs_client import Target, WebHdfs, repeat

MIB = 1 << 20


@dataclass(frozen=True)
class Plan:
    files: int = 100_000          # small files in the namespace (creates, then stats/listings among them)
    dir_size: int = 1_000         # files per directory; a listing returns this many entries
    file_bytes: int = 4096
    runs: int = 3
    seconds: float = 5.0          # length of one timed run (stats, listings)
    max_ops: int = 200_000        # and its bound in count
    stream_mib: int = 1024
    chunk_kib: int = 1024         # stream block size: httpx body pieces, MongoDB chunk documents
    concurrency: int = 16
    seed: int = 7

    @property
    def dirs(self) -> int:
        return -(-self.files // self.dir_size)

    def dir_of(self, i: int) -> int:
        return i // self.dir_size

    def files_in(self, d: int) -> int:
        return min(self.dir_size, self.files - d * self.dir_size)


async def count_run(n: int, concurrency: int, op: Callable[[int], Awaitable[None]],
                    items: range | None = None) -> float:
    """Runs op over `items` (default range(n)) with `concurrency` workers; returns the seconds."""
    todo = iter(items if items is not None else range(n))

    async def worker() -> None:
        for i in todo:
            await op(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, n)))))
    return time.perf_counter() - start


async def timed_run(seconds: float, max_ops: int, concurrency: int,
                    op: Callable[[int], Awaitable[None]]) -> tuple[int, float]:
    """op(k) for k = 0, 1, ... by `concurrency` workers until `seconds` pass or max_ops are done;
    returns (operations completed, seconds)."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    todo = iter(range(max_ops))

    async def worker() -> None:
        nonlocal done
        for k in todo:
            if time.perf_counter() >= deadline:
                return
            await op(k)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start


class Subject:
    """Each figure method runs one run and returns (count, seconds) or (bytes, seconds)."""

    name: str

    async def setup(self) -> None: ...
    async def create(self, items: range) -> tuple[int, float]: raise NotImplementedError
    async def stat(self) -> tuple[int, float]: raise NotImplementedError
    async def stat_fields(self) -> tuple[int, float]: raise NotImplementedError
    async def listing(self) -> tuple[int, float]: raise NotImplementedError
    async def stream_write(self, run: int) -> tuple[int, float]: raise NotImplementedError
    async def stream_read(self, run: int) -> tuple[int, float]: raise NotImplementedError
    async def cleanup(self) -> None: ...
    def info(self) -> dict[str, Any]: return {}


class WebHdfsSubject(Subject):
    def __init__(self, target: Target, plan: Plan, root: str) -> None:
        self.name = target.name
        self.plan = plan
        self.root = root.rstrip("/")
        self.client = WebHdfs(target, plan.concurrency)
        self.rng = random.Random(plan.seed)
        self.payload = random.Random(plan.seed).randbytes(plan.file_bytes)
        self.block = os.urandom(plan.chunk_kib * 1024)

    def path(self, i: int) -> str:
        return f"{self.root}/d{self.plan.dir_of(i):05d}/f{i:07d}"

    def dir_path(self, d: int) -> str:
        return f"{self.root}/d{d:05d}"

    async def setup(self) -> None:
        await self.client.mkdirs(self.root)
        await count_run(self.plan.dirs, self.plan.concurrency,
                        lambda d: self._mkdir(self.dir_path(d)))

    async def _mkdir(self, path: str) -> None:
        if not await self.client.mkdirs(path):
            raise RuntimeError(f"{self.name}: MKDIRS {path} answered false")

    async def create(self, items: range) -> tuple[int, float]:
        async def op(i: int) -> None:
            await self.client.create(self.path(i), self.payload)
        return len(items), await count_run(len(items), self.plan.concurrency, op, items)

    async def stat(self) -> tuple[int, float]:
        async def op(_: int) -> None:
            i = self.rng.randrange(self.plan.files)
            st = await self.client.status(self.path(i))
            if st["type"] != "FILE" or st["length"] != self.plan.file_bytes:
                raise RuntimeError(f"{self.name}: GETFILESTATUS {self.path(i)} gave {st}")
        return await timed_run(self.plan.seconds, self.plan.max_ops, self.plan.concurrency, op)

    async def listing(self) -> tuple[int, float]:
        async def op(_: int) -> None:
            d = self.rng.randrange(self.plan.dirs)
            entries = await self.client.list(self.dir_path(d))
            if len(entries) != self.plan.files_in(d):
                raise RuntimeError(f"{self.name}: LISTSTATUS {self.dir_path(d)} gave "
                                   f"{len(entries)} entries, expected {self.plan.files_in(d)}")
        return await timed_run(self.plan.seconds, self.plan.max_ops, self.plan.concurrency, op)

    def stream_path(self, run: int) -> str:
        return f"{self.root}/stream-{run}"

    async def stream_write(self, run: int) -> tuple[int, float]:
        total = self.plan.stream_mib * MIB
        start = time.perf_counter()
        await self.client.create(self.stream_path(run), repeat(self.block, total))
        return total, time.perf_counter() - start

    async def stream_read(self, run: int) -> tuple[int, float]:
        total = self.plan.stream_mib * MIB
        start = time.perf_counter()
        got = await self.client.open(self.stream_path(run), self.plan.chunk_kib * 1024)
        elapsed = time.perf_counter() - start
        if got != total:
            raise RuntimeError(f"{self.name}: OPEN {self.stream_path(run)} read {got} of {total} bytes")
        st = await self.client.status(self.stream_path(run))
        if st["length"] != total:
            raise RuntimeError(f"{self.name}: {self.stream_path(run)} has length {st['length']}")
        await self.client.delete(self.stream_path(run))
        return total, elapsed

    async def cleanup(self) -> None:
        try:
            await self.client.delete(self.root, recursive=True)
        finally:
            await self.client.aclose()


class MongoSubject(Subject):
    """The raw database operations, same concurrency, same driver the service uses.

    FerretDB 1.x on SQLite (the stack's) answers only equality on a string or ObjectId `_id`
    from an index; any other filter, ranges on `_id` included, decodes every document of the
    collection, whatever secondary indexes exist. So the key lookup is measured both ways: by a
    key-encoded `_id` "<parent>/<name>" (indexed) and by the (parent, name) fields with their
    compound index (a scan here). Scanning operations run one at a time: a scan already uses
    the server's cores, and 16 of them in flight would only measure queueing.
    """

    name = "mongo"
    # The GIN indexes the storage service makes on FerretDB's PostgreSQL tables
    # (lulea.storage.postgres_indexes), made here on the baseline's own collections so that
    # both sides stand on the same indexes.
    GIN_INDEXES: dict[str, tuple[str, ...]] = {"inodes": ("_id", "parent"), "chunks": ("_id",)}

    def __init__(self, uri: str, plan: Plan, database: str, postgres_dsn: str | None = None) -> None:
        from pymongo import AsyncMongoClient

        self.plan = plan
        self.postgres_dsn = postgres_dsn
        self.indexes: list[str] = []
        self.client: Any = AsyncMongoClient(uri, maxPoolSize=max(plan.concurrency, 1) * 2)
        self.db = self.client[database]
        self.inodes = self.db["inodes"]
        self.chunks = self.db["chunks"]
        self.rng = random.Random(plan.seed + 1)
        self.payload = random.Random(plan.seed).randbytes(plan.file_bytes)
        self.block = os.urandom(plan.chunk_kib * 1024)
        self.database = database

    @staticmethod
    def dir_id(d: int) -> str:
        return f"d{d:05d}"

    def key(self, i: int) -> str:
        return f"{self.dir_id(self.plan.dir_of(i))}/f{i:07d}"

    def doc(self, i: int) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"_id": self.key(i), "parent": self.dir_id(self.plan.dir_of(i)), "name": f"f{i:07d}",
                "type": "FILE", "size": self.plan.file_bytes, "owner": "bench__bench",
                "group": "bench", "permission": 0o644, "replication": 1, "mtime": now,
                "atime": now, "data": self.payload}

    @property
    def scan_concurrency(self) -> int:
        """Finds by fields run one at a time where each is a scan, at full concurrency where the
        GIN indexes make them probes (the strongest fair baseline either way)."""
        return self.plan.concurrency if self.indexes else 1

    async def setup(self) -> None:
        await self.db.drop_collection("inodes")
        await self.db.drop_collection("chunks")
        await self.inodes.create_index([("parent", 1), ("name", 1)], unique=True)
        if self.postgres_dsn:
            from lulea.storage.postgres_indexes import ensure_collections, ensure_gin_indexes

            await ensure_collections(self.db, self.GIN_INDEXES)
            made = await ensure_gin_indexes(self.postgres_dsn, self.database, self.GIN_INDEXES)
            if made is None:
                raise RuntimeError(f"no FerretDB database {self.database!r} in that PostgreSQL: "
                                   "is --postgres-dsn the one under --mongo-uri's FerretDB?")
            missing = [r for r in made if r.table is None]
            if missing:
                raise RuntimeError(f"no table for {[r.collection for r in missing]}")
            self.indexes = [f"{r.index} on {r.table} ({r.action})" for r in made]
        dirs = [{"_id": f"/{self.dir_id(d)}", "parent": "", "name": self.dir_id(d), "type": "DIRECTORY"}
                for d in range(self.plan.dirs)]
        await self.inodes.insert_many(dirs)

    async def create(self, items: range) -> tuple[int, float]:
        async def op(i: int) -> None:
            await self.inodes.insert_one(self.doc(i))
        return len(items), await count_run(len(items), self.plan.concurrency, op, items)

    async def stat(self) -> tuple[int, float]:
        """find_one by the key-encoded _id (what a stat rests on when the key is the _id)."""
        async def op(_: int) -> None:
            i = self.rng.randrange(self.plan.files)
            doc = await self.inodes.find_one({"_id": self.key(i)}, {"data": 0})
            if doc is None or doc["size"] != self.plan.file_bytes:
                raise RuntimeError(f"mongo: no inode {self.key(i)}")
        return await timed_run(self.plan.seconds, self.plan.max_ops, self.plan.concurrency, op)

    async def stat_fields(self) -> tuple[int, float]:
        """find_one by the (parent, name) fields and their compound index."""
        async def op(_: int) -> None:
            i = self.rng.randrange(self.plan.files)
            doc = await self.inodes.find_one(
                {"parent": self.dir_id(self.plan.dir_of(i)), "name": f"f{i:07d}"}, {"data": 0})
            if doc is None or doc["size"] != self.plan.file_bytes:
                raise RuntimeError(f"mongo: no inode for file {i}")
        return await timed_run(self.plan.seconds, self.plan.max_ops, self.scan_concurrency, op)

    async def listing(self) -> tuple[int, float]:
        """find by parent (the compound index's prefix), without the data."""
        async def op(_: int) -> None:
            d = self.rng.randrange(self.plan.dirs)
            docs = await self.inodes.find({"parent": self.dir_id(d)}, {"data": 0}).to_list(None)
            if len(docs) != self.plan.files_in(d):
                raise RuntimeError(f"mongo: directory {d} has {len(docs)} children")
        return await timed_run(self.plan.seconds, self.plan.max_ops, self.scan_concurrency, op)

    def chunk_id(self, run: int, k: int) -> str:
        return f"s{run}/{k:08d}"

    async def stream_write(self, run: int) -> tuple[int, float]:
        n = self.plan.stream_mib * MIB // len(self.block)
        start = time.perf_counter()
        for k in range(n):
            await self.chunks.insert_one({"_id": self.chunk_id(run, k), "data": self.block})
        return n * len(self.block), time.perf_counter() - start

    async def stream_read(self, run: int) -> tuple[int, float]:
        n = self.plan.stream_mib * MIB // len(self.block)
        got = 0
        start = time.perf_counter()
        for k in range(n):
            doc = await self.chunks.find_one({"_id": self.chunk_id(run, k)})
            if doc is None:
                raise RuntimeError(f"mongo: chunk {self.chunk_id(run, k)} missing")
            got += len(doc["data"])
        elapsed = time.perf_counter() - start
        await self.chunks.delete_many({"_id": {"$in": [self.chunk_id(run, k) for k in range(n)]}})
        return got, elapsed

    async def explain_plans(self) -> dict[str, str]:
        """The query plans FerretDB reports (SQLite's EXPLAIN QUERY PLAN under FerretDB 1.x)."""
        out: dict[str, str] = {}
        for label, flt in (("find by _id", {"_id": self.key(0)}),
                           ("find by (parent, name)", {"parent": self.dir_id(0), "name": "f0000000"}),
                           ("find by parent", {"parent": self.dir_id(0)})):
            try:
                plan = await self.inodes.find(flt).explain()
                qp = plan.get("queryPlanner", plan)
                out[label] = str(qp)[:160] + f" pushdown={plan.get('pushdown', '?')}"
            except Exception as e:  # explain's shape differs between servers
                out[label] = f"explain failed: {e}"
        return out

    async def cleanup(self) -> None:
        try:
            await self.client.drop_database(self.database)
        finally:
            await self.client.close()


class DiskSubject(Subject):
    """The stream on local disk: write + fsync, then read after dropping the page cache."""

    name = "disk"

    def __init__(self, plan: Plan, scratch: Path) -> None:
        self.plan = plan
        self.scratch = scratch
        self.block = os.urandom(plan.chunk_kib * 1024)

    def _path(self, run: int) -> Path:
        return self.scratch / f"disk-stream-{run}"

    def _write(self, run: int) -> tuple[int, float]:
        n = self.plan.stream_mib * MIB // len(self.block)
        start = time.perf_counter()
        with self._path(run).open("wb", buffering=0) as f:
            for _ in range(n):
                f.write(self.block)
            os.fsync(f.fileno())
        return n * len(self.block), time.perf_counter() - start

    def _read(self, run: int) -> tuple[int, float]:
        path = self._path(run)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            got, start = 0, time.perf_counter()
            while chunk := os.read(fd, len(self.block)):
                got += len(chunk)
            elapsed = time.perf_counter() - start
        finally:
            os.close(fd)
        path.unlink()
        return got, elapsed

    async def stream_write(self, run: int) -> tuple[int, float]:
        return await asyncio.to_thread(self._write, run)

    async def stream_read(self, run: int) -> tuple[int, float]:
        return await asyncio.to_thread(self._read, run)
