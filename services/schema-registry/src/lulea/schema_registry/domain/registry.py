"""Subjects, versions and global schema ids, with Confluent's semantics.

Register = parse -> canonical hash -> (live in subject? return its id) -> compatibility
against live versions -> schema doc by hash (new id from this process's block) -> version
doc max+1. Each step is a single-document write guarded by a unique key, so a crash between
steps converges: a retry finds the schema by hash and reuses its id; an orphan schema doc
with no version is invisible (`/schemas/ids` answers 40403 for it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from lulea.core.compatibility import Compatibility
from lulea.schema_registry.domain.avro_schema import ParsedSchema, parse_avro
from lulea.schema_registry.domain.avro_text import normalized_text
from lulea.schema_registry.domain.compatibility import PastSchema, check_against
from lulea.schema_registry.domain.errors import (
    ErrorCode,
    RegistryError,
    empty_schema,
    schema_not_found,
    subject_not_found,
    version_not_found,
)
from lulea.schema_registry.domain.id_cache import CachedSchema, IdCache
from lulea.schema_registry.domain.policy import Mode, Policy
from lulea.schema_registry.store.base import (
    DuplicateError,
    Reference,
    SchemaRecord,
    Store,
    VersionRecord,
)

log = logging.getLogger(__name__)
MAX_VERSION = 2**31 - 1
LATEST = -1
MAX_REFERENCE_DEPTH = 32
REGISTER_ATTEMPTS = 16


@dataclass(frozen=True, slots=True)
class SchemaRequest:
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    id: int | None = None
    version: int | None = None


def parse_version(value: str) -> int:
    """`latest`, `-1` or 1..2^31-1 (Confluent's rule); anything else is 42202."""
    if value == "latest":
        return LATEST
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number == LATEST or 1 <= number <= MAX_VERSION:
        return number
    raise RegistryError(
        ErrorCode.INVALID_VERSION,
        f"The specified version '{value}' is not a valid version id. Allowed values are"
        ' between [1, 2^31-1] and the string "latest"')


class IdBlock:
    """Ids handed out from a block reserved with one `$inc`; refilled when used up."""

    def __init__(self, store: Store, size: int) -> None:
        self.store = store
        self.size = size
        self.ids: list[int] = []
        self.lock = asyncio.Lock()

    async def next(self) -> int:
        async with self.lock:
            if not self.ids:
                self.ids = list(await self.store.allocate_ids(self.size))
            return self.ids.pop(0)


class ParsedCache:
    """Parsed schemas by id (immutable once stored), bounded LRU."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.items: OrderedDict[int, ParsedSchema] = OrderedDict()

    def get(self, schema_id: int) -> ParsedSchema | None:
        found = self.items.get(schema_id)
        if found is not None:
            self.items.move_to_end(schema_id)
        return found

    def put(self, schema_id: int, parsed: ParsedSchema) -> None:
        self.items[schema_id] = parsed
        if len(self.items) > self.size:
            self.items.popitem(last=False)


def schema_body(record: SchemaRecord) -> dict[str, Any]:
    """The JSON of GET /schemas/ids/{id}: schemaType and references only when not default."""
    body: dict[str, Any] = {"schema": record.schema}
    if record.schema_type != "AVRO":
        body["schemaType"] = record.schema_type
    if record.references:
        body["references"] = [r.as_dict() for r in record.references]
    return body


def schema_hash(schema_type: str, canonical: str, refs: tuple[Reference, ...]) -> str:
    ref_text = json.dumps(sorted((r.name, r.subject, r.version) for r in refs))
    return hashlib.sha256(f"{schema_type}\x00{canonical}\x00{ref_text}".encode()).hexdigest()


class Registry:
    def __init__(self, store: Store, policy: Policy, id_cache: IdCache,
                 id_block_size: int = 20) -> None:
        self.store = store
        self.policy = policy
        self.id_cache = id_cache  # answers of GET /schemas/ids, dropped when subjects change
        self.ids = IdBlock(store, id_block_size)
        self.parsed = ParsedCache()
        self.records: dict[int, SchemaRecord] = {}
        # registrations into one subject queue here instead of racing on the version key
        # (the unique keys still decide between replicas)
        self.subject_locks: dict[str, asyncio.Lock] = {}

    # -- parsing -------------------------------------------------------------------------

    async def _named_from_refs(self, refs: tuple[Reference, ...], depth: int) -> dict[str, Any]:
        if depth > MAX_REFERENCE_DEPTH:
            raise RegistryError(ErrorCode.INVALID_SCHEMA, "Invalid schema: references nest too deeply")
        named: dict[str, Any] = {}
        for ref in refs:
            try:
                row = await self._version(ref.subject, ref.version, include_deleted=False)
            except RegistryError:
                raise RegistryError(
                    ErrorCode.INVALID_SCHEMA,
                    f"Invalid schema: reference {ref.name} to subject '{ref.subject}' version"
                    f" {ref.version} not found") from None
            record = await self._record(row.schema_id)
            if record is None:
                raise schema_not_found(row.schema_id)
            named.update((await self._parse_record(record, depth + 1)).named)
        return named

    async def _parse_record(self, record: SchemaRecord, depth: int = 0) -> ParsedSchema:
        cached = self.parsed.get(record.id)
        if cached is None:
            named = await self._named_from_refs(record.references, depth)
            cached = parse_avro(record.schema, named)
            self.parsed.put(record.id, cached)
        return cached

    async def parse_request(self, req: SchemaRequest, normalize: bool) -> tuple[ParsedSchema, str, str]:
        """The parsed schema, the text to store, and its dedup hash."""
        if req.schema_type.upper() != "AVRO":
            raise RegistryError(ErrorCode.INVALID_SCHEMA, f"Invalid schema type {req.schema_type}")
        if not req.schema.strip():
            raise empty_schema()
        named = await self._named_from_refs(req.references, 0)
        parsed = parse_avro(req.schema, named)
        text = normalized_text(req.schema, named) if normalize else parsed.canonical
        refs = tuple(sorted(set(req.references), key=lambda r: (r.name, r.subject, r.version))) \
            if normalize else req.references
        return parsed, text, schema_hash("AVRO", text, refs)

    # -- reads ---------------------------------------------------------------------------

    async def _visible(self, subject: str, include_deleted: bool) -> list[VersionRecord]:
        rows = [v for v in await self.store.versions(subject)
                if not v.purged and (include_deleted or not v.deleted)]
        if not rows:
            raise subject_not_found(subject)
        return rows

    async def _version(self, subject: str, version: int, include_deleted: bool) -> VersionRecord:
        rows = await self._visible(subject, include_deleted)
        if version == LATEST:
            live = [v for v in rows if not v.deleted] or rows
            return live[-1]
        for row in rows:
            if row.version == version:
                return row
        raise version_not_found(version)

    async def get_version(self, subject: str, version: int,
                          include_deleted: bool = False) -> tuple[VersionRecord, SchemaRecord]:
        row = await self._version(subject, version, include_deleted)
        record = await self._record(row.schema_id)
        if record is None:
            raise schema_not_found(row.schema_id)
        return row, record

    async def list_versions(self, subject: str, include_deleted: bool,
                            deleted_only: bool) -> list[int]:
        rows = await self._visible(subject, include_deleted or deleted_only)
        return [v.version for v in rows if not deleted_only or v.deleted]

    async def list_subjects(self, include_deleted: bool, deleted_only: bool) -> list[str]:
        everything = await self.store.subjects(include_deleted=include_deleted or deleted_only)
        if not deleted_only:
            return everything
        live = set(await self.store.subjects(include_deleted=False))
        return [s for s in everything if s not in live]

    async def schema_by_id(self, schema_id: int) -> tuple[SchemaRecord, list[VersionRecord]]:
        record = await self._record(schema_id)
        rows = [v for v in await self.store.versions_of_schema(schema_id) if not v.purged]
        if record is None or not rows:
            raise schema_not_found(schema_id)
        return record, rows

    async def cached_schema(self, schema_id: int) -> CachedSchema:
        """The GET /schemas/ids answer from the store, put into the id cache (40403 if none)."""
        record, rows = await self.schema_by_id(schema_id)
        return self.id_cache.put(schema_id, orjson.dumps(schema_body(record)),
                                 frozenset(r.subject for r in rows))

    async def refresh_cached(self, schema_id: int) -> None:
        """Re-read a stale cache entry (one at a time per id); drop it if the schema is gone."""
        if schema_id in self.id_cache.refreshing:
            return
        self.id_cache.refreshing.add(schema_id)
        try:
            await self.cached_schema(schema_id)
        except RegistryError:
            self.id_cache.invalidate({schema_id})
        except Exception:  # the store is down: keep serving the stale entry
            log.warning("could not refresh schema %s from the store", schema_id)
        finally:
            self.id_cache.refreshing.discard(schema_id)

    async def referenced_by(self, subject: str, version: int) -> list[int]:
        row = await self._version(subject, version, include_deleted=False)
        return await self._live_referrers(subject, row.version)

    async def _live_referrers(self, subject: str, version: int) -> list[int]:
        ids = []
        for schema_id in await self.store.referencing(subject, version):
            if any(v.live for v in await self.store.versions_of_schema(schema_id)):
                ids.append(schema_id)
        return ids

    async def lookup(self, subject: str, req: SchemaRequest, normalize: bool,
                     include_deleted: bool) -> tuple[VersionRecord, SchemaRecord]:
        rows = await self._visible(subject, include_deleted)
        _, _, digest = await self.parse_request(req, normalize or await self.policy.normalize(subject))
        for row in reversed(rows):
            if row.schema_hash == digest:
                record = await self._record(row.schema_id)
                if record is not None:
                    return row, record
        raise schema_not_found()

    # -- compatibility ------------------------------------------------------------------

    async def _record(self, schema_id: int) -> SchemaRecord | None:
        """A stored schema by id; immutable once stored, so kept in memory (bounded)."""
        found = self.records.get(schema_id)
        if found is None:
            found = await self.store.schema_by_id(schema_id)
            if found is not None:
                if len(self.records) >= 10_000:
                    self.records.clear()
                self.records[schema_id] = found
        return found

    async def _history(self, rows: list[VersionRecord]) -> list[PastSchema]:
        history = []
        for row in rows:
            record = await self._record(row.schema_id)
            if record is not None:
                parsed = await self._parse_record(record)
                history.append(PastSchema(row.version, parsed.root, record.schema))
        return history

    async def check_compatibility(self, subject: str, version: int | None, req: SchemaRequest,
                                  normalize: bool) -> list[str]:
        """Confluent's verbose messages; empty means compatible."""
        policy = await self.policy.for_subject(subject)
        level = policy.level
        parsed, _, _ = await self.parse_request(req, normalize or policy.normalize)
        rows = [v for v in await self.store.versions(subject) if v.live]
        if version is not None:
            if not rows:
                raise version_not_found(version)
            target = rows[-1] if version == LATEST else next(
                (v for v in rows if v.version == version), None)
            if target is None:
                raise version_not_found(version)
            rows = [target]
            if level.transitive:  # one named version: the direction counts, not the history
                level = Compatibility(level.removesuffix("_TRANSITIVE"))
        elif not level.transitive:
            rows = rows[-1:]
        history = await self._history(rows)
        return check_against(level, parsed.root, history)

    # -- writes --------------------------------------------------------------------------

    async def register(self, subject: str, req: SchemaRequest, normalize: bool = False) -> int:
        return (await self.register_version(subject, req, normalize))[0]

    async def register_version(self, subject: str, req: SchemaRequest,
                               normalize: bool = False) -> tuple[int, int]:
        """(schema id, version in the subject): the version is answered next to the id, as
        newer Confluent registries do, so a caller needs no lookup after registering."""
        # one small lock per subject ever written by this process: bounded by the subjects
        async with self.subject_locks.setdefault(subject, asyncio.Lock()):
            return await self._register(subject, req, normalize)

    async def _register(self, subject: str, req: SchemaRequest, normalize: bool) -> tuple[int, int]:
        # independent reads, in parallel: the subject's policy and its versions (each a
        # lookup by _id; the store is remote, so this is one round trip of latency, not two)
        policy, rows = await asyncio.gather(self.policy.for_subject(subject),
                                            self.store.versions(subject))
        mode = policy.mode
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            raise RegistryError(ErrorCode.OPERATION_NOT_PERMITTED,
                                f"Subject {subject} is in read-only mode")
        if (req.id is not None or req.version is not None) and mode is not Mode.IMPORT:
            raise RegistryError(ErrorCode.OPERATION_NOT_PERMITTED,
                                f"Subject {subject} is not in import mode")
        parsed, text, digest = await self.parse_request(req, normalize or policy.normalize)
        refs = req.references
        for attempt in range(REGISTER_ATTEMPTS):
            if attempt:
                rows = await self.store.versions(subject)
            live = [v for v in rows if v.live]
            for row in live:
                if row.schema_hash == digest:
                    return row.schema_id, row.version
            if mode is not Mode.IMPORT:
                level = policy.level
                needed = live if level.transitive else live[-1:]
                messages = check_against(level, parsed.root, await self._history(needed))
                if messages:
                    raise RegistryError(
                        ErrorCode.INCOMPATIBLE_SCHEMA,
                        "Schema being registered is incompatible with an earlier schema for"
                        f' subject "{subject}", details: [{", ".join(messages)}]')
            schema_id, created = await self._schema_id(subject, digest, text,
                                                       req.schema_type.upper(), refs, req.id)
            version = req.version or max((v.version for v in rows), default=0) + 1
            try:
                await self.store.insert_version(VersionRecord(subject, version, schema_id, digest),
                                                new_schema=created)
            except DuplicateError:
                if req.version is not None:
                    raise RegistryError(ErrorCode.ID_DOES_NOT_MATCH,
                                        f"Version {version} of subject '{subject}' already exists"
                                        ) from None
                continue  # another writer took this version: look again
            self.id_cache.invalidate({schema_id})
            return schema_id, version
        raise RegistryError(ErrorCode.STORE_TIMEOUT,
                            f"Too many concurrent registrations in subject '{subject}'; retry")

    async def _schema_id(self, subject: str, digest: str, text: str, schema_type: str,
                         refs: tuple[Reference, ...], wanted: int | None) -> tuple[int, bool]:
        """The id of the schema, stored now if new; True when this call stored it."""
        while True:
            existing = await self.store.schema_id_by_hash(digest)
            if existing is not None:
                if wanted is not None and wanted != existing:
                    raise RegistryError(ErrorCode.ID_DOES_NOT_MATCH,
                                        f"Schema already registered with id {existing}"
                                        f" instead of input id {wanted}")
                return existing, False
            schema_id = wanted if wanted is not None else await self.ids.next()
            try:
                await self.store.insert_schema(
                    SchemaRecord(schema_id, digest, text, schema_type, refs), subject)
                return schema_id, True
            except DuplicateError:
                # Either another writer stored the same schema first (the loop returns its id),
                # or an imported schema holds this id (the loop takes the next one) ...
                if wanted is not None and await self.store.schema_id_by_hash(digest) is None:
                    # ... unless the caller asked for exactly this id.
                    raise RegistryError(ErrorCode.ID_DOES_NOT_MATCH,
                                        f"Schema id {wanted} is already used by another schema"
                                        ) from None

    async def delete_subject(self, subject: str, permanent: bool) -> list[int]:
        await self.policy.require_writable(subject)
        rows = await self._visible(subject, include_deleted=True)
        if not permanent:
            live = [v for v in rows if not v.deleted]
            if not live:
                raise RegistryError(ErrorCode.SUBJECT_SOFT_DELETED,
                                    f"Subject '{subject}' was soft deleted.Set permanent=true to"
                                    " delete permanently")
            for row in live:
                await self.store.mark_deleted(subject, row.version)
                self.id_cache.invalidate({row.schema_id})
            return [v.version for v in live]
        if any(not v.deleted for v in rows):
            raise RegistryError(ErrorCode.SUBJECT_NOT_SOFT_DELETED,
                                f"Subject '{subject}' was not deleted first before being"
                                " permanently deleted")
        for row in rows:
            await self._refuse_if_referenced(subject, row.version)
        for row in rows:
            await self.store.mark_purged(subject, row.version)
            self.id_cache.invalidate({row.schema_id})
        return [v.version for v in rows]

    async def _refuse_if_referenced(self, subject: str, version: int) -> None:
        if await self._live_referrers(subject, version):
            raise RegistryError(
                ErrorCode.REFERENCE_EXISTS,
                "One or more references exist to the schema {magic=1,keytype=SCHEMA,"
                f"subject={subject},version={version}}}.")

    async def delete_version(self, subject: str, version: int, permanent: bool) -> int:
        await self.policy.require_writable(subject)
        row = await self._version(subject, version, include_deleted=True)
        if permanent:
            if not row.deleted:
                raise RegistryError(ErrorCode.VERSION_NOT_SOFT_DELETED,
                                    f"Subject '{subject}' Version {row.version} was not deleted"
                                    " first before being permanently deleted")
            await self._refuse_if_referenced(subject, row.version)
            await self.store.mark_purged(subject, row.version)
        else:
            if row.deleted:
                raise RegistryError(ErrorCode.VERSION_SOFT_DELETED,
                                    f"Subject '{subject}' Version {row.version} was soft deleted."
                                    "Set permanent=true to delete permanently")
            await self._refuse_if_referenced(subject, row.version)
            await self.store.mark_deleted(subject, row.version)
        self.id_cache.invalidate({row.schema_id})
        return row.version
