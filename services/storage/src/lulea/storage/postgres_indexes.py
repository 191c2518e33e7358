"""The PostgreSQL indexes FerretDB 1.24 does not make for itself: a migration step the storage
service runs at start (and `python -m lulea.storage migrate` runs by hand).

FerretDB 1.x on PostgreSQL keeps a MongoDB database as a schema and each collection as a table
of one jsonb column, `_jsonb`. It pushes an equality filter down as the containment
`_jsonb->'field' @> '<value>'`, but the indexes it makes (for `_id`, and for `createIndexes`)
are btree indexes on `(_jsonb->'field')`, which cannot serve `@>` (FerretDB#4646, not fixed in
1.x): every find, by `_id` too, is a Seq Scan over the table, and in the blocks table each row
scanned is a TOASTed block that PostgreSQL detoasts to read its `_id`. A GIN index on the same
expression (jsonb_ops serves `@>`) turns each of those finds into an index probe.

Table names are FerretDB's own (`inodes_1e7f…`-like when it has to shorten or disambiguate):
it records them in `<schema>._ferretdb_database_metadata`, one row per collection with the
collection's name in `_jsonb->'_id'` and the table's in `_jsonb->'table'`. FerretDB does not
list these indexes (they are not in its metadata) and drops them with the table when a
collection is dropped.

Two planner facts decide whether PostgreSQL uses these indexes for the finds FerretDB sends
(measured: a stat's lookup by `_id` took 41-88 ms as a Seq Scan over 3,000 TOASTed entries,
0.5 ms as a probe):
- **No pending list** (`fastupdate = off`). GIN queues new entries in a pending list that every
  probe reads and the planner charges for; on a namespace being written that list stays long,
  the index is priced above a scan of the table's few heap pages (a row's data lives in TOAST,
  which the planner does not price), and every find is a Seq Scan that detoasts every row.
- **Custom plans** (`plan_cache_mode = force_custom_plan` on the database). FerretDB sends its
  finds as prepared statements with the field name as a parameter (`_jsonb->$1 @> $2`); a
  generic plan cannot match that to an index on `(_jsonb->'_id')`, and PostgreSQL keeps a
  generic plan for the life of the connection once it is not dearer than the first five custom
  ones, which it never is while the table is small. Set per database, it applies to FerretDB's
  connections made afterwards (the stack's PostgreSQL has it from its start).

Idempotent and safe to run from several replicas at once: the index names are fixed
(`lulea_gin_<collection>_<field>`), made `CONCURRENTLY IF NOT EXISTS` (writers are not
blocked while an index is built on a large table); an index left invalid by an interrupted
build is dropped and made again; one made with a pending list is switched off it and its list
flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

log = logging.getLogger("lulea.storage.postgres_indexes")

METADATA_TABLE = "_ferretdb_database_metadata"
# What the hot path filters on (docs/storage.md): every lookup of an entry, a block, a journal
# entry or a delegation token is by exact `_id`; a listing (and the reclaimer) by `parent`.
NAMESPACE_INDEXES: dict[str, tuple[str, ...]] = {
    "inodes": ("_id", "parent"),
    "blocks": ("_id",),
    "journal": ("_id",),
    "delegation_tokens": ("_id",),
}
RETRY_SECONDS = 30.0
PLAN_CACHE_MODE = "force_custom_plan"


@dataclass(frozen=True)
class IndexResult:
    collection: str
    field: str
    index: str
    table: str | None
    action: str  # "present", "created", "rebuilt" (an invalid one replaced), "tuned" (pending list
    # turned off), "no table"


def index_name(collection: str, field: str) -> str:
    name = f"lulea_gin_{collection}_{field.lstrip('_').replace('.', '_')}"
    if len(name) > 63:  # PostgreSQL's identifier limit
        raise ValueError(f"index name {name!r} is longer than 63 bytes")
    return name


def where(dsn: str) -> str:
    """The DSN without its password, for a log line."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<an unparsable DSN>"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


async def ensure_collections(db: AsyncDatabase[dict[str, object]], names: Mapping[str, object]) -> None:
    """FerretDB makes a table at a collection's first write: make each one now, so that its
    index exists before the first find on it."""
    for name in names:
        try:
            await db.create_collection(name)
        except CollectionInvalid:
            pass  # exists
        except OperationFailure as exc:
            if exc.code != 48:  # NamespaceExists
                raise


