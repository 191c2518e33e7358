"""The storage namespace itself on the stack's real FerretDB (on its PostgreSQL): what the
database does with our keys (explain), and every journalled operation killed at every one of
its database calls, then recovered by another writer: the namespace shows the old state or the
new one, never a mix, and fsck finds nothing left, usage counters included: a reservation the
kill cut off between a counter's move and its record is named on the counter (quota.Hold) and
resolved by the reclaimer, exactly.

A "kill" is a writer whose every database call fails from the chosen call on (its own clean-up
included), so what it leaves is what a SIGKILL at that point leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from lulea.storage.namespace.fsck import fsck
from lulea.storage.namespace.inodes import key
from lulea.storage.namespace.paths import Path
from lulea.storage.namespace.store import Namespace, NewFile

pytestmark = pytest.mark.timeout(900)
BLOCK = 96 * 1024  # small blocks: a "large" file of a few blocks is quick to write
ROOT = Path.parse("/Projects/p/d")


class Killed(ConnectionError):
    pass


class Fuse:
    """Counts a writer's database calls and fails every one from call `at` on."""

    def __init__(self, at: int | None) -> None:
        self.at, self.calls = at, 0

    def wrap(self, target: Any) -> Any:
        fuse = self

        class Wrapped:
            def __getattr__(self, name: str) -> Any:
                attr = getattr(target, name)
                if name == "find":
                    def find(*a: Any, **kw: Any) -> Any:
                        fuse.tick()
                        return attr(*a, **kw)
                    return find
                if not callable(attr):
                    return attr

                async def call(*a: Any, **kw: Any) -> Any:
                    fuse.tick()
                    return await attr(*a, **kw)
                return call
        return Wrapped()

    def tick(self) -> None:
        self.calls += 1
        if self.at is not None and self.calls > self.at:
            raise Killed(f"killed at call {self.at}")


def fused(ns: Namespace, fuse: Fuse) -> Namespace:
    ns.inodes = fuse.wrap(ns.inodes)
    ns.journal = fuse.wrap(ns.journal)
    ns.writers = fuse.wrap(ns.writers)
    ns.blocks.blocks = fuse.wrap(ns.blocks.blocks)  # type: ignore[attr-defined]
    return ns


async def body(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 50_000):
        yield data[i:i + 50_000]


async def read(ns: Namespace, path: str) -> bytes | None:
    try:
        _, stream = await ns.open(Path.parse(path), 0, None)
    except Exception:
        return None
    return b"".join([c async for c in stream])


async def write(ns: Namespace, path: str, data: bytes, overwrite: bool = False) -> None:
    await ns.create(Path.parse(path), body(data), NewFile("p__alice", "p"), overwrite=overwrite)


