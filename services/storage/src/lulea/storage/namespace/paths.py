"""Paths of the namespace: `/Projects/<project>/<dataset>/...`, parsed once where a request
enters, from the raw (still percent-encoded) URL path so an encoded `/` cannot change the
structure. Every component is a name of at most 255 bytes, never `.`, `..`, empty or holding
NUL or `:` (HDFS refuses those too)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from lulea.storage.namespace.errors import Hadoop, StorageError

PROJECTS = "Projects"
MAX_NAME_BYTES = 255
MAX_DEPTH = 1000


def invalid(raw: str, why: str) -> StorageError:
    return StorageError(Hadoop.INVALID_PATH, f"Invalid path name {raw!r}: {why}")


def check_name(name: str, raw: str) -> str:
    if name in ("", ".", ".."):
        raise invalid(raw, f"component {name!r} is not allowed")
    if "/" in name or "\x00" in name or ":" in name:
        raise invalid(raw, "a component may not contain '/', ':' or NUL")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise invalid(raw, f"a component is longer than {MAX_NAME_BYTES} bytes")
    return name


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, raw: str, *, encoded: bool = True) -> Path:
        """`raw` is the part after /webhdfs/v1 (encoded) or a `destination` parameter (decoded)."""
        if not raw.startswith("/"):
            raise invalid(raw, "a path must be absolute")
        pieces = raw.split("/")[1:]
        if pieces and pieces[-1] == "":  # one trailing slash is harmless
            pieces = pieces[:-1]
        try:
            names = [unquote(p, errors="strict") if encoded else p for p in pieces]
        except UnicodeDecodeError:
            raise invalid(raw, "not UTF-8") from None
        if len(names) > MAX_DEPTH:
            raise invalid(raw, "too deep")
        return cls(tuple(check_name(n, raw) for n in names))

    def __str__(self) -> str:
        return "/" + "/".join(self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def parent(self) -> Path:
        return Path(self.parts[:-1])

    def child(self, name: str) -> Path:
        return Path((*self.parts, name))

    @property
    def project(self) -> str | None:
        """The project this path is under, or None for `/` and `/Projects`."""
        if len(self.parts) >= 2 and self.parts[0] == PROJECTS:
            return self.parts[1]
        return None

    @property
    def dataset(self) -> str | None:
        return self.parts[2] if len(self.parts) >= 3 and self.parts[0] == PROJECTS else None

    @property
    def in_projects(self) -> bool:
        return bool(self.parts) and self.parts[0] == PROJECTS

    def is_within(self, other: Path) -> bool:
        return self.parts[: len(other.parts)] == other.parts