async def ensure_gin_indexes(dsn: str, schema: str,
                             wanted: Mapping[str, tuple[str, ...]] = NAMESPACE_INDEXES,
                             *, connect_timeout: float = 10.0) -> list[IndexResult] | None:
    """Make the GIN indexes `wanted` ({collection: fields}) on FerretDB's tables of the MongoDB
    database `schema`. None when that PostgreSQL holds no FerretDB database of that name."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                     connect_timeout=max(1, int(connect_timeout))) as conn:
        found = await conn.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
            (schema, METADATA_TABLE))
        if await found.fetchone() is None:
            return None
        results = []
        for collection, fields in wanted.items():
            table = await _table_of(conn, schema, collection)
            for field in fields:
                name = index_name(collection, field)
                if table is None:
                    results.append(IndexResult(collection, field, name, None, "no table"))
                    continue
                action = await _ensure_one(conn, schema, table, field, name)
                results.append(IndexResult(collection, field, name, table, action))
        return results


async def _table_of(conn: psycopg.AsyncConnection[tuple[object, ...]], schema: str,
                    collection: str) -> str | None:
    query = sql.SQL("SELECT _jsonb->>'table' FROM {} WHERE _jsonb->>'_id' = %s").format(
        sql.Identifier(schema, METADATA_TABLE))
    row = await (await conn.execute(query, (collection,))).fetchone()
    return None if row is None or row[0] is None else str(row[0])


@dataclass(frozen=True)
class _Existing:
    oid: int
    valid: bool
    pending_list: bool  # GIN's fastupdate is on (the default when an index says nothing)


async def _existing(conn: psycopg.AsyncConnection[tuple[object, ...]], schema: str,
                    name: str) -> _Existing | None:
    """Index `name` of `schema` as the catalog has it; None if there is none."""
    row = await (await conn.execute(
        "SELECT c.oid, i.indisvalid, c.reloptions FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid"
        " WHERE n.nspname = %s AND c.relname = %s", (schema, name))).fetchone()
    if row is None:
        return None
    options = row[2] if isinstance(row[2], list) else []
    return _Existing(int(str(row[0])), bool(row[1]), "fastupdate=off" not in options)


async def _ensure_one(conn: psycopg.AsyncConnection[tuple[object, ...]], schema: str, table: str,
                      field: str, name: str) -> str:
    found = await _existing(conn, schema, name)
    if found is not None and found.valid:
        if not found.pending_list:
            return "present"
        # made by an earlier version: the list turned off, and what it holds flushed into the index
        index = sql.Identifier(schema, name)
        await conn.execute(sql.SQL("ALTER INDEX {} SET (fastupdate = off)").format(index))
        await conn.execute("SELECT pg_catalog.gin_clean_pending_list(%s::oid::regclass)", (found.oid,))
        return "tuned"
    if found is not None:  # a build interrupted (a crash, a replica killed): made again
        drop = sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(schema, name))
        await conn.execute(drop)
    create = sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING gin ((_jsonb -> {}))"
                     " WITH (fastupdate = off)").format(
        sql.Identifier(name), sql.Identifier(schema, table), sql.Literal(field))
    with contextlib.suppress(errors.UniqueViolation, errors.DuplicateTable):  # another replica, at once
        await conn.execute(create)
    return "rebuilt" if found is not None else "created"


async def custom_plans(dsn: str, *, connect_timeout: float = 10.0) -> str:
    """Make the database of `dsn` plan every execution of a prepared statement for its
    parameters (module docstring). Returns what was done: "set", "present", or why not (the
    role may not alter the database: then its owner must, once)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                     connect_timeout=max(1, int(connect_timeout))) as conn:
        row = await (await conn.execute(
            "SELECT d.datname, s.setconfig FROM pg_catalog.pg_database d"
            " LEFT JOIN pg_catalog.pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0"
            " WHERE d.datname = current_database()")).fetchone()
        assert row is not None
        if isinstance(row[1], list) and f"plan_cache_mode={PLAN_CACHE_MODE}" in row[1]:
            return "present"
        try:
            await conn.execute(sql.SQL("ALTER DATABASE {} SET plan_cache_mode = {}").format(
                sql.Identifier(str(row[0])), sql.Literal(PLAN_CACHE_MODE)))
        except errors.InsufficientPrivilege as exc:
            return f"not set ({exc.diag.message_primary})"
        return "set"


async def make_namespace_indexes(db: AsyncDatabase[dict[str, object]], dsn: str | None) -> bool:
    """The service's start-up step: True when the indexes are in place (or not needed: said once
    in the log), False when PostgreSQL could not be reached (the caller tries again later)."""
    if dsn is None:
        log.info("no PostgreSQL DSN (LULEA_STORAGE_POSTGRES_DSN): no PostgreSQL indexes made; "
                 "if FerretDB runs on PostgreSQL, every find is a Seq Scan (FerretDB#4646); "
                 "on SQLite or MongoDB none are needed")
        return True
    try:
        await ensure_collections(db, NAMESPACE_INDEXES)
        results = await ensure_gin_indexes(dsn, db.name)
        plans = await custom_plans(dsn) if results is not None else ""  # not FerretDB's: left alone
    except (psycopg.Error, OSError) as exc:
        log.warning("PostgreSQL at %s unreachable for the namespace's indexes (%s: %s); trying again in %g s",
                    where(dsn), type(exc).__name__, exc, RETRY_SECONDS)
        return False
    if results is None:
        log.warning("PostgreSQL at %s holds no FerretDB database %r (FerretDB is not on this PostgreSQL?): "
                    "no PostgreSQL indexes made", where(dsn), db.name)
        return True
    log.info("PostgreSQL indexes of the namespace (FerretDB#4646) at %s: %s", where(dsn),
             ", ".join(f"{r.index} {r.action}" for r in results))
    if plans.startswith("not set"):
        log.warning("plan_cache_mode=%s is %s at %s: FerretDB's finds may keep generic plans that "
                    "use none of these indexes; the database's owner sets it once with ALTER DATABASE",
                    PLAN_CACHE_MODE, plans, where(dsn))
    elif plans == "set":
        log.info("plan_cache_mode=%s set on the database at %s: FerretDB's connections made from now "
                 "on plan each find for its key", PLAN_CACHE_MODE, where(dsn))
    return True


async def make_namespace_indexes_until_done(db: AsyncDatabase[dict[str, object]], dsn: str | None,
                                            retry_seconds: float = RETRY_SECONDS) -> None:
    """Until PostgreSQL answers (polled: nothing here could signal it)."""
    while True:
        if await make_namespace_indexes(db, dsn):
            return
        await asyncio.sleep(retry_seconds)