@pytest.fixture
async def database(mongo_uri: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    name = f"ns_{uuid.uuid4().hex[:8]}"
    try:
        yield client, name
    finally:
        await client.drop_database(name)
        await client.close()


async def fresh(client: Any, name: str) -> Namespace:
    await client.drop_database(name)
    ns = Namespace(client[name], block_bytes=BLOCK)
    await ns.create_indexes()
    await ns.mkdirs(ROOT, owner="lulea", group="p")
    await ns.set_quota(ROOT, files=1000, nbytes=10_000_000)
    return ns


SMALL, LARGE, OTHER = b"s" * 1000, os.urandom(5 * BLOCK + 123), os.urandom(2 * BLOCK)
R = str(ROOT)


async def setup_tree(ns: Namespace) -> None:
    await write(ns, f"{R}/a/small", SMALL)
    await write(ns, f"{R}/a/large", LARGE)
    for i in range(5):
        await write(ns, f"{R}/a/sub/f{i}", b"%d" % i)


async def calls_made(client: Any, dbname: str, operation: Callable[[Namespace], Awaitable[Any]]) -> int:
    """How many database calls `operation` makes on the set-up tree when nothing fails."""
    await setup_tree(await fresh(client, dbname))
    fuse = Fuse(None)
    await operation(fused(Namespace(client[dbname], block_bytes=BLOCK), fuse))
    return fuse.calls


async def killed_then_recovered(client: Any, dbname: str, operation: Callable[[Namespace], Awaitable[Any]],
                                at: int) -> Namespace:
    """Run `operation` on a fresh set-up tree by a writer killed at its `at`-th database call,
    then let another writer take over once the victim's heartbeat is gone; returns that one."""
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    fuse = Fuse(None)
    victim = fused(Namespace(client[dbname], block_bytes=BLOCK), fuse)
    await victim.heartbeat()
    fuse.at = fuse.calls + at
    with contextlib.suppress(Killed):
        await operation(victim)
    await ns.writers.delete_one({"_id": victim.writer})
    for _ in range(3):
        await ns.reclaim_once()
    return ns


# each: (name, what the killed writer does, the states a reader may find afterwards)
State = dict[str, bytes | None]
SCENARIOS: list[tuple[str, Callable[[Namespace], Awaitable[Any]], list[State]]] = [
    ("create small", lambda ns: write(ns, f"{R}/new", SMALL), [{f"{R}/new": None}, {f"{R}/new": SMALL}]),
    ("create small in new directories", lambda ns: write(ns, f"{R}/x/y/new", SMALL),
     [{f"{R}/x/y/new": None}, {f"{R}/x/y/new": SMALL}]),
    ("create large", lambda ns: write(ns, f"{R}/new", LARGE), [{f"{R}/new": None}, {f"{R}/new": LARGE}]),
    ("overwrite large with large", lambda ns: write(ns, f"{R}/a/large", OTHER, overwrite=True),
     [{f"{R}/a/large": LARGE}, {f"{R}/a/large": OTHER}]),
    ("overwrite small with large", lambda ns: write(ns, f"{R}/a/small", LARGE, overwrite=True),
     [{f"{R}/a/small": SMALL}, {f"{R}/a/small": LARGE}]),
    ("append to large", lambda ns: ns.append(Path.parse(f"{R}/a/large"), body(OTHER)),
     [{f"{R}/a/large": LARGE}, {f"{R}/a/large": LARGE + OTHER}]),
    ("append to small, into blocks", lambda ns: ns.append(Path.parse(f"{R}/a/small"), body(OTHER)),
     [{f"{R}/a/small": SMALL}, {f"{R}/a/small": SMALL + OTHER}]),
    ("rename a file", lambda ns: ns.rename(Path.parse(f"{R}/a/large"), Path.parse(f"{R}/moved")),
     [{f"{R}/a/large": LARGE, f"{R}/moved": None}, {f"{R}/a/large": None, f"{R}/moved": LARGE}]),
    ("rename a directory", lambda ns: ns.rename(Path.parse(f"{R}/a"), Path.parse(f"{R}/b")),
     [{f"{R}/a/sub/f3": b"3", f"{R}/b/sub/f3": None}, {f"{R}/a/sub/f3": None, f"{R}/b/sub/f3": b"3"}]),
    ("delete a file", lambda ns: ns.delete(Path.parse(f"{R}/a/large"), recursive=False),
     [{f"{R}/a/large": LARGE}, {f"{R}/a/large": None}]),
    ("delete a tree", lambda ns: ns.delete(Path.parse(f"{R}/a"), recursive=True),
     [{f"{R}/a/sub/f1": b"1", f"{R}/a/small": SMALL}, {f"{R}/a/sub/f1": None, f"{R}/a/small": None}]),
]


@pytest.mark.parametrize(("name", "operation", "states"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_an_operation_killed_at_every_database_call(database: Any, name: str,
                                                          operation: Callable[[Namespace], Awaitable[Any]],
                                                          states: list[State]) -> None:
    client, dbname = database
    total = await calls_made(client, dbname, operation)
    assert total > 0
    seen: set[int] = set()
    for at in range(total + 1):
        ns = await killed_then_recovered(client, dbname, operation, at)
        found = {p: await read(ns, p) for p in states[0]}
        assert found in states, (name, at, {p: None if v is None else len(v) for p, v in found.items()})
        seen.add(states.index(found))
        report = await fsck(ns)  # usage exact too: every reservation the kill cut off is resolved
        assert report.clean and not report.in_progress, (name, at, report.as_dict())
    assert seen == {0, 1}, (name, seen)  # the kills fell both before and after the operation took effect


CONCURRENT = ({f"{R}/c/s{i}": bytes([65 + i]) * (500 + i) for i in range(12)}
              | {f"{R}/c/l{i}": os.urandom(2 * BLOCK + i) for i in range(2)}
              | {f"{R}/c/n{i}/f": b"n" * 300 for i in range(3)})


async def test_concurrent_creates_killed_at_many_points(database: Any) -> None:
    """Creates running at once share counter moves (quota's groups): a kill in the middle of
    a group's move leaves several reservations whose writers never learnt the outcome. Killed
    at calls spread over the whole run, another writer recovers: each file is absent or whole,
    and fsck finds nothing, usage exact."""
    import asyncio

    async def all_at_once(ns: Namespace) -> None:
        results = await asyncio.gather(*(write(ns, p, d) for p, d in CONCURRENT.items()),
                                       return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, Killed):
                raise r

    client, dbname = database
    total = await calls_made(client, dbname, all_at_once)
    assert total > len(CONCURRENT)
    none = partial = 0
    for at in range(0, total, max(1, total // 12)):
        ns = await killed_then_recovered(client, dbname, all_at_once, at)
        found = {p: await read(ns, p) for p in CONCURRENT}
        for p, data in found.items():
            assert data in (None, CONCURRENT[p]), (at, p)
        present = sum(v is not None for v in found.values())
        none += present == 0
        partial += 0 < present < len(CONCURRENT)
        report = await fsck(ns)
        assert report.clean and not report.in_progress, (at, report.as_dict())
    assert none > 0 and partial > 0, (none, partial)  # kills fell before and inside the run


class LostAnswer:
    """A collection whose `insert_one` writes, then fails as a dropped connection does before
    the answer arrives: the writer cannot know that its write happened."""

    def __init__(self, target: Any) -> None:
        self.target, self.lost = target, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)

    async def insert_one(self, doc: Any, *a: Any, **kw: Any) -> Any:
        await self.target.insert_one(doc, *a, **kw)
        if doc.get("type") == "FILE" and not self.lost:
            self.lost += 1
            raise ConnectionError("connection lost before the answer")
        return None


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["small", "large"])
async def test_a_create_whose_answer_is_lost_is_counted_once(database: Any, data: bytes) -> None:
    """The entry was inserted but the writer got an error: it must neither give the file's
    reservation back (usage low) nor remove the blocks of what is now a visible file; the
    writer's own reclaimer resolves the hold from the entry it finds."""
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    lossy = LostAnswer(ns.inodes)
    ns.inodes = lossy  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await write(ns, f"{R}/lost", data)
    assert lossy.lost == 1
    ns.inodes = lossy.target
    for _ in range(2):
        await ns.reclaim_once()
    assert await read(ns, f"{R}/lost") == data
    report = await fsck(ns)
    assert report.clean and not report.in_progress, report.as_dict()


async def test_an_upload_a_version_before_holds_left_is_given_back(database: Any) -> None:
    """A rolling upgrade: a writer of the version before holds died during an upload (its
    journal entry has no `holds`, its reservations are on the counters unnamed and on its
    blocks); a writer of this version takes the blocks back with what each says it reserved."""
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    path = Path.parse(f"{R}/a/old-upload")
    account = ns.account(await ns.chain(path.parent), path)
    parent = (await ns.chain(path.parent))[-1]
    ino = 4242
    await ns.holds.reserve(ns.inodes, account, 0, 1)  # as the old version did: unnamed
    await ns.journal.insert_one({"_id": f"up:{ino}", "kind": "upload", "phase": "open", "writer": "gone",
                                 "key": key(int(parent["ino"]), path.name), "ino": ino,
                                 "dataset": account.dataset, "pdir": account.pdir})
    for index in range(3):
        await ns.holds.reserve(ns.inodes, account, BLOCK, 0)
        await ns.blocks.put(b"b" * BLOCK, inode=ino, index=index, writer="gone", reserved=BLOCK,
                            dataset=account.dataset, pdir=account.pdir)
    assert not (await fsck(ns)).clean
    for _ in range(2):
        await ns.reclaim_once()
    report = await fsck(ns)
    assert report.clean and not report.in_progress, report.as_dict()


class Interleaved:
    """A journal on which a delete's commit waits until the reclaimer has listed the journal,
    and the reclaimer's listing is handed back only after the delete has returned: the
    reclaimer holds a copy of the entry older than the operation's end."""

    def __init__(self, target: Any) -> None:
        self.target, self.listed, self.deleted = target, asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)

    async def update_one(self, query: Any, change: Any, *a: Any, **kw: Any) -> Any:
        if change.get("$set", {}).get("phase") == "committed":
            await self.listed.wait()
        return await self.target.update_one(query, change, *a, **kw)

    def find(self, *a: Any, **kw: Any) -> Any:
        interleaved = self

        async def entries() -> AsyncIterator[Any]:
            listing = [e async for e in interleaved.target.find(*a, **kw)]
            interleaved.listed.set()
            await interleaved.deleted.wait()
            for e in listing:
                yield e
        return entries()


async def test_a_reclaimer_listing_older_than_a_delete_finishes_it(database: Any) -> None:
    """The reclaimer lists the journal while this writer's recursive delete is open; the delete
    commits (its root entry gone: the subtree is the reclaimer's) before the round reaches the
    entry. The round must act on the entry as it is now, not on its listed "open" copy: rolling
    that back left the subtree's files under a directory that no longer exists (fsck:
    danglingParents), found by CI when the operator deleted two datasets at once."""
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    journal = Interleaved(ns.journal)
    ns.journal = journal  # type: ignore[assignment]

    async def delete() -> bool:
        try:
            return await ns.delete(Path.parse(f"{R}/a"), recursive=True)
        finally:
            journal.deleted.set()
    deleted, _ = await asyncio.wait_for(asyncio.gather(delete(), ns.reclaim_once()), 60)
    assert deleted
    ns.journal = journal.target
    for _ in range(2):
        await ns.reclaim_once()
    root = (await ns.chain(ROOT))[-1]["_id"]
    left = [d["_id"] async for d in ns.inodes.find({"dataset": root}, {"_id": 1}) if d["_id"] != root]
    assert left == [], left
    report = await fsck(ns)
    assert report.clean and not report.in_progress, report.as_dict()


def _node_types(plan: Any) -> list[str]:
    """Every node type of a PostgreSQL plan, as FerretDB's explain returns it."""
    found: list[str] = []
    stack = [plan.get("queryPlanner", {}).get("Plan", {})]
    while stack:
        node = stack.pop()
        found.append(str(node.get("Node Type")))
        stack += node.get("Plans") or []
    return found


async def test_postgresql_answers_our_keys_from_the_indexes_the_service_makes(database: Any,
                                                                             stack: Any) -> None:
    """FerretDB 1.24 on PostgreSQL pushes every lookup of the hot path down as a filter
    (`_jsonb->'_id' @> '"<key>"'`), which its own btree indexes cannot serve (FerretDB#4646):
    without more, every find is a Seq Scan. The migration the service runs at start
    (lulea.storage.postgres_indexes) adds GIN indexes on those expressions; with them, a find by
    key, a block by key and a listing by parent are index probes, in a namespace large enough for
    the planner to choose (PostgreSQL scans a table of a few pages whatever the indexes)."""
    from lulea.devstack import postgres
    from lulea.storage.postgres_indexes import NAMESPACE_INDEXES, ensure_collections, ensure_gin_indexes

    if why := postgres.unavailable(stack.layout):
        pytest.skip(f"FerretDB runs on SQLite here ({why}): its explain is SQLite's")
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    a = await ns.stat(Path.parse(f"{R}/a"))
    large = await ns.stat(Path.parse(f"{R}/a/large"))
    # a namespace of some thousands of entries in 50 directories, and blocks (direct inserts:
    # quick; the test's database goes at the end)
    fake = 10**12
    await ns.inodes.insert_many([{"_id": key(fake + i % 50, f"n{i}"), "ino": fake + 100 + i,
                                  "parent": str(fake + i % 50), "name": f"n{i}", "type": "FILE",
                                  "state": "live", "size": 1, "data": b"x"} for i in range(5000)])
    await ns.blocks.blocks.insert_many([  # type: ignore[attr-defined]
        {"_id": f"{fake + i}#0", "inode": fake + i, "size": 1, "data": b"x"} for i in range(2000)])
    entry = key(int(a["ino"]), "small")
    queries = (("entry by key", "inodes", {"_id": entry}),
               ("entry by key and condition", "inodes", {"_id": entry, "tx": {"$exists": False}}),
               ("block by key", "blocks", {"_id": f"{int(large['ino'])}#0"}),
               ("journal entry by key", "journal", {"_id": f"rm:{int(a['ino'])}"}),
               ("children by parent", "inodes", {"parent": str(a["ino"])}))

    async def plans() -> dict[str, Any]:
        found = {}
        for what, collection, query in queries:
            found[what] = plan = await ns.db[collection].find(query).explain()
            print(what, _node_types(plan), plan.get("queryPlanner", {}).get("Plan", {}).get("Filter"))
        return found

    before = await plans()
    assert "'parent'" in str(before["children by parent"])  # filtered inside PostgreSQL
    for what in ("entry by key", "block by key", "children by parent"):
        assert "Seq Scan" in _node_types(before[what]), (what, before[what])  # FerretDB#4646 as it is
    dsn = postgres.url(stack.layout)
    await ensure_collections(ns.db, NAMESPACE_INDEXES)
    made = await ensure_gin_indexes(dsn, dbname)
    assert made is not None and {r.action for r in made} == {"created"}, made
    again = await ensure_gin_indexes(dsn, dbname)  # idempotent: nothing made twice
    assert again is not None and {r.action for r in again} == {"present"}, again
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        options = {str(name): opts for name, opts in await (await conn.execute(
            "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname LIKE 'lulea_gin_%%'", (dbname,))).fetchall()}
        assert options and all(o == ["fastupdate=off"] for o in options.values()), options  # no pending list
        # an index made by an earlier version, with GIN's pending list: switched off and flushed
        await conn.execute(f'ALTER INDEX "{dbname}".lulea_gin_inodes_id SET (fastupdate = on)')
    tuned = await ensure_gin_indexes(dsn, dbname)
    assert tuned is not None and {(r.index, r.action) for r in tuned if r.action != "present"} == {
        ("lulea_gin_inodes_id", "tuned")}, tuned
    after = await plans()
    for what, _, _ in queries:
        if what == "journal entry by key":
            continue  # a journal holds a handful of entries: a scan of one page is the right plan
        assert "Seq Scan" not in _node_types(after[what]), (what, after[what])
        assert "lulea_gin_" in str(after[what]), (what, after[what])


async def _scans(dsn: str, schema: str, table: str, index: str) -> tuple[int, int]:
    """(sequential scans of `table`, scans of `index`) as PostgreSQL's statistics count them."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (await conn.execute(
            "SELECT t.seq_scan, i.idx_scan FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i"
            " ON i.relid = t.relid WHERE t.schemaname = %s AND t.relname = %s AND i.indexrelname = %s",
            (schema, table, index))).fetchone()
    assert row is not None, (schema, table, index)
    return int(row[0]), int(row[1])


async def test_ferretdbs_prepared_finds_keep_using_the_index_as_the_namespace_fills(database: Any,
                                                                                   stack: Any) -> None:
    """What the service lives through, unlike `explain` (planned once, for its constants): the
    indexes are made at start on empty tables, then FerretDB's connections run the same
    prepared find (`_jsonb->$1 @> $2`) thousands of times while entries of 4 KiB pile up. Two
    planner traps made every lookup a Seq Scan that detoasts every row (41-88 ms a stat at 3,000
    entries): a generic plan chosen while the table was small, which cannot use an expression
    index, and GIN's pending list, which prices the index above a scan of the few heap pages.
    Afterwards, finds by key are counted by PostgreSQL itself: index scans, not table scans.
    With the pending list back, this failed with 9 index scans and 281 table scans; with generic
    plans allowed, once with 23 table scans of 200 and once not at all (which connections keep a
    generic plan depends on timing)."""
    import asyncio
    import time

    from lulea.devstack import postgres
    from lulea.storage.postgres_indexes import (
        NAMESPACE_INDEXES,
        custom_plans,
        ensure_collections,
        ensure_gin_indexes,
    )

    if why := postgres.unavailable(stack.layout):
        pytest.skip(f"FerretDB runs on SQLite here ({why})")
    client, dbname = database
    db = client[dbname]
    dsn = postgres.url(stack.layout)
    await ensure_collections(db, NAMESPACE_INDEXES)  # as the service starts: empty tables
    made = await ensure_gin_indexes(dsn, dbname)
    assert made is not None
    assert await custom_plans(dsn) in ("set", "present")
    entries = next(r for r in made if r.collection == "inodes" and r.field == "_id")
    assert entries.table is not None
    inodes = db["inodes"]
    blob = os.urandom(4096)
    for batch in range(30):  # 3,000 entries, each batch followed by lookups, as creates do
        await inodes.insert_many([{"_id": f"7/f{batch:02d}{i:03d}", "parent": "7", "name": f"f{batch}{i}",
                                   "data": blob} for i in range(100)])
        await asyncio.gather(*(inodes.find_one({"_id": f"7/f{batch:02d}{i:03d}"}) for i in range(0, 100, 10)))
    seq0, idx0 = await _scans(dsn, dbname, entries.table, entries.index)
    n = 200
    found = await asyncio.gather(*(inodes.find_one({"_id": f"7/f{i % 30:02d}{i % 100:03d}"}, {"_id": 1})
                                   for i in range(n)))
    assert all(f is not None for f in found)
    deadline = time.monotonic() + 30  # backends report their counts within seconds of going idle
    while True:
        seq, idx = await _scans(dsn, dbname, entries.table, entries.index)
        if idx - idx0 >= n or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert idx - idx0 >= n and seq - seq0 < n // 10, {"index scans": idx - idx0, "table scans": seq - seq0}


async def test_usage_stays_exact_while_the_quota_is_set_again_and_again(database: Any) -> None:
    """The dataset operator re-sets each dataset's quota at every resync (SETQUOTA, every few
    seconds) while members write. FerretDB 1.x applies an update by writing the whole document
    back, counters included, so a SETQUOTA that raced a reservation used to lose it: the usage
    of a busy dataset drifted (fsck's `usageDrift`). Creates, overwrites, appends, deletes and
    renames, concurrently, with the limits changed under them all the time: usage exact."""
    import asyncio

    client, dbname = database
    ns = await fresh(client, dbname)
    done = asyncio.Event()

    async def operator() -> None:
        n = 0
        while not done.is_set():
            n += 1
            await ns.set_quota(ROOT, files=1000 + n % 2, nbytes=10_000_000 + n % 2)  # a change each time

    async def member(i: int) -> None:
        path = f"{R}/m{i % 8}/f{i}"
        await write(ns, path, b"x" * (100 + i))
        if i % 3 == 0:
            await write(ns, path, b"y" * (50 + i), overwrite=True)
        if i % 4 == 0:
            await ns.append(Path.parse(path), body(b"z" * 10))
        if i % 5 == 0:
            await ns.delete(Path.parse(path), recursive=False)
        elif i % 7 == 0:
            await ns.rename(Path.parse(path), Path.parse(f"{path}.moved"))

    limit = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with limit:
            await member(i)
    setter = asyncio.create_task(operator())
    try:
        await asyncio.gather(*(one(i) for i in range(300)))
    finally:
        done.set()
        await setter
    for _ in range(3):
        await ns.reclaim_once()
    report = await fsck(ns)
    assert report.clean, report.as_dict()


class CountingMoves:
    """The inodes collection, counting the updates of one counter document that took usage
    (applied, usage moved up)."""

    def __init__(self, target: Any, counter: str) -> None:
        self.target, self.counter, self.moves = target, counter, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.target, name)
        if name != "update_one":
            return attr

        async def update_one(query: dict[str, Any], update: dict[str, Any], *a: Any, **kw: Any) -> Any:
            done = await attr(query, update, *a, **kw)
            took = any(k.startswith("usage.") and v > 0 for k, v in update.get("$inc", {}).items())
            if query.get("_id") == self.counter and took and done.matched_count == 1:
                self.moves += 1
            return done
        return update_one


@pytest.mark.parametrize("limit", ["files", "bytes"])
async def test_concurrent_creates_under_a_tight_quota_are_counted_in_groups_and_exactly(
        database: Any, limit: str) -> None:
    """300 creates at once into a dataset whose quota lets 150 pass: the counter moves are
    grouped (fewer moves took usage than files were created: without grouping each create is
    one such move, one at a time), a group the limit refuses is retried one by one, so exactly 150 pass and
    the others get the HDFS quota exception; usage is exact and fsck finds nothing."""
    import asyncio

    from lulea.storage.namespace.errors import StorageError

    client, dbname = database
    ns = await fresh(client, dbname)
    await ns.mkdirs(Path.parse(f"{R}/g"), owner="p__alice", group="p")
    size = 1000
    if limit == "files":
        await ns.set_quota(ROOT, files=1 + 150, nbytes=10_000_000)
    else:
        await ns.set_quota(ROOT, files=1000, nbytes=150 * size + size // 2)
    counting = CountingMoves(ns.inodes, (await ns.stat(ROOT))["_id"])
    ns.inodes = counting  # type: ignore[assignment]

    async def one(i: int) -> str:
        try:
            await write(ns, f"{R}/g/f{i}", bytes([i % 256]) * size)
        except StorageError as e:
            return e.kind.exception
        return "ok"
    outcomes = await asyncio.gather(*(one(i) for i in range(300)))
    created = outcomes.count("ok")
    refused = {o for o in outcomes if o != "ok"}
    assert created == 150, outcomes
    assert refused == {"NSQuotaExceededException" if limit == "files" else "DSQuotaExceededException"}
    assert counting.moves < created, f"{counting.moves} moves for {created} creates: not grouped"
    root = await ns.inodes.find_one({"_id": counting.counter}, {"usage": 1})
    assert root is not None
    assert root["usage"] == {"bytes": 150 * size, "files": 151}
    report = await fsck(ns)
    assert report.clean, report.as_dict()
    names = {d["name"] for d in await ns.children(int((await ns.stat(Path.parse(f"{R}/g")))["ino"]))}
    assert len(names) == 150


async def test_renaming_a_directory_rekeys_one_entry(database: Any) -> None:
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    before = {d["_id"] async for d in ns.inodes.find({}, {"_id": 1})}
    assert await ns.rename(Path.parse(f"{R}/a"), Path.parse(f"{R}/b"))
    after = {d["_id"] async for d in ns.inodes.find({}, {"_id": 1})}
    assert len(before - after) == 1 and len(after - before) == 1
    assert await read(ns, f"{R}/b/sub/f4") == b"4" and await read(ns, f"{R}/a/sub/f4") is None
    assert await ns.journal.count_documents({}) == 0
    assert (await fsck(ns)).clean


async def test_a_stat_looks_up_only_the_components_below_the_dataset_root(database: Any) -> None:
    """`/`, `/Projects`, the project and the dataset root are the platform's and cached (2 s):
    a warm stat of `<root>/a/sub/f` makes exactly three lookups (a, sub, f); `/` was looked up
    on every request before (four)."""
    client, dbname = database
    ns = await fresh(client, dbname)
    await setup_tree(ns)
    fuse = Fuse(None)
    fused(ns, fuse)
    ns.forget_top()  # every level cached by the next stat, none left over from the set-up to expire
    await ns.stat(Path.parse(f"{R}/a/sub/f1"))
    warm = fuse.calls
    await ns.stat(Path.parse(f"{R}/a/sub/f2"))
    assert fuse.calls - warm == 3
