"""The database under the services: FerretDB 1.24 on PostgreSQL 15 next to FerretDB on SQLite,
both started by this run, the same workload on each, alternating rounds.

    uv run --no-sync python bench/database/run.py [--rounds 3] [--seconds 5] [--concurrency 16]

Starts (ports 28100+, state /tmp/lulea-bench-database, nothing else of the stack) one
PostgreSQL cluster exactly as `make up` runs it (lulea.devstack.postgres), FerretDB on it, and
FerretDB on SQLite, then per round and per backend, through PyMongo's AsyncMongoClient with
`--concurrency` requests in flight:
  insert      insert_one of a small document {parent, name, size, tags}
  find _id    find_one by _id over --documents preloaded documents
  find key    find_one by {parent, name} over the same, with a unique index on (parent, name);
              then both again on PostgreSQL with GIN indexes made by hand (FerretDB#4646)
  register    POST /subjects/{s}/versions to the schema registry (a fresh process per backend,
              auth off, every request a new schema), through httpx with the same concurrency;
              its baseline: the same registrations on the registry's in-memory store
Then, once per backend, which MongoDB features work (createIndexes unique compound, whether the
unique index refuses a duplicate, whether explain() shows the index used, and more).
Prints min/median/max per figure, and the load average of the machine before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench._common import for_seconds, loadavg, spread
from lulea.devstack import postgres, process
from lulea.devstack.layout import Layout, tool_paths

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STATE = Path("/tmp/lulea-bench-database")
PORT_BASE = 28100
SQLITE_PORT = PORT_BASE + 13
PG_FERRET_PORT = PORT_BASE + 9
REGISTRY_PORT = PORT_BASE + 20


def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> process.Managed:
    return process.spawn(name, argv, STATE / "logs" / f"{name}.log", STATE / "pids" / f"{name}.pid",
                         env=env, cwd=REPO)


def wait(probe: Callable[[], bool], managed: process.Managed, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not managed.alive():
            sys.exit(f"{managed.name} exited; log: {STATE / 'logs' / managed.name}.log")
        if probe():
            return
        time.sleep(0.2)
    sys.exit(f"{managed.name} not ready after {timeout}s")


async def load(uri: str, documents: int) -> None:
    """The collection the finds read: `documents` entries with a unique (parent, name) index, as
    the storage namespace will keep them."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    coll = client["bench_db"]["lookup"]
    await coll.create_index([("parent", 1), ("name", 1)], unique=True)
    for b in range(0, documents, 1000):
        await coll.insert_many([{"_id": f"id{i}", "parent": f"dir{i % 100}", "name": f"f{i}",
                                 "size": i} for i in range(b, min(b + 1000, documents))])
    await client.close()


async def mongo_round(uri: str, tag: str, seconds: float, concurrency: int, documents: int,
                      insert: bool = True) -> dict[str, float]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, maxPoolSize=concurrency * 2)
    out: dict[str, float] = {}
    if insert:
        coll = client["bench_db"][f"files_{tag}"]
        await coll.create_index([("parent", 1), ("name", 1)], unique=True)

        async def insert_one(i: int) -> None:
            await coll.insert_one({"_id": f"{tag}-{i}", "parent": f"dir{i % 100}", "name": f"f{i}",
                                   "size": i, "tags": ["a", "b"]})

        out["insert"] = await for_seconds(seconds, concurrency, insert_one)
        await coll.drop()
    lookup = client["bench_db"]["lookup"]

    async def by_id(i: int) -> None:
        assert await lookup.find_one({"_id": f"id{(i * 7919) % documents}"}) is not None

    async def by_key(i: int) -> None:
        j = (i * 7919) % documents
        assert await lookup.find_one({"parent": f"dir{j % 100}", "name": f"f{j}"}) is not None

    out["find _id"] = await for_seconds(seconds, concurrency, by_id)
    out["find key"] = await for_seconds(seconds, concurrency, by_key)
    await client.close()
    return out


def gin_indexes(layout: Layout) -> str:
    """FerretDB#4646's workaround: GIN indexes on the expressions FerretDB's `@>` filters use,
    made by hand in PostgreSQL (FerretDB 1.24 makes btree indexes its queries cannot use)."""
    table = psql(layout, "SELECT _jsonb->>'table' FROM bench_db._ferretdb_database_metadata "
                         "WHERE _jsonb->>'_id' = 'lookup'").strip()
    psql(layout, f"CREATE INDEX lookup_id_gin ON bench_db.{table} USING gin ((_jsonb -> '_id'))")
    psql(layout, f"CREATE INDEX lookup_key_gin ON bench_db.{table} USING gin "
                 "((_jsonb -> 'parent'), (_jsonb -> 'name'))")
    psql(layout, f"ANALYZE bench_db.{table}")
    return table


