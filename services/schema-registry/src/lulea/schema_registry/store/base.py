"""What the registry keeps, and the storage interface it needs (MongoDB, or memory in tests).

Documents:
- schema: content-addressed (`hash` of type + canonical text + references), a global `id`;
  unique on both, so the same schema gets the same id in every subject and a duplicate id
  is refused even when two writers race.
- version: one per (subject, version); `live_key` is `subject + schema id` while the version
  is live and a unique tombstone once deleted, so a schema is live at most once per subject.
  Permanently deleted versions stay as `purged` markers: version numbers never go back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    subject: str
    version: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    id: int
    hash: str
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class VersionRecord:
    subject: str
    version: int
    schema_id: int
    schema_hash: str
    deleted: bool = False
    purged: bool = False

    @property
    def live(self) -> bool:
        return not self.deleted and not self.purged


# Separates the parts of a stored key. Not NUL: PostgreSQL's jsonb (FerretDB's main backend)
# refuses \u0000 in any string ("unsupported Unicode escape sequence"), in a key or a query.
SEP = "\x1f"


def live_key(subject: str, schema_id: int) -> str:
    return f"{subject}{SEP}{schema_id}"


def tombstone_key(subject: str, version: int) -> str:
    return f"{subject}{SEP}v{version}"


class DuplicateError(Exception):
    """A unique key is already taken (another writer won a race)."""


class Store(Protocol):
    async def ping(self) -> None: ...

    async def schema_id_by_hash(self, digest: str) -> int | None: ...

    async def schema_by_id(self, schema_id: int) -> SchemaRecord | None: ...

    async def insert_schema(self, record: SchemaRecord, subject: str | None = None) -> None:
        """Raises DuplicateError if the hash or the id is taken; `subject` will use it."""

    async def allocate_ids(self, count: int) -> range:
        """A block of `count` fresh ids; concurrent callers get disjoint blocks."""

    async def max_schema_id(self) -> int: ...

    async def versions(self, subject: str) -> list[VersionRecord]:
        """All versions of the subject, purged markers included, ordered by version."""

    async def versions_of_schema(self, schema_id: int) -> list[VersionRecord]: ...

    async def insert_version(self, record: VersionRecord, *, new_schema: bool = False) -> None:
        """Raises DuplicateError if (subject, version) or the live schema in the subject exists.

        `new_schema`: the schema was stored by this registration, so no other subject uses it.
        """

    async def mark_deleted(self, subject: str, version: int) -> None: ...

    async def mark_purged(self, subject: str, version: int) -> None: ...

    async def subjects(self, *, include_deleted: bool) -> list[str]: ...

    async def referencing(self, subject: str, version: int) -> list[int]:
        """Ids of schemas whose references point at subject/version."""

    async def get_setting(self, kind: str, subject: str | None) -> dict[str, object] | None: ...

    async def get_settings(self, subject: str) -> dict[tuple[str, str], dict[str, object]]:
        """Config and mode of the subject and the global ones, in one round trip.

        Keyed by (kind, subject or "" for global); missing settings are absent.
        """

    async def put_setting(self, kind: str, subject: str | None, value: dict[str, object]) -> None: ...

    async def delete_setting(self, kind: str, subject: str | None) -> None: ...

    async def is_empty(self) -> bool: ...
