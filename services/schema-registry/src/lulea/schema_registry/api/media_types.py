"""Which media type to answer in, and whether a request body can be read (Jersey's rules).

Confluent's resources declare `@Produces({"application/vnd.schemaregistry.v1+json",
"application/vnd.schemaregistry+json; qs=0.9", "application/json; qs=0.5"})` and `@Consumes`
of those three plus `application/octet-stream`. Jersey combines every Accept range with
every produced type and takes the highest client q, then the highest server qs, then the
fewest wildcards (`CombinedMediaType.COMPARATOR`); nothing compatible is 406, a body type
none of `@Consumes` matches is 415. One addition, from RFC 9110: a type whose most specific
matching range has `q=0` is not acceptable.

Clients send the same few headers over and over, so the answer is cached per header value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

V1 = "application/vnd.schemaregistry.v1+json"
UNVERSIONED = "application/vnd.schemaregistry+json"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
PRODUCED = ((V1, 1.0), (UNVERSIONED, 0.9), (JSON, 0.5))  # (type, Jersey's qs)
CONSUMED = (V1, UNVERSIONED, JSON, OCTET_STREAM)
_Q = re.compile(r"(0(\.[0-9]{0,3})?|1(\.0{0,3})?|\.[0-9]{1,3})")


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What a request's Accept and Content-Type allow."""

    answer_in: str | None  # None: nothing acceptable (406)
    readable: bool  # False: a body type none of @Consumes matches (415)
    malformed: bool = False  # an Accept header Jersey cannot parse (400)
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class _Range:
    type: str
    subtype: str
    q: float

    def matches(self, media: str) -> bool:
        """Jersey's `MediaType.isCompatible` against a concrete type."""
        kind, subtype = media.split("/")
        return self.type == "*" or (self.type == kind and self.subtype in ("*", subtype))

    @property
    def wildcards(self) -> int:
        return (self.type == "*") + (self.subtype == "*")


def _media_and_params(text: str) -> tuple[str, dict[str, str]]:
    media, *params = text.split(";")
    pairs = (p.split("=", 1) for p in params if "=" in p)
    return media.strip().lower(), {k.strip().lower(): v.strip().strip('"') for k, v in pairs}


def _parse_range(part: str) -> _Range:
    media, params = _media_and_params(part)
    if media == "*":  # Java's HttpURLConnection sends a bare `*`
        media = "*/*"
    kind, _, subtype = media.partition("/")
    q = params.get("q", "1")
    if not kind or not subtype or "/" in subtype or not _Q.fullmatch(q):
        raise ValueError(part)
    return _Range(kind, subtype, float(q))


def answer_type(accept: str) -> str | None:
    """The produced type Jersey would choose for this Accept header; None if none fits."""
    ranges = [_parse_range(p) for p in accept.split(",") if p.strip()]
    if not ranges:
        return V1
    best: tuple[float, float, int] | None = None
    chosen = None
    for media, qs in PRODUCED:
        fits = [r for r in ranges if r.matches(media)]
        if not fits:
            continue
        closest = min(r.wildcards for r in fits)
        if any(r.q == 0 for r in fits if r.wildcards == closest):
            continue  # refused by its most specific range
        q, wildcards = max((r.q, -r.wildcards) for r in fits)
        if best is None or (q, qs, wildcards) > best:
            best, chosen = (q, qs, wildcards), media
    return chosen


def body_type(content_type: str) -> tuple[bool, str | None]:
    """Whether one of @Consumes matches the body's type, and the declared charset."""
    media, params = _media_and_params(content_type)
    kind, _, subtype = media.partition("/")
    if not kind or not subtype:
        return False, None
    declared = _Range(kind, subtype, 1.0)
    charset = params.get("charset")
    return any(declared.matches(c) for c in CONSUMED), charset.lower() if charset else None


@lru_cache(maxsize=512)
def negotiate(accept: bytes | None, content_type: bytes | None) -> Negotiated:
    """Accept and Content-Type as sent (None when absent): what they allow."""
    readable, charset = True, None
    if content_type and content_type.strip():  # none at all is read as JSON, as clients expect
        readable, charset = body_type(content_type.decode("latin-1"))
    try:
        chosen = V1 if accept is None else answer_type(accept.decode("latin-1"))
    except ValueError:
        return Negotiated(None, readable, malformed=True, charset=charset)
    return Negotiated(chosen, readable, charset=charset)


def negotiate_headers(headers: Iterable[tuple[bytes, bytes]]) -> Negotiated:
    """`negotiate` for raw ASGI headers; repeated Accept headers count as one list."""
    accept: bytes | None = None
    content_type: bytes | None = None
    for name, value in headers:
        if name == b"accept":
            accept = value if accept is None else accept + b"," + value
        elif name == b"content-type":
            content_type = value
    return negotiate(accept, content_type)