def psql(layout: Layout, sql: str) -> str:
    bins = postgres.bin_dir()
    assert bins is not None
    return subprocess.run(
        [str(bins / "psql"), "-h", "127.0.0.1", "-p", str(layout.port("postgres")), "-U",
         postgres.SUPERUSER, "-d", postgres.DATABASE, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True, text=True, check=True).stdout


async def latency(uri: str, documents: int, n: int = 40) -> dict[str, float]:
    """Median milliseconds of one find_one at a time (no queueing behind other requests)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    lookup = client["bench_db"]["lookup"]
    out = {}
    def query(name: str, j: int) -> dict[str, str]:
        return {"_id": f"id{j}"} if name == "_id" else {"parent": f"dir{j % 100}", "name": f"f{j}"}

    for name in ("_id", "key"):
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            assert await lookup.find_one(query(name, (i * 7919) % documents)) is not None
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = statistics.median(times)
    await client.close()
    return out


async def explain(uri: str) -> dict[str, str]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    lookup = client["bench_db"]["lookup"]
    out = {}
    for name, query in (("_id", {"_id": "id77"}), ("key", {"parent": "dir77", "name": "f77"})):
        plan = await lookup.find(query).explain()
        out[name] = (f"filterPushdown={plan.get('filterPushdown')}; " + _plan_line(plan))
    await client.close()
    return out


def start_registry(uri: str | None, database: str) -> subprocess.Popen[bytes]:
    if uri is None:  # the in-memory store: the service's own cost
        argv = [sys.executable, str(REPO / "bench" / "schema_registry" / "memory_registry.py"),
                str(REGISTRY_PORT)]
        env = dict(os.environ)
    else:
        argv = [sys.executable, "-m", "lulea.schema_registry"]
        env = {**os.environ, "LULEA_SCHEMA_REGISTRY_HOST": "127.0.0.1",
               "LULEA_SCHEMA_REGISTRY_PORT": str(REGISTRY_PORT), "LULEA_ENV": "local",
               "LULEA_SCHEMA_REGISTRY_EVERY_CALLER_IS_PLATFORM": "true",
               "LULEA_SCHEMA_REGISTRY_MONGO_URI": uri,
               "LULEA_SCHEMA_REGISTRY_MONGO_DATABASE": database,
               "LULEA_SCHEMA_REGISTRY_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("the schema registry exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{REGISTRY_PORT}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("the schema registry did not become ready")


async def register_round(tag: str, seconds: float, concurrency: int) -> float:
    failed = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{REGISTRY_PORT}", timeout=30,
                                 limits=httpx.Limits(max_connections=concurrency)) as http:

        async def register(i: int) -> None:
            nonlocal failed
            schema = {"type": "record", "name": "R", "fields": [
                {"name": "a", "type": "int"}, {"name": f"x{i}", "type": "long", "default": 0}]}
            r = await http.post(f"/subjects/bench.{tag}-{i % 50}-value/versions",
                                json={"schema": json.dumps(schema)},
                                headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
            if r.status_code != 200:
                failed += 1

        rate = await for_seconds(seconds, concurrency, register)
    if failed:
        print(f"  ({failed} registrations failed on {tag})")
    return rate


async def features(uri: str) -> dict[str, str]:
    """What works on this backend, tried, not read from a table."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=5000)
    db = client["bench_features"]
    await db.drop_collection("f")
    coll = db["f"]
    out: dict[str, str] = {}

    async def attempt(name: str, fn: Callable[[], Awaitable[str]]) -> None:
        try:
            out[name] = await fn()
        except (PyMongoError, NotImplementedError) as exc:
            out[name] = f"NO ({type(exc).__name__}: {str(exc).splitlines()[0][:90]})"

    async def compound_unique() -> str:
        await coll.create_index([("parent", 1), ("name", 1)], unique=True, name="parent_name")
        await coll.insert_many([{"parent": f"p{i % 20}", "name": f"n{i}", "v": i} for i in range(2000)])
        names = [ix["name"] async for ix in await coll.list_indexes()]
        return "yes" if "parent_name" in names else f"NO (indexes: {names})"

    async def unique_refuses() -> str:
        try:
            await coll.insert_one({"parent": "p1", "name": "n1"})
        except PyMongoError as exc:
            return f"yes ({type(exc).__name__})"
        return "NO: a duplicate (parent, name) was inserted"

    async def explain_uses() -> str:
        plan = await coll.find({"parent": "p3", "name": "n3"}).explain()
        text = json.dumps(plan, default=str)
        pushdown = plan.get("filterPushdown", plan.get("pushdown"))
        used = any(mark in text for mark in ("Index Scan", "Bitmap Index", "USING INDEX", "SEARCH"))
        return (("yes" if used else "NO") + f" (filterPushdown={pushdown}; plan: "
                + _plan_line(plan) + ")")

    async def explain_id() -> str:
        plan = await coll.find({"_id": (await coll.find_one({}))["_id"]}).explain()  # type: ignore[index]
        return f"filterPushdown={plan.get('filterPushdown', plan.get('pushdown'))}; plan: {_plan_line(plan)}"

    async def partial_index() -> str:
        await coll.create_index("v", partialFilterExpression={"v": {"$gt": 5}}, name="partial_v")
        return "yes"

    async def ttl_index() -> str:
        await coll.create_index("at", expireAfterSeconds=60, name="ttl_at")
        return "accepted (expiry not checked)"

    async def text_index() -> str:
        await coll.create_index([("name", "text")], name="text_name")
        return "yes"

    async def transactions() -> str:
        async with client.start_session() as session, await session.start_transaction():
            await coll.insert_one({"parent": "tx", "name": "tx"}, session=session)
        return "yes"

    async def change_stream() -> str:
        async with await coll.watch(max_await_time_ms=100) as stream:
            await stream.try_next()
        return "yes"

    async def lookup() -> str:
        await db["g"].insert_one({"parent": "p1"})
        docs = [d async for d in await coll.aggregate([
            {"$match": {"name": "n1"}},
            {"$lookup": {"from": "g", "localField": "parent", "foreignField": "parent", "as": "j"}}])]
        return "yes" if docs and docs[0].get("j") else "NO (empty join)"

    async def find_and_modify() -> str:
        doc = await coll.find_one_and_update({"name": "n2"}, {"$inc": {"v": 1}}, return_document=True)
        return "yes" if doc and doc["v"] == 3 else "NO"

    async def regex_prefix() -> str:
        n = await coll.count_documents({"parent": "p1", "name": {"$regex": "^n1"}})
        return f"yes ({n})"

    for name, fn in [("createIndexes unique (parent, name)", compound_unique),
                     ("unique index refuses a duplicate", unique_refuses),
                     ("explain(): find {parent, name} uses the index", explain_uses),
                     ("explain(): find {_id}", explain_id),
                     ("partial index", partial_index), ("TTL index", ttl_index),
                     ("text index", text_index), ("transactions", transactions),
                     ("change streams", change_stream), ("$lookup", lookup),
                     ("findAndModify", find_and_modify), ("prefix $regex", regex_prefix)]:
        await attempt(name, fn)
    await client.drop_database("bench_features")
    await client.close()
    return out


def _plan_line(plan: dict[str, Any]) -> str:
    qp = plan.get("queryPlanner")
    if isinstance(qp, dict):
        inner = qp.get("Plan") or qp
        if isinstance(inner, dict):
            return str({k: inner.get(k) for k in ("Node Type", "Index Name", "Relation Name", "Filter")
                        if inner.get(k)})[:220]
    if isinstance(qp, list) and qp:
        return _plan_line({"queryPlanner": qp[0]})
    return str(qp)[:220]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--documents", type=int, default=20000)
    args = parser.parse_args()
    if postgres.bin_dir() is None:
        sys.exit("no PostgreSQL server binaries found: nothing to compare")
    shutil.rmtree(STATE, ignore_errors=True)
    layout = Layout(STATE, PORT_BASE, tools=tool_paths())
    layout.ensure_dirs()
    ferretdb = str(layout.tools["ferretdb"])
    load_before = loadavg()
    started: list[process.Managed] = []
    try:
        postgres.prepare(layout)
        pg = spawn("postgres", postgres.argv(layout))
        started.append(pg)
        wait(lambda: postgres.ready(layout), pg)
        on_pg = spawn("ferretdb-pg", [ferretdb, f"-listen-addr=127.0.0.1:{PG_FERRET_PORT}",
                                      "-handler=postgresql", f"-postgresql-url={postgres.url(layout)}"])
        (STATE / "sqlite").mkdir()
        on_sqlite = spawn("ferretdb-sqlite", [ferretdb, f"-listen-addr=127.0.0.1:{SQLITE_PORT}",
                                              "-handler=sqlite", f"-sqlite-url=file:{STATE / 'sqlite'}/"])
        started += [on_pg, on_sqlite]
        wait(lambda: process.tcp_open(PG_FERRET_PORT), on_pg)
        wait(lambda: process.tcp_open(SQLITE_PORT), on_sqlite)
        backends = {"PostgreSQL": f"mongodb://127.0.0.1:{PG_FERRET_PORT}/",
                    "SQLite": f"mongodb://127.0.0.1:{SQLITE_PORT}/"}
        results: dict[str, dict[str, list[float]]] = {
            b: {} for b in [*backends, "PostgreSQL+GIN", "in-memory"]}
        for uri in backends.values():
            asyncio.run(load(uri, args.documents))
        plans = {b: asyncio.run(explain(uri)) for b, uri in backends.items()}
        latencies = {b: asyncio.run(latency(uri, args.documents)) for b, uri in backends.items()}
        for r in range(args.rounds):
            order = list(backends) if r % 2 == 0 else list(reversed(backends))
            for backend in order:
                got = asyncio.run(mongo_round(backends[backend], f"r{r}", args.seconds,
                                              args.concurrency, args.documents))
                for k, v in got.items():
                    results[backend].setdefault(k, []).append(v)
                print(f"round {r + 1} {backend:10} " + "  ".join(f"{k} {v:.0f}" for k, v in got.items()),
                      flush=True)
        gin_indexes(layout)
        plans["PostgreSQL+GIN"] = asyncio.run(explain(backends["PostgreSQL"]))
        latencies["PostgreSQL+GIN"] = asyncio.run(latency(backends["PostgreSQL"], args.documents))
        for r in range(args.rounds):
            got = asyncio.run(mongo_round(backends["PostgreSQL"], f"g{r}", args.seconds,
                                          args.concurrency, args.documents, insert=False))
            for k, v in got.items():
                results["PostgreSQL+GIN"].setdefault(k, []).append(v)
            print(f"round {r + 1} PG+GIN     " + "  ".join(f"{k} {v:.0f}" for k, v in got.items()),
                  flush=True)
        for r in range(args.rounds):
            order = [*backends, "in-memory"] if r % 2 == 0 else ["in-memory", *reversed(backends)]
            for backend in order:
                proc = start_registry(backends.get(backend), f"sr_bench_r{r}")
                try:
                    rate = asyncio.run(register_round(f"{backend[:2]}{r}", args.seconds * 2,
                                                      args.concurrency))
                finally:
                    proc.terminate()
                    proc.wait(timeout=15)
                results[backend].setdefault("register", []).append(rate)
                print(f"round {r + 1} {backend:10} register {rate:.1f}/s", flush=True)
        feats = {b: asyncio.run(features(uri)) for b, uri in backends.items()}
    finally:
        for managed in reversed(started):
            process.stop(managed)
    load_after = loadavg()

    print(f"\nFerretDB 1.24.2, PyMongo AsyncMongoClient, {args.concurrency} in flight, "
          f"{args.rounds} alternating rounds of {args.seconds:.0f}s ({args.seconds * 2:.0f}s for "
          f"registrations); {os.cpu_count()} cores shared; load average {load_before} before, "
          f"{load_after} after")
    print(f"PostgreSQL {postgres.bin_dir()} as make up runs it (fsync, synchronous_commit and "
          "full_page_writes off); SQLite as FerretDB configures it by default")
    print(f"{'ops/s (min median max)':34} {'PostgreSQL':>26} {'SQLite':>26} {'PG/SQLite':>10}")
    for k in ("insert", "find _id", "find key", "register"):
        pg_v, sq_v = results["PostgreSQL"][k], results["SQLite"][k]
        print(f"{k:34} {spread(pg_v, 0):>26} {spread(sq_v, 0):>26} "
              f"{statistics.median(pg_v) / statistics.median(sq_v):10.2f}")
    for k in ("find _id", "find key"):
        gin, sq_v = results["PostgreSQL+GIN"][k], results["SQLite"][k]
        print(f"{k + ', PG + GIN by hand':34} {spread(gin, 0):>26} {'':>26} "
              f"{statistics.median(gin) / statistics.median(sq_v):10.2f}")
    mem = results["in-memory"]["register"]
    print(f"{'register, in-memory store (baseline)':34} {spread(mem, 0):>26}")
    print(f"finds over {args.documents} documents (unique index on (parent, name)); one at a time, "
          "median ms, and plans:")
    for b, p in plans.items():
        for q, line in p.items():
            print(f"  {b:15} find {q:4} {latencies[b][q]:7.1f} ms  {line}")
    print("\nfeatures (tried on each backend):")
    for name in feats["PostgreSQL"]:
        print(f"  {name}\n    PostgreSQL: {feats['PostgreSQL'][name]}\n"
              f"    SQLite:     {feats['SQLite'].get(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
