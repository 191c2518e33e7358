"""Who is calling, and which projects' logs they may read.

The caller is authenticated by a member's client certificate (`CN=<project>__<user>`,
verified at the TLS handshake against the platform root, checked here against the CA's CRL)
or by a bearer token the API server vouches for (TokenReview, audience `lulea`; an
API-server token is refused). Their projects come from the Project objects (an informer):
a user is in the projects whose `spec.members` name them; a certificate speaks for its one
project, and only while its user is still a member; a project's service account
(`system:serviceaccount:<project>:<name>`) for its own project.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from lulea.core.auth.crl import CrlUnavailable, CrlWatcher
from lulea.core.auth.principal import InvalidPrincipal, parse_member_common_name


class Unauthenticated(Exception):
    """No credentials, or credentials nobody vouches for."""


class TokenReviewer(Protocol):
    async def review(self, token: str) -> str | None:
        """The authenticated user name, or None."""


@dataclass(frozen=True, slots=True)
class Caller:
    user: str  # a Kubernetes user name, or the user of a member certificate
    project: str | None = None  # set when the credential speaks for one project only (cert, SA)


def members(project: Mapping[str, Any]) -> set[str]:
    return {str(m.get("user")) for m in (project.get("spec") or {}).get("members") or []}


def may_read(caller: Caller, project: str, lookup: Callable[[str], Mapping[str, Any] | None]) -> bool:
    """`lookup`: a Project by name (the informer's `get`), None when there is none."""
    obj = lookup(project)
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if caller.project is not None and caller.project != project:
        return False
    if caller.user.startswith("system:serviceaccount:"):
        return caller.project == project
    return caller.user in members(obj)


class Authenticator:
    def __init__(self, reviewer: TokenReviewer, crl: CrlWatcher | None, cache_seconds: float) -> None:
        self.reviewer, self.crl, self.cache_seconds = reviewer, crl, cache_seconds
        self.cache: dict[str, tuple[float, str]] = {}

    def certificate(self, der: bytes) -> Caller:
        leaf = x509.load_der_x509_certificate(der)
        if self.crl is None:
            raise Unauthenticated("client certificates are not accepted here (no CRL)")
        try:
            self.crl.check(leaf)
        except (PermissionError, CrlUnavailable) as exc:
            raise Unauthenticated(f"client certificate refused: {exc}") from None
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        try:
            member = parse_member_common_name(str(names[0].value)) if len(names) == 1 else None
        except InvalidPrincipal:
            member = None
        if member is None:
            raise Unauthenticated("not a member certificate")
        return Caller(member.user, member.project)

    async def token(self, token: str) -> Caller:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self.cache.get(key)
        if hit is not None and hit[0] > now:
            username = hit[1]
        else:
            found = await self.reviewer.review(token)
            if found is None:
                raise Unauthenticated("invalid token")
            username = found
            if len(self.cache) > 10_000:
                self.cache.clear()
            self.cache[key] = (now + self.cache_seconds, username)
        if username.startswith("system:serviceaccount:"):
            return Caller(username, username.split(":")[2])
        return Caller(username)

    async def authenticate(self, authorization: str | None, peer: bytes | None) -> Caller:
        if peer is not None:
            return self.certificate(peer)
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return await self.token(credentials.strip())
        raise Unauthenticated("a bearer token or a member client certificate is required")


class KubernetesTokenReviewer:
    def __init__(self, api_client: Any, audiences: tuple[str, ...]) -> None:
        self.api_client, self.audiences = api_client, audiences

    async def review(self, token: str) -> str | None:
        from lulea.core.auth.tokenreview import TokenRejected, review_token

        try:
            return (await review_token(self.api_client, token, self.audiences)).username
        except TokenRejected:
            return None
